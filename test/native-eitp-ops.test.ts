/**
 * The fused EIT-P ops on the native backend beyond the parity suite's small cases: closed-form values (a value at a
 * bin centre, orthogonal and duplicated columns), n = 1 and n past a million for the soft histogram; correlation and
 * correlationGrad on ragged shapes up to N = 4099 and d = 401 (d off the micro-kernel's tile sizes and past its K
 * block), R exactly symmetric, non-symmetric and strided cotangents, every micro-kernel (EITP_SIMD), and the coherence
 * loss built on them; NaN/out-of-range inputs, the window cap for wide bandwidths, and results that do not depend on
 * the thread count. tanhJvp on a transposed weight; the FTLE step tanhJvpStep and its backward tanhJvpStepGrad on
 * strided views (a previous step's direction among them), ragged and large shapes, every ISA, a zero tangent row, and
 * bad operands at the kernel. References are float64 JS written from the op spec.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import type { Backend, DeviceBuffer, KernelArg } from '../engine/backend.js';
import { nativeInfo, setNativeThreads } from '../engine/backends/native/index.js';
import { backendByName } from '../engine/device.js';
import { availableBackends } from './helpers/backends.js';
import { onHost } from './helpers/on-host.js';
import { ADDON_PATH } from './helpers/addon-script.js';

const hasNative = availableBackends().includes('native');
const backend = 'native' as const;

interface Hist {
  bins: number;
  low: number;
  width: number;
  bandwidth: number;
}
const EITP: Hist = { bins: 64, low: -4, width: 0.125, bandwidth: 0.125 };

/** Soft assignments of u over its window (nearest bin ± ⌈8h/width⌉), float64; NaN takes part in no bin. */
function assign(u: number, a: Hist): { lo: number; weights: number[] } {
  if (Number.isNaN(u)) return { lo: 0, weights: [] };
  const reach = Math.ceil((8 * a.bandwidth) / a.width);
  const nearest = Math.min(a.bins - 1, Math.max(0, Math.floor((u - a.low) / a.width)));
  const lo = Math.max(0, nearest - reach);
  const hi = Math.min(a.bins - 1, nearest + reach);
  const logits: number[] = [];
  for (let k = lo; k <= hi; k++) {
    const d = a.low + (k + 0.5) * a.width - u;
    logits.push(-(d * d) / (2 * a.bandwidth * a.bandwidth));
  }
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const total = e.reduce((s, v) => s + v, 0);
  return { lo, weights: e.map((v) => v / total) };
}

function histogramRef(u: Float32Array, a: Hist): Float64Array {
  const counts = new Float64Array(a.bins);
  for (const v of u) {
    const { lo, weights } = assign(v, a);
    weights.forEach((w, j) => (counts[lo + j]! += w));
  }
  return counts;
}

/** du_i = Σ a_k (g_k − ḡ)(c_k − u_i)/h². */
function histogramGradRef(u: Float32Array, g: Float32Array, a: Hist): Float64Array {
  const du = new Float64Array(u.length);
  u.forEach((v, i) => {
    const { lo, weights } = assign(v, a);
    const gbar = weights.reduce((s, w, j) => s + w * g[lo + j]!, 0);
    du[i] = weights.reduce((s, w, j) => s + w * (g[lo + j]! - gbar) * (a.low + (lo + j + 0.5) * a.width - v), 0) / a.bandwidth ** 2;
  });
  return du;
}

/** Column-standardised Ẑ and 1/σ of z [n, d] (population variance + eps), float64. */
function standardizedRef(z: Float32Array, n: number, d: number, eps: number) {
  const rstd = new Float64Array(d);
  const zhat = new Float64Array(n * d);
  for (let j = 0; j < d; j++) {
    let mu = 0;
    for (let i = 0; i < n; i++) mu += z[i * d + j]!;
    mu /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (z[i * d + j]! - mu) ** 2;
    rstd[j] = 1 / Math.sqrt(v / n + eps);
    for (let i = 0; i < n; i++) zhat[i * d + j] = (z[i * d + j]! - mu) * rstd[j]!;
  }
  return { rstd, zhat };
}

/** R = ẐᵀẐ/n, [d, d], float64. */
function correlationRef(z: Float32Array, n: number, d: number, eps = 1e-5): Float64Array {
  const { zhat } = standardizedRef(z, n, d, eps);
  const r = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const a = zhat[i * d + j]!;
      for (let k = 0; k < d; k++) r[j * d + k] += a * zhat[i * d + k]!;
    }
  }
  return r.map((v) => v / n);
}

/**
 * dz for the cotangent gR [d, d] of R: dẐ = Ẑ(gR + gRᵀ)/n, then dz_ij = r_j (dẐ_ij − mean dẐ_j − Ẑ_ij mean(dẐ Ẑ)_j).
 * `scale` is max |r_j dẐ_ij|, the size of the terms dz is made of (dz itself can cancel to almost nothing).
 */
function correlationGradRef(z: Float32Array, gR: ArrayLike<number>, n: number, d: number, eps = 1e-5) {
  const { rstd, zhat } = standardizedRef(z, n, d, eps);
  const dzhat = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) {
      const a = zhat[i * d + k]!;
      for (let j = 0; j < d; j++) dzhat[i * d + j] += (a * (gR[k * d + j]! + gR[j * d + k]!)) / n;
    }
  }
  const dz = new Float64Array(n * d);
  let scale = 0;
  for (let j = 0; j < d; j++) {
    let m1 = 0;
    let m2 = 0;
    for (let i = 0; i < n; i++) {
      m1 += dzhat[i * d + j]!;
      m2 += dzhat[i * d + j]! * zhat[i * d + j]!;
    }
    for (let i = 0; i < n; i++) {
      dz[i * d + j] = rstd[j]! * (dzhat[i * d + j]! - m1 / n - zhat[i * d + j]! * (m2 / n));
      scale = Math.max(scale, Math.abs(rstd[j]! * dzhat[i * d + j]!));
    }
  }
  return { dz, scale };
}

/** The coherence loss ‖R − I‖²/(d(d − 1)) and its gradient for the loss cotangent g, float64. */
function coherenceRef(z: Float32Array, n: number, d: number, eps: number): number {
  const r = correlationRef(z, n, d, eps);
  let total = 0;
  for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) total += (r[j * d + k]! - (j === k ? 1 : 0)) ** 2;
  return total / (d * (d - 1));
}

function coherenceGradRef(z: Float32Array, n: number, d: number, eps: number, g: number) {
  const r = correlationRef(z, n, d, eps);
  const gR = r.map((v, e) => (2 * g * (v - (Math.floor(e / d) === e % d ? 1 : 0))) / (d * (d - 1)));
  return correlationGradRef(z, gR, n, d, eps);
}

