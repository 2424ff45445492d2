/**
 * Cotangents that slice VJPs hand to one tensor, kept as pieces until the tensor's total is needed. Pieces that tile
 * the tensor along one axis (a split: the q, k and v of one projection) become one concat, where padding each piece
 * with zeros and adding them costs a full-size pad per piece and an add per extra piece (five kernels for three
 * pieces). Any other set of pieces is padded and added as the slice VJP alone would. Both give the same values:
 * concat copies, and adding the pads' zeros is exact.
 */
import type { Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { concat, pad } from '../ops/structure.js';

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
 * Cotangents that are one slice's piece padded with zeros, with the slice: a VJP can skip the work on the zeros
 * (layerNormGrad's, when only the dx rows of its packed output were used, as layerNorm's tangent rule does). Weak:
 * an entry never keeps a tensor alive.
 */
const paddedPieces = new WeakMap<Tensor, SlicePiece>();

/** The slice [starts, ends) outside of which `t` is known to be zero (a padded slice cotangent), if any. */
export function nonZeroRegion(t: Tensor): { readonly starts: readonly number[]; readonly ends: readonly number[] } | undefined {
  return paddedPieces.get(t);
}

/** The total cotangent of a tensor of `shape` from its slices' pieces; `add` sums two cotangents of it. */
export function combineSlicePieces(shape: Shape, pieces: readonly SlicePiece[], add: (a: Tensor, b: Tensor) => Tensor): Tensor {
  const tiled = pieces.length > 1 ? tiling(shape, pieces) : null;
  if (tiled) return concat(tiled.ordered.map((p) => p.g), tiled.axis);
  const padded = pieces.map((p) => pad(p.g, p.starts.map((s, i) => [s, shape[i]! - p.ends[i]!] as const)));
  if (padded.length === 1) paddedPieces.set(padded[0]!, pieces[0]!);
  return padded.reduce((a, b) => add(a, b));
}
