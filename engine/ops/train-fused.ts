/**
 * Fused training ops: what a training step spends its kernels on besides the matmuls.
 * - crossEntropyGrad: the backward of softmax cross-entropy, (softmax(z) − onehot(y))·scale in one pass;
 * - layerNormGrad: the backward of layerNorm, packed as [rows + 2, d] = [dx rows; dw; db];
 * - activationGrad: g·f′ for relu, tanh and sigmoid, from the activation's output y;
 * - linear: act(x·w + b), the matmul with its bias + activation epilogue;
 * - adamStep: one Adam/AdamW update of a parameter and its two moments, packed as [3, ...shape] = [p′; m′; v′];
 * - sgdStep: one SGD update (momentum, dampening, Nesterov, weight decay), packed as [p′] or [p′; buf′].
 * Each has a composite reference of primitive ops that tests compare the kernels with; the backward ops are
 * differentiated through theirs.
 */
import { tensorArg } from '../args.js';
import { apply } from '../dispatch.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { opScope } from '../memory.js';
import type { Tensor } from '../tensor.js';
import type { AdamStepAttrs, GeluGradOrder, GradActivation, OpAttrs, SgdStepAttrs } from './attrs.js';
import { add, div, gt, mul, sub } from './binary.js';
import { layerNormGradVjp, layerNormGradVjpOfSlice } from './layer-norm-grad-vjp.js';
import { ctx, meta, requireFloat, requireSameDtype, requireSameShape } from './infer.js';
import { oneHot } from './indexing.js';
import { matmul, matmulCotangents } from './matmul.js';
import { checkLogitsAndTargets, softmax } from './nn.js';
import { type OpDef, wantsCotangent } from './op-def.js';
import { mean, sum } from './reduce.js';
import { concat, stack } from './structure.js';
import { geluDerivative, relu, rsqrt, scaledGeluSecondDerivative, scaledGeluThirdDerivative, sigmoid, sqrt, square, tanh } from './unary.js';
import { cast, expand, reshape, slice, stopGradient } from './views.js';

type TrainFusedName = 'crossEntropyGrad' | 'layerNormGrad' | 'geluGrad' | 'activationGrad' | 'linear' | 'adamStep' | 'sgdStep';

const GRAD_ACTIVATIONS: readonly string[] = ['relu', 'tanh', 'sigmoid'];

/** f′ as a function of the output y: relu′ = [y > 0], tanh′ = 1 − y², sigmoid′ = y(1 − y). */
function derivativeFromOutput(y: Tensor, activation: GradActivation): Tensor {
  if (activation === 'relu') return cast(gt(y, 0), y.dtype);
  if (activation === 'tanh') return sub(1, square(y));
  return mul(y, sub(1, y));
}

function activate(z: Tensor, activation: OpAttrs['linear']['activation']): Tensor {
  if (activation === 'relu') return relu(z);
  if (activation === 'tanh') return tanh(z);
  if (activation === 'sigmoid') return sigmoid(z);
  return z;
}

const geluGradComposite = ([x, g]: readonly Tensor[], { approximate, order }: OpAttrs['geluGrad']): Tensor =>
  order === 2 ? scaledGeluSecondDerivative(x!, g!, approximate) : mul(g!, geluDerivative(x!, approximate));

const activationGradComposite = ([y, g]: readonly Tensor[], { activation }: OpAttrs['activationGrad']): Tensor =>
  mul(g!, derivativeFromOutput(y!, activation));

const crossEntropyGradComposite = ([logits, targets, g]: readonly Tensor[], { reduction }: OpAttrs['crossEntropyGrad']): Tensor => {
  const z = logits!;
  const t = targets!;
  const diff = sub(softmax(z, -1), oneHot(t, z.shape[z.rank - 1]!, z.dtype));
  if (reduction === 'none') return mul(diff, expand(reshape(g!, [...t.shape, 1]), z.shape));
  const scale = reduction === 'mean' ? mul(g!, 1 / Math.max(t.size, 1)) : g!;
  return mul(diff, expand(reshape(scale, Array(z.rank).fill(1)), z.shape));
};

