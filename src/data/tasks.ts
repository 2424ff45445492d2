/**
 * Generated sequence tasks, deterministic by seed (no files, no download):
 *
 * - multi-key retrieval: filler characters with n (key, value) pairs "K7" scattered in them, then "?" and a query
 *   key; the target is the value paired with the query key. The queried pair's key-query distance is drawn
 *   uniformly from [minDistance, seqLen-1] so accuracy can be bucketed by distance (EITP-SPEC "Long-range").
 * - copy: L random symbols, "|", then the same L symbols; only the copied half is scored.
 * - adding problem (tokenised): digits, two of them marked (written as letters A-J for 0-9), one in each half;
 *   the target is the sum of the two marked digits mod 10.
 *
 * Batch k of a task with seed s is generated from the stream deriveSeed(s, k): any batch can be regenerated alone.
 */
import { objectArg } from '../args.js';
import * as et from '../../engine/index.js';
import type { HostBatch, TaskData } from './task.js';
import { Vocab } from './vocab.js';

const FILLER = 'abcdefghijklmnopqrstuvwxyz';
const KEYS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';

function check(task: string, cond: boolean, msg: string): void {
  if (!cond) throw new et.ArgumentError(`${task}: ${msg}`, { op: task });
}

function isInt(v: number, lo: number, hi = Infinity): boolean {
  return Number.isInteger(v) && v >= lo && v <= hi;
}

export interface RetrievalOptions {
  seqLen: number;
  /** (key, value) pairs per sequence. */
  pairs: number;
  /** Distinct key characters available (<= 26). */
  keys: number;
  /** Distinct values (digits, <= 10). */
  values: number;
  /** Distinct filler characters (<= 26). */
  fillers: number;
  minDistance?: number;
  /** Accuracy buckets over [minDistance, seqLen - 1] (default 4). */
  buckets?: number;
  evalSize?: number;
  seed: number;
}

export const RETRIEVAL_DEFAULTS: Omit<RetrievalOptions, 'seed'> = { seqLen: 24, pairs: 3, keys: 8, values: 8, fillers: 4, minDistance: 3, buckets: 4, evalSize: 512 };

export function retrievalTask(opts: RetrievalOptions): TaskData {
  const o = { ...RETRIEVAL_DEFAULTS, ...opts } as Required<RetrievalOptions>;
  const T = o.seqLen;
  check('retrieval', isInt(T, 6), `seqLen must be an integer >= 6, got ${T}`);
  check('retrieval', isInt(o.keys, 1, 26) && isInt(o.values, 1, 10) && isInt(o.fillers, 1, 26), 'keys (1-26), values (1-10) and fillers (1-26) out of range');
  check('retrieval', isInt(o.pairs, 1, o.keys), `pairs must be in [1, keys=${o.keys}], got ${o.pairs}`);
  // pairs start in [0, T-4]; each placed pair blocks at most 3 starts, so T >= 3·pairs + 1 always leaves room
  check('retrieval', 3 * o.pairs + 1 <= T, `seqLen ${T} is too short for ${o.pairs} pairs (needs >= ${3 * o.pairs + 1})`);
  const maxD = T - 1;
  check('retrieval', isInt(o.minDistance, 3, maxD), `minDistance must be in [3, ${maxD}], got ${o.minDistance}`);
  check('retrieval', isInt(o.buckets, 1, maxD - o.minDistance + 1), `buckets must be in [1, ${maxD - o.minDistance + 1}]`);
  const vocab = new Vocab([...FILLER.slice(0, o.fillers), ...KEYS.slice(0, o.keys), ...DIGITS.slice(0, o.values), '?']);
  const fillerIds = Array.from(FILLER.slice(0, o.fillers), (c) => vocab.id(c));
  const keyIds = Array.from(KEYS.slice(0, o.keys), (c) => vocab.id(c));
  const valueIds = Array.from(DIGITS.slice(0, o.values), (c) => vocab.id(c));
  const qmark = vocab.id('?');
  const span = maxD - o.minDistance + 1;
  const buckets: [number, number][] = [];
  for (let b = 0; b < o.buckets; b++) {
    const lo = o.minDistance + Math.floor((b * span) / o.buckets);
    const hi = o.minDistance + Math.floor(((b + 1) * span) / o.buckets) - 1;
    buckets.push([lo, hi]);
  }

  /** One example into row r; the distance comes from `dist` (stratified eval) or the rng. */
  function example(rng: et.Rng, inputs: Int32Array, r: number, dist: number): number {
    const row = inputs.subarray(r * T, (r + 1) * T);
    const used = new Uint8Array(T);
    // distinct keys: a partial Fisher-Yates shuffle
    const ks = keyIds.slice();
    for (let i = 0; i < o.pairs; i++) {
      const j = rng.int(i, ks.length);
      [ks[i], ks[j]] = [ks[j]!, ks[i]!];
    }
    row[T - 2] = qmark;
    row[T - 1] = ks[0]!;
    used[T - 2] = used[T - 1] = 1;
    const p0 = T - 1 - dist;
    row[p0] = ks[0]!;
    const target = valueIds[rng.int(0, valueIds.length)]!;
    row[p0 + 1] = target;
    used[p0] = used[p0 + 1] = 1;
    for (let i = 1; i < o.pairs; i++) {
      const free: number[] = [];
      for (let p = 0; p + 1 <= T - 3; p++) if (!used[p] && !used[p + 1]) free.push(p);
      const p = free[rng.int(0, free.length)]!;
      row[p] = ks[i]!;
      row[p + 1] = valueIds[rng.int(0, valueIds.length)]!;
      used[p] = used[p + 1] = 1;
    }
    for (let p = 0; p < T; p++) if (!used[p]) row[p] = fillerIds[rng.int(0, fillerIds.length)]!;
    return target;
  }

  function generate(seed: number, size: number, stratified: boolean): HostBatch {
    const rng = new et.Rng(seed);
    const inputs = new Int32Array(size * T);
    const targets = new Int32Array(size);
    const distances = new Int32Array(size);
    for (let r = 0; r < size; r++) {
      const d = stratified ? o.minDistance + (r % span) : rng.int(o.minDistance, maxD + 1);
      distances[r] = d;
      targets[r] = example(rng, inputs, r, d);
    }
    return { inputs, targets, batch: size, seqLen: T, distances };
  }

  let evalCache: HostBatch | null = null;
  return {
    kind: 'retrieval',
    vocab,
    seqLen: T,
    readout: 'last',
    distanceBuckets: buckets,
    trainBatch: (index, size) => generate(et.nn.deriveSeed(o.seed, index), size, false),
    evalSet: () => (evalCache ??= generate(et.nn.deriveSeed(o.seed ^ 0x5a5a5a5a, 0x7fffffff), o.evalSize, true)),
    describe: () =>
      `multi-key retrieval: length ${T}, ${o.pairs} pairs of ${o.keys} keys x ${o.values} values, ${o.fillers} fillers, key-query distance ${o.minDistance}-${maxD}`,
  };
}

