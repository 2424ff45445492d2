/**
 * H(θ) against independent references: a plain-JS soft histogram, the population value by quadrature (with a
 * tolerance derived from the estimator's sampling error), the spec's golden values, and f64 finite differences.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { ENTROPY_BINS, entropySample, parameterEntropy, seededSubset, softHistogramEntropy, weightEntropy } from '../src/eitp/index.js';
import { finiteDifference, scalar, worstRatio } from './fixtures/numeric.js';
import { expectNoLeaks } from './fixtures/leaks.js';

beforeAll(() => et.setBackend('cpu'));
expectNoLeaks();

const K = 64;
const DELTA = 0.125;
const centre = (k: number) => -4 + (k + 0.5) * DELTA;

/** Soft assignment of one value, straight from the spec's formula. */
function assign(u: number): number[] {
  const logits = Array.from({ length: K }, (_, k) => -((u - centre(k)) ** 2) / (2 * DELTA * DELTA));
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** The spec's H_W on plain numbers: population standardisation, soft histogram, plug-in entropy. */
function refEntropy(values: ArrayLike<number>): number {
  const n = values.length;
  let mu = 0;
  for (let i = 0; i < n; i++) mu += values[i]!;
  mu /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (values[i]! - mu) ** 2;
  const sigma = Math.sqrt(v / n);
  const p = new Array<number>(K).fill(0);
  for (let i = 0; i < n; i++) assign((values[i]! - mu) / (sigma + 1e-8)).forEach((a, k) => (p[k] += a / n));
  return -p.reduce((s, pk) => s + pk * Math.log(pk + 1e-12), 0);
}

/**
 * Population soft histogram of a density by quadrature: p_k = ∫ f(u) a_k(u) du, its entropy, and the sampling
 * standard deviation and bias of the n-sample plug-in estimate (delta method: H(p̂) ≈ H(p) + Σ g_k (p̂_k − p_k)
 * with g_k = −(ln p_k + 1), so Var ≈ Var_u(Σ_k g_k a_k(u))/n; bias ≈ −Σ_k Var(a_k)/(2 n p_k)).
 */
function population(f: (u: number) => number, lo: number, hi: number, n: number) {
  const steps = 6000;
  const du = (hi - lo) / steps;
  const grid = Array.from({ length: steps + 1 }, (_, i) => lo + i * du);
  const w = grid.map((u, i) => f(u) * du * (i === 0 || i === steps ? 0.5 : 1));
  const A = grid.map(assign);
  const p = new Array<number>(K).fill(0);
  const p2 = new Array<number>(K).fill(0);
  A.forEach((a, i) => a.forEach((x, k) => ((p[k] += w[i]! * x), (p2[k] += w[i]! * x * x))));
  const H = -p.reduce((s, pk) => s + pk * Math.log(pk + 1e-12), 0);
  const g = p.map((pk) => -(Math.log(pk + 1e-12) + 1));
  let m1 = 0;
  let m2 = 0;
  A.forEach((a, i) => {
    const s = a.reduce((acc, x, k) => acc + g[k]! * x, 0);
    m1 += w[i]! * s;
    m2 += w[i]! * s * s;
  });
  const sd = Math.sqrt((m2 - m1 * m1) / n);
  const bias = p.reduce((s, pk, k) => s + (pk > 1e-12 ? (p2[k]! - pk * pk) / (2 * n * pk) : 0), 0);
  return { H, sd, bias };
}

describe('soft-histogram entropy: values', () => {
  it('matches a plain-JS implementation of the spec formula (f64)', () => {
    et.tidy(() => {
      const w = et.randn([7, 13], { seed: 3, dtype: 'f64', std: 2.5, mean: 0.7 });
      const expected = refEntropy(w.dataSync());
      expect(Math.abs(scalar(weightEntropy(w)) - expected)).toBeLessThan(1e-10);
    });
  });

  it('the fused histogram op and the chunked composite give the same value', () => {
    et.tidy(() => {
      const u = et.randn([1000], { seed: 4, dtype: 'f64' });
      expect(Math.abs(scalar(softHistogramEntropy(u, { kernels: 'composite', chunkRows: 7 })) - scalar(softHistogramEntropy(u)))).toBeLessThan(1e-12);
    });
  });

  it('f32 agrees with f64 on heavy-tailed weights (the logits are an expanded square, up to ~10³ in size)', () => {
    et.tidy(() => {
      const w = et.randn([64, 64], { seed: 8, dtype: 'f64' }).mul(et.randn([64, 64], { seed: 9, dtype: 'f64' }).exp());
      const h64 = scalar(weightEntropy(w));
      expect(Math.abs(scalar(weightEntropy(w.cast('f32'))) - h64)).toBeLessThan(1e-4);
    });
  });

  it('golden: i.i.d. N(0,1) weights give H ≈ ½ln(2πe) − ln Δ ≈ 3.50 nats, Ĥ ≈ 0.84 (65 536-sample subset)', () => {
    et.tidy(() => {
      const w = et.randn([512, 256], { seed: 11 }); // 131 072 weights → a 65 536 subset
      const n = 65536;
      const ref = population((u) => Math.exp(-u * u / 2) / Math.sqrt(2 * Math.PI), -9, 9, n);
      const H = et.noGrad(() => scalar(weightEntropy(w)));
      const tol = 5 * ref.sd + 2 * ref.bias + 1e-4; // 1e-4: f32 accumulation over 65 536 rows
      expect(Math.abs(H - ref.H), `H = ${H}, population ${ref.H} ± ${ref.sd}`).toBeLessThan(tol);
      const analytic = 0.5 * Math.log(2 * Math.PI * Math.E) - Math.log(DELTA); // 3.498; soft binning adds ≈ ½ln(1 + h²)
      expect(Math.abs(H - analytic)).toBeLessThan(0.02);
      const hat = et.noGrad(() => scalar(parameterEntropy([w]).normalized));
      expect(Math.abs(hat - 0.84)).toBeLessThan(0.005);
      expect(Math.abs(hat - H / Math.log(ENTROPY_BINS))).toBeLessThan(1e-6);
    });
  });

  it('golden: unit-variance uniform weights give ≈ 3.32 nats', () => {
    et.tidy(() => {
      const a = Math.sqrt(3);
      const w = et.rand([256, 256], { seed: 12, low: -a, high: a });
      const n = 65536;
      const ref = population((u) => (Math.abs(u) <= a ? 1 / (2 * a) : 0), -a, a, n);
      const H = et.noGrad(() => scalar(weightEntropy(w)));
      expect(Math.abs(H - ref.H), `H = ${H}, population ${ref.H} ± ${ref.sd}`).toBeLessThan(5 * ref.sd + 2 * ref.bias + 1e-4);
      // ln(2√3) − ln Δ = 3.322 is the hard-histogram value; the soft assignment (h = Δ) blurs the two edges of the
      // density, which adds ≈ 0.065 nats (the quadrature above includes it), so "≈ 3.32" holds to 0.08.
      expect(Math.abs(H - (Math.log(2 * a) - Math.log(DELTA)))).toBeLessThan(0.08);
      expect(ref.H - (Math.log(2 * a) - Math.log(DELTA))).toBeGreaterThan(0.04);
    });
  });

  it('Ĥ is the numel-weighted mean of H_W / ln K; tied weights count once', () => {
    et.tidy(() => {
      const a = et.randn([6, 5], { seed: 1, dtype: 'f64' });
      const b = et.rand([4, 3], { seed: 2, dtype: 'f64' });
      const ha = refEntropy(a.dataSync());
      const hb = refEntropy(b.dataSync());
      const r = parameterEntropy([a, b, a]);
      expect(r.counts).toEqual([30, 12]);
      expect(Math.abs(scalar(r.normalized) - (30 * ha + 12 * hb) / (42 * Math.log(64)))).toBeLessThan(1e-10);
      expect(Math.abs(scalar(r.totalNats) - (30 * ha + 12 * hb))).toBeLessThan(1e-8);
    });
  });
});

describe('seeded subsets', () => {
  it('are distinct, sorted, in range, and fixed by the seed', () => {
    const s = seededSubset(100000, 5000, 7);
    expect(s.length).toBe(5000);
    for (let i = 1; i < s.length; i++) expect(s[i]!).toBeGreaterThan(s[i - 1]!);
    expect(s[0]!).toBeGreaterThanOrEqual(0);
    expect(s[s.length - 1]!).toBeLessThan(100000);
    expect(Array.from(seededSubset(100000, 5000, 7))).toEqual(Array.from(s));
    expect(Array.from(seededSubset(100000, 5000, 8))).not.toEqual(Array.from(s));
    expect(Array.from(seededSubset(10, 10, 1))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('H_W is computed on the subset, standardised with statistics of the whole tensor', () => {
    et.tidy(() => {
      const w = et.randn([20, 30], { seed: 5, dtype: 'f64', std: 3 });
      const all = w.dataSync();
      const sample = entropySample(w, 100, 42).dataSync();
      const idx = seededSubset(600, 100, 42);
      expect(Array.from(sample)).toEqual(Array.from(idx, (i) => all[i]!));
      // reference: standardise the subset with the full tensor's μ, σ, then the soft histogram
      let mu = 0;
      for (const x of all) mu += x / all.length;
      let v = 0;
      for (const x of all) v += (x - mu) ** 2 / all.length;
      const sd = Math.sqrt(v);
      // tensor i of the weight list draws its subset with seed deriveSeed(seed, i)
      const sub = et.tensor(Array.from(seededSubset(600, 100, et.nn.deriveSeed(7, 0)), (i) => (all[i]! - mu) / (sd + 1e-8)), { dtype: 'f64' });
      expect(Math.abs(scalar(weightEntropy(w, { maxSamples: 100, seed: 7, index: 0 })) - scalar(softHistogramEntropy(sub)))).toBeLessThan(1e-8);
    });
  });
});

describe('soft-histogram entropy: gradient', () => {
  it('matches central finite differences in f64 (μ, σ held fixed, as their stop-gradient says)', () => {
    et.tidy(() => {
      const w = et.randn([5, 8], { seed: 21, dtype: 'f64' });
      const g = et.grad((x: et.Tensor) => weightEntropy(x))(w) as et.Tensor;
      const d = Array.from(w.dataSync());
      const mu = d.reduce((a, b) => a + b, 0) / d.length;
      const sd = Math.sqrt(d.reduce((a, b) => a + (b - mu) ** 2, 0) / d.length);
      const numeric = finiteDifference((x) => scalar(softHistogramEntropy(x.reshape([40]).sub(mu).div(sd + 1e-8))), w);
      expect(worstRatio(g.dataSync(), numeric, 1e-5, 1e-7)).toBeLessThan(1);
    });
  });
});

describe('entropy: bad input', () => {
  it('an empty weight set is an ArgumentError', () => {
    expect(() => parameterEntropy([])).toThrow(et.ArgumentError);
  });
  it('a rank-1 tensor (a bias) is a ShapeError naming its rank', () => {
    et.tidy(() => {
      expect(() => parameterEntropy([et.randn([4])])).toThrow(/rank 1/);
    });
  });
});