/** x̂ = (x − μ)·rstd per row; dx = rstd·(gŵ − mean(gŵ) − x̂·mean(gŵ·x̂)) with gŵ = g·w; dw = Σ g·x̂; db = Σ g. */
const layerNormGradComposite = ([x, w, g]: readonly Tensor[], { eps }: OpAttrs['layerNormGrad']): Tensor => {
  const d = x!.shape[x!.rank - 1]!;
  const rows = x!.size / d;
  const x2 = reshape(x!, [rows, d]);
  const g2 = reshape(g!, [rows, d]);
  const centered = sub(x2, mean(x2, -1, true));
  const rstd = rsqrt(add(mean(square(centered), -1, true), eps));
  const xhat = mul(centered, rstd);
  const gw = mul(g2, w!);
  const dx = mul(rstd, sub(sub(gw, mean(gw, -1, true)), mul(xhat, mean(mul(gw, xhat), -1, true))));
  return concat([dx, sum(mul(g2, xhat), 0, true), sum(g2, 0, true)], 0);
};

function adamStepComposite([p, g, m, v]: readonly Tensor[], a: AdamStepAttrs): Tensor {
  const grad = a.weightDecay !== 0 ? add(g!, mul(p!, a.weightDecay)) : g!;
  const m1 = add(mul(m!, a.beta1), mul(grad, 1 - a.beta1));
  const v1 = add(mul(v!, a.beta2), mul(mul(grad, grad), 1 - a.beta2));
  const denom = add(div(sqrt(v1), a.bias2Sqrt), a.eps);
  const p1 = sub(a.decay === 1 ? p! : mul(p!, a.decay), mul(div(m1, denom), a.stepSize));
  return stack([p1, m1, v1], 0);
}

function sgdStepComposite([p, g, buf]: readonly Tensor[], a: SgdStepAttrs): Tensor {
  let d = a.weightDecay !== 0 ? add(g!, mul(p!, a.weightDecay)) : g!;
  if (a.momentum === 0) return stack([sub(p!, mul(d, a.lr))], 0);
  const b1 = a.first ? d : add(mul(buf!, a.momentum), mul(d, 1 - a.dampening));
  d = a.nesterov ? add(d, mul(b1, a.momentum)) : b1;
  return stack([sub(p!, mul(d, a.lr)), b1], 0);
}

