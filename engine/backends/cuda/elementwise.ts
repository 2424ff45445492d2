/** Elementwise ops: strided operands go to the kernels as they are (broadcasts have stride 0), after merging axes. */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { CudaContext } from './context.js';
import type { CudaArg, CudaBuffer } from './cuda-buffer.js';
import { mergeAxes } from './layout.js';

type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'tanh' | 'sigmoid' | 'relu' | 'abs' | 'square' | 'erf' | 'sign';
type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
type CudaKernel<K extends KernelOpName> = Kernel<K, CudaBuffer>;

const UNARY: readonly UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'sigmoid', 'relu', 'abs', 'square', 'erf', 'sign'];
const BINARY: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];

/** The launch shape and each operand's merged strides. */
function geometry(op: string, o: CudaArg, inputs: readonly CudaArg[]) {
  return mergeAxes(
    o.layout.shape,
    inputs.map((x) => x.layout.strides),
    op,
  );
}

export function elementwiseKernels(ctx: CudaContext) {
  const { addon } = ctx;
  const unary = (op: UnaryOp | 'gelu'): CudaKernel<UnaryOp | 'gelu'> =>
    ([x], o, attrs) => {
      const g = geometry(op, o, [x!]);
      const attr = op === 'gelu' && (attrs as { approximate?: string }).approximate === 'tanh' ? 1 : 0;
      addon.unary(op, ctx.dt(x!.dtype, op), o.buffer.id, g.shape, x!.buffer.id, x!.layout.offset, g.strides[0]!, attr);
    };
  const binary = (op: BinaryOp): CudaKernel<BinaryOp> =>
    ([a, b], o) => {
      const g = geometry(op, o, [a!, b!]);
      addon.binary(op, ctx.dt(a!.dtype, op), o.buffer.id, g.shape, a!.buffer.id, a!.layout.offset, g.strides[0]!, b!.buffer.id, b!.layout.offset, g.strides[1]!);
    };
  return {
    ...(Object.fromEntries(UNARY.map((op) => [op, unary(op)])) as { [K in UnaryOp]: CudaKernel<K> }),
    ...(Object.fromEntries(BINARY.map((op) => [op, binary(op)])) as { [K in BinaryOp]: CudaKernel<K> }),
    gelu: unary('gelu') as CudaKernel<'gelu'>,
    where: (([c, a, b], o) => {
      const g = geometry('where', o, [c!, a!, b!]);
      const [sc, sa, sb] = g.strides as [number[], number[], number[]];
      addon.where(ctx.dt(a!.dtype, 'where'), o.buffer.id, g.shape, c!.buffer.id, c!.layout.offset, sc, a!.buffer.id, a!.layout.offset, sa, b!.buffer.id, b!.layout.offset, sb);
    }) as CudaKernel<'where'>,
    cast: (([x], o, { dtype }) => {
      const g = geometry('cast', o, [x!]);
      addon.cast(ctx.dt(dtype, 'cast'), ctx.dt(x!.dtype, 'cast'), o.buffer.id, g.shape, x!.buffer.id, x!.layout.offset, g.strides[0]!);
    }) as CudaKernel<'cast'>,
    contiguous: (([x], o) => {
      const g = geometry('contiguous', o, [x!]);
      addon.copy(ctx.dt(x!.dtype, 'contiguous'), o.buffer.id, g.shape, x!.buffer.id, x!.layout.offset, g.strides[0]!);
    }) as CudaKernel<'contiguous'>,
  };
}
