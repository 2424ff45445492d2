/**
 * Fused neural-network ops: softmax, logSoftmax, crossEntropy, layerNorm. Each has a composite reference of
 * primitive ops (tests compare fused kernels with it) and a hand-written VJP. In forward mode softmax, logSoftmax
 * and layerNorm have rules; crossEntropy differentiates its reference.
 */
import { optionsArg, tensorArg } from '../args.js';
import { ones, zeros } from '../creation.js';
import { apply } from '../dispatch.js';
import { ShapeError } from '../errors.js';
import { opScope } from '../memory.js';
import { normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, mul, sub } from './binary.js';
import { ctx, meta, requireFloat, requireInt, requireSameDtype } from './infer.js';
import { oneHot } from './indexing.js';
import { type OpDef, wantsCotangent } from './op-def.js';
import { softmaxGrad } from './softmax-grad.js';
import { logsumexp, mean, sum } from './reduce.js';
import { unitWeight } from './layer-norm-grad-vjp.js';
import { layerNormGrads } from './train-fused.js';
import { exp, neg, rsqrt, square } from './unary.js';

function normalized(x: Tensor, eps: number): Tensor {
  const centered = sub(x, mean(x, -1, true));
  return mul(centered, rsqrt(add(mean(square(centered), -1, true), eps)));
}

/**
 * J ṫ for x ↦ x̂ (last axis): rstd·(ṫ − mean ṫ − x̂·mean(ṫ x̂)). J is symmetric, so this is layerNorm's own fused
 * backward with unit weight, one kernel; a tangent that is itself differentiated (the FTLE's last pass) goes back
 * through that op's hand-written VJP.
 */
function normalizationJvp(x: Tensor, t: Tensor, eps: number): Tensor {
  return layerNormGrads(x, unitWeight(x.shape[x.rank - 1]!, x), t, eps)[0];
}

/** Float logits [..., C] and integer targets [...] (shared with crossEntropyGrad); returns them. */
export function checkLogitsAndTargets(op: 'crossEntropy' | 'crossEntropyGrad', inputs: readonly Tensor[]): [Tensor, Tensor] {
  const [logits, targets] = inputs as [Tensor, Tensor];
  requireFloat(op, inputs, 0);
  requireInt(op, inputs, 1);
  const ok = logits.rank >= 1 && targets.rank === logits.rank - 1 && targets.shape.every((d, i) => d === logits.shape[i]);
  if (!ok) throw new ShapeError('logits must be [..., C] and targets [...] with the same leading shape', ctx(op, inputs));
  return [logits, targets];
}

function crossEntropyInfer(inputs: readonly Tensor[], reduction: 'mean' | 'sum' | 'none') {
  const [logits, targets] = checkLogitsAndTargets('crossEntropy', inputs);
  return meta(reduction === 'none' ? targets.shape : [], logits.dtype);
}

