/** Elementwise kernels: unary maps, binary maps and comparisons, where, cast and contiguous (kernels/*.wgsl); f16 casts in kernels-f16.ts. */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { DType } from '../../dtype.js';
import type { GpuContext } from './context.js';
import { type GpuArg, WG, isFloatType, numelOf, storageBytes, wgslType, wrapMode } from './kernel-util.js';
import { runCastF16 } from './kernels-f16.js';
import { type FlatLayout, Params, isDenseLayout, jointLayouts } from './layout.js';
import { Runtime, type GpuBuffer } from './runtime.js';

type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'tanh' | 'sigmoid' | 'relu' | 'abs' | 'square' | 'erf' | 'sign';
type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/** OP codes of kernels/unary.wgsl and kernels/binary.wgsl. */
const UNARY_CODE: Record<UnaryOp, number> = { neg: 0, exp: 1, log: 2, sqrt: 3, rsqrt: 4, tanh: 5, sigmoid: 6, relu: 7, abs: 8, square: 9, erf: 10, sign: 11 };
const GELU_ERF = 12;
const GELU_TANH = 13;
const CAST = 14;
const BINARY_CODE: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, eq: 7, ne: 8, lt: 9, le: 10, gt: 11, ge: 12 };

type GpuKernel<K extends KernelOpName> = Kernel<K, GpuBuffer>;

const isScalar = (l: FlatLayout): boolean => l.strides.every((s) => s === 0);

function runUnary(g: GpuContext, code: number, x: GpuArg, o: GpuArg): void {
  const n = numelOf(o.layout.shape);
  if (n === 0) return;
  const [a] = jointLayouts(x.layout.shape, [x.layout]);
  const p = g.pipelines.get({
    file: 'unary.wgsl',
    defines: { TI: wgslType(x.dtype), TO: wgslType(o.dtype) },
    constants: { OP: code, IS_FLOAT: isFloatType(x.dtype), WRAP: wrapMode(o.dtype), WG, DENSE_A: isDenseLayout(a!) },
  });
  g.runtime.dispatch(p, [x.buffer, o.buffer], new Params().u32(n, 0, 0, 0).layout(a!).done(), Runtime.grid1d(n, WG));
}

function runBinary(g: GpuContext, code: number, x: GpuArg, y: GpuArg, o: GpuArg): void {
  const n = numelOf(o.layout.shape);
  if (n === 0) return;
  const [a, b] = jointLayouts(o.layout.shape, [x.layout, y.layout]);
  const p = g.pipelines.get({
    file: 'binary.wgsl',
    defines: { T: wgslType(x.dtype), TO: wgslType(o.dtype) },
    constants: { OP: code, IS_FLOAT: isFloatType(x.dtype), WRAP: wrapMode(o.dtype), WG, DENSE_A: isDenseLayout(a!), DENSE_B: isDenseLayout(b!), SCALAR_A: isScalar(a!), SCALAR_B: isScalar(b!) },
  });
  g.runtime.dispatch(p, [x.buffer, y.buffer, o.buffer], new Params().u32(n, 0, 0, 0).layout(a!).layout(b!).done(), Runtime.grid1d(n, WG));
}

/** Copies src (any layout) into dst's buffer at the positions `dst` describes (same shape as src). */
export function stridedCopy(g: GpuContext, src: GpuArg, dstBuffer: GpuBuffer, dst: FlatLayout, dtype: DType): void {
  const n = numelOf(src.layout.shape);
  if (n === 0) return;
  const [s, d] = jointLayouts(src.layout.shape, [src.layout, dst]);
  // f16 moves as f16 elements (two share a word); every other dtype is one word per element
  const p = g.pipelines.get(dtype === 'f16' ? { file: 'copy-f16.wgsl', defines: { T: 'f16' }, constants: { WG } } : { file: 'copy.wgsl', defines: { T: wgslType(dtype) }, constants: { WG } });
  g.runtime.dispatch(p, [src.buffer, dstBuffer], new Params().u32(n, 0, 0, 0).layout(s!).layout(d!).done(), Runtime.grid1d(n, WG));
}

