/**
 * The fused EIT-P ops on the reference backend against closed forms: the soft histogram of one value is a discrete
 * Gaussian around its bin, every value contributes a total weight of 1, and the coherence loss of orthogonal and
 * of identical columns follows from R by hand. (Forward/backward against the composites and finite differences
 * run for every op in test/fused-vs-composite.test.ts and test/gradcheck.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { apply } from '../engine/dispatch.js';
import * as et from '../engine/index.js';
import { availableBackends } from './helpers/backends.js';

const coherenceComposite = et.opTable().coherence.composite as (xs: et.Tensor[], attrs: { eps: number }) => et.Tensor;

describe('softHistogram', () => {
  it('one value on a bin centre spreads as e^(−j²/2) over its neighbours (h = Δ)', () => {
    const k0 = 30;
    const u = et.tensor([-4 + (k0 + 0.5) * 0.125], { dtype: 'f64' });
    const counts = et.softHistogram(u).dataSync();
    let z = 0;
    for (let j = -40; j <= 40; j++) z += Math.exp(-(j * j) / 2);
    for (let k = 0; k < 64; k++) expect(Math.abs(counts[k]! - Math.exp(-((k - k0) ** 2) / 2) / z)).toBeLessThan(1e-15);
  });

  it('each value contributes total weight 1, also far outside the bins', () => {
    const u = et.tensor([-100, -4.01, 0, 3.99, 7, 1e6], { dtype: 'f64' });
    const counts = et.softHistogram(u).dataSync();
    expect(Math.abs(Array.from(counts).reduce((a, b) => a + b, 0) - 6)).toBeLessThan(1e-12);
    // −100 and −4.01 sit entirely in the first bin's side; 1e6 in the last bin.
    expect(counts[0]).toBeGreaterThan(1.5);
    expect(counts[63]).toBeGreaterThan(1.5);
  });

  it('rejects empty input and bad attributes with typed errors', () => {
    expect(() => et.softHistogram(et.zeros([0]))).toThrow(et.ShapeError);
    expect(() => et.softHistogram(et.zeros([3, 2]))).toThrow(et.ShapeError);
    expect(() => et.softHistogram(et.zeros([3]), { bins: 0 })).toThrow(et.ArgumentError);
    expect(() => et.softHistogram(et.zeros([3]), { width: 0 })).toThrow(et.ArgumentError);
    expect(() => et.softHistogram(et.zeros([3], { dtype: 'i32' }))).toThrow(et.DTypeError);
  });
});

describe('coherence', () => {
  it('orthogonal zero-mean columns: R = v/(v + ε)·I, so L = 2(ε/(1+ε))²/(d(d−1))', () => {
    const z = et.tensor([[1, 1], [1, -1], [-1, 1], [-1, -1]], { dtype: 'f64' });
    const eps = 1e-3;
    expect(Math.abs(et.coherence(z, { eps }).dataSync()[0]! - (eps / (1 + eps)) ** 2)).toBeLessThan(1e-15);
  });

  it('two identical columns: every entry of R is v/(v + ε)', () => {
    const col = [3, -1, 2, 0, -4];
    const z = et.tensor(col.map((v) => [v, v]), { dtype: 'f64' });
    const mean = col.reduce((a, b) => a + b, 0) / col.length;
    const v = col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length;
    const r = v / (v + 1e-5);
    const expected = (2 * (r - 1) ** 2 + 2 * r * r) / 2;
    expect(Math.abs(et.coherence(z).dataSync()[0]! - expected)).toBeLessThan(1e-12);
  });

  it('correlation: identical columns give v/(v + ε) everywhere, opposite ones −v/(v + ε)', () => {
    const col = [3, -1, 2, 0, -4];
    const z = et.tensor(col.map((v) => [v, -v, v]), { dtype: 'f64' });
    const mean = col.reduce((a, b) => a + b, 0) / col.length;
    const v = col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length;
    const r = v / (v + 1e-5);
    const got = et.correlation(z).dataSync();
    const want = [r, -r, r, -r, r, -r, r, -r, r];
    for (let i = 0; i < 9; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-14);
  });

  it('correlationGrad rejects a cotangent that is not [d, d]', () => {
    const z = et.zeros([4, 3]);
    expect(() => apply('correlationGrad', [z, et.zeros([3, 2])], { eps: 1e-5 })).toThrow(/gR must be \[3, 3\]/);
  });

  it('coherenceGrad rejects a cotangent of more than one element; coherence rejects integer features', () => {
    const z = et.zeros([4, 3]);
    expect(() => apply('coherenceGrad', [z, et.zeros([2])], { eps: 1e-5 })).toThrow(/g must hold one element/);
    expect(() => et.coherence(et.zeros([4, 3], { dtype: 'i32' }))).toThrow(et.DTypeError);
  });

  it('rejects fewer than 2 samples or features', () => {
    expect(() => et.correlation(et.zeros([3, 1]))).toThrow(et.ShapeError);
    expect(() => et.coherence(et.zeros([1, 4]))).toThrow(et.ShapeError);
    expect(() => et.coherence(et.zeros([4, 1]))).toThrow(et.ShapeError);
    expect(() => et.coherence(et.zeros([4]))).toThrow(et.ShapeError);
  });
});

describe.each(availableBackends())('coherence on %s (closed form)', (backend) => {
  // Columns that are ± one another: R_jk = ±r with r = v/(v + ε), so ‖R − I‖² = d(r − 1)² + d(d − 1)r² and
  // L = (r − 1)²/(d − 1) + r². N = 2, d = 6 takes native's rows' Gram (N ≤ d/2); N = 5, d = 3 the columns' Gram.
  it.each([
    [[3, -1], 6],
    [[3, -1, 2, 0, -4], 3],
  ] as [number[], number][])('columns ± the same %j, d = %i', async (col, d) => {
    const z = et.tensor(col.map((v) => Array.from({ length: d }, (_, j) => (j % 2 === 0 ? v : -v))), { backend });
    const mean = col.reduce((a, b) => a + b, 0) / col.length;
    const v = col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length;
    const r = v / (v + 1e-5);
    const loss = et.coherence(z);
    expect(Math.abs((await loss.data())[0]! / ((r - 1) ** 2 / (d - 1) + r ** 2) - 1)).toBeLessThan(1e-5);
    et.dispose([z, loss]);
  });
});

describe.each(availableBackends())('coherence on %s with a non-finite feature', (backend) => {
  // A NaN or ±∞ in Z makes its column's statistics NaN, so R, the loss and the gradient must carry it: a fused
  // reduction that dropped it (a max() that swallows NaN, a clamp) would hand training a finite, wrong number.
  // [N, d] = [4, 12] takes native's rows' Gram, [40, 6] the columns'.
  it.each([
    [4, 12, NaN],
    [40, 6, NaN],
    [40, 6, Infinity],
  ])('N = %i, d = %i, one %s', async (n, d, bad) => {
    const source = et.randn([n, d], { seed: 21 });
    const values = Array.from(await source.data());
    source.dispose();
    values[(n >> 1) * d + 1] = bad;
    const z = et.tensor(values, { shape: [n, d], backend });
    z.requiresGrad = true;
    const loss = et.coherence(z);
    loss.backward();
    expect((await loss.data())[0]).toBeNaN();
    // The NaN pattern of the gradient is the composite's (primitive ops on cpu): there every element is NaN, since
    // the bad column's row of R − I enters each column's dẐ = c·Ẑ(R − I). A kernel that skipped the column in a sum
    // would leave finite elements.
    const g = Array.from(await z.grad!.data(), Number.isNaN);
    const zc = et.tensor(values, { shape: [n, d], backend: 'cpu' });
    const gc = et.grad((x: et.Tensor) => coherenceComposite([x], { eps: 1e-5 }))(zc) as et.Tensor;
    const reference = Array.from(await gc.data(), Number.isNaN);
    expect(reference.every(Boolean), 'the composite reference is NaN throughout').toBe(true);
    expect(g, 'the NaN pattern of the gradient').toEqual(reference);
    et.dispose([zc, gc, z, loss]);
  });
});

describe.each(availableBackends())('correlation on %s', (backend) => {
  it('R is exactly symmetric with a unit diagonal up to ε (N = 257, d = 67)', async () => {
    const z = et.randn([257, 67], { seed: 11, backend });
    const r = et.correlation(z, { eps: 0 });
    const a = await r.data();
    for (let j = 0; j < 67; j++) {
      expect(Math.abs(a[j * 67 + j]! - 1)).toBeLessThan(1e-5);
      for (let k = j + 1; k < 67; k++) expect(a[j * 67 + k]).toBe(a[k * 67 + j]);
    }
    et.dispose([z, r]);
  });
});
