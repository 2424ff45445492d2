/**
 * Elementwise binary ops and where(). The op-level inputs already have one shape: the public functions
 * broadcast with recorded expand views, whose VJP sums gradients back to each operand's shape.
 */
import { tensorArg } from '../args.js';
import { zerosLike } from '../creation.js';
import { apply } from '../dispatch.js';
import { DTypeError } from '../errors.js';
import { opScope } from '../memory.js';
import { shapesEqual } from '../shape.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { ctx, meta, requireArithmetic, requireFloat, requireSameDtype, requireSameShape } from './infer.js';
import type { OpName } from './attrs.js';
import { type OpCtx, type OpDef, wantsCotangent } from './op-def.js';
import { broadcastAll, operands } from './operand.js';
import { log, neg, square } from './unary.js';
import { cast } from './views.js';

type Arith = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';
type Compare = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

function arithInfer(name: string, float: boolean) {
  return (inputs: readonly Tensor[]) => {
    requireSameShape(name, inputs);
    requireArithmetic(name, inputs);
    const d = requireSameDtype(name, inputs);
    if (float) requireFloat(name, inputs);
    return meta(inputs[0]!.shape, d);
  };
}

const orZeros = (t: Tensor | null, like: Tensor): Tensor => t ?? zerosLike(like);

/**
 * A cotangent only for an input whose gradient is wanted: a constant operand (x·0.5, x/n), or one that leads to no
 * requested gradient (OpCtx.wanted), costs no backward kernels.
 */
const needs = (c: OpCtx<OpName>, k: number, cotangent: () => Tensor): Tensor | null => (wantsCotangent(c, k) ? cotangent() : null);

/** Sum of the non-null terms (null = zero). */
function sumTangents(terms: (Tensor | null)[], like: Tensor): Tensor {
  const present = terms.filter((t): t is Tensor => t !== null);
  if (present.length === 0) return zerosLike(like);
  return present.reduce((a, b) => add(a, b));
}

/** d max(a,b)/da: 1 where a > b, ½ where a = b (PyTorch splits ties evenly), 0 elsewhere. */
function maxWeights(a: Tensor, b: Tensor, forMax: boolean): [Tensor, Tensor] {
  const dtype = a.dtype;
  const half = mul(cast(eq(a, b), dtype), 0.5);
  const wa = add(cast(forMax ? gt(a, b) : lt(a, b), dtype), half);
  const wb = add(cast(forMax ? lt(a, b) : gt(a, b), dtype), half);
  return [wa, wb];
}

function extremumDef<K extends 'maximum' | 'minimum'>(name: K): OpDef<K> {
  const forMax = name === 'maximum';
  return {
    arity: 2,
    infer: arithInfer(name, false),
    vjp: (g, c) => {
      const [wa, wb] = maxWeights(c.inputs[0]!, c.inputs[1]!, forMax);
      return [needs(c, 0, () => mul(g, wa)), needs(c, 1, () => mul(g, wb))];
    },
    jvp: ([ta, tb], { inputs: [a, b], output }) => {
      const [wa, wb] = maxWeights(a!, b!, forMax);
      return sumTangents([ta ? mul(ta, wa) : null, tb ? mul(tb, wb) : null], output);
    },
  };
}

function compareDef<K extends Compare>(name: K): OpDef<K> {
  return {
    arity: 2,
    infer: (inputs) => {
      requireSameShape(name, inputs);
      requireArithmetic(name, inputs);
      requireSameDtype(name, inputs);
      return meta(inputs[0]!.shape, 'u8');
    },
  };
}

