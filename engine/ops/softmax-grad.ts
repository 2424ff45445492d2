/**
 * softmaxGrad(y, g) = y ⊙ (g − Σ_axis g ⊙ y): softmax's backward from its output y, and, as the softmax Jacobian is
 * symmetric, its tangent rule too (J t = y ⊙ (t − Σ t ⊙ y)). One row pass instead of mul, sum, sub and mul (four
 * full-size passes). Attention applies it once per layer in every backward, and the FTLE in every J v and Jᵀ w.
 */
import { tensorArg } from '../args.js';
import { apply } from '../dispatch.js';
import { AxisError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { OpAttrs } from './attrs.js';
import { mul, sub } from './binary.js';
import { ctx, meta, requireFloat, requireSameDtype, requireSameShape } from './infer.js';
import { type OpDef, wantsCotangent } from './op-def.js';
import { sum } from './reduce.js';
import { softmaxGradGrad } from './softmax-grad-grad.js';
import { reshape, slice } from './views.js';

const softmaxGradComposite = ([y, g]: readonly Tensor[], { axis }: OpAttrs['softmaxGrad']): Tensor => mul(y!, sub(g!, sum(mul(g!, y!), axis, true)));

export const softmaxGradDefs = {
  softmaxGrad: {
    arity: 2,
    infer: (inputs, { axis }) => {
      requireFloat('softmaxGrad', inputs);
      requireSameDtype('softmaxGrad', inputs);
      const shape = requireSameShape('softmaxGrad', inputs);
      if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) throw new AxisError(`axis must be in [0, ${shape.length}), got ${axis}`, ctx('softmaxGrad', inputs));
      return meta(shape, inputs[0]!.dtype);
    },
    // out = y ⊙ (g − s), s = Σ g ⊙ y. In g it is the same map again (symmetric); in y: ō ⊙ (g − s) − g ⊙ Σ ō ⊙ y.
    // With ȳ wanted both come from one softmaxGradGrad kernel.
    vjp: (o, c) => {
      const { inputs: [y, g], attrs } = c;
      if (!wantsCotangent(c, 0)) return [null, wantsCotangent(c, 1) ? softmaxGrad(y!, o, attrs.axis) : null];
      const both = softmaxGradGrad(y!, g!, o, attrs.axis);
      const half = (k: number) => reshape(slice(both, [k, ...y!.shape.map(() => 0)], [k + 1, ...y!.shape]), y!.shape);
      return [half(0), wantsCotangent(c, 1) ? half(1) : null];
    },
    jvp: 'composite',
    composite: softmaxGradComposite,
  },
} satisfies { softmaxGrad: OpDef<'softmaxGrad'> };

/**
 * y ⊙ (g − Σ_axis g ⊙ y) for y = softmax(x, axis): the cotangent (or the tangent) of x from that of y. `axis` counts
 * from the end when negative, as softmax's does.
 */
export function softmaxGrad(y: Tensor, g: Tensor, axis = -1): Tensor {
  const rank = tensorArg(y, 'softmaxGrad', 'y').rank;
  // only a negative axis is resolved here: anything else outside [0, rank) reaches infer, which names both shapes
  return apply('softmaxGrad', [y, g], { axis: Number.isInteger(axis) && axis < 0 && axis >= -rank ? axis + rank : axis });
}