/** max |a − e| − (atol + rtol·|e|) ≤ 0 everywhere, with the worst index in the message. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, label: string) {
  expect(actual.length, label).toBe(expected.length);
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const x = actual[i]!;
    if ((Number.isNaN(e) && Number.isNaN(x)) || x === e) continue; // (x === e: equal infinities)
    const over = Math.abs(x - e) - (atol + rtol * Math.abs(e));
    if (!(over <= 0) && (worst < 0 || over > excess || Number.isNaN(over))) {
      worst = i;
      excess = over;
    }
  }
  if (worst >= 0) expect.fail(`${label}: index ${worst}: got ${actual[worst]}, expected ${expected[worst]}`);
}

function normals(n: number, seed: number, scale = 1): Float32Array {
  const rng = new et.Rng(seed);
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

const histogram = (u: Float32Array, attrs: Hist = EITP) =>
  onHost(() => et.softHistogram(et.tensor(u, { backend }), attrs).dataSync() as Float32Array);

function histogramGrad(u: Float32Array, g: Float32Array, attrs: Hist = EITP): Float32Array {
  return onHost(() => {
    const gt = et.tensor(g, { backend });
    const [, pullback] = et.vjp((x) => et.softHistogram(x, attrs), et.tensor(u, { backend }));
    return pullback(gt)[0]!.dataSync() as Float32Array;
  });
}

const coherence = (z: Float32Array, n: number, d: number) =>
  onHost(() => et.coherence(et.tensor(z, { shape: [n, d], backend })).dataSync()[0]!);

function coherenceGrad(z: Float32Array, n: number, d: number, g: number): Float32Array {
  return onHost(() => {
    const [, pullback] = et.vjp((x) => et.coherence(x), et.tensor(z, { shape: [n, d], backend }));
    return pullback(et.tensor(g, { backend }))[0]!.dataSync() as Float32Array;
  });
}

/** The native kernels fn calls, in order (the backend's kernel table wrapped while fn runs). */
function countKernels(fn: () => void): string[] {
  const kernels = backendByName(backend).kernels as unknown as Record<string, (...args: unknown[]) => void>;
  const originals = Object.entries(kernels);
  const calls: string[] = [];
  for (const [op, kernel] of originals) {
    kernels[op] = (...args: unknown[]) => {
      calls.push(op);
      kernel(...args);
    };
  }
  try {
    onHost(fn);
  } finally {
    for (const [op, kernel] of originals) kernels[op] = kernel;
  }
  return calls;
}

/** z as a dense [n, d] tensor, or (transposed) as a strided view of [d, n] storage. */
function zTensor(z: Float32Array, n: number, d: number, strided: boolean): et.Tensor {
  if (!strided) return et.tensor(z, { shape: [n, d], backend });
  const zt = Float32Array.from({ length: n * d }, (_, e) => z[(e % n) * d + Math.floor(e / n)]!);
  return et.transpose(et.tensor(zt, { shape: [d, n], backend }));
}

const correlation = (z: Float32Array, n: number, d: number, strided = false) =>
  onHost(() => et.correlation(zTensor(z, n, d, strided)).dataSync() as Float32Array);

/** dz through the correlation op's pullback (the correlationGrad kernel); gR optionally passed as a transposed view. */
function correlationGrad(z: Float32Array, gR: Float32Array, n: number, d: number, { strided = false, transposedG = false } = {}) {
  return onHost(() => {
    const [, pullback] = et.vjp((x) => et.correlation(x), zTensor(z, n, d, strided));
    const g = transposedG
      ? et.transpose(et.tensor(Float32Array.from({ length: d * d }, (_, e) => gR[(e % d) * d + Math.floor(e / d)]!), { shape: [d, d], backend }))
      : et.tensor(gR, { shape: [d, d], backend });
    return pullback(g)[0]!.dataSync() as Float32Array;
  });
}

/** z [n, d] with correlated columns: every column gets a share of column 0, plus a per-column offset. */
function correlatedColumns(n: number, d: number, seed: number): Float32Array {
  const z = normals(n * d, seed);
  for (let i = 0; i < n; i++) for (let j = 1; j < d; j++) z[i * d + j] = z[i * d + j]! + 0.3 * z[i * d]! + 0.1 * j;
  return z;
}

function expectSymmetric(r: Float32Array, d: number, label: string) {
  let asymmetric = 0;
  for (let j = 0; j < d; j++) for (let k = j + 1; k < d; k++) if (!Object.is(r[j * d + k], r[k * d + j])) asymmetric++;
  expect(asymmetric, `${label}: pairs with R[j,k] !== R[k,j]`).toBe(0);
}

describe.skipIf(!hasNative)('native soft histogram', () => {
  const initialThreads = hasNative ? nativeInfo().threads : 1;
  afterAll(() => {
    if (hasNative) setNativeThreads(initialThreads);
  });

  it('one value at a bin centre spreads as exp(−j²/2) over bins ±8 (width = bandwidth)', () => {
    const centre = 30;
    const counts = histogram(Float32Array.of(EITP.low + (centre + 0.5) * EITP.width));
    const e = Array.from({ length: 17 }, (_, i) => Math.exp(-((i - 8) ** 2) / 2));
    const total = e.reduce((s, v) => s + v, 0);
    const expected = Array.from({ length: 64 }, (_, k) => (Math.abs(k - centre) <= 8 ? e[k - centre + 8]! / total : 0));
    expectClose(counts, expected, 1e-6, 1e-12, 'one value');
  });

  it('a value far outside the range lands wholly in the edge bin; NaN lands nowhere', () => {
    expect(Array.from(histogram(Float32Array.of(100)))).toEqual([...Array(63).fill(0), 1]);
    expect(Array.from(histogram(Float32Array.of(-100)))).toEqual([1, ...Array(63).fill(0)]);
    expect(Array.from(histogram(Float32Array.of(NaN)))).toEqual(Array(64).fill(0));
    expect(Array.from(histogramGrad(Float32Array.of(NaN, 100), normals(64, 1)))).toEqual([0, 0]);
  });

  it('matches a float64 reference at n = 2^20 + 3, and the counts add up to n', () => {
    const u = normals((1 << 20) + 3, 2, 2.5);
    const counts = histogram(u);
    expectClose(counts, histogramRef(u, EITP), 1e-5, 1e-3, 'n = 2^20 + 3');
    expect(Math.abs(counts.reduce((s, v) => s + v, 0) - u.length)).toBeLessThan(u.length * 1e-6);
  });

  it('crowded bins: 40000 values in one bin, and 2^22 + 4099 values (the kernel groups values by bin, call by call)', () => {
    // One bin holding every value: the forward's f32 sums go into f64 every 1024 values of a bin, and one thread's
    // backward takes 5 blocks of up to 8192 values with the same buffers.
    const rng = new et.Rng(11);
    const inOneBin = Float32Array.from({ length: 40000 }, () => EITP.low + (37 + rng.next()) * EITP.width);
    const g = normals(64, 12);
    expect(setNativeThreads(1)).toBe(1);
    expectClose(histogram(inOneBin), histogramRef(inOneBin, EITP), 1e-5, 1e-3, 'one bin');
    const du = histogramGradRef(inOneBin, g, EITP);
    const scale = du.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expectClose(histogramGrad(inOneBin, g), du, 1e-4, 1e-5 * scale, 'one bin, gradient');
    setNativeThreads(initialThreads);
    // Over 256 · 16384 values a forward chunk takes several calls (values beyond the edges in each).
    const many = normals((1 << 22) + 4099, 13, 1.5);
    const counts = histogram(many);
    expectClose(counts, histogramRef(many, EITP), 1e-5, 1e-2, 'n = 2^22 + 4099');
    expect(Math.abs(counts.reduce((s, v) => s + v, 0) - many.length)).toBeLessThan(many.length * 1e-6);
  });

  it('caps the window at the bin count for a wide bandwidth, and handles a single bin', () => {
    const u = normals(1001, 3);
    for (const attrs of [
      { bins: 5, low: -1, width: 0.4, bandwidth: 1 },
      { bins: 1, low: 0, width: 1, bandwidth: 0.5 },
      { bins: 33, low: -3, width: 0.2, bandwidth: 0.15 },
    ]) {
      expectClose(histogram(u, attrs), histogramRef(u, attrs), 1e-5, 1e-4, `bins ${attrs.bins}`);
      const g = normals(attrs.bins, 4);
      const du = histogramGradRef(u, g, attrs);
      const scale = du.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expectClose(histogramGrad(u, g, attrs), du, 1e-4, 1e-5 * scale, `grad, bins ${attrs.bins}`);
    }
  });

  it('its gradient matches a float64 reference at n = 100003 (values in and beyond the range)', () => {
    const u = normals(100003, 5, 3);
    const g = normals(64, 6);
    const du = histogramGradRef(u, g, EITP);
    const scale = du.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expectClose(histogramGrad(u, g), du, 1e-4, 1e-5 * scale, 'gradient');
  });

  it('gives identical counts and gradients on 1, 2 and 3 threads', () => {
    const u = normals(300001, 7, 2);
    const g = normals(64, 8);
    const runs = [1, 2, 3].map((t) => {
      expect(setNativeThreads(t)).toBe(t);
      return [Array.from(histogram(u)), Array.from(histogramGrad(u, g))];
    });
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});

/** Runs softHistogram and its backward for each case in a fresh process with EITP_SIMD=simd, calling the addon directly. */
function histogramInProcess(simd: string, cases: { attrs: Hist; u: Float32Array; g: Float32Array }[]) {
  const script = `
    const a = require(${JSON.stringify(ADDON_PATH)});
    const put = (data) => { const h = a.alloc(4 * data.length); a.write(h, data); return h; };
    const run = (op, inputs, numel, attrs) => {
      const meta = [inputs.length];
      for (const data of inputs) meta.push(0, 1, 0, data.length, 1);
      meta.push(0, 1, numel);
      const handles = inputs.map(put);
      const out = a.alloc(4 * numel);
      a.run(op, [...handles, out], new Float64Array(meta), new Float64Array(attrs));
      const r = Array.from(new Float32Array(a.readSync(out, 4 * numel)));
      for (const h of [...handles, out]) a.free(h);
      return r;
    };
    const cases = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    console.log(JSON.stringify(cases.map(({ attrs: { bins, low, width, bandwidth }, u, g }) => {
      const uf = Float32Array.from(u, (v) => (v === null ? NaN : v));
      const attrs = [bins, low, width, bandwidth];
      return { counts: run('softHistogram', [uf], bins, attrs), du: run('softHistogramGrad', [uf, Float32Array.from(g)], uf.length, attrs) };
    })));`;
  const input = JSON.stringify(cases.map(({ attrs, u, g }) => ({ attrs, u: Array.from(u), g: Array.from(g) })));
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, EITP_SIMD: simd }, encoding: 'utf8', input });
  return JSON.parse(out) as { counts: number[]; du: number[] }[];
}

