/**
 * The coherence loss ‖R − I‖: a plain-JS reference, the 1/N golden value for independent Gaussian features (with a
 * tolerance from the sampling distribution of correlations), the reported norms, the feature subset, the N < 4d
 * warning, and f64 finite differences.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as et from '../engine/index.js';
import { FUSED_LOSS_MAX_WORK, coherenceLoss, coherenceNorms, resetCoherenceWarning, seededSubset } from '../src/eitp/index.js';
import { finiteDifference, matFrom, scalar, spectralNormJs, worstRatio } from './fixtures/numeric.js';
import { expectNoLeaks } from './fixtures/leaks.js';

beforeAll(() => et.setBackend('cpu'));
expectNoLeaks();
afterEach(() => vi.restoreAllMocks());

/** R − I of the spec's standardisation, in plain JS. */
function refResidual(z: number[][]): number[][] {
  const n = z.length;
  const d = z[0]!.length;
  const cols = Array.from({ length: d }, (_, j) => {
    const c = z.map((r) => r[j]!);
    const mu = c.reduce((a, b) => a + b, 0) / n;
    const v = c.reduce((a, b) => a + (b - mu) ** 2, 0) / n;
    return c.map((x) => (x - mu) / Math.sqrt(v + 1e-5));
  });
  return cols.map((ci, i) => cols.map((cj, j) => ci.reduce((s, x, k) => s + x * cj[k]!, 0) / n - (i === j ? 1 : 0)));
}
const refLoss = (m: number[][]) => m.flat().reduce((s, x) => s + x * x, 0) / (m.length * (m.length - 1));

