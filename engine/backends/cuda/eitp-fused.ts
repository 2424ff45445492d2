/**
 * The fused EIT-P terms on the cuda backend (cuda/soft-histogram.cuh, cuda/correlation.cuh, cuda/coherence.cuh,
 * cuda/matmul.cuh): the soft histogram, the correlation matrix R and the coherence loss ‖R − I‖_F²/(d(d − 1)) with
 * their backward ops, and the tanh layer's Jacobian-vector step. Inputs are made dense first; the addon allocates the
 * kernels' scratch (partial histograms, column statistics, Gram tiles, R, Ẑ and S) from its caching allocator.
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { CudaContext } from './context.js';
import type { CudaBuffer } from './cuda-buffer.js';
import { withDense } from './with-dense.js';

type CudaKernel<K extends KernelOpName> = Kernel<K, CudaBuffer>;

export function eitpFusedKernels(ctx: CudaContext) {
  const { addon } = ctx;
  return {
    softHistogram: (([u], o, { bins, low, width, bandwidth }) =>
      withDense(ctx, 'softHistogram', [u!], ([us]) => addon.softHistogram(o.buffer.id, us!.id, us!.offset, u!.layout.shape[0]!, bins, low, width, bandwidth))) as CudaKernel<'softHistogram'>,
    softHistogramGrad: (([u, g], o, { bins, low, width, bandwidth }) =>
      withDense(ctx, 'softHistogramGrad', [u!, g!], ([us, gs]) =>
        addon.softHistogramGrad(o.buffer.id, us!.id, us!.offset, gs!.id, gs!.offset, u!.layout.shape[0]!, bins, low, width, bandwidth),
      )) as CudaKernel<'softHistogramGrad'>,
    correlation: (([z], o, { eps }) => {
      const [rows, cols] = z!.layout.shape as [number, number];
      withDense(ctx, 'correlation', [z!], ([zs]) => addon.correlation(o.buffer.id, zs!.id, zs!.offset, rows, cols, eps));
    }) as CudaKernel<'correlation'>,
    correlationGrad: (([z, g], o, { eps }) => {
      const [rows, cols] = z!.layout.shape as [number, number];
      withDense(ctx, 'correlationGrad', [z!, g!], ([zs, gs]) => addon.correlationGrad(o.buffer.id, zs!.id, zs!.offset, gs!.id, gs!.offset, rows, cols, eps));
    }) as CudaKernel<'correlationGrad'>,
    coherence: (([z], o, { eps }) => {
      const [rows, cols] = z!.layout.shape as [number, number];
      withDense(ctx, 'coherence', [z!], ([zs]) => addon.coherence(o.buffer.id, zs!.id, zs!.offset, rows, cols, eps));
    }) as CudaKernel<'coherence'>,
    // g stays on the device: the kernel reads the one element, so a training step never waits on a readback.
    coherenceGrad: (([z, g], o, { eps }) => {
      const [rows, cols] = z!.layout.shape as [number, number];
      withDense(ctx, 'coherenceGrad', [z!, g!], ([zs, gs]) => addon.coherenceGrad(o.buffer.id, zs!.id, zs!.offset, gs!.id, gs!.offset, rows, cols, eps));
    }) as CudaKernel<'coherenceGrad'>,
    // (1 − h²) ⊙ (v·wᵀ): the f32 matmul kernel with the multiply fused into its epilogue.
    tanhJvp: (([h, v, w], o) => {
      const [batch, outF] = h!.layout.shape as [number, number];
      const inF = v!.layout.shape[1]!;
      withDense(ctx, 'tanhJvp', [h!, v!, w!], ([hs, vs, ws]) =>
        addon.tanhJvp(o.buffer.id, hs!.id, hs!.offset, vs!.id, vs!.offset, ws!.id, ws!.offset, batch, outF, inF),
      );
    }) as CudaKernel<'tanhJvp'>,
  };
}