describe.skipIf(!hasNative)('native soft histogram: the SIMD path and its scalar fallbacks', () => {
  /** Uniform values in [−r, r], with the values of `special` spread over the array. */
  function spread(n: number, seed: number, r: number, special: number[]): Float32Array {
    const rng = new et.Rng(seed);
    const u = Float32Array.from({ length: n }, () => r * (2 * rng.next() - 1));
    special.forEach((v, i) => (u[Math.floor((i * n) / special.length)] = v));
    return u;
  }
  // The edges (±4), beyond them (±10), an exact bin boundary and centre, the floats next to the edges, NaN.
  const SPECIAL = [-4, 4, -10, 10, 0, 0.0625, Math.fround(4 - 2 ** -21), Math.fround(-4 + 2 ** -21), Math.fround(-4 - 2 ** -21), NaN, 3.99, -3.99];
  const ATTRS: Hist[] = [
    EITP,
    { bins: 33, low: -3, width: 0.2, bandwidth: 0.15 },
    // bandwidths much wider than the bins: W = 64 capped to 63 (every window clipped), and W capped to bins − 1 = 19
    { bins: 64, low: -4, width: 0.125, bandwidth: 1 },
    { bins: 20, low: -2, width: 0.2, bandwidth: 3 },
    // α = Δ²/(2h²) ≈ 34.7, near the SIMD path's limit of 40: e^{2αt} up to e^35
    { bins: 16, low: -4, width: 0.5, bandwidth: 0.06 },
    // outside the SIMD path's limits, so the scalar path: W = 80 > 64, and α = 50 > 40
    { bins: 200, low: -5, width: 0.05, bandwidth: 0.5 },
    { bins: 16, low: -4, width: 0.5, bandwidth: 0.05 },
  ];

  function expectMatches(counts: ArrayLike<number>, du: ArrayLike<number>, u: Float32Array, g: Float32Array, attrs: Hist, label: string) {
    expectClose(counts, histogramRef(u, attrs), 1e-5, 1e-4, `${label}: counts`);
    const ref = histogramGradRef(u, g, attrs);
    const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expectClose(du, ref, 1e-4, 1e-5 * scale, `${label}: du`);
  }

  it('matches a float64 reference near and beyond the edges, with NaN, for default and other attributes', () => {
    ATTRS.forEach((attrs, a) => {
      const r = Math.max(10, 1.5 * attrs.bins * attrs.width);
      for (const n of [4099, 257]) {
        const u = spread(n, 40 + a, r, SPECIAL);
        const g = normals(attrs.bins, 50 + a);
        expectMatches(histogram(u, attrs), histogramGrad(u, g, attrs), u, g, attrs, `bins ${attrs.bins}, h ${attrs.bandwidth}, n ${n}`);
      }
    });
  });

  it('n off the vector width (1, 3, 5, 13, 17, 31, 1025): each value on its own, NaN in the last group', () => {
    for (const n of [1, 3, 5, 13, 17, 31, 1025]) {
      const u = spread(n, 60 + n, 4.5, n > 2 ? [NaN] : []);
      u[n - 1] = n % 2 ? 1.3 : NaN;
      const g = normals(64, 61);
      expectMatches(histogram(u), histogramGrad(u, g), u, g, EITP, `n = ${n}`);
    }
  });

  it('a NaN among values in range adds nothing and gets gradient 0, whatever its neighbours', () => {
    const base = spread(64, 70, 3, []);
    const withNaN = base.slice();
    for (const i of [0, 7, 8, 15, 16, 33, 63]) withNaN[i] = NaN;
    const kept = base.filter((_, i) => !Number.isNaN(withNaN[i]!));
    expectClose(histogram(withNaN), histogramRef(kept, EITP), 1e-5, 1e-5, 'counts without the NaNs');
    const du = histogramGrad(withNaN, normals(64, 71));
    for (const i of [0, 7, 8, 15, 16, 33, 63]) expect(du[i], `du[${i}]`).toBe(0);
  });

  it('is right, and the same, on every ISA (EITP_SIMD=generic, avx2, best)', () => {
    const cases = ATTRS.slice(0, 5).map((attrs, a) => ({
      attrs,
      u: spread(1003 + a, 80 + a, Math.max(10, 1.5 * attrs.bins * attrs.width), SPECIAL),
      g: normals(attrs.bins, 90 + a),
    }));
    const runs = ['generic', 'avx2', ''].map((simd) => histogramInProcess(simd, cases));
    runs.forEach((run, r) => {
      cases.forEach(({ attrs, u, g }, c) => expectMatches(run[c]!.counts, run[c]!.du, u, g, attrs, `run ${r}, case ${c}`));
    });
    // Each value is computed lane by lane with the same roundings, so the instruction set changes no bit.
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});

describe.skipIf(!hasNative)('native correlation and correlationGrad', () => {
  const initialThreads = hasNative ? nativeInfo().threads : 1;
  afterAll(() => {
    if (hasNative) setNativeThreads(initialThreads);
  });

  it('orthogonal ±1 columns (Hadamard) give R = I/(1 + eps)', () => {
    // Sylvester's 8 x 8 Hadamard matrix without its constant column: 7 orthogonal columns of mean 0, variance 1.
    const h = (i: number, j: number) => ((((i & j).toString(2).match(/1/g) ?? []).length & 1) === 0 ? 1 : -1);
    const [n, d] = [8, 7];
    const z = Float32Array.from({ length: n * d }, (_, e) => h(Math.floor(e / d), (e % d) + 1));
    const r = correlation(z, n, d);
    const expected = Array.from({ length: d * d }, (_, e) => (Math.floor(e / d) === e % d ? 1 / (1 + 1e-5) : 0));
    // Off the diagonal the ±Ẑ² products cancel, up to what FMA micro-kernels leave of each product's rounding.
    expectClose(r, expected, 1e-7, 1e-10, 'R');
  });

  it('two identical columns give R = a·[[1, 1], [1, 1]] with a = var/(var + eps)', () => {
    const n = 101;
    const col = normals(n, 9);
    const z = Float32Array.from({ length: 2 * n }, (_, e) => col[Math.floor(e / 2)]!);
    let mu = 0;
    for (const v of col) mu += v;
    mu /= n;
    let v = 0;
    for (const c of col) v += (c - mu) ** 2;
    const a = v / n / (v / n + 1e-5);
    expectClose(correlation(z, n, 2), [a, a, a, a], 1e-6, 0, 'R');
  });

  it.each([
    [2, 2],
    [3, 257],
    [37, 13],
    [130, 67],
    [513, 100],
    [1100, 200],
    [1000, 257],
    [4099, 47],
    [4096, 256],
    // d past the product's K block (384 rows of S on AVX-512): dẐ = Ẑ·S summed over two blocks, with a 17-wide edge
    [600, 401],
  ])('N = %i, d = %i: R (exactly symmetric) and dz for a non-symmetric gR match float64 references', (n, d) => {
    const z = correlatedColumns(n, d, n + d);
    const r = correlation(z, n, d);
    expectClose(r, correlationRef(z, n, d), 1e-5, 1e-6, 'R');
    expectSymmetric(r, d, 'R');
    const gR = normals(d * d, n * d);
    const { dz, scale } = correlationGradRef(z, gR, n, d);
    expectClose(correlationGrad(z, gR, n, d), dz, 1e-4, 5e-6 * scale, 'dz');
  });

  it('reads strided z and gR (transposed views); gR and gRᵀ give the same dz', () => {
    const [n, d] = [301, 45];
    const z = correlatedColumns(n, d, 12);
    const r = correlation(z, n, d, true);
    expectClose(r, correlationRef(z, n, d), 1e-5, 1e-6, 'R of a strided z');
    expectSymmetric(r, d, 'R of a strided z');
    const gR = normals(d * d, 13);
    const { dz, scale } = correlationGradRef(z, gR, n, d);
    expectClose(correlationGrad(z, gR, n, d, { strided: true }), dz, 1e-4, 5e-6 * scale, 'dz, strided z');
    // correlationGrad only sees gR + gRᵀ: passing gRᵀ (as a strided view) must give the very same dz.
    expect(Array.from(correlationGrad(z, gR, n, d, { transposedG: true }))).toEqual(Array.from(correlationGrad(z, gR, n, d)));
  });

  it('a constant column (zero variance) has a zero row and column in R, and dz matches the reference', () => {
    const [n, d] = [50, 4];
    const z = normals(n * d, 10);
    for (let i = 0; i < n; i++) z[i * d + 2] = 3;
    const r = correlation(z, n, d);
    for (let k = 0; k < d; k++) {
      expect(r[2 * d + k]).toBe(0);
      expect(r[k * d + 2]).toBe(0);
    }
    expectClose(r, correlationRef(z, n, d), 1e-5, 1e-6, 'R');
    const gR = normals(d * d, 11);
    const { dz, scale } = correlationGradRef(z, gR, n, d);
    expectClose(correlationGrad(z, gR, n, d), dz, 1e-4, 5e-6 * scale, 'dz');
  });

  it('columns with large means and scales from 1e-2 to 1e2 match the float64 reference', () => {
    const [n, d] = [3001, 40];
    const z = correlatedColumns(n, d, 16);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) z[i * d + j] = 1000 * (j % 7) + z[i * d + j]! * 10 ** ((j % 5) - 2);
    const r = correlation(z, n, d);
    expectClose(r, correlationRef(z, n, d), 1e-5, 2e-6, 'R');
    const gR = normals(d * d, 17);
    const { dz, scale } = correlationGradRef(z, gR, n, d);
    expectClose(correlationGrad(z, gR, n, d), dz, 1e-4, 5e-6 * scale, 'dz');
  });

  it('a NaN makes its own row and column of R NaN and leaves the rest finite', () => {
    const [n, d] = [64, 5];
    const z = normals(n * d, 18);
    z[7 * d + 3] = NaN;
    const r = correlation(z, n, d);
    const ref = correlationRef(z, n, d);
    for (let j = 0; j < d; j++) {
      for (let k = 0; k < d; k++) {
        if (j === 3 || k === 3) expect(r[j * d + k], `R[${j},${k}]`).toBeNaN();
        else expect(Math.abs(r[j * d + k]! - ref[j * d + k]!), `R[${j},${k}]`).toBeLessThan(1e-6);
      }
    }
  });

  it('rejects fewer than 2 samples or features with a ShapeError', () => {
    expect(() => correlation(normals(5, 1), 1, 5)).toThrow(et.ShapeError);
    expect(() => correlation(normals(5, 1), 5, 1)).toThrow(et.ShapeError);
  });

  it('gives identical R and dz on 1, 2 and 3 threads', () => {
    for (const [n, d] of [
      [2000, 96],
      [1100, 200],
    ] as const) {
      const z = correlatedColumns(n, d, 14);
      const gR = normals(d * d, 15);
      const runs = [1, 2, 3].map((t) => {
        expect(setNativeThreads(t)).toBe(t);
        return [Array.from(correlation(z, n, d)), Array.from(correlationGrad(z, gR, n, d))];
      });
      expect(runs[1]).toEqual(runs[0]);
      expect(runs[2]).toEqual(runs[0]);
    }
  });

  it('is right on every micro-kernel and ISA (EITP_SIMD=generic, avx2, best)', () => {
    // A fresh process per instruction set (the GEMM micro-kernel and the streaming loops are chosen once, at load),
    // calling the addon directly, against float64 references computed in the same process.
    const script = `
      const a = require(${JSON.stringify(ADDON_PATH)});
      const put = (data) => { const h = a.alloc(4 * data.length); a.write(h, data); return h; };
      const run = (op, inputs, outShape) => {
        const meta = [inputs.length];
        for (const [, shape] of inputs) meta.push(0, shape.length, 0, ...shape, ...(shape.length === 2 ? [shape[1], 1] : [1]));
        meta.push(0, outShape.length, ...outShape);
        const handles = inputs.map(([data]) => put(data));
        const numel = outShape.reduce((p, d) => p * d, 1);
        const out = a.alloc(4 * numel);
        a.run(op, [...handles, out], new Float64Array(meta), new Float64Array([1e-5]));
        const r = new Float32Array(a.readSync(out, 4 * numel));
        for (const h of [...handles, out]) a.free(h);
        return r;
      };
      let worstR = 0, worstDz = 0, asymmetric = 0, worstL = 0;
      // (d = 300: past the 256-row K block of the generic and AVX2 micro-kernels)
      for (const [n, d] of [[67, 45], [300, 101], [2050, 66], [70, 300]]) {
        const z = Float32Array.from({ length: n * d }, (_, e) => Math.sin(e * 0.37) + 0.5 * Math.cos((e % d) * 1.3 + Math.floor(e / d) * 0.011));
        const g = Float32Array.from({ length: d * d }, (_, e) => Math.cos(e * 0.7));
        const zh = new Float64Array(n * d), rs = new Float64Array(d), rRef = new Float64Array(d * d);
        for (let j = 0; j < d; j++) {
          let m = 0, v = 0;
          for (let i = 0; i < n; i++) m += z[i * d + j] / n;
          for (let i = 0; i < n; i++) v += (z[i * d + j] - m) ** 2 / n;
          rs[j] = 1 / Math.sqrt(v + 1e-5);
          for (let i = 0; i < n; i++) zh[i * d + j] = (z[i * d + j] - m) * rs[j];
        }
        const R = run('correlation', [[z, [n, d]]], [d, d]);
        let lRef = 0;
        for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += zh[i * d + j] * zh[i * d + k];
          rRef[j * d + k] = s / n;
          lRef += (s / n - (j === k ? 1 : 0)) ** 2 / (d * (d - 1));
          worstR = Math.max(worstR, Math.abs(R[j * d + k] - s / n));
          if (!Object.is(R[j * d + k], R[k * d + j])) asymmetric++;
        }
        // dz for the cotangent gR of R, against the same product and column sums in float64
        const checkDz = (dz, gR) => {
          const p = new Float64Array(n * d);
          for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) p[i * d + j] += zh[i * d + k] * (gR[k * d + j] + gR[j * d + k]) / n;
          for (let j = 0; j < d; j++) {
            let m1 = 0, m2 = 0, scale = 0;
            for (let i = 0; i < n; i++) { m1 += p[i * d + j] / n; m2 += p[i * d + j] * zh[i * d + j] / n; scale = Math.max(scale, Math.abs(rs[j] * p[i * d + j])); }
            for (let i = 0; i < n; i++) worstDz = Math.max(worstDz, Math.abs(dz[i * d + j] - rs[j] * (p[i * d + j] - m1 - zh[i * d + j] * m2)) / scale);
          }
        };
        checkDz(run('correlationGrad', [[z, [n, d]], [g, [d, d]]], [n, d]), g);
        // the fused coherence loss and its backward for the loss cotangent 1.3: gR = 2.6(R − I)/(d(d − 1))
        worstL = Math.max(worstL, Math.abs(run('coherence', [[z, [n, d]]], [])[0] / lRef - 1));
        const gL = rRef.map((v, e) => (2.6 * (v - (Math.floor(e / d) === e % d ? 1 : 0))) / (d * (d - 1)));
        checkDz(run('coherenceGrad', [[z, [n, d]], [new Float32Array([1.3]), [1]]], [n, d]), gL);
      }
      console.log(JSON.stringify({ kernel: a.info().gemmKernel, worstR, worstDz, asymmetric, worstL }));`;
    for (const simd of ['generic', 'avx2', '']) {
      const r = JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, EITP_SIMD: simd }, encoding: 'utf8' })) as {
        kernel: string;
        worstR: number;
        worstDz: number;
        asymmetric: number;
        worstL: number;
      };
      if (simd) expect(r.kernel.startsWith(simd) || r.kernel.startsWith('generic'), r.kernel).toBe(true);
      expect(r.worstR, r.kernel).toBeLessThan(1e-6);
      expect(r.worstDz, r.kernel).toBeLessThan(5e-6);
      expect(r.asymmetric, r.kernel).toBe(0);
      expect(r.worstL, r.kernel).toBeLessThan(1e-5);
    }
  });
});

