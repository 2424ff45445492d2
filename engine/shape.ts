/** Shape and layout arithmetic shared by every layer. Pure functions, no tensors. */
import { AxisError, ShapeError } from './errors.js';
import { describeValue } from './describe-value.js';

export type Shape = readonly number[];

// Tensors' shapes and strides are frozen arrays. Node 20's V8 has no fast path for iterating frozen arrays: a
// for...of over one allocates an iterator result per element (measured: 20M loops over a frozen [4] scavenged 4812
// times, the same loop by index none). Loops here and in the per-call paths (dispatch, kernel encoding) go by index.

/** Where the elements of a tensor live inside its storage (in elements, not bytes). */
export interface Layout {
  readonly shape: Shape;
  readonly strides: readonly number[];
  readonly offset: number;
}

export function numel(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
}

/**
 * Strides that show a tensor of (shape, strides) as newShape without moving data, or null when its memory layout
 * does not allow it. Dims whose elements are laid out one after another (stride[i] = stride[i + 1]·shape[i + 1],
 * or size 1) form runs; newShape may split and merge dims inside a run but never across two. So a slice along the
 * last axis, reshaped to split that axis, stays a view, and a transposed matrix flattened needs a copy.
 */
export function viewStrides(shape: Shape, strides: readonly number[], newShape: Shape): number[] | null {
  const out = new Array<number>(newShape.length);
  if (numel(shape) === 0 || shape.length === 0) return contiguousStrides(newShape);
  let v = newShape.length - 1;
  let runStride = strides[shape.length - 1]!;
  let runSize = 1;
  let viewSize = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    runSize *= shape[d]!;
    const runEnds = d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== runSize * runStride);
    if (!runEnds) continue;
    // the new dims that cover this run, innermost first; size-1 dims are free to take any stride
    while (v >= 0 && (viewSize < runSize || newShape[v] === 1)) {
      out[v] = viewSize * runStride;
      viewSize *= newShape[v]!;
      v--;
    }
    if (viewSize !== runSize) return null;
    if (d > 0) {
      runStride = strides[d - 1]!;
      runSize = 1;
      viewSize = 1;
    }
  }
  return v === -1 ? out : null;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function contiguousLayout(shape: Shape): Layout {
  return { shape: [...shape], strides: contiguousStrides(shape), offset: 0 };
}

/** True when the layout covers a dense row-major block (size-1 axes may have any stride). */
export function isContiguous(layout: Layout): boolean {
  let expected = 1;
  for (let i = layout.shape.length - 1; i >= 0; i--) {
    const d = layout.shape[i]!;
    if (d !== 1 && layout.strides[i] !== expected) return false;
    expected *= d;
  }
  return true;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A shape from a caller: an array of non-negative integers (JavaScript callers can pass anything). */
export function assertValidShape(shape: unknown, op: string, name = 'shape'): asserts shape is Shape {
  if (!Array.isArray(shape)) throw new ShapeError(`${name} must be an array of non-negative integers, got ${describeValue(shape)}`, { op });
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new ShapeError(`invalid dimension ${describeValue(d)} at index ${i} of ${name} (dimensions are non-negative integers)`, { op });
    }
  }
}

/** NumPy broadcasting of any number of shapes. */
export function broadcastShapes(shapes: readonly Shape[], op: string): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i]!;
      if (d === out[j] || d === 1) continue;
      if (out[j] === 1) out[j] = d;
      else throw new ShapeError(`shapes cannot be broadcast together`, { op, shapes });
    }
  }
  return out;
}

export function normalizeAxis(axis: number, rank: number, op: string, shape?: Shape): number {
  if (typeof axis !== 'number' || Number.isNaN(axis)) throw new AxisError(`an axis must be an integer, got ${describeValue(axis)}`, { op, shapes: shape ? [shape] : [] });
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new AxisError(`axis ${axis} is out of range for rank ${rank}`, { op, shapes: shape ? [shape] : [] });
  }
  return axis < 0 ? axis + rank : axis;
}

/** True when axes holds each of 0..rank−1 exactly once (checked by marks, not by sorting a copy: permute is per-call). */
export function isPermutation(axes: readonly number[], rank: number): boolean {
  if (axes.length !== rank) return false;
  let seen = 0;
  const marks = rank > 31 ? new Uint8Array(rank) : null;
  for (let i = 0; i < rank; i++) {
    const a = axes[i]!;
    if (!Number.isInteger(a) || a < 0 || a >= rank) return false;
    if (marks) {
      if (marks[a]) return false;
      marks[a] = 1;
    } else {
      if (seen & (1 << a)) return false;
      seen |= 1 << a;
    }
  }
  return true;
}

/** Axes argument of reductions: undefined/null means all axes; duplicates are an error. Sorted ascending. */
export function normalizeAxes(axes: number | readonly number[] | undefined | null, rank: number, op: string, shape?: Shape): number[] {
  if (axes === undefined || axes === null) return Array.from({ length: rank }, (_, i) => i);
  if (typeof axes !== 'number' && !Array.isArray(axes)) {
    throw new AxisError(`axes must be an integer or an array of integers, got ${describeValue(axes)}`, { op, shapes: shape ? [shape] : [] });
  }
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => normalizeAxis(a, rank, op, shape));
  if (new Set(out).size !== out.length) throw new AxisError(`repeated axis in [${list.join(', ')}]`, { op, shapes: shape ? [shape] : [] });
  return out.sort((a, b) => a - b);
}

/** Shape after reducing `axes`. */
export function reducedShape(shape: Shape, axes: readonly number[], keepdims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (axes.includes(i)) {
      if (keepdims) out.push(1);
    } else out.push(d);
  });
  return out;
}
