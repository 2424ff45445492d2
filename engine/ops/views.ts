/**
 * View ops (reshape, permute, slice, expand, stopGradient) share their input's storage; contiguous and cast copy.
 * Their gradients are other views or pads, so higher derivatives need nothing extra.
 */
import { intListArg, tensorArg } from '../args.js';
import { apply } from '../dispatch.js';
import { type DType, carriesGradient, isDType } from '../dtype.js';
import { ArgumentError, AxisError, DTypeError, ShapeError } from '../errors.js';
import { describeValue } from '../describe-value.js';
import { opScope } from '../memory.js';
import { type Shape, assertValidShape, contiguousStrides, isPermutation, normalizeAxis, numel, shapesEqual, viewStrides } from '../shape.js';
import type { Tensor } from '../tensor.js';
import type { OpDef } from './op-def.js';
import { ctx, meta } from './infer.js';
import { pad } from './structure.js';
import { sum } from './reduce.js';

export const viewDefs = {
  reshape: {
    arity: 1,
    infer: ([x], { shape }) => {
      assertValidShape(shape, 'reshape');
      if (numel(shape) !== x!.size) throw new ShapeError(`cannot reshape ${x!.size} elements into [${shape.join(', ')}]`, ctx('reshape', [x!]));
      return meta(shape, x!.dtype);
    },
    view: (x, { shape }) => {
      const strides = x.isContiguous ? contiguousStrides(shape) : viewStrides(x.shape, x.strides, shape);
      if (!strides) throw new ShapeError(`this layout cannot be viewed as [${shape.join(', ')}]; make it contiguous first`, ctx('reshape', [x]));
      return { shape, strides, offset: x.offset };
    },
    vjp: (g, { inputs: [x] }) => [reshape(g, x!.shape)],
    jvp: ([t], { attrs }) => reshape(t!, attrs.shape),
  },
  permute: {
    arity: 1,
    infer: ([x], { axes }) => {
      const r = x!.rank;
      if (!isPermutation(axes, r)) {
        throw new AxisError(`axes [${axes.join(', ')}] are not a permutation of 0..${r - 1}`, ctx('permute', [x!]));
      }
      return meta(
        axes.map((a) => x!.shape[a]!),
        x!.dtype,
      );
    },
    view: (x, { axes }) => ({ shape: axes.map((a) => x.shape[a]!), strides: axes.map((a) => x.strides[a]!), offset: x.offset }),
    vjp: (g, { attrs }) => [permute(g, inversePermutation(attrs.axes))],
    jvp: ([t], { attrs }) => permute(t!, attrs.axes),
  },
  slice: {
    arity: 1,
    infer: ([x], { starts, ends }) => {
      if (starts.length !== x!.rank || ends.length !== x!.rank) throw new ShapeError('slice bounds must cover every axis', ctx('slice', [x!]));
      starts.forEach((s, i) => {
        if (!(0 <= s && s <= ends[i]! && ends[i]! <= x!.shape[i]!)) {
          throw new ShapeError(`slice [${s}, ${ends[i]}) is outside axis ${i} of size ${x!.shape[i]}`, ctx('slice', [x!]));
        }
      });
      return meta(
        starts.map((s, i) => ends[i]! - s),
        x!.dtype,
      );
    },
    view: (x, { starts, ends }) => ({
      shape: starts.map((s, i) => ends[i]! - s),
      strides: x.strides,
      offset: x.offset + starts.reduce((acc, s, i) => acc + s * x.strides[i]!, 0),
    }),
    vjp: (g, { inputs: [x], attrs }) => [pad(g, attrs.starts.map((s, i) => [s, x!.shape[i]! - attrs.ends[i]!] as const))],
    jvp: ([t], { attrs }) => apply('slice', [t!], attrs),
  },
  expand: {
    arity: 1,
    infer: ([x], { shape }) => {
      const lead = shape.length - x!.rank;
      if (lead < 0 || x!.shape.some((d, i) => d !== 1 && d !== shape[lead + i])) {
        throw new ShapeError(`cannot expand to [${shape.join(', ')}]`, ctx('expand', [x!]));
      }
      return meta(shape, x!.dtype);
    },
    view: (x, { shape }) => {
      const lead = shape.length - x.rank;
      const strides = shape.map((d, i) => (i < lead || (x.shape[i - lead] === 1 && d !== 1) ? 0 : x.strides[i - lead]!));
      return { shape, strides, offset: x.offset };
    },
    vjp: (g, { inputs: [x] }) => [sumToShape(g, x!.shape)],
    jvp: ([t], { attrs }) => expand(t!, attrs.shape),
  },
  stopGradient: {
    arity: 1,
    infer: ([x]) => meta(x!.shape, x!.dtype),
    view: (x) => x.layout,
    // no vjp and no jvp: the output carries neither gradients nor tangents
  },
  contiguous: {
    arity: 1,
    infer: ([x]) => meta(x!.shape, x!.dtype),
    vjp: (g) => [g],
    jvp: ([t]) => t!,
  },
  cast: {
    arity: 1,
    infer: ([x], { dtype }) => {
      if (!isDType(dtype)) throw new DTypeError(`unknown dtype '${String(dtype)}'`, ctx('cast', [x!]));
      // every dtype rounds to f16; f16 widens exactly to the float dtypes (to reach an integer, go through f32)
      if (x!.dtype === 'f16' && dtype !== 'f32' && dtype !== 'f64') {
        throw new DTypeError(`f16 casts to f32 or f64 only, not ${dtype}; cast to f32 first`, { ...ctx('cast', [x!]), dtypes: ['f16', dtype] });
      }
      return meta(x!.shape, dtype);
    },
    // the gradient goes back in the input's dtype: an f16 cotangent widens to an f32 master weight, an f32 one rounds
    // to f16 for an f16 input
    vjp: (g, { inputs: [x] }) => [carriesGradient(x!.dtype) ? cast(g, x!.dtype) : null],
    jvp: ([t], { attrs }) => cast(t!, attrs.dtype),
  },
} satisfies { [K in 'reshape' | 'permute' | 'slice' | 'expand' | 'stopGradient' | 'contiguous' | 'cast']: OpDef<K> };

