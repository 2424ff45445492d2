/**
 * The thermodynamic term's activation density on the cuda backend (cuda/activation-density.cuh):
 * activationDensity is one pass over a (per-block partial sums in double, then one block combines them in a fixed
 * order, so the value is bit-identical from run to run), activationDensityGrad one elementwise pass. a is read
 * through its strides (a transposed tap costs no copy); τ and g stay on the device: the kernels read the one element
 * at each view's offset, so no value is read back to JS mid-step.
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { CudaContext } from './context.js';
import type { CudaBuffer } from './cuda-buffer.js';
import { mergeAxes } from './layout.js';

type CudaKernel<K extends KernelOpName> = Kernel<K, CudaBuffer>;

export function activationDensityKernels(ctx: CudaContext) {
  const { addon } = ctx;
  return {
    activationDensity: (([a, tau], o, { eps }) => {
      const m = mergeAxes(a!.layout.shape, [a!.layout.strides], 'activationDensity');
      addon.activationDensity(o.buffer.id, m.shape, a!.buffer.id, a!.layout.offset, m.strides[0]!, tau!.buffer.id, tau!.layout.offset, eps);
    }) as CudaKernel<'activationDensity'>,
    activationDensityGrad: (([a, tau, g], o, { eps }) => {
      const m = mergeAxes(a!.layout.shape, [a!.layout.strides], 'activationDensityGrad');
      addon.activationDensityGrad(o.buffer.id, m.shape, a!.buffer.id, a!.layout.offset, m.strides[0]!, tau!.buffer.id, tau!.layout.offset, g!.buffer.id, g!.layout.offset, eps);
    }) as CudaKernel<'activationDensityGrad'>,
  };
}