export const nnDefs = {
  softmax: {
    arity: 1,
    infer: (inputs) => (requireFloat('softmax', inputs), meta(inputs[0]!.shape, inputs[0]!.dtype)),
    vjp: (g, { output: y, attrs: { axis } }) => [softmaxGrad(y, g, axis)],
    jvp: ([t], { output: y, attrs: { axis } }) => softmaxGrad(y, t!, axis),
    composite: ([x], { axis }) => exp(sub(x!, logsumexp(x!, axis, true))),
  },
  logSoftmax: {
    arity: 1,
    infer: (inputs) => (requireFloat('logSoftmax', inputs), meta(inputs[0]!.shape, inputs[0]!.dtype)),
    vjp: (g, { output: y, attrs: { axis } }) => [sub(g, mul(exp(y), sum(g, axis, true)))],
    jvp: ([t], { output: y, attrs: { axis } }) => sub(t!, sum(mul(exp(y), t!), axis, true)),
    composite: ([x], { axis }) => sub(x!, logsumexp(x!, axis, true)),
  },
  crossEntropy: {
    arity: 2,
    infer: (inputs, { reduction }) => crossEntropyInfer(inputs, reduction),
    vjp: (g, { inputs: [logits, targets], attrs: { reduction } }) => [apply('crossEntropyGrad', [logits!, targets!, g], { reduction }), null],
    jvp: 'composite',
    composite: ([logits, targets], { reduction }) => {
      const classes = logits!.shape[logits!.rank - 1]!;
      const nll = neg(sum(mul(logSoftmax(logits!, -1), oneHot(targets!, classes, logits!.dtype)), -1));
      return reduction === 'none' ? nll : reduction === 'sum' ? sum(nll) : mean(nll);
    },
  },
  layerNorm: {
    arity: 3,
    infer: (inputs) => {
      const [x, w, b] = inputs as [Tensor, Tensor, Tensor];
      requireFloat('layerNorm', inputs);
      requireSameDtype('layerNorm', inputs);
      const d = x.shape[x.rank - 1];
      if (x.rank < 1 || w.rank !== 1 || b.rank !== 1 || w.shape[0] !== d || b.shape[0] !== d) {
        throw new ShapeError('weight and bias must be 1-D with the size of the last axis of x', ctx('layerNorm', inputs));
      }
      return meta(x.shape, x.dtype);
    },
    vjp: (g, c) => {
      const [dx, dw, db] = layerNormGrads(c.inputs[0]!, c.inputs[1]!, g, c.attrs.eps);
      return [wantsCotangent(c, 0) ? dx : null, wantsCotangent(c, 1) ? dw : null, wantsCotangent(c, 2) ? db : null];
    },
    // y = x̂ ⊙ w + b, x̂ = rstd·(x − μ); the Jacobian of x ↦ x̂ per row is rstd·(I − 11ᵀ/d − x̂x̂ᵀ/d).
    jvp: ([tx, tw, tb], { inputs: [x, w], attrs: { eps } }) => {
      const opts = { dtype: x!.dtype, backend: x!.storage.backend.name };
      const parts: Tensor[] = [];
      if (tx) parts.push(mul(normalizationJvp(x!, tx, eps), w!));
      if (tw) parts.push(mul(layerNorm(x!, null, null, eps), tw));
      if (tb) parts.push(parts.length > 0 ? tb : add(zeros(x!.shape, opts), tb));
      return parts.reduce((acc, t) => add(acc, t));
    },
    composite: ([x, w, b], { eps }) => add(mul(normalized(x!, eps), w!), b!),
  },
} satisfies { [K in 'softmax' | 'logSoftmax' | 'crossEntropy' | 'layerNorm']: OpDef<K> };

export function softmax(input: Tensor, axis = -1): Tensor {
  const x = tensorArg(input, 'softmax');
  return apply('softmax', [x], { axis: normalizeAxis(axis, x.rank, 'softmax', x.shape) });
}

export function logSoftmax(input: Tensor, axis = -1): Tensor {
  const x = tensorArg(input, 'logSoftmax');
  return apply('logSoftmax', [x], { axis: normalizeAxis(axis, x.rank, 'logSoftmax', x.shape) });
}

/** Softmax cross-entropy of logits [..., C] against integer class targets [...]. */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: { reduction?: 'mean' | 'sum' | 'none' } = {}): Tensor {
  return apply('crossEntropy', [logits, targets], { reduction: optionsArg(opts, 'crossEntropy').reduction ?? 'mean' });
}

/** Layer normalisation over the last axis; a null weight/bias means 1/0. */
export function layerNorm(input: Tensor, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const x = tensorArg(input, 'layerNorm');
  if (weight && bias) return apply('layerNorm', [x, weight, bias], { eps });
  const d = [x.shape[x.rank - 1] ?? 1];
  const opts = { dtype: x.dtype, backend: x.storage.backend.name };
  return opScope(() => apply('layerNorm', [x, weight ?? ones(d, opts), bias ?? zeros(d, opts)], { eps }));
}
