/**
 * matmulInt8 on webgpu against hand-computed and plain-JS references, on both integer dot-product paths
 * (dot4I8Packed where WGSL has packed_4x8_integer_dot_product, byte arithmetic always). Inputs are chosen so that
 * every result is exactly representable: integer activations and weights, power-of-two scales, sums below 2^24.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { type Int8DotPath } from '../engine/backends/webgpu/context.js';
import { initWebGPU, setWebGpuInt8Dot, webgpuStats } from '../engine/backends/webgpu/index.js';

const status = await initWebGPU();
if (!status.available && process.env.EITP_REQUIRE_WEBGPU === '1') throw new Error(`webgpu unavailable: ${status.reason}`);
const packed = status.available && webgpuStats().wgslFeatures.includes('packed_4x8_integer_dot_product');
const PATHS: Int8DotPath[] = packed ? ['packed', 'unpacked'] : ['unpacked'];
const initial = status.available ? webgpuStats().int8Dot : 'unpacked';
afterAll(() => {
  if (status.available) setWebGpuInt8Dot(initial);
});

/** A small deterministic generator (LCG), so the references below never touch the engine. */
function ints(count: number, seed: number, lo: number, hi: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s % (hi - lo + 1));
  });
}

/** out[m, n] = scale[m, n] · Σ_k a[m, k]·w[n, k] in exact integer arithmetic. */
function reference(a: number[], w: number[], m: number, n: number, k: number, scale: (i: number, j: number) => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += a[i * k + p]! * w[j * k + p]!;
      out.push(scale(i, j) * acc);
    }
  }
  return out;
}

/** Exact equality with a short message (a failing toEqual on thousands of numbers takes minutes to diff). */
function expectExact(got: number[], want: number[]): void {
  expect(got.length).toBe(want.length);
  const bad = got.findIndex((v, i) => v !== want[i]);
  expect(bad, bad < 0 ? '' : `index ${bad}: got ${got[bad]}, expected ${want[bad]}`).toBe(-1);
}

async function run(x: number[], xShape: number[], w: number[], n: number, ws: number[], activations: 'f32' | 'int8'): Promise<number[]> {
  const k = xShape[xShape.length - 1]!;
  const out = et.tidy(() =>
    et.matmulInt8(
      et.tensor(x, { shape: xShape, backend: 'webgpu' }),
      et.tensor(w, { shape: [n, k], dtype: 'i8', backend: 'webgpu' }),
      et.tensor(ws, { backend: 'webgpu' }),
      { activations },
    ),
  );
  const data = Array.from(await out.data());
  out.dispose();
  return data;
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [7, 5, 3],
  [33, 67, 9],
  [257, 33, 257],
  [64, 1030, 70],
];
const scaleOf = (j: number) => 2 ** ((j % 5) - 2); // 0.25 … 4: products stay exact