export const binaryDefs = {
  add: {
    arity: 2,
    infer: arithInfer('add', false),
    vjp: (g) => [g, g],
    jvp: ([ta, tb], { output }) => sumTangents([ta ?? null, tb ?? null], output),
  },
  sub: {
    arity: 2,
    infer: arithInfer('sub', false),
    vjp: (g, c) => [g, needs(c, 1, () => neg(g))],
    jvp: ([ta, tb], { output }) => sumTangents([ta ?? null, tb ? neg(tb) : null], output),
  },
  mul: {
    arity: 2,
    infer: arithInfer('mul', false),
    vjp: (g, c) => [needs(c, 0, () => mul(g, c.inputs[1]!)), needs(c, 1, () => mul(g, c.inputs[0]!))],
    jvp: ([ta, tb], { inputs: [a, b], output }) => sumTangents([ta ? mul(ta, b!) : null, tb ? mul(a!, tb) : null], output),
  },
  div: {
    arity: 2,
    infer: arithInfer('div', true),
    // ∂/∂b of a/b is −(g/b)·(a/b): the output stands in for a/b, so g/b serves both cotangents
    vjp: (g, c) => {
      const gOverB = div(g, c.inputs[1]!);
      return [wantsCotangent(c, 0) ? gOverB : null, needs(c, 1, () => neg(mul(gOverB, c.output)))];
    },
    jvp: ([ta, tb], { inputs: [a, b], output }) =>
      sumTangents([ta ? div(ta, b!) : null, tb ? neg(div(mul(tb, a!), square(b!))) : null], output),
  },
  pow: {
    arity: 2,
    infer: arithInfer('pow', true),
    vjp: (g, c) => {
      const [a, b] = c.inputs as [Tensor, Tensor];
      return [needs(c, 0, () => mul(g, powBaseDerivative(a, b))), needs(c, 1, () => mul(g, powExponentDerivative(a, b, c.output)))];
    },
    jvp: ([ta, tb], { inputs: [a, b], output }) =>
      sumTangents([ta ? mul(ta, powBaseDerivative(a!, b!)) : null, tb ? mul(tb, powExponentDerivative(a!, b!, output)) : null], output),
  },
  maximum: extremumDef('maximum'),
  minimum: extremumDef('minimum'),
  eq: compareDef('eq'),
  ne: compareDef('ne'),
  lt: compareDef('lt'),
  le: compareDef('le'),
  gt: compareDef('gt'),
  ge: compareDef('ge'),
  where: {
    arity: 3,
    infer: (inputs) => {
      requireSameShape('where', inputs);
      requireArithmetic('where', inputs);
      if (inputs[0]!.dtype !== 'u8') throw new DTypeError('the condition must be a u8 (boolean) tensor, e.g. from a comparison', ctx('where', inputs));
      if (inputs[1]!.dtype !== inputs[2]!.dtype) throw new DTypeError('both branches must have the same dtype', ctx('where', inputs));
      return meta(inputs[0]!.shape, inputs[1]!.dtype);
    },
    vjp: (g, c) => {
      const z = zerosLike(g);
      const cond = c.inputs[0]!;
      return [null, needs(c, 1, () => where(cond, g, z)), needs(c, 2, () => where(cond, z, g))];
    },
    jvp: ([, ta, tb], { inputs: [c, a, b] }) => where(c!, orZeros(ta!, a!), orZeros(tb!, b!)),
  },
} satisfies { [K in Arith | Compare | 'where']: OpDef<K> };

/** b·a^(b−1), zero where b = 0 (as PyTorch, so 0^0 has a zero gradient instead of NaN). */
function powBaseDerivative(a: Tensor, b: Tensor): Tensor {
  return where(eq(b, 0), zerosLike(a), mul(b, pow(a, sub(b, 1))));
}

/** a^b·ln a, zero where a = 0 (the limit PyTorch uses). */
function powExponentDerivative(a: Tensor, b: Tensor, y: Tensor): Tensor {
  return where(eq(a, 0), zerosLike(a), mul(y, log(a)));
}

function binary<K extends Arith | Compare>(name: K) {
  return (a: TensorLike, b: TensorLike): Tensor => {
    // operands of one shape need no scalar and no view: no scope to open
    if (a instanceof Tensor && b instanceof Tensor && shapesEqual(a.shape, b.shape)) return apply(name, [a, b], {});
    return opScope(() => apply(name, broadcastAll(name, operands(name, [a, b])), {}));
  };
}

export const add = binary('add');
export const sub = binary('sub');
export const mul = binary('mul');
export const div = binary('div');
export const pow = binary('pow');
export const maximum = binary('maximum');
export const minimum = binary('minimum');
export const eq = binary('eq');
export const ne = binary('ne');
export const lt = binary('lt');
export const le = binary('le');
export const gt = binary('gt');
export const ge = binary('ge');

/** Elementwise choice: cond ? a : b, with broadcasting. Number branches take the other branch's dtype. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  tensorArg(cond, 'where', 'cond');
  return opScope(() => {
    const [x, y] = operands('where', [a, b]);
    return apply('where', broadcastAll('where', [cond, x!, y!]), {});
  });
}
