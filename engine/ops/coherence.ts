/**
 * The EIT-P coherence loss as one fused op (EITP-SPEC "Coherence loss"):
 * - coherence(z) = ‖R − I‖_F²/(d(d − 1)), R = ẐᵀẐ/N the correlation matrix of z's columns: column statistics, the
 *   Gram, and the −I, square and sum in its epilogue; R itself is never a tensor.
 * - coherenceGrad(z, g) = its backward in z: Ẑ·S through the standardisation, S = 4g(R − I)/(N d(d − 1)) built from
 *   the recomputed Gram (recomputing it costs half the backward's product; keeping R would cost a d×d tensor, and
 *   the −I, square, sum, their backward and an identity matrix per step are the kernels this op removes).
 * et.correlation (R as a tensor) stays for the reported norms of R − I.
 */
import { optionsArg } from '../args.js';
import type { BackendName } from '../backend.js';
import { eye } from '../creation.js';
import { apply } from '../dispatch.js';
import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { mul, sub } from './binary.js';
import { coherenceInfer, coherenceOfCorrelation, correlationGradComposite, gram, standardized } from './eitp-fused.js';
import { ctx, meta } from './infer.js';
import type { OpDef } from './op-def.js';
import { reshape } from './views.js';

type CoherenceName = 'coherence' | 'coherenceGrad';

/** R from z, by the composite's primitive ops. */
const correlationOf = (z: Tensor, eps: number) => gram(standardized(z, eps).zhat);

/** ∂L/∂R = 2g(R − I)/(d(d − 1)), then correlation's backward. */
const coherenceGradComposite = ([z, g]: readonly Tensor[], { eps }: { eps: number }): Tensor => {
  const d = z!.shape[1]!;
  const residual = sub(correlationOf(z!, eps), eye(d, d, { dtype: z!.dtype, backend: z!.backend as BackendName }));
  const gR = mul(residual, mul(reshape(g!, []), 2 / (d * (d - 1))));
  return correlationGradComposite([z!, gR], { eps });
};

export const coherenceDefs = {
  coherence: {
    arity: 1,
    infer: (inputs) => meta([], coherenceInfer('coherence', inputs).dtype),
    vjp: (g, { inputs: [z], attrs }) => [apply('coherenceGrad', [z!, g], attrs)],
    jvp: 'composite',
    composite: ([z], { eps }) => coherenceOfCorrelation(correlationOf(z!, eps)),
  },
  coherenceGrad: {
    arity: 2,
    infer: (inputs) => {
      const z = coherenceInfer('coherenceGrad', inputs);
      if (inputs[1]!.size !== 1) throw new ShapeError('g must hold one element (the cotangent of the scalar loss)', ctx('coherenceGrad', inputs));
      return meta(z.shape, z.dtype);
    },
    vjp: 'composite',
    jvp: 'composite',
    composite: coherenceGradComposite,
  },
} satisfies { [K in CoherenceName]: OpDef<K> };

/** ‖R − I‖_F²/(d(d − 1)) for the column correlation matrix R of z [N, d] (population variance + eps); differentiable in z. */
export function coherence(z: Tensor, opts: { eps?: number } = {}): Tensor {
  return apply('coherence', [z], { eps: optionsArg(opts, 'coherence').eps ?? 1e-5 });
}