describe.skipIf(!hasNative)('native coherence loss (one fused op: −I, square and sum in the Gram\'s epilogue; Ẑ(R − I) backward)', () => {
  it('orthogonal ±1 columns (Hadamard) give (eps/(1 + eps))²/(d − 1)', () => {
    const h = (i: number, j: number) => ((((i & j).toString(2).match(/1/g) ?? []).length & 1) === 0 ? 1 : -1);
    const [n, d] = [8, 7];
    const z = Float32Array.from({ length: n * d }, (_, e) => h(Math.floor(e / d), (e % d) + 1));
    const eps = 1e-5;
    // R is an f32 tensor: R_jj − 1 ≈ −1e-5 carries up to 6e-8 (half an ulp of 1) of rounding, ~1.2% of the loss.
    expect(Math.abs(coherence(z, n, d) / ((eps / (1 + eps)) ** 2 / (d - 1)) - 1)).toBeLessThan(0.015);
  });

  it.each([
    [4096, 128],
    [1000, 3],
    [37, 256],
  ])('matches a float64 reference at N = %i, d = %i, forward and backward', (n, d) => {
    const z = correlatedColumns(n, d, n + d);
    expectClose([coherence(z, n, d)], [coherenceRef(z, n, d, 1e-5)], 1e-5, 0, 'loss');
    const { dz, scale } = coherenceGradRef(z, n, d, 1e-5, 1.7);
    expectClose(coherenceGrad(z, n, d, 1.7), dz, 1e-4, 5e-6 * scale, 'gradient');
  });

  it('reads a strided (transposed) z, and gives identical loss and gradient on 1, 2 and 3 threads', () => {
    for (const [n, d] of [
      [2000, 96],
      [64, 256],
      [1100, 200],
    ] as const) {
      const z = correlatedColumns(n, d, 31 + d);
      const runs = [1, 2, 3].map((t) => {
        expect(setNativeThreads(t)).toBe(t);
        return onHost(() => {
          const [loss, pullback] = et.vjp((x) => et.coherence(x), zTensor(z, n, d, true));
          return [loss.dataSync()[0]!, Array.from(pullback(et.tensor(0.5, { backend }))[0]!.dataSync())] as const;
        });
      });
      expect(runs[1]).toEqual(runs[0]);
      expect(runs[2]).toEqual(runs[0]);
      expectClose([runs[0]![0]], [coherenceRef(z, n, d, 1e-5)], 1e-5, 0, `loss ${n}x${d}`);
      const { dz, scale } = coherenceGradRef(z, n, d, 1e-5, 0.5);
      expectClose(runs[0]![1], dz, 1e-4, 5e-6 * scale, `gradient ${n}x${d}`);
    }
  });

  it('the loss is one kernel forward and one backward: R, R − I and the identity are never tensors', () => {
    const z = correlatedColumns(300, 40, 3);
    const calls = countKernels(() => {
      const [loss, pullback] = et.vjp((x) => et.coherence(x), et.tensor(z, { shape: [300, 40], backend }));
      pullback(et.tensor(1, { backend }));
      loss.dataSync();
    });
    expect(calls).toEqual(['coherence', 'coherenceGrad']);
  });
});

