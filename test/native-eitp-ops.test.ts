/**
 * The fused EIT-P ops on the native backend beyond the parity suite's small cases: closed-form values (a value at a
 * bin centre, orthogonal and duplicated columns), n = 1 and n past a million for the soft histogram, N = 4096 for
 * the coherence loss, NaN/out-of-range inputs, the window cap for wide bandwidths, and results that do not depend
 * on the thread count. References are float64 JS written from the op spec.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { nativeInfo, setNativeThreads } from '../engine/backends/native/index.js';
import { availableBackends } from './helpers/backends.js';
import { onHost } from './helpers/on-host.js';

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

/** Column-standardised Ẑ, 1/σ, and R − I of z [n, d] (population variance), float64. */
function coherenceParts(z: Float32Array, n: number, d: number, eps: number) {
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
  const res = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const a = zhat[i * d + j]!;
      for (let k = 0; k < d; k++) res[j * d + k] += a * zhat[i * d + k]!;
    }
  }
  for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) res[j * d + k] = res[j * d + k]! / n - (j === k ? 1 : 0);
  return { rstd, zhat, res };
}

function coherenceRef(z: Float32Array, n: number, d: number, eps: number): number {
  const { res } = coherenceParts(z, n, d, eps);
  return res.reduce((s, r) => s + r * r, 0) / (d * (d - 1));
}

function coherenceGradRef(z: Float32Array, n: number, d: number, eps: number, g: number): Float64Array {
  const { rstd, zhat, res } = coherenceParts(z, n, d, eps);
  const scale = (4 * g) / (n * d * (d - 1));
  const dzhat = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) {
      const a = zhat[i * d + k]!;
      for (let j = 0; j < d; j++) dzhat[i * d + j] += scale * a * res[k * d + j]!;
    }
  }
  const dz = new Float64Array(n * d);
  for (let j = 0; j < d; j++) {
    let m1 = 0;
    let m2 = 0;
    for (let i = 0; i < n; i++) {
      m1 += dzhat[i * d + j]!;
      m2 += dzhat[i * d + j]! * zhat[i * d + j]!;
    }
    for (let i = 0; i < n; i++) dz[i * d + j] = rstd[j]! * (dzhat[i * d + j]! - m1 / n - zhat[i * d + j]! * (m2 / n));
  }
  return dz;
}

/** max |a − e| − (atol + rtol·|e|) ≤ 0 everywhere, with the worst index in the message. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, label: string) {
  expect(actual.length, label).toBe(expected.length);
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const x = actual[i]!;
    if (Number.isNaN(e) && Number.isNaN(x)) continue;
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

describe.skipIf(!hasNative)('native coherence loss', () => {
  const initialThreads = hasNative ? nativeInfo().threads : 1;
  afterAll(() => {
    if (hasNative) setNativeThreads(initialThreads);
  });

  it('orthogonal ±1 columns (Hadamard) give (eps/(1 + eps))²/(d − 1)', () => {
    // Sylvester's 8 x 8 Hadamard matrix without its constant column: 7 orthogonal columns of mean 0, variance 1.
    const h = (i: number, j: number) => ((((i & j).toString(2).match(/1/g) ?? []).length & 1) === 0 ? 1 : -1);
    const [n, d] = [8, 7];
    const z = Float32Array.from({ length: n * d }, (_, e) => h(Math.floor(e / d), (e % d) + 1));
    const eps = 1e-5;
    expect(coherence(z, n, d) / ((eps / (1 + eps)) ** 2 / (d - 1))).toBeCloseTo(1, 4);
  });

  it('two identical columns give (a − 1)² + a² with a = var/(var + eps)', () => {
    const n = 101;
    const col = normals(n, 9);
    const z = Float32Array.from({ length: 2 * n }, (_, e) => col[Math.floor(e / 2)]!);
    let mu = 0;
    for (const v of col) mu += v;
    mu /= n;
    let v = 0;
    for (const c of col) v += (c - mu) ** 2;
    const a = v / n / (v / n + 1e-5);
    expect(coherence(z, n, 2) / ((a - 1) ** 2 + a ** 2)).toBeCloseTo(1, 5);
  });

  it.each([
    [4096, 128],
    [1000, 3],
    [37, 256],
  ])('matches a float64 reference at N = %i, d = %i, forward and backward', (n, d) => {
    const z = normals(n * d, n + d);
    // correlated columns: every column gets a share of column 0
    for (let i = 0; i < n; i++) for (let j = 1; j < d; j++) z[i * d + j]! += 0.3 * z[i * d]!;
    expectClose([coherence(z, n, d)], [coherenceRef(z, n, d, 1e-5)], 1e-5, 0, 'loss');
    const dz = coherenceGradRef(z, n, d, 1e-5, 1.7);
    const scale = dz.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expectClose(coherenceGrad(z, n, d, 1.7), dz, 1e-4, 1e-5 * scale, 'gradient');
  });

  it('a constant column (zero variance) matches the float64 reference', () => {
    const [n, d] = [50, 4];
    const z = normals(n * d, 10);
    for (let i = 0; i < n; i++) z[i * d + 2] = 3;
    expectClose([coherence(z, n, d)], [coherenceRef(z, n, d, 1e-5)], 1e-5, 0, 'loss');
    expectClose(coherenceGrad(z, n, d, 1), coherenceGradRef(z, n, d, 1e-5, 1), 1e-4, 1e-7, 'gradient');
  });

  it('gives identical results on 1, 2 and 3 threads', () => {
    const [n, d] = [2000, 96];
    const z = normals(n * d, 11);
    const runs = [1, 2, 3].map((t) => {
      expect(setNativeThreads(t)).toBe(t);
      return [coherence(z, n, d), ...coherenceGrad(z, n, d, 1)];
    });
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});

describe.skipIf(!hasNative)('native tanhJvp', () => {
  it('reads a transposed weight view and matches a float64 reference', () => {
    const [b, rows, cols] = [67, 45, 301];
    const h = Float32Array.from(normals(b * rows, 12), Math.tanh);
    const v = normals(b * cols, 13);
    const wt = normals(cols * rows, 14); // w stored transposed: [in, out]
    const expected = new Float64Array(b * rows);
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < rows; j++) {
        let acc = 0;
        for (let k = 0; k < cols; k++) acc += v[i * cols + k]! * wt[k * rows + j]!;
        expected[i * rows + j] = (1 - h[i * rows + j]! ** 2) * acc;
      }
    }
    const out = onHost(() => {
      const w = et.transpose(et.tensor(wt, { shape: [cols, rows], backend }));
      return et.tanhJvp(et.tensor(h, { shape: [b, rows], backend }), et.tensor(v, { shape: [b, cols], backend }), w).dataSync();
    });
    expectClose(out, expected, 1e-4, 1e-4, 'tanhJvp');
  });
});
