/**
 * A fresh handle on a tensor that a transform can mark (requiresGrad, tangents) without touching the caller's
 * tensor. While recording, it is a recorded view of x, so gradients found for it also reach what made x.
 */
import { apply } from '../dispatch.js';
import { isFloat } from '../dtype.js';
import type { Tensor } from '../tensor.js';

export function alias(x: Tensor, opts: { differentiate: boolean }): Tensor {
  const a = x.isContiguous ? apply('reshape', [x], { shape: x.shape }) : apply('contiguous', [x], {});
  if (opts.differentiate && !a.requiresGrad && isFloat(a.dtype)) a.requiresGrad = true;
  return a;
}
