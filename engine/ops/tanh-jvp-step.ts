/**
 * The FTLE's fused per-layer step for tanh layers (EITP-SPEC "Chaos": "J v = (1 − h'²) ⊙ (W v) with the norm and
 * log in the same pass"): from h = tanh(x Wᵀ + c) [B, out], a tangent v [B, in] and W [out, in],
 *   δ = (1 − h²) ⊙ (v Wᵀ),  g_b = ‖δ_b‖,  direction u_b = δ_b / g_b,  logNorm ℓ_b = ln g_b.
 * Benettin chains u through the layers and sums ℓ; power iteration takes ℓ at the last layer.
 *
 * Ops have one output, so tanhJvpStep returns y [B, out + 1] = [u | ℓ] and et.tanhJvpStep hands out the two
 * column blocks as views. Its backward is one op as well, tanhJvpStepGrad(h, v, w, gy) → [2, B, out] =
 * [dp, dh] with p = v Wᵀ: it recomputes p (one GEMM) rather than dividing δ by 1 − h², which is 0 where tanh
 * saturates in f32. Then dW = dpᵀ v and dv = dp W are two GEMMs.
 * A zero tangent row (g_b = 0) gives a NaN direction and ℓ_b = −∞, as the composite does.
 */
import { apply } from '../dispatch.js';
import { ShapeError } from '../errors.js';
import { opScope } from '../memory.js';
import type { Tensor } from '../tensor.js';
import { mul, sub, div, add } from './binary.js';
import { ctx, meta, requireFloat, requireSameDtype } from './infer.js';
import { matmul } from './matmul.js';
import { type OpDef, wantsCotangent } from './op-def.js';
import { norm, sum } from './reduce.js';
import { concat } from './structure.js';
import { log, square } from './unary.js';
import { reshape, slice, transpose } from './views.js';

type StepName = 'tanhJvpStep' | 'tanhJvpStepGrad';

/** h [B, out], v [B, in], w [out, in]; returns [B, out, in]. */
function checkLayer(op: StepName, inputs: readonly Tensor[]): [number, number, number] {
  requireFloat(op, inputs);
  requireSameDtype(op, inputs);
  const [h, v, w] = inputs as [Tensor, Tensor, Tensor];
  const ok = h.rank === 2 && v.rank === 2 && w.rank === 2 && h.shape[0] === v.shape[0] && w.shape[0] === h.shape[1] && w.shape[1] === v.shape[1];
  if (!ok) throw new ShapeError('needs h [B, out], v [B, in] and w [out, in]', ctx(op, inputs));
  return [h.shape[0]!, h.shape[1]!, v.shape[1]!];
}

/** p = v Wᵀ and δ = (1 − h²) ⊙ p from primitives. */
function tangentParts(h: Tensor, v: Tensor, w: Tensor): { p: Tensor; slope: Tensor; delta: Tensor } {
  const p = matmul(v, transpose(w));
  const slope = sub(1, square(h));
  return { p, slope, delta: mul(slope, p) };
}

const stepComposite = ([h, v, w]: readonly Tensor[]): Tensor => {
  const { delta } = tangentParts(h!, v!, w!);
  const g = norm(delta, 1, true);
  return concat([div(delta, g), log(g)], 1);
};

/**
 * y = [u | ℓ] with u = δ/g and ℓ = ln g per row: dδ = (ḡ_u − u (u·ḡ_u) + u ḡ_ℓ)/g (the unit vector's projection
 * plus d ln g/dδ = u/g); dp = (1 − h²) ⊙ dδ; dh = −2h ⊙ p ⊙ dδ.
 */
const stepGradComposite = ([h, v, w, gy]: readonly Tensor[]): Tensor => {
  const [b, out] = [h!.shape[0]!, h!.shape[1]!];
  const { p, slope, delta } = tangentParts(h!, v!, w!);
  const g = norm(delta, 1, true);
  const u = div(delta, g);
  const gu = slice(gy!, [0, 0], [b, out]);
  const gl = slice(gy!, [0, out], [b, out + 1]);
  const dDelta = div(add(sub(gu, mul(u, sum(mul(u, gu), 1, true))), mul(u, gl)), g);
  const dp = mul(slope, dDelta);
  const dh = mul(mul(mul(h!, -2), p), dDelta);
  return concat([reshape(dp, [1, b, out]), reshape(dh, [1, b, out])], 0);
};

export const tanhJvpStepDefs = {
  tanhJvpStep: {
    arity: 3,
    infer: (inputs) => {
      const [b, out] = checkLayer('tanhJvpStep', inputs);
      return meta([b, out + 1], inputs[0]!.dtype);
    },
    vjp: (gy, c) => {
      const [h, v, w] = c.inputs;
      const [b, out] = [h!.shape[0]!, h!.shape[1]!];
      const both = apply('tanhJvpStepGrad', [h!, v!, w!, gy], {});
      const dp = reshape(slice(both, [0, 0, 0], [1, b, out]), [b, out]);
      return [
        wantsCotangent(c, 0) ? reshape(slice(both, [1, 0, 0], [2, b, out]), [b, out]) : null,
        wantsCotangent(c, 1) ? matmul(dp, w!) : null,
        wantsCotangent(c, 2) ? matmul(transpose(dp), v!) : null,
      ];
    },
    jvp: 'composite',
    composite: stepComposite,
  },
  tanhJvpStepGrad: {
    arity: 4,
    infer: (inputs) => {
      const [b, out] = checkLayer('tanhJvpStepGrad', inputs);
      const gy = inputs[3]!;
      if (gy.rank !== 2 || gy.shape[0] !== b || gy.shape[1] !== out + 1) {
        throw new ShapeError(`gy must be [${b}, ${out + 1}] (the cotangent of tanhJvpStep's [direction | logNorm])`, ctx('tanhJvpStepGrad', inputs));
      }
      return meta([2, b, out], inputs[0]!.dtype);
    },
    vjp: 'composite',
    jvp: 'composite',
    composite: stepGradComposite,
  },
} satisfies { [K in StepName]: OpDef<K> };

export interface TanhJvpStep {
  /** δ/‖δ‖ per row, [B, out] (a strided view of the op's output). */
  readonly direction: Tensor;
  /** ln‖δ‖ per row, [B]. */
  readonly logNorm: Tensor;
}

/**
 * One fused FTLE step through a tanh layer h = tanh(x Wᵀ + c): δ = (1 − h²) ⊙ (v Wᵀ), returned as its direction
 * δ/‖δ‖ and ln‖δ‖ per row, both from one kernel. h [B, out], v [B, in], w [out, in]; differentiable in all three.
 */
export function tanhJvpStep(h: Tensor, v: Tensor, w: Tensor): TanhJvpStep {
  return opScope(() => {
    const y = apply('tanhJvpStep', [h, v, w], {});
    const [b, out] = [h.shape[0]!, h.shape[1]!];
    return { direction: slice(y, [0, 0], [b, out]), logNorm: reshape(slice(y, [0, out], [b, out + 1]), [b]) };
  });
}
