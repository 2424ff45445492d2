/** Reading strided operands as dense row-major arrays: the one place the cpu kernels deal with layouts. */
import { type TypedArray, allocTyped } from '../../dtype.js';
import { type Layout, isContiguous, numel } from '../../shape.js';
import type { CpuArg } from './cpu-buffer.js';

/** Copies the elements that `layout` addresses in src into out, in row-major order. */
export function gather(src: TypedArray, layout: Layout, out: TypedArray): void {
  const { shape, strides, offset } = layout;
  const rank = shape.length;
  const n = numel(shape);
  if (n === 0) return;
  if (rank === 0) {
    out[0] = src[offset]!;
    return;
  }
  const last = rank - 1;
  const lastDim = shape[last]!;
  const lastStride = strides[last]!;
  const idx = new Array<number>(rank).fill(0);
  let pos = offset;
  for (let o = 0; o < n; o += lastDim) {
    let p = pos;
    for (let j = 0; j < lastDim; j++, p += lastStride) out[o + j] = src[p]!;
    for (let d = last - 1; d >= 0; d--) {
      idx[d]!++;
      pos += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      pos -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

/** The operand's elements in row-major order: a subarray when already dense, otherwise a gathered copy. */
export function dense(arg: CpuArg): TypedArray {
  const n = numel(arg.layout.shape);
  const src = arg.buffer.data;
  if (isContiguous(arg.layout)) return src.subarray(arg.layout.offset, arg.layout.offset + n);
  const out = allocTyped(arg.dtype, n);
  gather(src, arg.layout, out);
  return out;
}

/** The operand's elements ordered with the given axes moved last: [outer (kept axes), inner (moved axes)]. */
export function denseWithAxesLast(arg: CpuArg, axes: readonly number[]): { data: TypedArray; outer: number; inner: number } {
  const { shape, strides, offset } = arg.layout;
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...kept, ...axes];
  const layout: Layout = { shape: order.map((i) => shape[i]!), strides: order.map((i) => strides[i]!), offset };
  const inner = numel(axes.map((a) => shape[a]!));
  const total = numel(shape);
  const data = dense({ ...arg, layout });
  return { data, outer: inner === 0 ? numel(kept.map((i) => shape[i]!)) : total / inner, inner };
}

/** The output array of a kernel (outputs are always dense from offset 0). */
export function out(arg: CpuArg): TypedArray {
  return arg.buffer.data;
}
