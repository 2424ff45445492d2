/**
 * The coherence loss ‖R − I‖ (EITP-SPEC "Coherence loss"): R is the feature correlation matrix of a layer's
 * activations; pushing it towards I decorrelates the features. L_coh = ‖R − I‖_F²/(d(d − 1)) is the mean squared
 * off-diagonal correlation, in [0, 1]. Its floor is the sampling noise of R: ≈ 1/N for independent features, so the
 * loss means little unless N >= 4d (a one-time warning says so).
 */
import { optionsArg, tensorArg } from '../args.js';
import * as et from '../../engine/index.js';
import { subsetIndices } from './subset.js';

type Tensor = et.Tensor;

export const DEFAULT_MAX_FEATURES = 256;
const VARIANCE_EPS = 1e-5;
/**
 * Up to this N·d² the loss is the fused op (et.coherence), past it the Gram is kept as R: the fused backward
 * recomputes the Gram, which costs less than R's d×d ops (a dozen kernels and an identity matrix) at the MLP's
 * N = 64, d = 256 and the char-GPT's N = 768, d = 32, and more from N·d² = 2^26 on. Measured on native and on webgpu
 * (lavapipe) by `npm run bench -- eitp-coherence-paths`: via R / fused 1.3–6.0 (native) and 1.2–1.3 (webgpu) at
 * N·d² ≤ 2^24, 0.84–1.04 and 0.80–0.85 at 2^26–2^28.
 */
export const FUSED_LOSS_MAX_WORK = 2 ** 24;

export interface CoherenceOptions {
  /** Features kept (a fixed seeded subset) when d is larger; default 256. */
  readonly maxFeatures?: number;
  readonly seed?: number;
  /** 'fused' (default): the engine's coherence op; 'composite': the same math from primitive ops. */
  readonly kernels?: 'fused' | 'composite';
}

export interface CoherenceResult {
  /** L_coh = ‖R − I‖_F²/(d(d − 1)) */
  readonly loss: Tensor;
  /** R − I, [d, d] (d after the feature subset), without gradient: built on first call (report steps only). */
  readonly residual: () => Tensor;
  readonly samples: number;
  readonly features: number;
}

let warned = false;

/** @internal lets tests observe the once-per-process warning again. */
export function resetCoherenceWarning(): void {
  warned = false;
}

function warnFewSamples(n: number, d: number): void {
  if (warned) return;
  warned = true;
  process.emitWarning(
    `coherence loss: N = ${n} samples for d = ${d} features (N < 4d = ${4 * d}); R's sampling noise alone gives ` +
      `L_coh ≈ 1/N = ${(1 / n).toExponential(2)}, so the loss mostly measures noise. Use more tokens per batch or fewer features (coherence.maxFeatures).`,
    'EitpCoherenceWarning',
  );
}

/** Z [N, d] (or [..., d], flattened to rows) → L_coh and R − I. */
export function coherenceLoss(features: Tensor, options?: CoherenceOptions): CoherenceResult {
  const op = 'coherence';
  const z = tensorArg(features, op, 'z');
  const opts = optionsArg(options, op);
  if (z.rank < 2) throw new et.ShapeError('features must be [N, d]', { op, shapes: [z.shape] });
  const dAll = z.shape[z.rank - 1]!;
  const rows = z.rank === 2 ? z : z.reshape([-1, dAll]);
  const n = rows.shape[0]!;
  const maxFeatures = opts.maxFeatures ?? DEFAULT_MAX_FEATURES;
  if (!Number.isInteger(maxFeatures) || maxFeatures < 2) throw new et.ArgumentError(`maxFeatures must be an integer >= 2, got ${maxFeatures}`, { op });
  if (n < 2) throw new et.ShapeError(`needs at least 2 samples (rows) to estimate correlations, got N = ${n}`, { op, shapes: [z.shape] });
  if (dAll < 2) throw new et.ShapeError(`needs at least 2 features, got d = ${dAll}`, { op, shapes: [z.shape] });
  let x = rows;
  if (dAll > maxFeatures) {
    // Gather feature columns as rows of Zᵀ (embedding is a row gather), then turn back.
    const idx = subsetIndices(dAll, maxFeatures, opts.seed ?? 0, z.backend);
    x = et.embedding(rows.transpose().contiguous(), idx).transpose();
  }
  const d = x.shape[1]!;
  if (n < 4 * d) warnFewSamples(n, d);
  if ((opts.kernels ?? 'fused') === 'composite') {
    const residual = residualMatrix(x);
    return { loss: residual.square().sum().div(d * (d - 1)), residual: () => residual, samples: n, features: d };
  }
  const eyeD = () => et.eye(d, d, { dtype: x.dtype, backend: x.backend as et.BackendName });
  if (n * d * d > FUSED_LOSS_MAX_WORK) {
    // Large N: R as a tensor (et.correlation), which its backward receives, and the loss from d×d ops on it: the
    // fused loss would recompute the Gram (N·d²/2 multiply-adds) in its backward, more than those ops cost.
    const r = et.correlation(x, { eps: VARIANCE_EPS });
    let residual: Tensor | null = null;
    return {
      loss: et.coherenceOfCorrelation(r),
      residual: () => (residual ??= et.noGrad(() => r.stopGradient().sub(eyeD()))),
      samples: n,
      features: d,
    };
  }
  // One fused op gives the loss (R's −I, square and sum in the Gram's epilogue; its backward Ẑ(R − I) through the
  // standardisation recomputes the Gram); R itself is a tensor only when a report asks for the norms of R − I.
  let residual: Tensor | null = null;
  return {
    loss: et.coherence(x, { eps: VARIANCE_EPS }),
    residual: () => (residual ??= et.noGrad(() => et.tidy(() => et.correlation(x.stopGradient(), { eps: VARIANCE_EPS }).sub(eyeD())))),
    samples: n,
    features: d,
  };
}

/** R − I of x [N, d]: R the correlation matrix of its columns (population variance + ε, as the spec says). */
function residualMatrix(x: Tensor): Tensor {
  const [n, d] = [x.shape[0]!, x.shape[1]!];
  const zhat = x.sub(x.mean(0, true)).div(x.var(0, true, 0).add(VARIANCE_EPS).sqrt());
  return zhat.transpose().matmul(zhat).div(n).sub(et.eye(d, d, { dtype: x.dtype, backend: x.backend as et.BackendName }));
}

/** The reported norms of R − I (no gradient): ‖R − I‖_F/d and ‖R − I‖_2 by power iteration (R − I is symmetric). */
export function coherenceNorms(residual: Tensor, options?: { iterations?: number; seed?: number }): { frobeniusPerD: Tensor; spectral: Tensor } {
  tensorArg(residual, 'coherence', 'residual');
  const opts = optionsArg(options, 'coherence');
  const d = residual.shape[0]!;
  const out = et.noGrad(() =>
    et.tidy(() => {
      const m = residual.stopGradient();
      const frobeniusPerD = m.norm().div(d);
      let v = et.randn([d, 1], { seed: opts.seed ?? 1, dtype: m.dtype, backend: m.backend as et.BackendName });
      v = v.div(v.norm());
      let mv = m.matmul(v);
      for (let i = 0; i < (opts.iterations ?? 32); i++) {
        // 1e-30: R − I = 0 exactly (perfectly whitened features) must give 0, not 0/0.
        v = mv.div(mv.norm().add(1e-30));
        mv = m.matmul(v);
      }
      return { frobeniusPerD, spectral: mv.norm() };
    }),
  );
  return out;
}
