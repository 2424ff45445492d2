/**
 * softmaxGradGrad(y, g, o) = [ȳ; ḡ] as [2, ...shape]: both cotangents of softmaxGrad(y, g) = y ⊙ (g − Σ g ⊙ y) for a
 * cotangent o, along one axis:
 *   ȳ = o ⊙ (g − Σ g ⊙ y) − g ⊙ Σ o ⊙ y,   ḡ = y ⊙ (o − Σ o ⊙ y)  (softmaxGrad(y, o): the map is symmetric in g).
 * The two sums come from one pass over each line and both rows of the result from one more: one kernel where the
 * rule took nine (mul, sum, sub, mul for each sum's term, a sub, and softmaxGrad for ḡ). The FTLE differentiates the
 * softmax tangent of every attention layer each step. Its own VJP differentiates the composite.
 */
import { tensorArg } from '../args.js';
import { apply } from '../dispatch.js';
import { AxisError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { OpAttrs } from './attrs.js';
import { mul, sub } from './binary.js';
import { ctx, meta, requireFloat, requireSameDtype, requireSameShape } from './infer.js';
import type { OpDef } from './op-def.js';
import { sum } from './reduce.js';
import { stack } from './structure.js';

function softmaxGradGradComposite([y, g, o]: readonly Tensor[], { axis }: OpAttrs['softmaxGradGrad']): Tensor {
  const dotWithY = (p: Tensor) => sum(mul(p, y!), axis, true);
  const yBar = sub(mul(o!, sub(g!, dotWithY(g!))), mul(g!, dotWithY(o!)));
  return stack([yBar, mul(y!, sub(o!, dotWithY(o!)))], 0);
}

export const softmaxGradGradDefs = {
  softmaxGradGrad: {
    arity: 3,
    infer: (inputs, { axis }) => {
      requireFloat('softmaxGradGrad', inputs);
      requireSameDtype('softmaxGradGrad', inputs);
      const shape = requireSameShape('softmaxGradGrad', inputs);
      if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) throw new AxisError(`axis must be in [0, ${shape.length}), got ${axis}`, ctx('softmaxGradGrad', inputs));
      return meta([2, ...shape], inputs[0]!.dtype);
    },
    vjp: 'composite',
    jvp: 'composite',
    composite: softmaxGradGradComposite,
  },
} satisfies { softmaxGradGrad: OpDef<'softmaxGradGrad'> };

/**
 * [ȳ; ḡ] ([2, ...y.shape]) of softmaxGrad(y, g, axis) for the cotangent o. `axis` counts from the end when negative,
 * as softmaxGrad's does.
 */
export function softmaxGradGrad(y: Tensor, g: Tensor, o: Tensor, axis = -1): Tensor {
  const rank = tensorArg(y, 'softmaxGradGrad', 'y').rank;
  // only a negative axis is resolved here: anything else outside [0, rank) reaches infer, which names it
  return apply('softmaxGradGrad', [y, g, o], { axis: Number.isInteger(axis) && axis < 0 && axis >= -rank ? axis + rank : axis });
}