/** (1 − h²) ⊙ (v Wᵀ) in float64, for v dense [b, cols] and h, W given element by element (any layout). */
function tanhJvpReference(b: number, rows: number, cols: number, h: (i: number, j: number) => number, v: ArrayLike<number>, w: (j: number, k: number) => number): Float64Array {
  const out = new Float64Array(b * rows);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < rows; j++) {
      let acc = 0;
      for (let k = 0; k < cols; k++) acc += v[i * cols + k]! * w(j, k);
      out[i * rows + j] = (1 - h(i, j) ** 2) * acc;
    }
  }
  return out;
}

describe.skipIf(!hasNative)('native tanhJvp', () => {
  it('reads a transposed weight view and matches a float64 reference', () => {
    const [b, rows, cols] = [67, 45, 301];
    const h = Float32Array.from(normals(b * rows, 12), Math.tanh);
    const v = normals(b * cols, 13);
    const wt = normals(cols * rows, 14); // w stored transposed: [in, out]
    const expected = tanhJvpReference(b, rows, cols, (i, j) => h[i * rows + j]!, v, (j, k) => wt[k * rows + j]!);
    const out = onHost(() => {
      const w = et.transpose(et.tensor(wt, { shape: [cols, rows], backend }));
      return et.tanhJvp(et.tensor(h, { shape: [b, rows], backend }), et.tensor(v, { shape: [b, cols], backend }), w).dataSync();
    });
    expectClose(out, expected, 1e-4, 1e-4, 'tanhJvp');
  });

  it('reads h through any strides (a transposed view: its rows are gathered) over rows split between threads', () => {
    // 800 rows of 45 (not a multiple of the 8-lane pass), more than one chunk of the row pass
    const [b, rows, cols] = [800, 45, 33];
    const ht = Float32Array.from(normals(rows * b, 15), Math.tanh); // h stored transposed: [out, B]
    const v = normals(b * cols, 16);
    const w = normals(rows * cols, 17);
    const expected = tanhJvpReference(b, rows, cols, (i, j) => ht[j * b + i]!, v, (j, k) => w[j * cols + k]!);
    const out = onHost(() => {
      const h = et.transpose(et.tensor(ht, { shape: [rows, b], backend }));
      return et.tanhJvp(h, et.tensor(v, { shape: [b, cols], backend }), et.tensor(w, { shape: [rows, cols], backend })).dataSync();
    });
    expectClose(out, expected, 1e-4, 1e-4, 'tanhJvp');
  });
});