export interface CopyOptions {
  /** Symbols to copy; seqLen = 2·length. */
  length: number;
  symbols: number;
  evalSize?: number;
  seed: number;
}

export function copyTask(opts: CopyOptions): TaskData {
  objectArg(opts, 'copy', 'options');
  const { length: L, symbols, evalSize = 256, seed } = opts;
  check('copy', isInt(L, 1), `length must be a positive integer, got ${L}`);
  check('copy', isInt(symbols, 2, 26), `symbols must be in [2, 26], got ${symbols}`);
  const vocab = new Vocab([...FILLER.slice(0, symbols), '|', '_']);
  const bar = vocab.id('|');
  const blank = vocab.id('_');
  const T = 2 * L;
  function generate(s: number, size: number): HostBatch {
    const rng = new et.Rng(s);
    const inputs = new Int32Array(size * T);
    const targets = new Int32Array(size * T).fill(blank);
    const scored = new Uint8Array(size * T);
    for (let r = 0; r < size; r++) {
      const sym = Array.from({ length: L }, () => rng.int(0, symbols));
      const z = [...sym, bar, ...sym]; // length 2L + 1: inputs z[0:2L], targets z[1:2L+1]
      for (let t = 0; t < T; t++) {
        inputs[r * T + t] = z[t]!;
        // before the bar the next symbol is random: the target is the blank class, not scored
        if (t >= L - 1) targets[r * T + t] = z[t + 1]!;
        if (t >= L) scored[r * T + t] = 1;
      }
    }
    return { inputs, targets, batch: size, seqLen: T, scored };
  }
  let evalCache: HostBatch | null = null;
  return {
    kind: 'copy',
    vocab,
    seqLen: T,
    readout: 'all',
    trainBatch: (index, size) => generate(et.nn.deriveSeed(seed, index), size),
    evalSet: () => (evalCache ??= generate(et.nn.deriveSeed(seed ^ 0x5a5a5a5a, 0x7fffffff), evalSize)),
    describe: () => `copy: ${L} symbols of ${symbols}`,
  };
}

export interface AddingOptions {
  seqLen: number;
  evalSize?: number;
  seed: number;
}

export function addingTask(opts: AddingOptions): TaskData {
  objectArg(opts, 'adding', 'options');
  const { seqLen: T, evalSize = 512, seed } = opts;
  check('adding', isInt(T, 2), `seqLen must be an integer >= 2, got ${T}`);
  const vocab = new Vocab([...DIGITS, ...KEYS.slice(0, 10)]);
  function generate(s: number, size: number): HostBatch {
    const rng = new et.Rng(s);
    const inputs = new Int32Array(size * T);
    const targets = new Int32Array(size);
    const half = Math.floor(T / 2);
    for (let r = 0; r < size; r++) {
      for (let t = 0; t < T; t++) inputs[r * T + t] = rng.int(0, 10);
      const i = rng.int(0, half);
      const j = rng.int(half, T);
      const a = inputs[r * T + i]!;
      const b = inputs[r * T + j]!;
      inputs[r * T + i] = 10 + a; // marked digit d is the letter 'A' + d
      inputs[r * T + j] = 10 + b;
      targets[r] = (a + b) % 10;
    }
    return { inputs, targets, batch: size, seqLen: T };
  }
  let evalCache: HostBatch | null = null;
  return {
    kind: 'adding',
    vocab,
    seqLen: T,
    readout: 'last',
    trainBatch: (index, size) => generate(et.nn.deriveSeed(seed, index), size),
    evalSet: () => (evalCache ??= generate(et.nn.deriveSeed(seed ^ 0x5a5a5a5a, 0x7fffffff), evalSize)),
    describe: () => `adding problem (mod 10): length ${T}`,
  };
}
