/**
 * Tensors known to be zero outside one slice region: a slice's cotangent padded with zeros. A VJP can skip the work on
 * the zeros (layerNormGrad's, when only the dx rows of its packed output were used, as layerNorm's tangent rule does).
 * The backward pass marks them when it pads (autograd/slice-cotangents); op rules read the mark. Weak: an entry never
 * keeps a tensor alive.
 */
import type { Tensor } from '../tensor.js';

export interface SliceRegion {
  readonly starts: readonly number[];
  readonly ends: readonly number[];
}

const regions = new WeakMap<Tensor, SliceRegion>();

/** Records that `t` is zero outside [starts, ends). */
export function markZeroOutside(t: Tensor, region: SliceRegion): void {
  regions.set(t, { starts: region.starts, ends: region.ends });
}

/** The slice [starts, ends) outside of which `t` is known to be zero, if any. */
export function nonZeroRegion(t: Tensor): SliceRegion | undefined {
  return regions.get(t);
}
