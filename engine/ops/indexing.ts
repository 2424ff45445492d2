/**
 * Gather and scatter by integer indices. embedding (row gather) and scatterAdd (row scatter-add) are each other's
 * VJPs, so gradients of any order stay inside these two ops.
 */
import { apply } from '../dispatch.js';
import { type DType, isDType } from '../dtype.js';
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { F16_STORAGE_ONLY, ctx, meta, requireArithmetic, requireFloat, requireInt } from './infer.js';
import type { OpDef } from './op-def.js';

export const indexingDefs = {
  embedding: {
    arity: 2,
    infer: (inputs) => {
      const [w, idx] = inputs as [Tensor, Tensor];
      requireArithmetic('embedding', inputs);
      requireInt('embedding', inputs, 1);
      if (w.rank !== 2) throw new ShapeError('weight must be [numRows, dim]', ctx('embedding', inputs));
      return meta([...idx.shape, w.shape[1]!], w.dtype);
    },
    vjp: (g, { inputs: [w, idx] }) => [scatterAdd(idx!, g, w!.shape[0]!), null],
    jvp: ([tw], { inputs: [, idx] }) => embedding(tw!, idx!),
  },
  scatterAdd: {
    arity: 2,
    infer: (inputs, { numRows }) => {
      const [idx, values] = inputs as [Tensor, Tensor];
      requireInt('scatterAdd', inputs, 0);
      requireFloat('scatterAdd', inputs, 1);
      const ok = values.rank === idx.rank + 1 && idx.shape.every((d, i) => d === values.shape[i]);
      if (!ok) throw new ShapeError('values must be [...indices.shape, dim]', ctx('scatterAdd', inputs));
      if (!Number.isInteger(numRows) || numRows < 0) throw new ArgumentError(`numRows must be a non-negative integer, got ${numRows}`, ctx('scatterAdd', inputs));
      return meta([numRows, values.shape[values.rank - 1]!], values.dtype);
    },
    vjp: (g, { inputs: [idx] }) => [null, embedding(g, idx!)],
    jvp: ([, tv], { inputs: [idx], attrs }) => apply('scatterAdd', [idx!, tv!], attrs),
  },
  oneHot: {
    arity: 1,
    infer: (inputs, { numClasses, dtype }) => {
      requireInt('oneHot', inputs, 0);
      if (dtype === 'f16') throw new DTypeError(F16_STORAGE_ONLY, { ...ctx('oneHot', inputs), dtypes: [inputs[0]!.dtype, dtype] });
      if (!Number.isInteger(numClasses) || numClasses < 1) throw new ArgumentError(`numClasses must be a positive integer, got ${numClasses}`, ctx('oneHot', inputs));
      return meta([...inputs[0]!.shape, numClasses], dtype);
    },
  },
} satisfies { [K in 'embedding' | 'scatterAdd' | 'oneHot']: OpDef<K> };

/** Rows of weight [V, D] picked by integer indices [...] -> [..., D]. */
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  return apply('embedding', [weight, indices], {});
}

/** out[indices[i]] += values[i]: the [numRows, D] sum of rows of values [..., D] by index. */
export function scatterAdd(indices: Tensor, values: Tensor, numRows: number): Tensor {
  return apply('scatterAdd', [indices, values], { numRows });
}

export function oneHot(indices: Tensor, numClasses: number, dtype: DType = 'f32'): Tensor {
  if (!isDType(dtype)) throw new ArgumentError(`unknown dtype '${String(dtype)}'`, { op: 'oneHot' });
  return apply('oneHot', [indices], { numClasses, dtype });
}
