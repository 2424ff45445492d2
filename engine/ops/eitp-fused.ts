/**
 * Fused ops for the EIT-P regularisers (EITP-SPEC "H(θ)" and "Coherence loss"):
 * - softHistogram: u [n] → soft bin counts [K] (the forward of the parameter entropy's histogram);
 * - correlation: Z [N, d] → R = ẐᵀẐ/N, the correlation matrix of Z's columns (the reported norms of R − I read it;
 *   the coherence loss itself is the fused op of ./coherence.ts, whose helpers below are shared).
 * - tanhJvp: (1 − h²) ⊙ (v Wᵀ), the Jacobian-vector step of a tanh layer that the FTLE chains through depth/time.
 * The histogram's and the correlation's backward passes are ops as well (softHistogramGrad, correlationGrad), so one backward step is one kernel on
 * every backend. Each has a composite reference of primitive ops; the backward ops are differentiated through
 * theirs (double backward is rare here and only needs to be right, not fast).
 */
import { optionsArg, tensorArg } from '../args.js';
import type { BackendName } from '../backend.js';
import { eye, tensor } from '../creation.js';
import { apply } from '../dispatch.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { opScope } from '../memory.js';
import type { Tensor } from '../tensor.js';
import type { HistogramAttrs } from './attrs.js';
import { add, div, mul, sub } from './binary.js';
import { ctx, meta, requireFloat, requireSameDtype } from './infer.js';
import { matmul } from './matmul.js';
import { softmax } from './nn.js';
import { type OpDef, wantsCotangent } from './op-def.js';
import { mean, sum, variance } from './reduce.js';
import { activationGrad } from './train-fused.js';
import { square, sqrt } from './unary.js';
import { reshape, transpose } from './views.js';

type FusedName = 'softHistogram' | 'softHistogramGrad' | 'correlation' | 'correlationGrad' | 'tanhJvp';

/** Bin centres as a [1, K] row on u's backend. */
function centres(u: Tensor, { bins, low, width }: HistogramAttrs): Tensor {
  const c = Array.from({ length: bins }, (_, k) => low + (k + 0.5) * width);
  return tensor(c, { dtype: u.dtype, backend: u.backend as BackendName, shape: [1, bins] });
}

/** a_ik = softmax_k(−(u_i − c_k)²/(2h²)) as [n, K], with (c_k − u_i)/h² (∂ logit/∂u) when asked. */
function assignments(u: Tensor, attrs: HistogramAttrs): { a: Tensor; slope: Tensor } {
  const diff = sub(centres(u, attrs), reshape(u, [u.size, 1]));
  const h2 = attrs.bandwidth * attrs.bandwidth;
  return { a: softmax(mul(square(diff), -1 / (2 * h2)), -1), slope: div(diff, h2) };
}

/** Column standardisation of Z [N, d]: Ẑ and 1/σ per column (population variance, like the spec). */
export function standardized(z: Tensor, eps: number): { zhat: Tensor; rstd: Tensor } {
  const rstd = div(1, sqrt(add(variance(z, 0, true, 0), eps)));
  return { zhat: mul(sub(z, mean(z, 0, true)), rstd), rstd };
}

export function gram(zhat: Tensor): Tensor {
  return div(matmul(transpose(zhat), zhat), zhat.shape[0]!);
}

function histogramInfer(op: FusedName, inputs: readonly Tensor[], attrs: HistogramAttrs) {
  requireFloat(op, inputs);
  requireSameDtype(op, inputs);
  const u = inputs[0]!;
  if (u.rank !== 1 || u.size === 0) throw new ShapeError('u must be a non-empty 1-D tensor', ctx(op, inputs));
  if (!Number.isInteger(attrs.bins) || attrs.bins < 1) throw new ArgumentError(`bins must be a positive integer, got ${attrs.bins}`, ctx(op, inputs));
  if (!(attrs.width > 0) || !(attrs.bandwidth > 0) || !Number.isFinite(attrs.low)) {
    throw new ArgumentError(`width and bandwidth must be > 0 and low finite (got ${attrs.width}, ${attrs.bandwidth}, ${attrs.low})`, ctx(op, inputs));
  }
  return u;
}

export function coherenceInfer(op: FusedName | 'coherence' | 'coherenceGrad', inputs: readonly Tensor[]) {
  requireFloat(op, inputs);
  requireSameDtype(op, inputs);
  const z = inputs[0]!;
  if (z.rank !== 2 || z.shape[0]! < 2 || z.shape[1]! < 2) throw new ShapeError('z must be [N, d] with N >= 2 samples and d >= 2 features', ctx(op, inputs));
  return z;
}

const histogramGradComposite = ([u, g]: readonly Tensor[], attrs: HistogramAttrs): Tensor => {
  const { a, slope } = assignments(u!, attrs);
  const row = reshape(g!, [1, attrs.bins]);
  const gbar = sum(mul(a, row), -1, true);
  return sum(mul(mul(a, sub(row, gbar)), slope), -1);
};

/** dẐ = Ẑ·(gR + gRᵀ)/N, then layerNorm's backward per column. */
export const correlationGradComposite = ([z, gR]: readonly Tensor[], { eps }: { eps: number }): Tensor => {
  const n = z!.shape[0]!;
  const { zhat, rstd } = standardized(z!, eps);
  const dzhat = matmul(zhat, div(add(gR!, transpose(gR!)), n));
  return mul(rstd, sub(sub(dzhat, mean(dzhat, 0, true)), mul(zhat, mean(mul(dzhat, zhat), 0, true))));
};

