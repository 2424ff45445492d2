/**
 * Cotangents that slice VJPs hand to one tensor, kept as pieces until the tensor's total is needed. Pieces that tile
 * the tensor along one axis (a split: the q, k and v of one projection) become one concat, where padding each piece
 * with zeros and adding them costs a full-size pad per piece and an add per extra piece (five kernels for three
 * pieces). Pieces of one region (the same slice taken twice) are summed first; one piece that is the whole tensor
 * is its cotangent as it is. Any other set of pieces is padded and added as the slice VJP alone would. All give the
 * same values: concat copies, and adding the pads' zeros is exact.
 */
import type { Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { concat, pad } from '../ops/structure.js';
import { permute } from '../ops/views.js';
import { markZeroOutside } from '../ops/zero-outside.js';

export interface SlicePiece {
  readonly g: Tensor;
  readonly starts: readonly number[];
  readonly ends: readonly number[];
}

/** The axis along which the pieces tile `shape` exactly (each spans every other axis whole), in order; else null. */
function tiling(shape: Shape, pieces: readonly SlicePiece[]): { axis: number; ordered: SlicePiece[] } | null {
  let axis = -1;
  for (const p of pieces) {
    for (let i = 0; i < shape.length; i++) {
      if (p.starts[i] === 0 && p.ends[i] === shape[i]) continue;
      if (axis !== -1 && axis !== i) return null;
      axis = i;
    }
  }
  if (axis === -1) return null;
  const ordered = [...pieces].sort((a, b) => a.starts[axis]! - b.starts[axis]!);
  let next = 0;
  for (const p of ordered) {
    if (p.starts[axis] !== next) return null;
    next = p.ends[axis]!;
  }
  return next === shape[axis] ? { axis, ordered } : null;
}

/**
 * The axis order that makes `strides` dense for `shape` (size-1 axes may have any stride): `perm` with the tensor
 * equal to a dense [shape[perm[0]], …] tensor permuted by the inverse of perm. Null when the layout is not a
 * permutation of a dense one, or is dense as it is (nothing to gain).
 */
function densePermutation(shape: Shape, strides: readonly number[]): number[] | null {
  const perm = shape.map((_, i) => i).sort((a, b) => strides[b]! - strides[a]! || a - b);
  let expected = 1;
  for (let k = perm.length - 1; k >= 0; k--) {
    const axis = perm[k]!;
    if (shape[axis] !== 1 && strides[axis] !== expected) return null;
    expected *= shape[axis]!;
  }
  return perm.every((axis, k) => axis === k || shape[axis] === 1) ? null : perm;
}

const sameRegion = (a: SlicePiece, b: SlicePiece): boolean => a.starts.every((s, i) => s === b.starts[i] && a.ends[i] === b.ends[i]);

/**
 * Pieces of one region summed before any padding: the same slice taken by several passes (the task's forward and the
 * FTLE's) then costs an add of the slice's size, not a full-size pad per piece and a full-size add per extra piece.
 */
function mergeSameRegion(pieces: readonly SlicePiece[], add: (a: Tensor, b: Tensor) => Tensor): SlicePiece[] {
  const merged: SlicePiece[] = [];
  for (const p of pieces) {
    const k = merged.findIndex((q) => sameRegion(q, p));
    if (k === -1) merged.push(p);
    else merged[k] = { ...merged[k]!, g: add(merged[k]!.g, p.g) };
  }
  return merged;
}

/**
 * The total cotangent of a tensor of `shape` from its slices' pieces; `add` sums two cotangents of it. `strides`,
 * the tensor's own: when it is a permuted view of dense data (q, k and v as slices of an attention projection's
 * [3, B, H, T, hd] view), the concat of tiling pieces is written in that dense order and permuted back as a view, so
 * the permute and reshape VJPs above reach the projection's [B, T, 3d] layout without a contiguous copy.
 */
export function combineSlicePieces(shape: Shape, all: readonly SlicePiece[], add: (a: Tensor, b: Tensor) => Tensor, strides?: readonly number[]): Tensor {
  const pieces = mergeSameRegion(all, add);
  // a slice of the whole tensor (a positional table sliced to a context of its full length): nothing to pad
  if (pieces.length === 1 && pieces[0]!.starts.every((s, i) => s === 0 && pieces[0]!.ends[i] === shape[i])) return pieces[0]!.g;
  const tiled = pieces.length > 1 ? tiling(shape, pieces) : null;
  if (tiled) {
    const perm = strides ? densePermutation(shape, strides) : null;
    if (!perm) return concat(tiled.ordered.map((p) => p.g), tiled.axis);
    const inverse = perm.map((_, k) => perm.indexOf(k));
    return permute(concat(tiled.ordered.map((p) => permute(p.g, perm)), perm.indexOf(tiled.axis)), inverse);
  }
  const padded = pieces.map((p) => pad(p.g, p.starts.map((s, i) => [s, shape[i]! - p.ends[i]!] as const)));
  if (padded.length === 1) markZeroOutside(padded[0]!, pieces[0]!);
  return padded.reduce((a, b) => add(a, b));
}
