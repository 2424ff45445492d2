/**
 * H(θ): the soft-histogram entropy of the weights (EITP-SPEC "H(θ)"). A hard histogram has zero gradient almost
 * everywhere; a Gaussian soft assignment of each standardised weight to K = 64 bins makes H differentiable in θ
 * while reproducing the hard-histogram value (≈ the differential entropy of u minus ln Δ).
 */
import { optionsArg, tensorArg, tensorListArg } from '../args.js';
import * as et from '../../engine/index.js';
import { mixSeed, subsetIndices } from './subset.js';

type Tensor = et.Tensor;

export const ENTROPY_BINS = 64;
export const BIN_WIDTH = 0.125;
/** The kernel bandwidth h equals the bin width Δ. */
export const BANDWIDTH = BIN_WIDTH;
/** Bins cover u ∈ [−4, 4]: centres c_k = −4 + (k + ½)Δ. */
export const BIN_LOW = -4;
export const DEFAULT_ENTROPY_SAMPLES = 65536;
/** Rows per chunk of the [n, K] assignment matrix: bounds the forward's temporaries to chunk·K values. */
const CHUNK_ROWS = 16384;

export interface EntropyOptions {
  /** Weights sampled per tensor (a fixed seeded subset); default 65 536. */
  readonly maxSamples?: number;
  readonly seed?: number;
  /** 'fused' (default): the engine's softHistogram op; 'composite': softmax over an [n, K] assignment matrix. */
  readonly kernels?: 'fused' | 'composite';
  /** Composite only: rows of the [n, K] soft assignment built at once (memory bound of the forward); default 16 384. */
  readonly chunkRows?: number;
}

export function binCentres(like: Tensor): Tensor {
  tensorArg(like, 'entropy', 'like');
  const c = Array.from({ length: ENTROPY_BINS }, (_, k) => BIN_LOW + (k + 0.5) * BIN_WIDTH);
  return et.tensor(c, { dtype: like.dtype, backend: like.backend as et.BackendName, shape: [1, ENTROPY_BINS] });
}

/**
 * H in nats of the soft histogram of already standardised values u [n]:
 * a_ik = softmax_k(−(u_i − c_k)²/(2h²)), p_k = mean_i a_ik, H = −Σ p_k ln(p_k + 1e-12).
 */
export function softHistogramEntropy(u: Tensor, options?: { kernels?: 'fused' | 'composite'; chunkRows?: number }): Tensor {
  tensorArg(u, 'softHistogramEntropy', 'u');
  const opts = optionsArg(options, 'softHistogramEntropy');
  if (u.rank !== 1 || u.size === 0) throw new et.ShapeError('needs a non-empty 1-D tensor of standardised values', { op: 'softHistogramEntropy', shapes: [u.shape] });
  const counts = (opts.kernels ?? 'fused') === 'fused' ? et.softHistogram(u, et.EITP_HISTOGRAM) : compositeCounts(u, opts.chunkRows);
  const p = counts.div(u.size);
  return p.mul(p.add(1e-12).log()).sum().neg();
}

/** Σ_i a_ik from primitive ops, in chunks of rows so the [n, K] temporaries stay bounded. */
function compositeCounts(u: Tensor, chunkRows: number | undefined): Tensor {
  const n = u.size;
  const chunk = Math.max(1, Math.floor(chunkRows ?? CHUNK_ROWS));
  const c = binCentres(u);
  const inv2h2 = 1 / (2 * BANDWIDTH * BANDWIDTH);
  // −(u − c)²/(2h²) = (2uc − c²)/(2h²) − u²/(2h²); the last part is the same for every bin of a row and cancels in
  // the softmax, so the logits are an outer product plus a row vector: two [n, K] temporaries instead of four.
  const slope = c.mul(2 * inv2h2);
  const offset = c.square().mul(-inv2h2);
  let counts: Tensor | null = null;
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    const uc = (rows === n ? u : u.slice([start], [start + rows])).reshape([rows, 1]);
    const part = et.softmax(uc.mul(slope).add(offset), -1).sum(0);
    counts = counts ? counts.add(part) : part;
  }
  return counts!;
}