describe.runIf(status.available).each(PATHS)('webgpu matmulInt8, %s integer dot product', (path) => {
  it.each(SHAPES)("'int8' activations, [%i, %i] · [%i, K]ᵀ are exact", async (m, k, n) => {
    setWebGpuInt8Dot(path);
    // each row reaches ±127 so amax = 127: the codes are the integers themselves and the row scale is 1
    const x = ints(m * k, m + k, -127, 127).map((v, i) => (i % k === 0 ? (i % 2 ? 127 : -127) : v));
    const w = ints(n * k, n * 7 + k, -128, 127);
    const ws = Array.from({ length: n }, (_, j) => scaleOf(j));
    const got = await run(x, [m, k], w, n, ws, 'int8');
    expectExact(got, reference(x, w, m, n, k, (_i, j) => ws[j]!));
  });

  it("'int8' activations round half to even and scale rows by amax/127", async () => {
    setWebGpuInt8Dot(path);
    // amax 254: inv = 0.5, so odd values land on ties: 3 → 1.5 → 2, 5 → 2.5 → 2, −3 → −2, 1 → 0.5 → 0, 7 → 3.5 → 4
    const x = [254, 3, 5, -3, 1, 7, -1, 0, 0, 0, 0, 0, 0, 0];
    const codes = [127, 2, 2, -2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0];
    const k = 7;
    const w = ints(3 * k, 11, -128, 127);
    const got = await run(x, [2, k], w, 3, [1, 0.5, 2], 'int8');
    // sx = 254/127 = 2 for row 0; row 1 is all zero and gives 0
    expectExact(got, reference(codes, w, 2, 3, k, (i, j) => (i === 0 ? 2 : 0) * [1, 0.5, 2][j]!));
  });

  it("'int8' codes match a JS quantisation, also next to rounding ties, for rows of any magnitude", async () => {
    setWebGpuInt8Dot(path);
    // identity weights expose every code: out[m, n] = sx_m · code[m, n]; one code off by one is an error ≥ 1/127.
    // Values next to ties (x·inv within an ulp of c + ½) change code when inv = 127/amax is one ulp off, so they
    // check that the device computes inv with the reference's rounding.
    const f = Math.fround;
    const m = 96;
    const k = 61;
    const halfEven = (t: number) => {
      const r = Math.round(t);
      return Math.abs(t % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
    };
    const rand = ints(m * k * 2, 5, 0, 1 << 30).map((v) => v / (1 << 30));
    const x: number[] = [];
    for (let i = 0; i < m; i++) {
      // amax: a random significand in a binade from 2^-20 to 2^20
      const amax = f((1 + rand[2 * i * k]!) * 2 ** ((i % 41) - 20));
      const inv = f(127 / amax);
      x.push(i % 2 ? amax : -amax);
      for (let j = 1; j < k; j++) {
        const u = rand[2 * i * k + j]!;
        if (i % 3 === 0) {
          x.push(f((2 * u - 1) * amax));
        } else {
          // next to the tie c + ½: the f32 nearest (c + ½)/inv, nudged down, not at all, or up by 1–2 ulp
          const c = Math.floor(u * 253) - 126;
          const t = f((c + 0.5) / inv);
          x.push(f(t + ((j % 3) - 1) * Math.abs(t) * 2 ** -23));
        }
      }
    }
    const eye = Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? 1 : 0));
    const got = await run(x, [m, k], eye, k, new Array<number>(k).fill(1), 'int8');
    const want: number[] = [];
    for (let i = 0; i < m; i++) {
      const row = x.slice(i * k, (i + 1) * k);
      const amax = Math.max(...row.map(Math.abs));
      const inv = f(127 / amax);
      const sx = f(amax / 127);
      for (const v of row) want.push(sx * Math.max(-127, Math.min(127, halfEven(f(v * inv)))));
    }
    const bad = got.findIndex((v, i) => !(Math.abs(v - want[i]!) <= 2e-6 * Math.abs(want[i]!)));
    expect(bad, bad < 0 ? '' : `index ${bad}: got ${got[bad]}, expected ${want[bad]}`).toBe(-1);
  });

  it("'f32' activations with integer values are exact, with leading batch axes", async () => {
    const x = ints(2 * 3 * 67, 3, -100, 100);
    const w = ints(9 * 67, 4, -128, 127);
    const ws = Array.from({ length: 9 }, (_, j) => scaleOf(j));
    const got = await run(x, [2, 3, 67], w, 9, ws, 'f32');
    expectExact(got, reference(x, w, 6, 9, 67, (_i, j) => ws[j]!));
  });
});

describe.runIf(status.available)('webgpu matmulInt8 edge cases', () => {
  it('K = 0 gives zeros', async () => {
    for (const activations of ['f32', 'int8'] as const) {
      expect(await run([], [3, 0], [], 2, [1, 1], activations)).toEqual([0, 0, 0, 0, 0, 0]);
    }
  });

  it('reads strided x and weights', async () => {
    const xT = ints(5 * 3, 8, -127, 127);
    const wT = ints(5 * 4, 9, -128, 127);
    const out = et.tidy(() =>
      et.matmulInt8(
        et.tensor(xT, { shape: [5, 3], backend: 'webgpu' }).transpose(),
        et.tensor(wT, { shape: [5, 4], dtype: 'i8', backend: 'webgpu' }).transpose(),
        et.tensor([1, 2, 0.5, 1], { backend: 'webgpu' }),
      ),
    );
    const x = Array.from({ length: 15 }, (_, i) => xT[(i % 5) * 3 + Math.floor(i / 5)]!);
    const w = Array.from({ length: 20 }, (_, i) => wT[(i % 5) * 4 + Math.floor(i / 5)]!);
    expect(Array.from(await out.data())).toEqual(reference(x, w, 3, 4, 5, (_i, j) => [1, 2, 0.5, 1][j]!));
    out.dispose();
  });

  it('refuses the packed path where WGSL lacks it', () => {
    if (packed) expect(setWebGpuInt8Dot('packed')).toBeDefined();
    else expect(() => setWebGpuInt8Dot('packed')).toThrow(/packed_4x8_integer_dot_product/);
    setWebGpuInt8Dot(initial);
  });
});
