/**
 * The VJP of a fused backward op: differentiate its composite reference (recorded, so it composes further).
 * Double backward through these ops is rare and only needs to be right, not fast. Integer inputs (class
 * targets) are held fixed and get no cotangent.
 */
import { vjp as vjpTransform } from '../autograd/transforms.js';
import { isFloat } from '../dtype.js';
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { OpAttrs, OpName } from './attrs.js';

export function compositeVjp<K extends OpName>(name: K, composite: (inputs: readonly Tensor[], attrs: OpAttrs[K]) => Tensor) {
  return (g: Tensor, { inputs, attrs }: { inputs: readonly Tensor[]; attrs: OpAttrs[K] }): (Tensor | null)[] => {
    const which = inputs.flatMap((x, i) => (isFloat(x.dtype) ? [i] : []));
    const call = (...xs: Tensor[]) => composite(inputs.map((x, i) => (which.includes(i) ? xs[which.indexOf(i)]! : x)), attrs);
    const [, pullback] = vjpTransform(call, ...which.map((i) => inputs[i]!));
    const grads = pullback(g);
    if (grads.length !== which.length) throw new ArgumentError(`composite VJP of ${name} returned ${grads.length} cotangents`, { op: name });
    return inputs.map((_, i) => (which.includes(i) ? grads[which.indexOf(i)]! : null));
  };
}