export const trainFusedDefs = {
  crossEntropyGrad: {
    arity: 3,
    infer: (inputs, { reduction }) => {
      const [z, t] = checkLogitsAndTargets('crossEntropyGrad', inputs);
      const g = inputs[2]!;
      const gShape = reduction === 'none' ? t.shape : [];
      if (g.dtype !== z.dtype || g.rank !== gShape.length || !g.shape.every((d, i) => d === gShape[i])) {
        throw new ShapeError(`g must be ${reduction === 'none' ? 'shaped like the targets' : 'a scalar'} with the logits' dtype`, ctx('crossEntropyGrad', inputs));
      }
      return meta(z.shape, z.dtype);
    },
    vjp: 'composite',
    jvp: 'composite',
    composite: crossEntropyGradComposite,
  },
  layerNormGrad: {
    arity: 3,
    infer: (inputs) => {
      const [x, w, g] = inputs as [Tensor, Tensor, Tensor];
      requireFloat('layerNormGrad', inputs);
      requireSameDtype('layerNormGrad', inputs);
      const d = x.shape[x.rank - 1];
      const ok = x.rank >= 1 && d! > 0 && w.rank === 1 && w.shape[0] === d && g.rank === x.rank && g.shape.every((s, i) => s === x.shape[i]);
      if (!ok) throw new ShapeError('needs x [..., d], w [d] and g shaped like x', ctx('layerNormGrad', inputs));
      return meta([x.size / d! + 2, d!], x.dtype);
    },
    vjp: layerNormGradVjp,
    vjpOfSlice: layerNormGradVjpOfSlice,
    jvp: 'composite',
    composite: layerNormGradComposite,
  },
  geluGrad: {
    arity: 2,
    infer: (inputs, { approximate, order }) => {
      requireFloat('geluGrad', inputs);
      requireSameDtype('geluGrad', inputs);
      const shape = requireSameShape('geluGrad', inputs);
      if (approximate !== 'none' && approximate !== 'tanh') throw new ArgumentError(`approximate must be none or tanh, got ${String(approximate)}`, ctx('geluGrad', inputs));
      if (order !== undefined && order !== 1 && order !== 2) throw new ArgumentError(`order must be 1 or 2, got ${String(order)}`, ctx('geluGrad', inputs));
      return meta(shape, inputs[0]!.dtype);
    },
    // out = g·gelu⁽ⁿ⁾(x): x̄ = ḡ·g·gelu⁽ⁿ⁺¹⁾(x), ḡ_g = geluGrad(x, ḡ) of the same order; only the cotangents that are
    // needed. x̄ of the first order is the second-order kernel (two kernels where its primitives took sixteen).
    vjp: (gOut, c) => {
      const { inputs: [x, g], attrs: { approximate, order } } = c;
      const second = order === 2;
      const scale = wantsCotangent(c, 0) ? mul(gOut, g!) : null;
      return [
        scale ? (second ? scaledGeluThirdDerivative(x!, scale, approximate) : geluGrad(x!, scale, approximate, 2)) : null,
        wantsCotangent(c, 1) ? geluGrad(x!, gOut, approximate, second ? 2 : 1) : null,
      ];
    },
    jvp: 'composite',
    composite: geluGradComposite,
  },
  activationGrad: {
    arity: 2,
    infer: (inputs, { activation }) => {
      requireFloat('activationGrad', inputs);
      requireSameDtype('activationGrad', inputs);
      const shape = requireSameShape('activationGrad', inputs);
      if (!GRAD_ACTIVATIONS.includes(activation)) throw new ArgumentError(`activation must be one of ${GRAD_ACTIVATIONS.join(', ')}, got ${activation}`, ctx('activationGrad', inputs));
      return meta(shape, inputs[0]!.dtype);
    },
    vjp: 'composite',
    jvp: 'composite',
    composite: activationGradComposite,
  },
  linear: {
    arity: 3,
    infer: (inputs, { activation }) => {
      const [x, w, b] = inputs as [Tensor, Tensor, Tensor];
      requireFloat('linear', inputs);
      requireSameDtype('linear', inputs);
      const ok = x.rank === 2 && w.rank === 2 && b.rank === 1 && x.shape[1] === w.shape[0] && b.shape[0] === w.shape[1];
      if (!ok) throw new ShapeError('needs x [M, K], w [K, N] and b [N]', ctx('linear', inputs));
      if (activation !== 'none' && !GRAD_ACTIVATIONS.includes(activation)) {
        throw new ArgumentError(`activation must be none, ${GRAD_ACTIVATIONS.join(', ')}; got ${activation}`, ctx('linear', inputs));
      }
      return meta([x.shape[0]!, w.shape[1]!], x.dtype);
    },
    vjp: (g, c) => {
      const { inputs: [x, w], output: y, attrs: { activation } } = c;
      const dz = activation === 'none' ? g : activationGrad(y, g, activation);
      const [dx, dw] = matmulCotangents(dz, x!, w!, [wantsCotangent(c, 0), wantsCotangent(c, 1)]);
      return [dx, dw, wantsCotangent(c, 2) ? sum(dz, 0) : null];
    },
    // f′(z) ⊙ (ẋ W + x Ẇ + ḃ) with f′ read from the output: no recomputation of the primal (the FTLE pushes
    // tangents through every linear layer of a model several times per step)
    jvp: ([tx, tw, tb], { inputs: [x, w], output: y, attrs: { activation } }) => {
      const parts = [tx ? matmul(tx, w!) : null, tw ? matmul(x!, tw) : null].filter((t): t is Tensor => t !== null);
      let dz = parts.length === 2 ? add(parts[0]!, parts[1]!) : parts[0];
      if (tb) dz = dz ? add(dz, tb) : expand(reshape(tb, [1, y.shape[1]!]), y.shape);
      if (activation === 'none') return dz!;
      // relu′ is piecewise constant: its mask carries no gradient, so y stays out of the graph (as in relu's own rule)
      return activationGrad(activation === 'relu' ? stopGradient(y) : y, dz!, activation);
    },
    composite: ([x, w, b], { activation }) => activate(add(matmul(x!, w!), b!), activation),
  },
  adamStep: {
    arity: 4,
    infer: (inputs, a) => {
      requireFloat('adamStep', inputs);
      requireSameDtype('adamStep', inputs);
      const shape = requireSameShape('adamStep', inputs);
      const finite = [a.beta1, a.beta2, a.eps, a.weightDecay, a.decay, a.stepSize, a.bias2Sqrt].every(Number.isFinite);
      if (!finite || !(a.bias2Sqrt > 0)) throw new ArgumentError('adamStep needs finite scalars and bias2Sqrt > 0', ctx('adamStep', inputs));
      return meta([3, ...shape], inputs[0]!.dtype);
    },
    // Differentiable through its composite, for the rare meta-gradient through an optimizer step.
    vjp: 'composite',
    jvp: 'composite',
    composite: adamStepComposite,
  },
  sgdStep: {
    arity: 3,
    infer: (inputs, a) => {
      requireFloat('sgdStep', inputs);
      requireSameDtype('sgdStep', inputs);
      const shape = requireSameShape('sgdStep', inputs);
      const finite = [a.lr, a.momentum, a.dampening, a.weightDecay].every(Number.isFinite);
      if (!finite || (a.nesterov && a.momentum === 0)) throw new ArgumentError('sgdStep needs finite scalars (and momentum ≠ 0 for nesterov)', ctx('sgdStep', inputs));
      return meta([a.momentum === 0 ? 1 : 2, ...shape], inputs[0]!.dtype);
    },
    vjp: 'composite',
    jvp: 'composite',
    composite: sgdStepComposite,
  },
} satisfies { [K in TrainFusedName]: OpDef<K> };

