/**
 * The thermodynamic term's smooth activation density (EITP-SPEC "Thermodynamic term"), fused:
 * - activationDensity(a, τ) = mean(a²/(a² + c)) with c = τ² + eps: one reduction over a instead of square, add,
 *   divide and mean (four full-size passes, and ten more in their backward);
 * - activationDensityGrad(a, τ, g) = g·2ac/(a² + c)²/n: its backward with respect to a, one elementwise pass.
 * τ is a one-element tensor (the model's τ = 0.1·RMS(a) stays on the device: reading it back would stall the step).
 * Its cotangent, which the spec never needs (τ is a stop-gradient there), comes from the composite so the op is
 * differentiable in both inputs like any other.
 */
import { optionsArg } from '../args.js';
import { apply } from '../dispatch.js';
import { ArgumentError, ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { OpAttrs } from './attrs.js';
import { add, div, mul } from './binary.js';
import { ctx, meta, requireFloat, requireSameDtype } from './infer.js';
import { type OpDef, wantsCotangent } from './op-def.js';
import { mean, sum } from './reduce.js';
import { square } from './unary.js';
import { reshape } from './views.js';

type DensityName = 'activationDensity' | 'activationDensityGrad';

function densityInfer(op: DensityName, inputs: readonly Tensor[], { eps }: OpAttrs[DensityName]): Tensor {
  requireFloat(op, inputs);
  requireSameDtype(op, inputs);
  const [a, tau] = inputs as [Tensor, Tensor];
  if (a.size === 0) throw new ShapeError('a must have at least one element (the density of nothing is undefined)', ctx(op, inputs));
  if (tau.size !== 1) throw new ShapeError(`tau must hold one element, got shape [${tau.shape.join(', ')}]`, ctx(op, inputs));
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new ArgumentError(`eps must be a finite number >= 0, got ${eps}`, ctx(op, inputs));
  return a;
}

/** c = τ² + eps as a scalar. */
const offset = (tau: Tensor, eps: number): Tensor => add(square(reshape(tau, [])), eps);

const densityComposite = ([a, tau]: readonly Tensor[], { eps }: OpAttrs['activationDensity']): Tensor => {
  const a2 = square(a!);
  return mean(div(a2, add(a2, offset(tau!, eps))));
};

/** ∂/∂a of a²/(a² + c) is 2ac/(a² + c)²; the mean divides by n. */
const densityGradComposite = ([a, tau, g]: readonly Tensor[], { eps }: OpAttrs['activationDensityGrad']): Tensor => {
  const c = offset(tau!, eps);
  const d = add(square(a!), c);
  return mul(div(mul(mul(a!, c), 2 / a!.size), square(d)), reshape(g!, []));
};

/** ∂/∂τ of mean(a²/(a² + c)) is −2τ·mean(a²/(a² + c)²), shaped like τ. */
function tauCotangent(a: Tensor, tau: Tensor, g: Tensor, eps: number): Tensor {
  const a2 = square(a);
  const per = div(a2, square(add(a2, offset(tau, eps))));
  return reshape(mul(mul(sum(per), mul(reshape(tau, []), -2 / a.size)), reshape(g, [])), tau.shape);
}

export const activationDensityDefs = {
  activationDensity: {
    arity: 2,
    infer: (inputs, attrs) => meta([], densityInfer('activationDensity', inputs, attrs).dtype),
    vjp: (g, c) => {
      const { inputs: [a, tau], attrs } = c;
      return [
        wantsCotangent(c, 0) ? apply('activationDensityGrad', [a!, tau!, g], attrs) : null,
        wantsCotangent(c, 1) ? tauCotangent(a!, tau!, g, attrs.eps) : null,
      ];
    },
    jvp: 'composite',
    composite: densityComposite,
  },
  activationDensityGrad: {
    arity: 3,
    infer: (inputs, attrs) => {
      const a = densityInfer('activationDensityGrad', inputs, attrs);
      if (inputs[2]!.size !== 1) throw new ShapeError('g must hold one element (the cotangent of the scalar density)', ctx('activationDensityGrad', inputs));
      return meta(a.shape, a.dtype);
    },
    vjp: 'composite',
    jvp: 'composite',
    composite: densityGradComposite,
  },
} satisfies { [K in DensityName]: OpDef<K> };

/**
 * mean(a²/(a² + τ² + eps)): the smooth fraction of a's entries that are "on" at scale τ (a one-element tensor),
 * in [0, 1]. Differentiable in a and τ.
 */
export function activationDensity(a: Tensor, tau: Tensor, opts: { eps?: number } = {}): Tensor {
  return apply('activationDensity', [a, tau], { eps: optionsArg(opts, 'activationDensity').eps ?? 0 });
}
