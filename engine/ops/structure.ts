/** Joining and padding: concat (with stack and split built on it and on slice) and zero padding. */
import { zerosLike } from '../creation.js';
import { intListArg, tensorArg, tensorListArg } from '../args.js';
import { apply } from '../dispatch.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { describeValue } from '../describe-value.js';
import { opScope } from '../memory.js';
import { normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { ctx, meta, requireSameDtype } from './infer.js';
import type { OpDef } from './op-def.js';
import { slice, unsqueeze } from './views.js';

export const structureDefs = {
  concat: {
    arity: 'variadic',
    infer: (inputs, { axis }) => {
      requireSameDtype('concat', inputs);
      const first = inputs[0]!;
      const ok = inputs.every((t) => t.rank === first.rank && t.shape.every((d, i) => i === axis || d === first.shape[i]));
      if (!ok || axis >= first.rank) throw new ShapeError(`shapes must match except along axis ${axis}`, ctx('concat', inputs));
      const shape = [...first.shape];
      shape[axis] = inputs.reduce((s, t) => s + t.shape[axis]!, 0);
      return meta(shape, first.dtype);
    },
    vjp: (g, { inputs, attrs: { axis } }) => {
      let start = 0;
      return inputs.map((t) => {
        const starts = g.shape.map((_, i) => (i === axis ? start : 0));
        const ends = g.shape.map((d, i) => (i === axis ? start + t.shape[axis]! : d));
        start += t.shape[axis]!;
        return apply('slice', [g], { starts, ends });
      });
    },
    jvp: (tangents, { inputs, attrs }) => apply('concat', tangents.map((t, i) => t ?? zerosLike(inputs[i]!)), attrs),
  },
  pad: {
    arity: 1,
    infer: ([x], { widths }) => {
      if (widths.length !== x!.rank || widths.some(([a, b]) => !Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0)) {
        throw new ShapeError('pad needs one non-negative [before, after] pair per axis', ctx('pad', [x!]));
      }
      return meta(
        x!.shape.map((d, i) => d + widths[i]![0] + widths[i]![1]),
        x!.dtype,
      );
    },
    vjp: (g, { inputs: [x], attrs: { widths } }) => [
      apply('slice', [g], { starts: widths.map(([a]) => a), ends: widths.map(([a], i) => a + x!.shape[i]!) }),
    ],
    jvp: ([t], { attrs }) => apply('pad', [t!], attrs),
  },
} satisfies { [K in 'concat' | 'pad']: OpDef<K> };

export function concat(list: readonly Tensor[], axis = 0): Tensor {
  const xs = tensorListArg(list, 'concat');
  if (xs.length === 0) throw new ArgumentError('needs at least one tensor', { op: 'concat' });
  const a = normalizeAxis(axis, xs[0]!.rank, 'concat', xs[0]!.shape);
  if (xs.length === 1) return xs[0]!;
  return apply('concat', xs, { axis: a });
}

export function stack(list: readonly Tensor[], axis = 0): Tensor {
  const xs = tensorListArg(list, 'stack');
  if (xs.length === 0) throw new ArgumentError('needs at least one tensor', { op: 'stack' });
  const a = normalizeAxis(axis, xs[0]!.rank + 1, 'stack', xs[0]!.shape);
  return opScope(() =>
    concat(
      xs.map((x) => unsqueeze(x, a)),
      a,
    ),
  );
}

/** Splits along axis into `count` equal parts or parts of the given sizes (views). */
export function split(input: Tensor, sizesOrCount: number | readonly number[], axis = 0): Tensor[] {
  const x = tensorArg(input, 'split');
  if (typeof sizesOrCount !== 'number') intListArg(sizesOrCount, 'split', 'sizes');
  const a = normalizeAxis(axis, x.rank, 'split', x.shape);
  const dim = x.shape[a]!;
  let sizes: number[];
  if (typeof sizesOrCount === 'number') {
    if (!Number.isInteger(sizesOrCount) || sizesOrCount < 1 || dim % sizesOrCount !== 0) {
      throw new ShapeError(`cannot split axis ${a} of size ${dim} into ${sizesOrCount} equal parts`, { op: 'split', shapes: [x.shape] });
    }
    sizes = Array(sizesOrCount).fill(dim / sizesOrCount);
  } else {
    sizes = [...sizesOrCount];
    if (sizes.reduce((s, v) => s + v, 0) !== dim || sizes.some((v) => !Number.isInteger(v) || v < 0)) {
      throw new ShapeError(`sizes [${sizes.join(', ')}] do not add up to ${dim}`, { op: 'split', shapes: [x.shape] });
    }
  }
  let start = 0;
  return sizes.map((s) => {
    const starts = x.shape.map((_, i) => (i === a ? start : 0));
    const ends = x.shape.map((d, i) => (i === a ? start + s : d));
    start += s;
    return slice(x, starts, ends);
  });
}

/** Zero padding: widths[i] = [before, after] for axis i (missing trailing axes get no padding). */
export function pad(input: Tensor, widths: readonly (readonly [number, number])[]): Tensor {
  const x = tensorArg(input, 'pad');
  if (!Array.isArray(widths)) throw new ArgumentError(`widths must be an array of [before, after] pairs, got ${describeValue(widths)}`, { op: 'pad' });
  widths.forEach((w, i) => {
    if (!Array.isArray(w) || w.length !== 2) throw new ArgumentError(`widths[${i}] must be a [before, after] pair, got ${describeValue(w)}`, { op: 'pad' });
    intListArg(w, 'pad', `widths[${i}]`);
  });
  if (widths.length > x.rank) throw new ArgumentError(`${widths.length} pad widths for rank ${x.rank}`, { op: 'pad', shapes: [x.shape] });
  const full = x.shape.map((_, i) => widths[i] ?? ([0, 0] as const));
  return apply('pad', [x], { widths: full });
}