// ---- tanhJvpStep and its backward tanhJvpStepGrad ------------------------------------------------------------------------

interface StepDims {
  b: number;
  rows: number; // out
  cols: number; // in
}

/** p = v Wᵀ, then per row δ = (1 − h²) ⊙ p, g = ‖δ‖ and y = [δ/g | ln g], float64 (h [B, out], v [B, in], w [out, in]). */
function tanhStepRef(h: ArrayLike<number>, v: ArrayLike<number>, w: ArrayLike<number>, { b, rows, cols }: StepDims) {
  const p = new Float64Array(b * rows);
  const g = new Float64Array(b);
  const y = new Float64Array(b * (rows + 1));
  for (let i = 0; i < b; i++) {
    let ss = 0;
    for (let j = 0; j < rows; j++) {
      let acc = 0;
      for (let k = 0; k < cols; k++) acc += v[i * cols + k]! * w[j * cols + k]!;
      p[i * rows + j] = acc;
      ss += ((1 - h[i * rows + j]! ** 2) * acc) ** 2;
    }
    g[i] = Math.sqrt(ss);
    for (let j = 0; j < rows; j++) y[i * (rows + 1) + j] = ((1 - h[i * rows + j]! ** 2) * p[i * rows + j]!) / g[i]!;
    y[i * (rows + 1) + rows] = Math.log(g[i]!);
  }
  return { p, g, y };
}

/**
 * The gradients for the cotangent gy [B, out + 1] of y = [u | ℓ]: dδ = (ḡ_u − u (u·ḡ_u) + u ḡ_ℓ)/g, dp = (1 − h²) ⊙ dδ,
 * dh = −2h ⊙ p ⊙ dδ, dv = dp W, dW = dpᵀ v; float64. `scale` is the largest |term| of each, for absolute tolerances.
 */
function tanhStepGradRef(h: ArrayLike<number>, v: ArrayLike<number>, w: ArrayLike<number>, gy: ArrayLike<number>, dims: StepDims) {
  const { b, rows, cols } = dims;
  const { p, g, y } = tanhStepRef(h, v, w, dims);
  const dp = new Float64Array(b * rows);
  const dh = new Float64Array(b * rows);
  for (let i = 0; i < b; i++) {
    const u = (j: number) => y[i * (rows + 1) + j]!;
    let s = 0;
    for (let j = 0; j < rows; j++) s += u(j) * gy[i * (rows + 1) + j]!;
    const gl = gy[i * (rows + 1) + rows]!;
    for (let j = 0; j < rows; j++) {
      const dDelta = (gy[i * (rows + 1) + j]! - u(j) * s + u(j) * gl) / g[i]!;
      const hh = h[i * rows + j]!;
      dp[i * rows + j] = (1 - hh * hh) * dDelta;
      dh[i * rows + j] = -2 * hh * p[i * rows + j]! * dDelta;
    }
  }
  const dv = new Float64Array(b * cols);
  const dw = new Float64Array(rows * cols);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < rows; j++) {
      const d = dp[i * rows + j]!;
      for (let k = 0; k < cols; k++) {
        dv[i * cols + k] += d * w[j * cols + k]!;
        dw[j * cols + k] += d * v[i * cols + k]!;
      }
    }
  }
  const scale = (a: Float64Array) => a.reduce((m, x) => (Number.isFinite(x) ? Math.max(m, Math.abs(x)) : m), 0);
  return { dh, dv, dw, scales: [scale(dh), scale(dv), scale(dw)] };
}

/** tanh-like h (some near saturation), v and w with an optional all-zero tangent row, row-major float32. */
function stepInputs({ b, rows, cols }: StepDims, seed: number, zeroRow = -1) {
  const h = Float32Array.from(normals(b * rows, seed, 1.5), Math.tanh);
  const v = normals(b * cols, seed + 1);
  if (zeroRow >= 0) v.fill(0, zeroRow * cols, (zeroRow + 1) * cols);
  const w = normals(rows * cols, seed + 2, 1 / Math.sqrt(cols));
  const gy = normals(b * (rows + 1), seed + 3);
  return { h, v, w, gy };
}

/**
 * y = [direction | logNorm] and the pullback of gy into (dh, dv, dw) through et.tanhJvpStep on native, every input a
 * strided view: h and w transposed views of [out, B] and [in, out] storage, v the first `in` columns of a [B, in + 1]
 * tensor (row stride in + 1, like a previous step's direction).
 */