export const eitpFusedDefs = {
  softHistogram: {
    arity: 1,
    infer: (inputs, attrs) => meta([attrs.bins], histogramInfer('softHistogram', inputs, attrs).dtype),
    vjp: (g, { inputs: [u], attrs }) => [apply('softHistogramGrad', [u!, g], attrs)],
    jvp: 'composite',
    composite: ([u], attrs) => sum(assignments(u!, attrs).a, 0),
  },
  softHistogramGrad: {
    arity: 2,
    infer: (inputs, attrs) => {
      const u = histogramInfer('softHistogramGrad', inputs, attrs);
      const g = inputs[1]!;
      if (g.rank !== 1 || g.shape[0] !== attrs.bins) throw new ShapeError(`g must be [${attrs.bins}] (one value per bin)`, ctx('softHistogramGrad', inputs));
      return meta(u.shape, u.dtype);
    },
    vjp: 'composite',
    jvp: 'composite',
    composite: histogramGradComposite,
  },
  correlation: {
    arity: 1,
    infer: (inputs) => {
      const z = coherenceInfer('correlation', inputs);
      return meta([z.shape[1]!, z.shape[1]!], z.dtype);
    },
    vjp: (g, { inputs: [z], attrs }) => [apply('correlationGrad', [z!, g], attrs)],
    jvp: 'composite',
    composite: ([z], { eps }) => gram(standardized(z!, eps).zhat),
  },
  correlationGrad: {
    arity: 2,
    infer: (inputs) => {
      const z = coherenceInfer('correlationGrad', inputs);
      const g = inputs[1]!;
      const d = z.shape[1]!;
      if (g.rank !== 2 || g.shape[0] !== d || g.shape[1] !== d) throw new ShapeError(`gR must be [${d}, ${d}] (the cotangent of R)`, ctx('correlationGrad', inputs));
      return meta(z.shape, z.dtype);
    },
    vjp: 'composite',
    jvp: 'composite',
    composite: correlationGradComposite,
  },
  tanhJvp: {
    arity: 3,
    infer: (inputs) => {
      requireFloat('tanhJvp', inputs);
      requireSameDtype('tanhJvp', inputs);
      const [h, v, w] = inputs as [Tensor, Tensor, Tensor];
      const ok = h.rank === 2 && v.rank === 2 && w.rank === 2 && h.shape[0] === v.shape[0] && w.shape[0] === h.shape[1] && w.shape[1] === v.shape[1];
      if (!ok) throw new ShapeError('needs h [B, out], v [B, in] and w [out, in]', ctx('tanhJvp', inputs));
      return meta(h.shape, h.dtype);
    },
    vjp: (g, c) => {
      const [h, v, w] = c.inputs;
      // g ⊙ (1 − h²) in one kernel: the tanh backward from its output (the fused activationGrad op)
      const gs = activationGrad(h!, g, 'tanh');
      return [
        wantsCotangent(c, 0) ? mul(mul(g, matmul(v!, transpose(w!))), mul(h!, -2)) : null,
        wantsCotangent(c, 1) ? matmul(gs, w!) : null,
        wantsCotangent(c, 2) ? matmul(transpose(gs), v!) : null,
      ];
    },
    jvp: 'composite',
    composite: ([h, v, w]) => mul(sub(1, square(h!)), matmul(v!, transpose(w!))),
  },
} satisfies { [K in FusedName]: OpDef<K> };

/**
 * J v for the tanh layer whose output is h = tanh(x Wᵀ + c) (c independent of x): (1 − h²) ⊙ (v Wᵀ).
 * h [B, out], tangents v [B, in], w [out, in]. Differentiable in h, v and w.
 */
export function tanhJvp(h: Tensor, v: Tensor, w: Tensor): Tensor {
  return apply('tanhJvp', [h, v, w], {});
}

/** The EIT-P soft histogram's defaults (EITP-SPEC: K = 64, centres from −4, Δ = h = 0.125). */
export const EITP_HISTOGRAM: HistogramAttrs = { bins: 64, low: -4, width: 0.125, bandwidth: 0.125 };

/** Soft bin counts Σ_i softmax_k(−(u_i − c_k)²/(2h²)) of a 1-D tensor u; differentiable in u. */
export function softHistogram(u: Tensor, attrs: Partial<HistogramAttrs> = {}): Tensor {
  return apply('softHistogram', [u], { ...EITP_HISTOGRAM, ...optionsArg(attrs, 'softHistogram', 'attrs') });
}

/** R = ẐᵀẐ/N for z [N, d]: the correlation matrix of z's columns (population variance + eps); differentiable in z. */
export function correlation(z: Tensor, opts: { eps?: number } = {}): Tensor {
  return apply('correlation', [z], { eps: optionsArg(opts, 'correlation').eps ?? 1e-5 });
}

/** ‖R − I‖_F²/(d(d − 1)) for R a correlation matrix [d, d] (from et.correlation): the EIT-P coherence loss. */
export function coherenceOfCorrelation(r: Tensor): Tensor {
  const d = tensorArg(r, 'coherenceOfCorrelation', 'r').shape[0]!;
  return opScope(() => {
    const eyeD = eye(d, d, { dtype: r.dtype, backend: r.backend as BackendName });
    return div(sum(square(sub(r, eyeD))), d * (d - 1));
  });
}
