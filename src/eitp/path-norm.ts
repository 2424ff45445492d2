/**
 * Path norm (EITP-SPEC "Path norm"). The l1 path norm P = Σ over input→output paths of Π |w| along the path,
 * computed by propagating a ones vector through |W| (never enumerating paths). R_path = ln(P)/(L + 1) turns the
 * product over layers into a mean log-gain per layer, O(1) at initialisation whatever the depth.
 * Weights are [out, in] (torch layout), so a layer acts as |W| @ v.
 */
import { describeArg, objectArg } from '../args.js';
import * as et from '../../engine/index.js';
import type { PathStructure } from '../models/eitp-model.js';

type Tensor = et.Tensor;

export type PathMode = 'l1_path' | 'spectral_sum';

const opts = (like: Tensor) => ({ dtype: like.dtype, backend: like.backend as et.BackendName });

function checkMatrix(name: string, w: Tensor, inDim?: number): void {
  if (w.rank !== 2) throw new et.ShapeError(`${name} must be a [out, in] matrix`, { op: 'pathNorm', shapes: [w.shape] });
  if (inDim !== undefined && w.shape[1] !== inDim) {
    throw new et.ShapeError(`${name} takes ${w.shape[1]} inputs but the previous layer gives ${inDim}`, { op: 'pathNorm', shapes: [w.shape] });
  }
}

/**
 * |W| once per weight tensor within one path norm: a tied embedding is both E and W_U, and taking its |·| twice costs
 * an abs forward and a sign, a product and a gradient sum backward; once, its two cotangents are summed before abs's
 * VJP. The same values either way (abs is exact).
 */
type AbsOf = (w: Tensor) => Tensor;
function absCache(): AbsOf {
  const seen = new Map<Tensor, Tensor>();
  return (w) => {
    let a = seen.get(w);
    if (!a) seen.set(w, (a = w.abs()));
    return a;
  };
}

/** v ← |W| v */
const through = (abs: AbsOf, w: Tensor, v: Tensor): Tensor => abs(w).matmul(v);

/** v ← diag(|γ|) v (a LayerNorm gain; absent = identity) */
const gain = (abs: AbsOf, g: Tensor | undefined, v: Tensor): Tensor => (g ? abs(g).mul(v) : v);

/**
 * P for each structure:
 * - mlp: 1ᵀ|W_L|⋯|W_1|1;
 * - transformer: v_0 = mean of |E|'s rows; per block v ← v + |W_O||W_V| diag(|γ1|) v, v ← v + |W_2||W_1| diag(|γ2|) v
 *   (pre-norm residual blocks; attention mixes positions with weights summing to 1, so only W_V, W_O carry gain);
 *   v ← diag(|γ_f|) v; P = 1ᵀ|W_U| v;
 * - rnn (our choice; the spec names mlp and transformer only): the l1 path norm of the unrolled network from all
 *   T inputs to the final output, P = 1ᵀ|W_out| Σ_{t<T} |W_rec|^t |W_in| 1, as v ← |W_rec| v + |W_in| 1 (T times).
 */
export function l1PathNorm(s: PathStructure): Tensor {
  objectArg(s, 'pathNorm', 'the path structure (model.pathStructure())');
  const abs = absCache();
  switch (s.kind) {
    case 'mlp': {
      if (s.weights.length === 0) throw new et.ArgumentError('an mlp path structure needs at least one weight', { op: 'pathNorm' });
      let v = et.ones([s.weights[0]!.shape[1] ?? 0], opts(s.weights[0]!));
      s.weights.forEach((w, i) => {
        checkMatrix(`weights[${i}]`, w, v.shape[0]);
        v = through(abs, w, v);
      });
      return v.sum();
    }
    case 'transformer': {
      checkMatrix('embedding', s.embedding);
      let v = abs(s.embedding).mean(0);
      s.blocks.forEach((b, i) => {
        checkMatrix(`blocks[${i}].wv`, b.wv, v.shape[0]);
        checkMatrix(`blocks[${i}].wo`, b.wo, b.wv.shape[0]);
        v = v.add(through(abs, b.wo, through(abs, b.wv, gain(abs, b.ln1, v))));
        checkMatrix(`blocks[${i}].w1`, b.w1, v.shape[0]);
        checkMatrix(`blocks[${i}].w2`, b.w2, b.w1.shape[0]);
        v = v.add(through(abs, b.w2, through(abs, b.w1, gain(abs, b.ln2, v))));
      });
      v = gain(abs, s.finalNorm, v);
      checkMatrix('unembed', s.unembed, v.shape[0]);
      return through(abs, s.unembed, v).sum();
    }
    case 'rnn': {
      checkMatrix('input', s.input);
      checkMatrix('recurrent', s.recurrent, s.input.shape[0]);
      checkMatrix('output', s.output, s.recurrent.shape[0]);
      if (!Number.isInteger(s.steps) || s.steps < 1) throw new et.ArgumentError(`rnn steps must be a positive integer, got ${s.steps}`, { op: 'pathNorm' });
      const drive = through(abs, s.input, et.ones([s.input.shape[1]!], opts(s.input)));
      let v = drive;
      for (let t = 1; t < s.steps; t++) v = through(abs, s.recurrent, v).add(drive);
      return through(abs, s.output, v).sum();
    }
  }
}

