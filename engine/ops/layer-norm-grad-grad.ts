/**
 * layerNormGradGrad(x, u, o) = [J o; ∂⟨o, J u⟩/∂x] as [2, rows, d], J = r·(I − 11ᵀ/d − x̂x̂ᵀ/d) the Jacobian of
 * x ↦ x̂ = r·(x − μ) per row (r = (σ² + eps)^(−1/2), symmetric). layerNormGrad's dx rows are J(g ⊙ w); their VJP
 * for a cotangent o needs J o (for g) and the derivative of ⟨o, J u⟩ in x (u = g ⊙ w):
 *   ∂⟨o, J u⟩/∂x = −(r/d)·(⟨o, J u⟩·x̂ + ⟨u, x̂⟩·J o + ⟨o, x̂⟩·J u)
 * (derived in layer-norm-grad-vjp.ts). Every factor is a row statistic of x, u and o, so both rows of the result come
 * from one pass for the statistics and one for the writes: one kernel where the primitives took sixteen, and the FTLE
 * differentiates a tangent through every LayerNorm of a transformer each step. Its own VJP differentiates the
 * composite (a third derivative of the model).
 */
import { apply } from '../dispatch.js';
import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { OpAttrs } from './attrs.js';
import { add, mul, sub } from './binary.js';
import { ctx, meta, requireFloat, requireSameDtype } from './infer.js';
import type { OpDef } from './op-def.js';
import { mean, sum } from './reduce.js';
import { stack } from './structure.js';
import { rsqrt, square } from './unary.js';
import { reshape } from './views.js';

function layerNormGradGradComposite([x, u, o]: readonly Tensor[], { eps }: OpAttrs['layerNormGradGrad']): Tensor {
  const d = x!.shape[x!.rank - 1]!;
  const rows = x!.size / d;
  const [x2, u2, o2] = [x!, u!, o!].map((t) => reshape(t, [rows, d])) as [Tensor, Tensor, Tensor];
  const centered = sub(x2, mean(x2, -1, true));
  const r = rsqrt(add(mean(square(centered), -1, true), eps));
  const xhat = mul(centered, r);
  const jacobianTimes = (p: Tensor) => mul(r, sub(sub(p, mean(p, -1, true)), mul(xhat, mean(mul(p, xhat), -1, true))));
  const rowDot = (p: Tensor, q: Tensor) => sum(mul(p, q), -1, true);
  const jo = jacobianTimes(o2);
  const ju = jacobianTimes(u2);
  const bracket = add(add(mul(rowDot(o2, ju), xhat), mul(rowDot(u2, xhat), jo)), mul(rowDot(o2, xhat), ju));
  return stack([jo, mul(bracket, mul(r, -1 / d))], 0);
}

export const layerNormGradGradDefs = {
  layerNormGradGrad: {
    arity: 3,
    infer: (inputs) => {
      const [x, u, o] = inputs as [Tensor, Tensor, Tensor];
      requireFloat('layerNormGradGrad', inputs);
      requireSameDtype('layerNormGradGrad', inputs);
      const d = x.shape[x.rank - 1];
      const same = (t: Tensor) => t.rank === x.rank && t.shape.every((s, i) => s === x.shape[i]);
      if (x.rank < 1 || !(d! > 0) || !same(u) || !same(o)) throw new ShapeError('needs x [..., d] with d > 0, and u and o shaped like x', ctx('layerNormGradGrad', inputs));
      return meta([2, x.size / d!, d!], x.dtype);
    },
    vjp: 'composite',
    jvp: 'composite',
    composite: layerNormGradGradComposite,
  },
} satisfies { layerNormGradGrad: OpDef<'layerNormGradGrad'> };

/** [J o; ∂⟨o, J u⟩/∂x] ([2, rows, d]) for LayerNorm rows of x [..., d] with its eps; u and o shaped like x. */
export function layerNormGradGrad(x: Tensor, u: Tensor, o: Tensor, eps: number): Tensor {
  return apply('layerNormGradGrad', [x, u, o], { eps });
}
