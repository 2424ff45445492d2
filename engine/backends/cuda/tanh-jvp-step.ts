/**
 * The FTLE's fused tanh-layer step on the cuda backend (cuda/tanh-jvp-step.cuh): tanhJvpStep → [δ/‖δ‖ | ln‖δ‖] and
 * its backward tanhJvpStepGrad → [dp; dh], one launch each (a block per row: the GEMV, the row's norm and dot, the
 * outputs). v is read through its strides, so chaining steps (v = the previous step's direction, a view with row
 * stride out + 1) costs no copy; h, w and gy are made dense first (they normally are).
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { CudaContext, DenseRef } from './context.js';
import type { CudaArg, CudaBuffer } from './cuda-buffer.js';

type CudaKernel<K extends KernelOpName> = Kernel<K, CudaBuffer>;

export function tanhJvpStepKernels(ctx: CudaContext) {
  const { addon } = ctx;
  /** Runs `launch` with dense h, w (and gy), releasing any temporary copies once it was queued (also on a throw). */
  function withDense(op: string, args: readonly CudaArg[], launch: (refs: DenseRef[]) => void): void {
    const refs: DenseRef[] = [];
    try {
      for (const a of args) refs.push(ctx.dense(a, op));
      launch(refs);
    } finally {
      for (const r of refs) r.release();
    }
  }
  /** v [B, in] as (buffer, offset, row stride, column stride). */
  const strided = (v: CudaArg) => [v.buffer.id, v.layout.offset, v.layout.strides[0]!, v.layout.strides[1]!] as const;
  return {
    tanhJvpStep: (([h, v, w], o) => {
      const [batch, outF] = h!.layout.shape as [number, number];
      const inF = v!.layout.shape[1]!;
      withDense('tanhJvpStep', [h!, w!], ([hs, ws]) =>
        addon.tanhJvpStep(o.buffer.id, hs!.id, hs!.offset, ...strided(v!), ws!.id, ws!.offset, batch, outF, inF),
      );
    }) as CudaKernel<'tanhJvpStep'>,
    tanhJvpStepGrad: (([h, v, w, gy], o) => {
      const [batch, outF] = h!.layout.shape as [number, number];
      const inF = v!.layout.shape[1]!;
      withDense('tanhJvpStepGrad', [h!, w!, gy!], ([hs, ws, gs]) =>
        addon.tanhJvpStepGrad(o.buffer.id, hs!.id, hs!.offset, ...strided(v!), ws!.id, ws!.offset, gs!.id, gs!.offset, batch, outF, inF),
      );
    }) as CudaKernel<'tanhJvpStepGrad'>,
  };
}
