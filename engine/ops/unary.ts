/**
 * Elementwise unary ops. Each differentiable one states its derivative f'(x) once, as a tensor expression of the
 * input x and output y; the VJP is g·f'(x) and the JVP t·f'(x), so both modes and all higher orders follow.
 */
import { optionsArg } from '../args.js';
import { apply } from '../dispatch.js';
import type { Tensor } from '../tensor.js';
import type { OpAttrs } from './attrs.js';
import { add, gt, mul, sub, div } from './binary.js';
import { ctx, meta, requireArithmetic, requireFloat } from './infer.js';
import type { OpCtx, OpDef } from './op-def.js';
import { DTypeError } from '../errors.js';
import { activationGrad, geluGrad } from './train-fused.js';

type UnaryName = 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'tanh' | 'sigmoid' | 'relu' | 'gelu' | 'abs' | 'square' | 'erf' | 'sign';

interface UnarySpec<K extends UnaryName> {
  /** Accepts integer inputs too (neg, abs, square, sign). */
  anyDtype?: boolean;
  /** f'(x) given the input x, the output y and the attributes. */
  derivative?: (x: Tensor, y: Tensor, attrs: OpAttrs[K]) => Tensor;
  composite?: (x: Tensor, attrs: OpAttrs[K]) => Tensor;
}