export function inversePermutation(axes: readonly number[]): number[] {
  const inv = new Array<number>(axes.length);
  axes.forEach((a, i) => (inv[a] = i));
  return inv;
}

/** Sums a broadcast gradient back to `shape` (the inverse of expand). An f16 gradient is summed in f32. */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  if (g.dtype === 'f16') return cast(sumToShape(cast(g, 'f32'), shape), 'f16');
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const s = sum(g, axes, true);
  return reshape(s, shape);
}

export function reshape(input: Tensor, target: readonly number[]): Tensor {
  const x = tensorArg(input, 'reshape');
  const shape = intListArg(target, 'reshape', 'shape');
  const holes = shape.filter((d) => d === -1).length;
  if (holes > 1) throw new ShapeError('only one dimension can be -1', { op: 'reshape', shapes: [x.shape, shape] });
  let resolved = [...shape];
  if (holes === 1) {
    const known = numel(shape.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError(`cannot reshape ${x.size} elements into [${shape.join(', ')}]`, { op: 'reshape', shapes: [x.shape] });
    }
    resolved = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  // a view whenever the layout allows one (torch's view rule); a copy only when dims to merge are not adjacent in memory
  if (x.isContiguous || viewStrides(x.shape, x.strides, resolved)) return apply('reshape', [x], { shape: resolved });
  return opScope(() => apply('reshape', [contiguous(x)], { shape: resolved }));
}

export function permute(input: Tensor, axes: readonly number[]): Tensor {
  const x = tensorArg(input, 'permute');
  if (!Array.isArray(axes)) throw new AxisError(`axes must be an array of integers, got ${describeValue(axes)}`, { op: 'permute', shapes: [x.shape] });
  return apply('permute', [x], { axes: axes.map((a) => normalizeAxis(a, x.rank, 'permute', x.shape)) });
}

/** Swaps two axes (the last two by default). */
export function transpose(input: Tensor, a0 = -2, a1 = -1): Tensor {
  const x = tensorArg(input, 'transpose');
  if (x.rank < 2) return x;
  const i = normalizeAxis(a0, x.rank, 'transpose', x.shape);
  const j = normalizeAxis(a1, x.rank, 'transpose', x.shape);
  const axes = Array.from({ length: x.rank }, (_, k) => k);
  axes[i] = j;
  axes[j] = i;
  return permute(x, axes);
}

/** x[starts[0]:ends[0], starts[1]:ends[1], ...]; missing trailing axes are taken whole; negatives count from the end. */
export function slice(input: Tensor, starts: readonly number[], ends?: readonly (number | undefined)[]): Tensor {
  const x = tensorArg(input, 'slice');
  intListArg(starts, 'slice', 'starts');
  if (ends !== undefined) {
    if (!Array.isArray(ends)) throw new ArgumentError(`ends must be an array of integers (or undefined), got ${describeValue(ends)}`, { op: 'slice' });
    ends.forEach((v, i) => {
      if (v !== undefined && !Number.isInteger(v)) throw new ArgumentError(`ends must hold integers, got ${describeValue(v)} at index ${i}`, { op: 'slice' });
    });
  }
  if (starts.length > x.rank) throw new AxisError(`${starts.length} slice bounds for rank ${x.rank}`, { op: 'slice', shapes: [x.shape] });
  const norm = (v: number, d: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
  const s = x.shape.map((d, i) => (i < starts.length ? norm(starts[i]!, d) : 0));
  const e = x.shape.map((d, i) => (ends && ends[i] !== undefined ? norm(ends[i]!, d) : d));
  const fixed = e.map((v, i) => Math.max(v, s[i]!));
  return apply('slice', [x], { starts: s, ends: fixed });
}

export function expand(input: Tensor, target: readonly number[]): Tensor {
  const x = tensorArg(input, 'expand');
  const shape = intListArg(target, 'expand', 'shape');
  const lead = shape.length - x.rank;
  const resolved = shape.map((d, i) => (d === -1 && i >= lead ? x.shape[i - lead]! : d));
  if (shapesEqual(resolved, x.shape)) return x;
  return apply('expand', [x], { shape: resolved });
}

export const broadcastTo = expand;

export function squeeze(input: Tensor, axis?: number | readonly number[]): Tensor {
  const x = tensorArg(input, 'squeeze');
  if (axis !== undefined && typeof axis !== 'number' && !Array.isArray(axis)) {
    throw new AxisError(`axis must be an integer or an array of integers, got ${describeValue(axis)}`, { op: 'squeeze', shapes: [x.shape] });
  }
  const axes =
    axis === undefined
      ? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))
      : (typeof axis === 'number' ? [axis] : axis).map((a) => normalizeAxis(a, x.rank, 'squeeze', x.shape));
  for (const a of axes) if (x.shape[a] !== 1) throw new AxisError(`axis ${a} has size ${x.shape[a]}, not 1`, { op: 'squeeze', shapes: [x.shape] });
  return reshape(
    x,
    x.shape.filter((_, i) => !axes.includes(i)),
  );
}

export function unsqueeze(input: Tensor, axis: number): Tensor {
  const x = tensorArg(input, 'unsqueeze');
  const a = normalizeAxis(axis, x.rank + 1, 'unsqueeze', x.shape);
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

export function flatten(x: Tensor): Tensor {
  return reshape(x, [tensorArg(x, 'flatten').size]);
}

export function stopGradient(x: Tensor): Tensor {
  return apply('stopGradient', [x], {});
}
export const detach = stopGradient;

export function contiguous(x: Tensor): Tensor {
  return apply('contiguous', [x], {});
}

export function cast(input: Tensor, dtype: DType): Tensor {
  const x = tensorArg(input, 'cast');
  if (!isDType(dtype)) throw new ArgumentError(`unknown dtype '${String(dtype)}'`, { op: 'cast', shapes: [x.shape] });
  if (dtype === x.dtype) return x;
  return apply('cast', [x], { dtype });
}