/** R_path = ln(P)/(L + 1). */
export function pathRegularizer(pathNorm: Tensor, depth: number): Tensor {
  if (!Number.isInteger(depth) || depth < 0) throw new et.ArgumentError(`depth must be an integer >= 0, got ${depth}`, { op: 'pathNorm' });
  return pathNorm.log().div(depth + 1);
}

/** The matrices of a structure, each once (tied embedding/unembedding count once), for spectral_sum. */
export function pathMatrices(s: PathStructure): Tensor[] {
  objectArg(s, 'pathNorm', 'the path structure (model.pathStructure())');
  if (s.kind !== 'mlp' && s.kind !== 'rnn' && s.kind !== 'transformer') {
    throw new et.ArgumentError(`unknown path structure kind ${describeArg((s as { kind?: unknown }).kind)} (mlp | rnn | transformer)`, { op: 'pathNorm' });
  }
  const all =
    s.kind === 'mlp'
      ? [...s.weights]
      : s.kind === 'rnn'
        ? [s.input, s.recurrent, s.output]
        : [s.embedding, ...s.blocks.flatMap((b) => [b.wv, b.wo, b.w1, b.w2]), s.unembed];
  return [...new Set(all)];
}

/**
 * One persistent power-iteration vector per matrix (like spectral normalisation): each call advances it one
 * step, so the estimate of ‖W‖_2 converges over training steps at the cost of three matrix-vector products.
 * Owns its tensors: dispose() when done.
 */
export class SpectralState {
  private readonly vectors = new Map<Tensor, Tensor>();

  constructor(private readonly seed = 0) {}

  /** σ̂(W) = uᵀ W v with u = Wv/‖Wv‖, v ← Wᵀu/‖Wᵀu‖ advanced one step (u, v stop-gradient): dσ̂/dW = u vᵀ. */
  spectralNorm(w: Tensor, iterations = 1): Tensor {
    checkMatrix('spectral_sum weight', w);
    const [u, v] = et.noGrad(() => {
      const wd = w.stopGradient();
      const stored = this.vectors.get(w);
      let v: Tensor;
      if (stored && !stored.isDisposed && stored.shape[0] === w.shape[1] && stored.dtype === w.dtype) v = stored;
      else {
        const r = et.randn([w.shape[1]!], { seed: (this.seed + 7919 * this.vectors.size) >>> 0, ...opts(w) });
        v = r.div(r.norm());
      }
      for (let i = 0; i < Math.max(1, iterations); i++) {
        const wv = wd.matmul(v);
        const wtu = wd.transpose().matmul(wv.div(wv.norm().add(1e-30)));
        v = wtu.div(wtu.norm().add(1e-30)); // 1e-30: a zero matrix gives σ = 0, not 0/0
      }
      // The previous vector may still be referenced by last step's graph; it is released now, one step later.
      if (stored && stored !== v) stored.dispose();
      this.vectors.set(w, et.keep(v));
      const wv = wd.matmul(v);
      return [wv.div(wv.norm().add(1e-30)), v];
    });
    return u!.matmul(w.matmul(v!));
  }

  dispose(): void {
    for (const v of this.vectors.values()) v.dispose();
    this.vectors.clear();
  }
}

/** Σ_l ‖W_l‖_2 (the spec's spectral_sum option), with the vectors of `state`. */
export function spectralSum(s: PathStructure, state: SpectralState, iterations = 1): Tensor {
  objectArg(s, 'pathNorm', 'the path structure (model.pathStructure())');
  objectArg(state, 'pathNorm', 'the spectral state');
  const mats = pathMatrices(s);
  let acc: Tensor | null = null;
  for (const w of mats) {
    const sigma = state.spectralNorm(w, iterations);
    acc = acc ? acc.add(sigma) : sigma;
  }
  return acc!;
}
