/** Reductions over any set of axes, with keepdims. Gradients re-expand the cotangent over the reduced axes. */
import { tensorArg } from '../args.js';
import { apply } from '../dispatch.js';
import { DTypeError } from '../errors.js';
import { type Shape, normalizeAxes, normalizeAxis, numel, reducedShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import type { OpAttrs, ReduceAttrs } from './attrs.js';
import { add, div, eq, mul, sub, where } from './binary.js';
import { ctx, meta, requireArithmetic, requireFloat } from './infer.js';
import type { OpCtx, OpDef } from './op-def.js';
import { exp, log, sqrt, square } from './unary.js';
import { cast, expand, reshape, stopGradient } from './views.js';
import { zerosLike } from '../creation.js';

type ReduceName = 'sum' | 'mean' | 'max' | 'logsumexp' | 'var' | 'norm';

/** Re-inserts reduced axes as size 1 and broadcasts back to the input shape. */
function expandBack(g: Tensor, inputShape: Shape, attrs: ReduceAttrs): Tensor {
  const kept = reshape(g, reducedShape(inputShape, attrs.axes, true));
  return expand(kept, inputShape);
}

function reducedCount(shape: Shape, axes: readonly number[]): number {
  return numel(axes.map((a) => shape[a]!));
}

function reduceInfer<K extends ReduceName>(name: K, float: boolean) {
  return (inputs: readonly Tensor[], attrs: OpAttrs[K]) => {
    const x = inputs[0]!;
    requireArithmetic(name, inputs);
    if (float) requireFloat(name, inputs);
    if (x.dtype === 'u8' && name === 'sum') throw new DTypeError('cannot sum a u8 tensor; cast it first', ctx(name, inputs));
    if ((name === 'max' || name === 'logsumexp') && reducedCount(x.shape, attrs.axes) === 0) {
      throw new DTypeError('cannot reduce over an empty axis', ctx(name, inputs));
    }
    return meta(reducedShape(x.shape, attrs.axes, attrs.keepdims), x.dtype);
  };
}

/** The output with reduced axes kept, broadcast to the input shape. */
const outputBack = <K extends ReduceName>(c: OpCtx<K>) => expandBack(c.output, c.inputs[0]!.shape, c.attrs);

export const reduceDefs = {
  sum: {
    arity: 1,
    infer: reduceInfer('sum', false),
    vjp: (g, { inputs: [x], attrs }) => [expandBack(g, x!.shape, attrs)],
    jvp: ([t], { attrs }) => apply('sum', [t!], attrs),
  },
  mean: {
    arity: 1,
    infer: reduceInfer('mean', true),
    vjp: (g, { inputs: [x], attrs }) => [div(expandBack(g, x!.shape, attrs), reducedCount(x!.shape, attrs.axes))],
    jvp: ([t], { attrs }) => apply('mean', [t!], attrs),
    composite: ([x], attrs) => div(apply('sum', [x!], attrs), reducedCount(x!.shape, attrs.axes)),
  },
  max: {
    arity: 1,
    infer: reduceInfer('max', false),
    // The gradient is shared evenly among tied maxima (as PyTorch's amax).
    vjp: (g, c) => {
      const w = maxWeights(c);
      return [mul(expandBack(g, c.inputs[0]!.shape, c.attrs), w)];
    },
    jvp: ([t], c) => apply('sum', [mul(t!, maxWeights(c))], c.attrs),
  },
  logsumexp: {
    arity: 1,
    infer: reduceInfer('logsumexp', true),
    vjp: (g, c) => [mul(expandBack(g, c.inputs[0]!.shape, c.attrs), exp(sub(c.inputs[0]!, outputBack(c))))],
    jvp: 'composite',
    composite: ([x], attrs) => {
      const m = stopGradient(apply('max', [x!], { axes: attrs.axes, keepdims: true }));
      const s = log(apply('sum', [exp(sub(x!, m))], { axes: attrs.axes, keepdims: true }));
      return reshape(add(s, m), reducedShape(x!.shape, attrs.axes, attrs.keepdims));
    },
  },
  var: {
    arity: 1,
    infer: reduceInfer('var', true),
    vjp: (g, { inputs: [x], attrs }) => {
      const centered = sub(x!, apply('mean', [x!], { axes: attrs.axes, keepdims: true }));
      const denom = reducedCount(x!.shape, attrs.axes) - attrs.correction;
      return [mul(expandBack(g, x!.shape, attrs), mul(centered, 2 / denom))];
    },
    jvp: 'composite',
    composite: ([x], attrs) => {
      const centered = sub(x!, apply('mean', [x!], { axes: attrs.axes, keepdims: true }));
      const denom = reducedCount(x!.shape, attrs.axes) - attrs.correction;
      return div(apply('sum', [square(centered)], { axes: attrs.axes, keepdims: attrs.keepdims }), denom);
    },
  },
  norm: {
    arity: 1,
    infer: reduceInfer('norm', true),
    // x/‖x‖, with 0 where ‖x‖ = 0 (the subgradient PyTorch picks).
    vjp: (g, c) => {
      const n = outputBack(c);
      const safe = where(eq(n, 0), zerosLike(n), div(c.inputs[0]!, n));
      return [mul(expandBack(g, c.inputs[0]!.shape, c.attrs), safe)];
    },
    jvp: 'composite',
    composite: ([x], attrs) => sqrt(apply('sum', [square(x!)], attrs)),
  },
  argmax: {
    arity: 1,
    infer: ([x], { axis }) => {
      requireArithmetic('argmax', [x!]);
      if (x!.shape[axis] === 0) throw new DTypeError('cannot take argmax over an empty axis', ctx('argmax', [x!]));
      return meta(reducedShape(x!.shape, [axis], false), 'i32');
    },
  },
} satisfies { [K in ReduceName | 'argmax']: OpDef<K> };

/** Indicator of the maxima divided by their count, broadcast to the input shape. */
function maxWeights(c: OpCtx<'max'>): Tensor {
  const x = c.inputs[0]!;
  const mask = cast(eq(x, outputBack(c)), x.dtype);
  const count = apply('sum', [mask], { axes: c.attrs.axes, keepdims: true });
  return div(mask, expand(count, x.shape));
}

export type AxisArg = number | readonly number[] | undefined | null;

function reduction<K extends 'sum' | 'mean' | 'max' | 'logsumexp' | 'norm'>(name: K) {
  return (x: Tensor, axis?: AxisArg, keepdims = false): Tensor => {
    const t = tensorArg(x, name);
    return apply(name, [t], { axes: normalizeAxes(axis, t.rank, name, t.shape), keepdims } as OpAttrs[K]);
  };
}

export const sum = reduction('sum');
export const mean = reduction('mean');
export const max = reduction('max');
export const logsumexp = reduction('logsumexp');
export const norm = reduction('norm');

/** Variance with Bessel's correction by default (correction = 1), as torch.var. */
export function variance(x: Tensor, axis?: AxisArg, keepdims = false, correction = 1): Tensor {
  const t = tensorArg(x, 'var');
  return apply('var', [t], { axes: normalizeAxes(axis, t.rank, 'var', t.shape), keepdims, correction });
}

export function argmax(x: Tensor, axis = -1): Tensor {
  const t = tensorArg(x, 'argmax');
  return apply('argmax', [t], { axis: normalizeAxis(axis, t.rank, 'argmax', t.shape) });
}