describe('coherence loss', () => {
  it('matches a plain-JS reference (f64)', () => {
    et.tidy(() => {
      const z = et.randn([40, 6], { seed: 1, dtype: 'f64' }).add(et.randn([40, 1], { seed: 2, dtype: 'f64' })); // correlated
      const { loss, residual: residualOf } = coherenceLoss(z);
      const residual = residualOf();
      const ref = refResidual(matFrom(z));
      expect(Math.abs(scalar(loss) - refLoss(ref))).toBeLessThan(1e-12);
      expect(worstRatio(residual.dataSync(), ref.flat(), 1e-10, 1e-12)).toBeLessThan(1);
    });
  });

  it('golden: i.i.d. Gaussian features give L_coh ≈ 1/N', () => {
    et.tidy(() => {
      const N = 1024;
      const d = 64;
      const L = scalar(coherenceLoss(et.randn([N, d], { seed: 3, dtype: 'f64' })).loss);
      // sample correlations of independent normals: E r² = 1/(N − 1), Var r² ≈ 2/N²; the mean over d(d − 1)/2
      // pairwise-uncorrelated pairs has sd ≈ 2/(N·sqrt(d(d − 1))) (3 % here); allow 5 sd.
      const sd = 2 / (N * Math.sqrt(d * (d - 1)));
      expect(Math.abs(L - 1 / (N - 1))).toBeLessThan(5 * sd);
      expect(Math.abs(L * N - 1)).toBeLessThan(0.16);
    });
  });

  it('reports ‖R − I‖_F/d and ‖R − I‖_2 (power iteration)', () => {
    et.tidy(() => {
      // a common factor gives R − I one dominant eigenvalue ≈ (d − 1)ρ, so the power iteration has a gap to converge on
      const z = et.randn([200, 8], { seed: 4, dtype: 'f64' }).add(et.randn([200, 1], { seed: 5, dtype: 'f64' }).mul(2));
      const residual = coherenceLoss(z).residual();
      const ref = refResidual(matFrom(z));
      const norms = coherenceNorms(residual);
      expect(Math.abs(scalar(norms.frobeniusPerD) - Math.hypot(...ref.flat()) / 8)).toBeLessThan(1e-12);
      expect(Math.abs(scalar(norms.spectral) / spectralNormJs(ref) - 1)).toBeLessThan(1e-8);
      expect(norms.spectral.requiresGrad).toBe(false);
    });
  });

  it('uses a fixed seeded subset of 256 features when d > 256', () => {
    et.tidy(() => {
      vi.spyOn(process, 'emitWarning').mockImplementation(() => {}); // N < 4d: fine for checking the subset
      const z = et.randn([40, 300], { seed: 6, dtype: 'f64' });
      const { loss, features } = coherenceLoss(z, { seed: 3 });
      expect(features).toBe(256);
      const idx = seededSubset(300, 256, 3);
      const sub = matFrom(z).map((r) => Array.from(idx, (j) => r[j]!));
      expect(Math.abs(scalar(loss) - refLoss(refResidual(sub)))).toBeLessThan(1e-12);
    });
  });

  it('warns once, with the numbers, when N < 4d', () => {
    resetCoherenceWarning();
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    et.tidy(() => {
      coherenceLoss(et.randn([10, 4], { seed: 7 }));
      coherenceLoss(et.randn([10, 4], { seed: 8 }));
      coherenceLoss(et.randn([100, 4], { seed: 8 }));
    });
    expect(spy).toHaveBeenCalledTimes(1);
    const [message, type] = spy.mock.calls[0]! as [string, string];
    expect(type).toBe('EitpCoherenceWarning');
    expect(message).toContain('N = 10');
    expect(message).toContain('d = 4');
    expect(message).toContain('4d = 16');
  });

  it('no warning when N >= 4d', () => {
    resetCoherenceWarning();
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    et.tidy(() => {
      coherenceLoss(et.randn([16, 4], { seed: 7 }));
    });
    expect(spy).not.toHaveBeenCalled();
  });

  it('gradient matches central finite differences (f64), through the standardisation', () => {
    et.tidy(() => {
      const z = et.randn([7, 3], { seed: 9, dtype: 'f64' });
      vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
      const g = et.grad((x: et.Tensor) => coherenceLoss(x).loss)(z) as et.Tensor;
      const numeric = finiteDifference((x) => scalar(coherenceLoss(x).loss), z);
      expect(worstRatio(g.dataSync(), numeric, 1e-6, 1e-9)).toBeLessThan(1);
    });
  });

  it('past FUSED_LOSS_MAX_WORK the loss is built on R (kept for the backward): same loss, gradient and residual as the fused op', () => {
    et.tidy(() => {
      const [n, d] = [300, 240];
      expect(n * d * d).toBeGreaterThan(FUSED_LOSS_MAX_WORK);
      expect(64 * 256 * 256).toBeLessThanOrEqual(FUSED_LOSS_MAX_WORK); // the MLP's features take the fused op
      vi.spyOn(process, 'emitWarning').mockImplementation(() => {}); // N < 4d
      const z = et.randn([n, d], { seed: 11, dtype: 'f64' }).add(et.randn([n, 1], { seed: 12, dtype: 'f64' }).mul(0.5));
      const viaR = coherenceLoss(z);
      const fused = et.coherence(z);
      const ref = refResidual(matFrom(z));
      expect(Math.abs(scalar(viaR.loss) / refLoss(ref) - 1)).toBeLessThan(1e-12);
      expect(Math.abs(scalar(fused) / refLoss(ref) - 1)).toBeLessThan(1e-12);
      expect(worstRatio(viaR.residual().dataSync(), ref.flat(), 1e-10, 1e-12)).toBeLessThan(1);
      const gViaR = et.grad((x: et.Tensor) => coherenceLoss(x).loss)(z) as et.Tensor;
      const gFused = et.grad((x: et.Tensor) => et.coherence(x))(z) as et.Tensor;
      expect(worstRatio(gViaR.dataSync(), gFused.dataSync(), 1e-9, 1e-15)).toBeLessThan(1);
    });
  });

  it('bad input: too few rows or features is a ShapeError with the numbers', () => {
    et.tidy(() => {
      expect(() => coherenceLoss(et.randn([1, 5]))).toThrow(/N = 1/);
      expect(() => coherenceLoss(et.randn([5, 1]))).toThrow(/d = 1/);
      expect(() => coherenceLoss(et.randn([5]))).toThrow(et.ShapeError);
    });
  });
});