function unary<K extends UnaryName>(name: K, spec: UnarySpec<K>): OpDef<K> {
  const d = spec.derivative;
  return {
    arity: 1,
    infer: (inputs) => {
      requireArithmetic(name, inputs);
      if (!spec.anyDtype) requireFloat(name, inputs);
      if (inputs[0]!.dtype === 'u8' && name === 'neg') throw new DTypeError('cannot negate an unsigned tensor', ctx(name, inputs));
      return meta(inputs[0]!.shape, inputs[0]!.dtype);
    },
    ...(d && {
      vjp: (g: Tensor, c: OpCtx<K>) => [mul(g, d(c.inputs[0]!, c.output, c.attrs))],
      jvp: ([t]: readonly (Tensor | null)[], c: OpCtx<K>) => mul(t!, d(c.inputs[0]!, c.output, c.attrs)),
    }),
    ...(spec.composite && { composite: ([x]: readonly Tensor[], attrs: OpAttrs[K]) => spec.composite!(x!, attrs) }),
  };
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

/** d/dx gelu(x), exact (erf) or for the tanh approximation, from primitives (geluGrad's composite reference). */
export function geluDerivative(x: Tensor, approximate: 'none' | 'tanh'): Tensor {
  if (approximate === 'tanh') {
    const th = tanh(mul(add(x, mul(mul(mul(x, x), x), GELU_C)), SQRT_2_OVER_PI));
    const inner = mul(add(mul(square(x), 3 * GELU_C), 1), SQRT_2_OVER_PI);
    return add(mul(add(th, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, square(th))), inner));
  }
  const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
  const pdf = mul(exp(mul(square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return add(cdf, mul(x, pdf));
}

/**
 * scale ⊙ d²/dx² gelu(x) from primitives: the composite reference of geluGrad's second-order form (which the
 * backward in x of geluGrad runs as one kernel). Exact φ(x)(2 − x²); tanh form s·(u′ + 3ckx² − x·t·u′²) with
 * u = c(x + kx³) = x(c + ckx²), t = tanh u, s = 1 − t², u′ = c(1 + 3kx²), c = √(2/π), k = 0.044715. The factor s is
 * applied with the scale by the fused tanh backward (activationGrad: g·(1 − t²)).
 */
export function scaledGeluSecondDerivative(x: Tensor, scale: Tensor, approximate: 'none' | 'tanh'): Tensor {
  const x2 = square(x);
  if (approximate === 'tanh') {
    const t = tanh(mul(x, add(mul(x2, SQRT_2_OVER_PI * GELU_C), SQRT_2_OVER_PI)));
    const du = add(mul(x2, 3 * GELU_C * SQRT_2_OVER_PI), SQRT_2_OVER_PI);
    const bracket = sub(add(du, mul(x2, 3 * GELU_C * SQRT_2_OVER_PI)), mul(mul(x, t), square(du)));
    return activationGrad(t, mul(scale, bracket), 'tanh');
  }
  const pdf = mul(exp(mul(x2, -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return mul(scale, mul(pdf, sub(2, x2)));
}

/**
 * scale ⊙ d³/dx³ gelu(x), from primitives: the backward in x of geluGrad's second-order form (a third derivative
 * of the model, rarely taken; it only has to be right and differentiable). Exact φ(x)·x·(x² − 4); tanh form, with
 * the names above, B = u′ + 3ckx² − x·t·u′² (so gelu″ = s·B) and C = 3ck:
 * s·(4Cx − t·u′·(2B + u′ + 4Cx²) − x·s·u′³).
 */
export function scaledGeluThirdDerivative(x: Tensor, scale: Tensor, approximate: 'none' | 'tanh'): Tensor {
  const x2 = square(x);
  if (approximate === 'tanh') {
    const c3 = 3 * GELU_C * SQRT_2_OVER_PI;
    const t = tanh(mul(x, add(mul(x2, SQRT_2_OVER_PI * GELU_C), SQRT_2_OVER_PI)));
    const du = add(mul(x2, c3), SQRT_2_OVER_PI);
    const b = sub(add(du, mul(x2, c3)), mul(mul(x, t), square(du)));
    const s = sub(1, square(t));
    const tanhPart = mul(mul(t, du), add(add(mul(b, 2), du), mul(x2, 4 * c3)));
    const inner = sub(sub(mul(x, 4 * c3), tanhPart), mul(mul(x, s), mul(square(du), du)));
    return activationGrad(t, mul(scale, inner), 'tanh');
  }
  const pdf = mul(exp(mul(x2, -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return mul(scale, mul(mul(pdf, x), sub(x2, 4)));
}

export const unaryDefs = {
  neg: { ...unary('neg', { anyDtype: true }), vjp: (g) => [neg(g)], jvp: ([t]) => neg(t!) },
  exp: unary('exp', { derivative: (_x, y) => y }),
  log: unary('log', { derivative: (x) => div(1, x) }),
  sqrt: unary('sqrt', { derivative: (_x, y) => div(0.5, y) }),
  rsqrt: unary('rsqrt', { derivative: (_x, y) => mul(mul(square(y), y), -0.5) }),
  // The VJPs of tanh, sigmoid and relu are one fused activationGrad kernel from the output; JVPs use f′.
  tanh: { ...unary('tanh', { derivative: (_x, y) => sub(1, square(y)) }), vjp: (g, { output }) => [activationGrad(output, g, 'tanh')] },
  sigmoid: { ...unary('sigmoid', { derivative: (_x, y) => mul(y, sub(1, y)) }), vjp: (g, { output }) => [activationGrad(output, g, 'sigmoid')] },
  relu: { ...unary('relu', { derivative: (x) => apply('cast', [gt(x, 0)], { dtype: x.dtype }) }), vjp: (g, { output }) => [activationGrad(output, g, 'relu')] },
  // gelu′ is some 14 primitive ops (tanh form); its backward and tangent are one fused geluGrad kernel instead
  gelu: {
    ...unary('gelu', {
      derivative: (x, _y, { approximate }) => geluDerivative(x, approximate),
      composite: (x, { approximate }) =>
        approximate === 'tanh'
          ? mul(mul(x, 0.5), add(tanh(mul(add(x, mul(mul(mul(x, x), x), GELU_C)), SQRT_2_OVER_PI)), 1))
          : mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1)),
    }),
    vjp: (g, { inputs: [x], attrs }) => [geluGrad(x!, g, attrs.approximate)],
    jvp: ([t], { inputs: [x], attrs }) => geluGrad(x!, t!, attrs.approximate),
  },
  abs: unary('abs', { anyDtype: true, derivative: (x) => sign(x) }),
  square: unary('square', { anyDtype: true, derivative: (x) => mul(x, 2) }),
  erf: unary('erf', { derivative: (x) => mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI)) }),
  sign: unary('sign', { anyDtype: true }),
} satisfies { [K in UnaryName]: OpDef<K> };

export const neg = (x: Tensor): Tensor => apply('neg', [x], {});
export const exp = (x: Tensor): Tensor => apply('exp', [x], {});
export const log = (x: Tensor): Tensor => apply('log', [x], {});
export const sqrt = (x: Tensor): Tensor => apply('sqrt', [x], {});
export const rsqrt = (x: Tensor): Tensor => apply('rsqrt', [x], {});
export const tanh = (x: Tensor): Tensor => apply('tanh', [x], {});
export const sigmoid = (x: Tensor): Tensor => apply('sigmoid', [x], {});
export const relu = (x: Tensor): Tensor => apply('relu', [x], {});
export const gelu = (x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor =>
  apply('gelu', [x], { approximate: optionsArg(opts, 'gelu').approximate ?? 'none' });
export const abs = (x: Tensor): Tensor => apply('abs', [x], {});
export const square = (x: Tensor): Tensor => apply('square', [x], {});
export const erf = (x: Tensor): Tensor => apply('erf', [x], {});
export const sign = (x: Tensor): Tensor => apply('sign', [x], {});
