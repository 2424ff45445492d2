/**
 * Seeded, reproducible random numbers: xoshiro128** seeded through splitmix32. Pure 32-bit integer arithmetic,
 * so a seed gives the same numbers on every machine and backend (values are generated on the host).
 */
import { ArgumentError } from './errors.js';
import { describeValue } from './describe-value.js';

export class Rng {
  private s = new Uint32Array(4);

  constructor(seed: number) {
    this.reseed(seed);
  }

  reseed(seed: number): void {
    // seeds are taken mod 2^32; one that is not a finite number (NaN, a string from untyped code) would silently be 0
    if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new ArgumentError(`a seed must be a finite number, got ${String(seed)}`, { op: 'seed' });
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32: spreads any seed (including 0) over the whole state
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal by Box-Muller (both values used): fillNormal's one value, so the two cannot drift apart. */
  private spare: number | null = null;
  private readonly one = new Float64Array(1);
  normal(): number {
    this.fillNormal(this.one, 0, 1);
    return this.one[0]!;
  }

  /**
   * Fills out with mean + std·z for the next out.length standard normals (z = √(−2 ln u)·cos 2πv, then the spare
   * √(−2 ln u)·sin 2πv), the values of that many normal() calls, without a call per value (whose returned double was
   * boxed when randn's loop was not optimised).
   */
  fillNormal(out: { readonly length: number; [i: number]: number }, mean: number, std: number): void {
    const n = out.length;
    let i = 0;
    if (n > 0 && this.spare !== null) {
      out[i++] = mean + std * this.spare;
      this.spare = null;
    }
    while (i < n) {
      let u = 0;
      while (u === 0) u = this.next();
      const v = this.next();
      const r = Math.sqrt(-2 * Math.log(u));
      out[i++] = mean + std * (r * Math.cos(2 * Math.PI * v));
      const second = r * Math.sin(2 * Math.PI * v);
      if (i < n) out[i++] = mean + std * second;
      else this.spare = second;
    }
  }

  /** Integer uniform in [low, high). */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low));
  }

  getState(): number[] {
    return [...this.s, this.spare === null ? NaN : this.spare];
  }

  setState(state: readonly number[]): void {
    for (let i = 0; i < 4; i++) this.s[i] = state[i]! >>> 0;
    const spare = state[4];
    this.spare = spare === undefined || Number.isNaN(spare) ? null : spare;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

const globalRng = new Rng(0x5eed);

/** Seeds the global generator used by rand/randn/randint calls without an explicit seed. */
export function seed(n: number): void {
  globalRng.reseed(n);
}

export function rngFor(seed?: number): Rng {
  return seed === undefined ? globalRng : new Rng(seed);
}

export function getRngState(): number[] {
  return globalRng.getState();
}

export function setRngState(state: readonly number[]): void {
  if (!Array.isArray(state) || state.length < 4 || state.length > 5 || state.slice(0, 4).some((v) => typeof v !== 'number' || !Number.isInteger(v))) {
    throw new ArgumentError(`takes the array getRngState() returned (4 integers, then the spare normal or NaN), got ${describeValue(state)}`, { op: 'setRngState' });
  }
  globalRng.setState(state);
}