/** A dense operand starting at element 0: itself when already so, else a gathered temporary (freed by the caller). */
export function denseArg(g: GpuContext, x: GpuArg): { arg: GpuArg; temp: GpuBuffer | null } {
  const { shape, strides } = x.layout;
  let expected = 1;
  let dense = true;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) dense = false;
    expected *= shape[i]!;
  }
  // kernels that take dense operands index from element 0, so an offset view is gathered too
  if (dense && x.layout.offset === 0) return { arg: x, temp: null };
  const n = numelOf(shape);
  const temp = g.runtime.allocate(storageBytes(x.dtype, n));
  stridedCopy(g, x, temp, { shape, strides: denseStrides(shape), offset: 0 }, x.dtype);
  return { arg: { buffer: temp, dtype: x.dtype, layout: { shape, strides: denseStrides(shape), offset: 0 } }, temp };
}

/** Runs fn on dense versions of the args, then frees the temporaries (after fn has recorded its dispatches). */
export function withDense(g: GpuContext, args: readonly GpuArg[], fn: (dense: GpuArg[]) => void): void {
  const ds = args.map((a) => denseArg(g, a));
  try {
    fn(ds.map((d) => d.arg));
  } finally {
    for (const d of ds) if (d.temp) g.runtime.free(d.temp);
  }
}

function denseStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function elementwiseKernels(g: GpuContext) {
  const unary = Object.fromEntries(
    (Object.keys(UNARY_CODE) as UnaryOp[]).map((op) => [op, (([x], o) => runUnary(g, UNARY_CODE[op], x!, o)) as GpuKernel<UnaryOp>]),
  ) as { [K in UnaryOp]: GpuKernel<K> };
  const binary = Object.fromEntries(
    (Object.keys(BINARY_CODE) as BinaryOp[]).map((op) => [op, (([x, y], o) => runBinary(g, BINARY_CODE[op], x!, y!, o)) as GpuKernel<BinaryOp>]),
  ) as { [K in BinaryOp]: GpuKernel<K> };
  return {
    ...unary,
    ...binary,
    gelu: (([x], o, { approximate }) => runUnary(g, approximate === 'tanh' ? GELU_TANH : GELU_ERF, x!, o)) as GpuKernel<'gelu'>,
    cast: (([x], o) => (x!.dtype === 'f16' || o.dtype === 'f16' ? runCastF16(g, x!, o) : runUnary(g, CAST, x!, o))) as GpuKernel<'cast'>,
    contiguous: (([x], o) => {
      const shape = o.layout.shape;
      const n = numelOf(shape);
      // a buffer copy moves whole words: f16 data qualifies when it starts on a word (an even element offset)
      const half = o.dtype === 'f16';
      if (n > 0 && isDenseLayout(x!.layout) && !(half && x!.layout.offset % 2 === 1)) {
        g.runtime.copy(x!.buffer, half ? x!.layout.offset * 2 : x!.layout.offset * 4, o.buffer, storageBytes(o.dtype, n));
        return;
      }
      stridedCopy(g, x!, o.buffer, { shape, strides: denseStrides(shape), offset: 0 }, o.dtype);
    }) as GpuKernel<'contiguous'>,
    where: (([c, x, y], o) => {
      const n = numelOf(o.layout.shape);
      if (n === 0) return;
      const [lc, la, lb] = jointLayouts(o.layout.shape, [c!.layout, x!.layout, y!.layout]);
      const p = g.pipelines.get({ file: 'where.wgsl', defines: { T: wgslType(o.dtype) }, constants: { WG } });
      const params = new Params(96).u32(n, 0, 0, 0).layout(lc!).layout(la!).layout(lb!).done();
      g.runtime.dispatch(p, [c!.buffer, x!.buffer, y!.buffer, o.buffer], params, Runtime.grid1d(n, WG));
    }) as GpuKernel<'where'>,
  };
}
