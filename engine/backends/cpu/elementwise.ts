/** Elementwise kernels: unary maps, binary maps, comparisons, where, cast and contiguous copies. */
import type { Kernel } from '../../backend.js';
import type { KernelOpName } from '../../backend.js';
import { decodeF16, f16Bits } from '../../half.js';
import { erf } from '../scalar-math.js';
import type { CpuBuffer } from './cpu-buffer.js';
import { dense, out } from './strided.js';

type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'tanh' | 'sigmoid' | 'relu' | 'abs' | 'square' | 'erf' | 'sign';
type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  tanh: Math.tanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  relu: (x) => (x > 0 || Number.isNaN(x) ? x : 0),
  abs: Math.abs,
  square: (x) => x * x,
  erf,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
};

const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
};

type CpuKernel<K extends KernelOpName> = Kernel<K, CpuBuffer>;

function unaryKernel(f: (x: number) => number): CpuKernel<UnaryOp> {
  return ([x], o) => {
    const a = dense(x!);
    const r = out(o);
    for (let i = 0; i < r.length; i++) r[i] = f(a[i]!);
  };
}

function binaryKernel(f: (a: number, b: number) => number): CpuKernel<BinaryOp> {
  return ([x, y], o) => {
    const a = dense(x!);
    const b = dense(y!);
    const r = out(o);
    for (let i = 0; i < r.length; i++) r[i] = f(a[i]!, b[i]!);
  };
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export const elementwiseKernels = {
  ...(Object.fromEntries(Object.entries(UNARY).map(([k, f]) => [k, unaryKernel(f)])) as { [K in UnaryOp]: CpuKernel<K> }),
  ...(Object.fromEntries(Object.entries(BINARY).map(([k, f]) => [k, binaryKernel(f)])) as { [K in BinaryOp]: CpuKernel<K> }),
  gelu: (([x], o, { approximate }) => {
    const a = dense(x!);
    const r = out(o);
    if (approximate === 'tanh') {
      for (let i = 0; i < r.length; i++) {
        const v = a[i]!;
        r[i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)));
      }
    } else {
      for (let i = 0; i < r.length; i++) r[i] = 0.5 * a[i]! * (1 + erf(a[i]! * Math.SQRT1_2));
    }
  }) as CpuKernel<'gelu'>,
  where: (([c, x, y], o) => {
    const cond = dense(c!);
    const a = dense(x!);
    const b = dense(y!);
    const r = out(o);
    for (let i = 0; i < r.length; i++) r[i] = cond[i] ? a[i]! : b[i]!;
  }) as CpuKernel<'where'>,
  contiguous: (([x], o) => {
    out(o).set(dense(x!));
  }) as CpuKernel<'contiguous'>,
  cast: (([x], o, { dtype }) => {
    // f16 storage holds bit patterns: decode the input, encode the output (rounding once, from the source's value)
    const a = x!.dtype === 'f16' ? decodeF16(dense(x!) as Uint16Array) : dense(x!);
    const r = out(o);
    // float -> int truncates toward zero, as a C cast and torch do
    if (dtype === 'f32' || dtype === 'f64') r.set(a);
    else if (dtype === 'f16') for (let i = 0; i < r.length; i++) r[i] = f16Bits(a[i]!);
    else for (let i = 0; i < r.length; i++) r[i] = Math.trunc(a[i]!);
  }) as CpuKernel<'cast'>,
};
