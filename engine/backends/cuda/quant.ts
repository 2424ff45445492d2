/**
 * matmulInt8 on the cuda backend (cuda/matmul-int8.cuh): int8 weights widened on the fly for f32 activations, or
 * per-row quantised activations and an exact __dp4a integer GEMM for 'int8'.
 */
import type { Kernel } from '../../backend.js';
import { BackendError } from '../../errors.js';
import { numel } from '../../shape.js';
import type { CudaContext } from './context.js';
import type { CudaBuffer } from './cuda-buffer.js';

/** Above this K, 127²·K no longer fits the 'int8' path's 32-bit accumulator (the reference's sums are exact). */
export const CUDA_INT8_MAX_K = 133152;

export function quantKernels(ctx: CudaContext) {
  const { addon } = ctx;
  return {
    matmulInt8: (([x, wq, ws], o, { activations }) => {
      const shape = x!.layout.shape;
      const k = shape[shape.length - 1]!;
      const m = numel(shape.slice(0, -1));
      const n = wq!.layout.shape[0]!;
      if (activations === 'int8' && k > CUDA_INT8_MAX_K) {
        throw new BackendError(`matmulInt8 with int8 activations needs K <= ${CUDA_INT8_MAX_K} on cuda (32-bit accumulation), got K = ${k}`, {
          op: 'matmulInt8',
          shapes: [shape, wq!.layout.shape],
          backend: 'cuda',
        });
      }
      const [xs, wqs, wss] = [ctx.dense(x!, 'matmulInt8'), ctx.dense(wq!, 'matmulInt8'), ctx.dense(ws!, 'matmulInt8')];
      try {
        addon.matmulInt8(o.buffer.id, xs.id, xs.offset, wqs.id, wqs.offset, wss.id, wss.offset, m, n, k, activations);
      } finally {
        xs.release();
        wqs.release();
        wss.release();
      }
    }) as Kernel<'matmulInt8', CudaBuffer>,
  };
}