function tanhStepOn(x: ReturnType<typeof stepInputs>, { b, rows, cols }: StepDims, threads?: number) {
  if (threads !== undefined) expect(setNativeThreads(threads)).toBe(threads);
  return onHost(() => {
    const transposed = (a: Float32Array, r: number, c: number) =>
      et.transpose(et.tensor(Float32Array.from({ length: r * c }, (_, e) => a[(e % r) * c + Math.floor(e / r)]!), { shape: [c, r], backend }));
    // v's rows padded with a 7 each: the slice below must skip it
    const wide = Float32Array.from({ length: b * (cols + 1) }, (_, e) => {
      const [i, k] = [Math.floor(e / (cols + 1)), e % (cols + 1)];
      return k < cols ? x.v[i * cols + k]! : 7;
    });
    const h = transposed(x.h, b, rows);
    const v = et.slice(et.tensor(wide, { shape: [b, cols + 1], backend }), [0, 0], [b, cols]);
    const w = transposed(x.w, rows, cols);
    if (b > 1) expect([h, v, w].map((t) => t.isContiguous)).toEqual([false, false, false]);
    const [y, pullback] = et.vjp((hh, vv, ww) => {
      const s = et.tanhJvpStep(hh!, vv!, ww!);
      return et.concat([s.direction, s.logNorm.reshape([-1, 1])], 1);
    }, h, v, w);
    const grads = pullback(et.tensor(x.gy, { shape: [b, rows + 1], backend }));
    return { y: y.dataSync(), dh: grads[0]!.dataSync(), dv: grads[1]!.dataSync(), dw: grads[2]!.dataSync() };
  });
}