/**
 * g·gelu′(x) (exact, or the tanh approximation's derivative): gelu's backward from its input x; with order 2,
 * g·gelu″(x).
 */
export function geluGrad(x: Tensor, g: Tensor, approximate: 'none' | 'tanh' = 'none', order: GeluGradOrder = 1): Tensor {
  return apply('geluGrad', [x, g], { approximate, order });
}

/** g·f′(x) for y = f(x), computed from y: the backward of relu, tanh and sigmoid in one pass. */
export function activationGrad(y: Tensor, g: Tensor, activation: GradActivation): Tensor {
  return apply('activationGrad', [y, g], { activation });
}

/**
 * act(x·w + b) with the bias and activation in the matmul's epilogue. x [..., K] (leading axes are folded into
 * rows), w [K, N] (a transposed view of torch's [N, K] weight is fine), b [N].
 */
export function linear(x: Tensor, w: Tensor, b: Tensor, activation: OpAttrs['linear']['activation'] = 'none'): Tensor {
  tensorArg(x, 'linear', 'x');
  tensorArg(w, 'linear', 'w');
  if (x.rank < 2) throw new ShapeError('linear needs x of rank >= 2', ctx('linear', [x, w, b]));
  if (x.rank === 2) return apply('linear', [x, w, b], { activation });
  return opScope(() => {
    const y = apply('linear', [reshape(x, [-1, x.shape[x.rank - 1]!]), w, b], { activation });
    return reshape(y, [...x.shape.slice(0, -1), w.shape[w.rank - 1]!]);
  });
}

/** One fused Adam/AdamW step: returns [3, ...shape] = [p′; m′; v′] (see AdamStepAttrs for the math). */
export function adamStep(p: Tensor, g: Tensor, m: Tensor, v: Tensor, attrs: AdamStepAttrs): Tensor {
  return apply('adamStep', [p, g, m, v], attrs);
}

/** One fused SGD step: returns [p′] (momentum 0) or [p′; buf′] (see SgdStepAttrs); buf is read only when needed. */
export function sgdStep(p: Tensor, g: Tensor, buf: Tensor, attrs: SgdStepAttrs): Tensor {
  return apply('sgdStep', [p, g, buf], attrs);
}

/** The gradients of layerNorm(x, w, ·) for g as [dx, dw, db], views of the one fused kernel's output. */
export function layerNormGrads(x: Tensor, w: Tensor, g: Tensor, eps: number): [Tensor, Tensor, Tensor] {
  const d = x.shape[x.rank - 1]!;
  const rows = x.size / d;
  const packed = apply('layerNormGrad', [x, w, g], { eps });
  const row = (i: number) => reshape(slice(packed, [i, 0], [i + 1, d]), [d]);
  return [reshape(slice(packed, [0, 0], [rows, d]), x.shape), row(rows), row(rows + 1)];
}
