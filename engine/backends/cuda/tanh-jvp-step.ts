/**
 * The FTLE's fused tanh-layer step on the cuda backend (cuda/tanh-jvp-step.cuh): tanhJvpStep → [δ/‖δ‖ | ln‖δ‖] and
 * its backward tanhJvpStepGrad → [dp; dh], one launch each (a block per row: the GEMV, the row's norm and dot, the
 * outputs). v is read through its strides, so chaining steps (v = the previous step's direction, a view with row
 * stride out + 1) costs no copy; h, w and gy are made dense first (they normally are).
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { CudaContext } from './context.js';
import type { CudaArg, CudaBuffer } from './cuda-buffer.js';
import { withDense } from './with-dense.js';

type CudaKernel<K extends KernelOpName> = Kernel<K, CudaBuffer>;

export function tanhJvpStepKernels(ctx: CudaContext) {
  const { addon } = ctx;
  /** v [B, in] as (buffer, offset, row stride, column stride). */
  const strided = (v: CudaArg) => [v.buffer.id, v.layout.offset, v.layout.strides[0]!, v.layout.strides[1]!] as const;
  return {
    tanhJvpStep: (([h, v, w], o) => {
      const [batch, outF] = h!.layout.shape as [number, number];
      const inF = v!.layout.shape[1]!;
      withDense(ctx, 'tanhJvpStep', [h!, w!], ([hs, ws]) =>
        addon.tanhJvpStep(o.buffer.id, hs!.id, hs!.offset, ...strided(v!), ws!.id, ws!.offset, batch, outF, inF),
      );
    }) as CudaKernel<'tanhJvpStep'>,
    tanhJvpStepGrad: (([h, v, w, gy], o) => {
      const [batch, outF] = h!.layout.shape as [number, number];
      const inF = v!.layout.shape[1]!;
      withDense(ctx, 'tanhJvpStepGrad', [h!, w!, gy!], ([hs, ws, gs]) =>
        addon.tanhJvpStepGrad(o.buffer.id, hs!.id, hs!.offset, ...strided(v!), ws!.id, ws!.offset, gs!.id, gs!.offset, batch, outF, inF),
      );
    }) as CudaKernel<'tanhJvpStepGrad'>,
  };
}
