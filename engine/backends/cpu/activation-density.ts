/**
 * Reference kernels of the thermodynamic term's activation density (engine/ops/activation-density.ts): the mean of
 * a²/(a² + c), c = τ² + eps, and its backward g·2ac/(a² + c)²/n. In f64 whatever the storage dtype.
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { CpuBuffer } from './cpu-buffer.js';
import { dense, out } from './strided.js';

type CpuKernel<K extends KernelOpName> = Kernel<K, CpuBuffer>;

export const activationDensityKernels = {
  activationDensity: (([a, tau], o, { eps }) => {
    const values = dense(a!);
    const t = dense(tau!)[0]!;
    const c = t * t + eps;
    let total = 0;
    for (let i = 0; i < values.length; i++) {
      const a2 = values[i]! * values[i]!;
      total += a2 / (a2 + c);
    }
    out(o)[0] = total / values.length;
  }) satisfies CpuKernel<'activationDensity'>,

  activationDensityGrad: (([a, tau, g], o, { eps }) => {
    const values = dense(a!);
    const t = dense(tau!)[0]!;
    const c = t * t + eps;
    const scale = (2 * c * dense(g!)[0]!) / values.length;
    const r = out(o);
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!;
      const d = x * x + c;
      r[i] = (scale * x) / (d * d);
    }
  }) satisfies CpuKernel<'activationDensityGrad'>,
};