/** The seeded sample of w (flattened) that H_W is computed on: all of w when it has at most maxSamples values. */
export function entropySample(w: Tensor, maxSamples: number, seed: number): Tensor {
  tensorArg(w, 'entropy', 'w');
  const n = w.size;
  const flat = w.reshape([n]);
  if (n <= maxSamples) return flat;
  const idx = subsetIndices(n, maxSamples, seed, w.backend);
  return et.embedding(flat.reshape([n, 1]), idx).reshape([maxSamples]);
}

/** H_W in nats of one weight tensor: seeded subset, standardised with stop-gradient μ_W, σ_W (over all of W). */
export function weightEntropy(weight: Tensor, options?: EntropyOptions & { index?: number }): Tensor {
  const w = tensorArg(weight, 'entropy', 'w');
  const opts = optionsArg(options, 'entropy');
  const maxSamples = opts.maxSamples ?? DEFAULT_ENTROPY_SAMPLES;
  if (!Number.isInteger(maxSamples) || maxSamples < 1) throw new et.ArgumentError(`maxSamples must be a positive integer, got ${maxSamples}`, { op: 'entropy' });
  const x = entropySample(w, maxSamples, mixSeed(opts.seed ?? 0, opts.index ?? 0));
  // μ and σ are constants of the step: the entropy of the standardised weights is then scale- and shift-free
  // in value, and its gradient moves the weights' shape, not their scale.
  const [mu, sigma] = et.noGrad(() => {
    const flat = w.reshape([w.size]);
    return [flat.mean(), flat.var(undefined, false, 0).sqrt()];
  });
  const u = x.sub(mu!.stopGradient()).div(sigma!.stopGradient().add(1e-8));
  return softHistogramEntropy(u, { kernels: opts.kernels ?? 'fused', ...(opts.chunkRows === undefined ? {} : { chunkRows: opts.chunkRows }) });
}

export interface ParameterEntropy {
  /** Ĥ = Σ n_W Ĥ_W / Σ n_W with Ĥ_W = H_W / ln K, in [0, 1]. */
  readonly normalized: Tensor;
  /** H_W in nats, one per weight tensor. */
  readonly perWeight: readonly Tensor[];
  /** n_W: numel of each weight tensor. */
  readonly counts: readonly number[];
  /** Σ n_W H_W in nats: the information the Landauer bound prices. */
  readonly totalNats: Tensor;
}

/** Ĥ(θ) over the weight tensors of rank >= 2 (the model's entropyWeights()). */
export function parameterEntropy(weights: readonly Tensor[], options?: EntropyOptions): ParameterEntropy {
  tensorListArg(weights, 'entropy', 'weights');
  const opts = optionsArg(options, 'entropy');
  if (weights.length === 0) {
    throw new et.ArgumentError('no weight tensors: H(θ) needs at least one weight of rank >= 2 (entropyWeights() is empty)', { op: 'entropy' });
  }
  const seen = new Set<Tensor>();
  const unique = weights.filter((w) => (seen.has(w) ? false : (seen.add(w), true))); // tied weights count once
  unique.forEach((w, i) => {
    if (w.rank < 2) throw new et.ShapeError(`weight ${i} has rank ${w.rank}; H(θ) excludes biases and norm gains (rank < 2)`, { op: 'entropy', shapes: [w.shape] });
    if (w.dtype !== 'f32' && w.dtype !== 'f64') throw new et.DTypeError(`weight ${i} must be a float tensor`, { op: 'entropy', dtypes: [w.dtype] });
  });
  const perWeight = unique.map((w, i) => weightEntropy(w, { ...opts, index: i }));
  const counts = unique.map((w) => w.size);
  const total = counts.reduce((a, b) => a + b, 0);
  let weighted: Tensor | null = null;
  perWeight.forEach((h, i) => {
    const term = h.mul(counts[i]!);
    weighted = weighted ? weighted.add(term) : term;
  });
  const totalNats = weighted!;
  return { normalized: totalNats.div(total * Math.log(ENTROPY_BINS)), perWeight, counts, totalNats };
}
