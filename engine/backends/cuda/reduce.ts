/** Reductions: the input's axes are split into kept axes (one output each) and reduced axes, each merged. */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { CudaContext } from './context.js';
import type { CudaArg, CudaBuffer } from './cuda-buffer.js';
import { mergeAxes } from './layout.js';

type ReduceOp = 'sum' | 'mean' | 'max' | 'logsumexp' | 'var' | 'norm';
type CudaKernel<K extends KernelOpName> = Kernel<K, CudaBuffer>;

/** Kept and reduced axes of x, each as a merged (shape, strides) pair. */
export function splitAxes(x: CudaArg, axes: readonly number[], op: string) {
  const { shape, strides } = x.layout;
  const keptAxes = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const kept = mergeAxes(
    keptAxes.map((i) => shape[i]!),
    [keptAxes.map((i) => strides[i]!)],
    op,
  );
  const red = mergeAxes(
    axes.map((i) => shape[i]!),
    [axes.map((i) => strides[i]!)],
    op,
  );
  return { kept: kept.shape, keptStrides: kept.strides[0]!, red: red.shape, redStrides: red.strides[0]! };
}

export function reduceKernels(ctx: CudaContext) {
  const { addon } = ctx;
  const reduce = (op: ReduceOp): CudaKernel<ReduceOp> =>
    ([x], o, attrs) => {
      const s = splitAxes(x!, attrs.axes, op);
      const correction = op === 'var' ? (attrs as { correction: number }).correction : 0;
      addon.reduce(op, ctx.dt(x!.dtype, op), o.buffer.id, x!.buffer.id, x!.layout.offset, s.kept, s.keptStrides, s.red, s.redStrides, correction);
    };
  return {
    sum: reduce('sum') as CudaKernel<'sum'>,
    mean: reduce('mean') as CudaKernel<'mean'>,
    max: reduce('max') as CudaKernel<'max'>,
    logsumexp: reduce('logsumexp') as CudaKernel<'logsumexp'>,
    var: reduce('var') as CudaKernel<'var'>,
    norm: reduce('norm') as CudaKernel<'norm'>,
    argmax: (([x], o, { axis }) => {
      const s = splitAxes(x!, [axis], 'argmax');
      addon.argmax(ctx.dt(x!.dtype, 'argmax'), o.buffer.id, x!.buffer.id, x!.layout.offset, s.kept, s.keptStrides, s.red, s.redStrides);
    }) as CudaKernel<'argmax'>,
  };
}
