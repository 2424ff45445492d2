/**
 * matmul and the fused neural-network ops (softmax and its backward softmaxGrad among them). matmul reads strided
 * operands directly; the row kernels need dense input.
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import { numel } from '../../shape.js';
import type { CudaContext } from './context.js';
import type { CudaBuffer } from './cuda-buffer.js';
import { mergeAxes } from './layout.js';
import { withDense } from './with-dense.js';

type CudaKernel<K extends KernelOpName> = Kernel<K, CudaBuffer>;

export function nnKernels(ctx: CudaContext) {
  const { addon } = ctx;
  const softmaxLike = (log: boolean): CudaKernel<'softmax' | 'logSoftmax'> =>
    ([x], o, { axis }) => {
      const op = log ? 'logSoftmax' : 'softmax';
      const shape = x!.layout.shape;
      const src = ctx.dense(x!, op);
      try {
        addon.softmax(o.buffer.id, src.id, src.offset, numel(shape.slice(0, axis)), shape[axis]!, numel(shape.slice(axis + 1)), log);
      } finally {
        src.release();
      }
    };
  return {
    matmul: (([a, b], o) => {
      const r = a!.layout.shape.length;
      const [m, k] = a!.layout.shape.slice(r - 2) as [number, number];
      const n = b!.layout.shape[r - 1]!;
      // Batch axes are shared by A, B and C (the op broadcast them already); merge them over all three.
      const batch = mergeAxes(
        a!.layout.shape.slice(0, r - 2),
        [a!.layout.strides.slice(0, r - 2), b!.layout.strides.slice(0, r - 2), o.layout.strides.slice(0, r - 2)],
        'matmul',
      );
      const [sa, sb] = [a!.layout.strides, b!.layout.strides];
      addon.matmul(
        o.buffer.id, batch.shape, m, n, k,
        a!.buffer.id, a!.layout.offset, sa[r - 2]!, sa[r - 1]!, batch.strides[0]!,
        b!.buffer.id, b!.layout.offset, sb[r - 2]!, sb[r - 1]!, batch.strides[1]!,
      );
    }) as CudaKernel<'matmul'>,
    softmax: softmaxLike(false) as CudaKernel<'softmax'>,
    logSoftmax: softmaxLike(true) as CudaKernel<'logSoftmax'>,
    // Strided y or g are copied to dense blocks first, as softmax's input is.
    softmaxGrad: (([y, g], o, { axis }) => {
      const shape = y!.layout.shape;
      withDense(ctx, 'softmaxGrad', [y!, g!], ([ys, gs]) =>
        addon.softmaxGrad(o.buffer.id, ys!.id, ys!.offset, gs!.id, gs!.offset, numel(shape.slice(0, axis)), shape[axis]!, numel(shape.slice(axis + 1))),
      );
    }) as CudaKernel<'softmaxGrad'>,
    softmaxGradGrad: (([y, g, c], o, { axis }) => {
      const shape = y!.layout.shape;
      withDense(ctx, 'softmaxGradGrad', [y!, g!, c!], ([ys, gs, cs]) =>
        addon.softmaxGradGrad(o.buffer.id, ys!.id, ys!.offset, gs!.id, gs!.offset, cs!.id, cs!.offset, numel(shape.slice(0, axis)), shape[axis]!, numel(shape.slice(axis + 1))),
      );
    }) as CudaKernel<'softmaxGradGrad'>,
    crossEntropy: (([logits, targets], o, { reduction }) => {
      const shape = logits!.layout.shape;
      const classes = shape[shape.length - 1]!;
      const rows = numel(targets!.layout.shape);
      const x = ctx.dense(logits!, 'crossEntropy');
      const t = ctx.indices(targets!, 'crossEntropy');
      // 'none' writes the per-row losses straight into the output; 'sum' / 'mean' reduce them afterwards.
      const loss = reduction === 'none' ? null : ctx.temp(rows, 'f32');
      try {
        addon.crossEntropy(loss ? loss.id : o.buffer.id, x.id, x.offset, t.id, t.offset, rows, classes);
        if (loss) addon.reduce(reduction, 'f32', o.buffer.id, loss.id, 0, [], [], [rows], [1], 0);
      } finally {
        x.release();
        t.release();
        loss?.release();
      }
    }) as CudaKernel<'crossEntropy'>,
    layerNorm: (([x, w, b], o, { eps }) => {
      const shape = x!.layout.shape;
      const d = shape[shape.length - 1]!;
      const rows = d === 0 ? 0 : numel(shape) / d;
      const [xs, ws, bs] = [ctx.dense(x!, 'layerNorm'), ctx.dense(w!, 'layerNorm'), ctx.dense(b!, 'layerNorm')];
      try {
        addon.layerNorm(o.buffer.id, xs.id, xs.offset, ws.id, ws.offset, bs.id, bs.offset, rows, d, eps);
      } finally {
        xs.release();
        ws.release();
        bs.release();
      }
    }) as CudaKernel<'layerNorm'>,
  };
}