describe.skipIf(!hasNative)('native tanhJvpStep and tanhJvpStepGrad', () => {
  const initialThreads = hasNative ? nativeInfo().threads : 1;
  afterAll(() => {
    if (hasNative) setNativeThreads(initialThreads);
  });

  it.each([
    [64, 256, 256],
    [7, 257, 67],
    [3, 257, 9],
    [1, 33, 1],
    [130, 301, 520],
    [300, 200, 45],
  ])('strided inputs at B = %i, out = %i, in = %i match a float64 reference, forward and backward', (b, rows, cols) => {
    const dims = { b, rows, cols };
    const x = stepInputs(dims, b + rows + cols);
    const r = tanhStepOn(x, dims);
    expectClose(r.y, tanhStepRef(x.h, x.v, x.w, dims).y, 1e-4, 2e-5, 'y');
    const ref = tanhStepGradRef(x.h, x.v, x.w, x.gy, dims);
    expectClose(r.dh, ref.dh, 1e-4, 1e-5 * ref.scales[0]!, 'dh');
    expectClose(r.dv, ref.dv, 1e-4, 1e-5 * ref.scales[1]!, 'dv');
    expectClose(r.dw, ref.dw, 1e-4, 1e-5 * ref.scales[2]!, 'dw');
  });

  it('chains: a step whose tangent is the previous step’s direction view (row stride out + 1)', () => {
    const [b, d0, d1, d2] = [9, 21, 40, 33];
    const x = normals(b * d0, 40);
    const [w1, w2] = [normals(d1 * d0, 41, 0.3), normals(d2 * d1, 42, 0.3)];
    const [h1, h2] = [Float32Array.from(normals(b * d1, 43), Math.tanh), Float32Array.from(normals(b * d2, 44), Math.tanh)];
    const { u1, y2 } = onHost(() => {
      const t = (a: Float32Array, shape: number[]) => et.tensor(a, { shape, backend });
      const s1 = et.tanhJvpStep(t(h1, [b, d1]), t(x, [b, d0]), t(w1, [d1, d0]));
      const s2 = et.tanhJvpStep(t(h2, [b, d2]), s1.direction, t(w2, [d2, d1]));
      expect(s1.direction.strides).toEqual([d1 + 1, 1]);
      return { u1: s1.direction.dataSync(), y2: et.concat([s2.direction, s2.logNorm.reshape([-1, 1])], 1).dataSync() };
    });
    expectClose(u1, tanhStepRef(h1, x, w1, { b, rows: d1, cols: d0 }).y.filter((_, e) => e % (d1 + 1) < d1), 1e-4, 2e-5, 'u1');
    expectClose(y2, tanhStepRef(h2, u1, w2, { b, rows: d2, cols: d1 }).y, 1e-4, 2e-5, 'y2');
  });

  it('a zero tangent row gives a NaN direction and −∞ log norm there, and leaves the other rows alone', () => {
    const dims = { b: 5, rows: 37, cols: 11 };
    const x = stepInputs(dims, 50, 2);
    const r = tanhStepOn(x, dims);
    const ref = tanhStepRef(x.h, x.v, x.w, dims);
    expect(r.y[2 * 38 + 37]).toBe(-Infinity);
    expect(Array.from(r.y.slice(2 * 38, 2 * 38 + 37)).every(Number.isNaN)).toBe(true);
    expectClose(r.y, ref.y, 1e-4, 2e-5, 'y');
    // Backward: NaN in the zero row's dh (and through dp into every dv/dW sum that reads it), finite elsewhere.
    const grad = tanhStepGradRef(x.h, x.v, x.w, x.gy, dims);
    expect(Array.from(r.dh.slice(2 * 37, 3 * 37)).every(Number.isNaN)).toBe(true);
    expect(Array.from(r.dh).filter((_, e) => Math.floor(e / 37) !== 2).every(Number.isFinite)).toBe(true);
    expectClose(r.dh, grad.dh, 1e-4, 1e-5 * grad.scales[0]!, 'dh');
  });

  it('gives identical results on 1, 2 and 3 threads (product and row pass both split)', () => {
    const dims = { b: 300, rows: 200, cols: 130 };
    const x = stepInputs(dims, 60);
    const runs = [1, 2, 3].map((t) => Object.values(tanhStepOn(x, dims, t)).map((a) => Array.from(a)));
    runs.slice(1).forEach((r) => r.forEach((out, i) => expect(out, `output ${i}`).toEqual(runs[0]![i])));
  });

  it('is right on every micro-kernel and ISA (EITP_SIMD=generic, avx2, best), tails of the 16- and 8-wide row passes too', () => {
    // A fresh process per instruction set (the GEMM micro-kernel and the row passes are chosen once, at load), calling
    // the addon directly, against float64 references computed in the same process. Returns the worst error of y and z
    // in units of the tolerance (1e-4 relative plus 2e-5 for y, 1e-5 of the largest |z| for z).
    const script = `
      const a = require(${JSON.stringify(ADDON_PATH)});
      const put = (data) => { const h = a.alloc(4 * data.length); a.write(h, data); return h; };
      const run = (op, inputs, outShape) => {
        const meta = [inputs.length];
        for (const [, shape] of inputs) meta.push(0, 2, 0, ...shape, shape[1], 1);
        meta.push(0, outShape.length, ...outShape);
        const handles = inputs.map(([data]) => put(data));
        const numel = outShape.reduce((p, d) => p * d, 1);
        const out = a.alloc(4 * numel);
        a.run(op, [...handles, out], new Float64Array(meta), new Float64Array(0));
        const r = new Float32Array(a.readSync(out, 4 * numel));
        for (const h of [...handles, out]) a.free(h);
        return r;
      };
      const data = (n, f) => Float32Array.from({ length: n }, (_, e) => f(e));
      let worstY = 0, worstZ = 0;
      for (const [b, rows, cols] of [[7, 257, 67], [64, 256, 256], [5, 13, 300], [3, 24, 5], [2, 7, 9]]) {
        const h = data(b * rows, (e) => Math.tanh(2 * Math.sin(e * 0.37)));
        const v = data(b * cols, (e) => Math.cos(e * 0.91) + 0.1);
        const w = data(rows * cols, (e) => Math.sin(e * 0.13 + 1) / Math.sqrt(cols));
        const gy = data(b * (rows + 1), (e) => Math.cos(e * 0.29));
        const y = run('tanhJvpStep', [[h, [b, rows]], [v, [b, cols]], [w, [rows, cols]]], [b, rows + 1]);
        const z = run('tanhJvpStepGrad', [[h, [b, rows]], [v, [b, cols]], [w, [rows, cols]], [gy, [b, rows + 1]]], [2, b, rows]);
        const zRef = new Float64Array(2 * b * rows);
        for (let i = 0; i < b; i++) {
          const p = [], dl = [];
          let ss = 0;
          for (let j = 0; j < rows; j++) {
            let acc = 0;
            for (let k = 0; k < cols; k++) acc += v[i * cols + k] * w[j * cols + k];
            p.push(acc);
            dl.push((1 - h[i * rows + j] ** 2) * acc);
            ss += dl[j] ** 2;
          }
          const g = Math.sqrt(ss);
          let s = 0;
          for (let j = 0; j < rows; j++) s += (dl[j] / g) * gy[i * (rows + 1) + j];
          const gl = gy[i * (rows + 1) + rows];
          for (let j = 0; j < rows; j++) {
            const u = dl[j] / g;
            worstY = Math.max(worstY, Math.abs(y[i * (rows + 1) + j] - u) / (2e-5 + 1e-4 * Math.abs(u)));
            const dd = (gy[i * (rows + 1) + j] - u * s + u * gl) / g;
            zRef[i * rows + j] = (1 - h[i * rows + j] ** 2) * dd;
            zRef[(b + i) * rows + j] = -2 * h[i * rows + j] * p[j] * dd;
          }
          worstY = Math.max(worstY, Math.abs(y[i * (rows + 1) + rows] - Math.log(g)) / (2e-5 + 1e-4 * Math.abs(Math.log(g))));
        }
        const scale = zRef.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        zRef.forEach((e, k) => { worstZ = Math.max(worstZ, Math.abs(z[k] - e) / (1e-5 * scale + 1e-4 * Math.abs(e))); });
      }
      console.log(JSON.stringify({ kernel: a.info().gemmKernel, worstY, worstZ }));`;
    for (const simd of ['generic', 'avx2', '']) {
      const r = JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, EITP_SIMD: simd }, encoding: 'utf8' })) as {
        kernel: string;
        worstY: number;
        worstZ: number;
      };
      if (simd) expect(r.kernel.startsWith(simd) || r.kernel.startsWith('generic'), r.kernel).toBe(true);
      expect(r.worstY, r.kernel).toBeLessThan(1);
      expect(r.worstZ, r.kernel).toBeLessThan(1);
    }
  });

  it('the kernels read strided h and gy (column stride ≠ 1) and report bad operands as BackendErrors', () => {
    const nb: Backend = backendByName('native');
    const dims = { b: 6, rows: 19, cols: 8 };
    const { b, rows, cols } = dims;
    const x = stepInputs(dims, 70);
    const held: DeviceBuffer[] = [];
    const arg = (data: Float32Array | Int32Array, shape: number[], strides?: number[]): KernelArg => {
      const buffer = nb.allocate(data.length, data instanceof Int32Array ? 'i32' : 'f32');
      nb.write(buffer, data);
      held.push(buffer);
      return { buffer, dtype: data instanceof Int32Array ? 'i32' : 'f32', layout: { shape, strides: strides ?? [shape[1]!, 1], offset: 0 } };
    };
    const output = (shape: number[], dtype: 'f32' | 'i32' = 'f32'): KernelArg => {
      const buffer = nb.allocate(shape.reduce((p, d) => p * d, 1), dtype);
      held.push(buffer);
      return { buffer, dtype, layout: { shape, strides: [], offset: 0 } };
    };
    const read = (o: KernelArg) => nb.readSync!(o.buffer, 'f32', o.layout.shape.reduce((p, d) => p * d, 1));
    // column-major storage of h [B, out] and gy [B, out + 1]
    const colMajor = (a: Float32Array, r: number, c: number) => Float32Array.from({ length: r * c }, (_, e) => a[(e % r) * c + Math.floor(e / r)]!);
    try {
      const h = arg(colMajor(x.h, b, rows), [b, rows], [1, b]);
      const v = arg(x.v, [b, cols]);
      const w = arg(x.w, [rows, cols]);
      const gy = arg(colMajor(x.gy, b, rows + 1), [b, rows + 1], [1, b]);
      const y = output([b, rows + 1]);
      nb.kernels.tanhJvpStep!([h, v, w], y, {});
      expectClose(read(y), tanhStepRef(x.h, x.v, x.w, dims).y, 1e-4, 2e-5, 'y');
      const z = output([2, b, rows]);
      nb.kernels.tanhJvpStepGrad!([h, v, w, gy], z, {});
      const ref = tanhStepGradRef(x.h, x.v, x.w, x.gy, dims);
      const got = read(z);
      expectClose(got.slice(b * rows), ref.dh, 1e-4, 1e-5 * ref.scales[0]!, 'dh');

      // Errors surface at the call (small work runs inline) or at the read of the output: either way typed.
      const fails = (f: () => void, o: KernelArg, message: RegExp) => {
        let error: unknown;
        try {
          f();
          read(o);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(et.BackendError);
        expect((error as Error).message).toMatch(message);
      };
      const vInt = arg(new Int32Array(b * cols), [b, cols]);
      const y1 = output([b, rows + 1]);
      fails(() => nb.kernels.tanhJvpStep!([h, vInt, w], y1, {}), y1, /every input must be f32, got i32/);
      const yInt = output([b, rows + 1], 'i32');
      fails(() => nb.kernels.tanhJvpStep!([h, v, w], yInt, {}), yInt, /the output must be f32, got i32/);
      const gyShort = arg(x.gy.slice(0, b * rows), [b, rows]);
      const z2 = output([2, b, rows]);
      fails(() => nb.kernels.tanhJvpStepGrad!([h, v, w, gyShort], z2, {}), z2, /gy must be \[B, out \+ 1\]/);
      const yFlat = output([b, rows]);
      fails(() => nb.kernels.tanhJvpStep!([h, v, w], yFlat, {}), yFlat, /output must be \[B, out \+ 1\]/);
      const wWrong = arg(x.w.slice(0, (rows - 1) * cols), [rows - 1, cols]);
      const y3 = output([b, rows + 1]);
      fails(() => nb.kernels.tanhJvpStep!([h, v, wWrong], y3, {}), y3, /needs h \[B, out\], v \[B, in\] and w \[out, in\]/);
    } finally {
      for (const buffer of held) nb.free(buffer);
    }
  });
});
