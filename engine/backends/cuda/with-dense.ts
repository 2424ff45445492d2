/**
 * Runs a launch with dense views of its operands: an operand that already is dense is passed as it is, a strided
 * one as a temporary dense copy (CudaContext.dense), released once the launch was queued, also when it throws.
 * Shared by the cuda kernels whose CUDA side reads dense operands only.
 */
import type { CudaContext, DenseRef } from './context.js';
import type { CudaArg } from './cuda-buffer.js';

export function withDense<T>(ctx: CudaContext, op: string, args: readonly CudaArg[], launch: (refs: DenseRef[]) => T): T {
  const refs: DenseRef[] = [];
  try {
    for (const a of args) refs.push(ctx.dense(a, op));
    return launch(refs);
  } finally {
    for (const r of refs) r.release();
  }
}
