/**
 * The fused training ops on the cuda backend (cuda/train-fused.cuh, and cuda/matmul.cuh's bias + activation
 * epilogue for linear). The row kernels, adamStep and sgdStep take dense inputs (strided views are copied first, as
 * for the other row kernels; sgdStep's buf only when it is read); activationGrad and geluGrad read strided operands
 * in place, and linear reads x and w through their strides as matmul does, so a transposed weight view costs no copy.
 * A target outside [0, C) is found on the device and rejects the next readback with an ArgumentError.
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import { numel } from '../../shape.js';
import type { CudaContext } from './context.js';
import type { CudaBuffer } from './cuda-buffer.js';
import { mergeAxes } from './layout.js';
import { withDense } from './with-dense.js';

type CudaKernel<K extends KernelOpName> = Kernel<K, CudaBuffer>;

export function trainFusedKernels(ctx: CudaContext) {
  const { addon } = ctx;
  return {
    crossEntropyGrad: (([logits, targets, g], o, { reduction }) => {
      const shape = logits!.layout.shape;
      const classes = shape[shape.length - 1]!;
      const rows = numel(targets!.layout.shape);
      const t = ctx.indices(targets!, 'crossEntropyGrad');
      try {
        withDense(ctx, 'crossEntropyGrad', [logits!, g!], ([x, gs]) =>
          addon.crossEntropyGrad(o.buffer.id, x!.id, x!.offset, t.id, t.offset, gs!.id, gs!.offset, rows, classes, reduction),
        );
      } finally {
        t.release();
      }
    }) as CudaKernel<'crossEntropyGrad'>,
    layerNormGrad: (([x, w, g], o, { eps }) => {
      const shape = x!.layout.shape;
      const d = shape[shape.length - 1]!;
      const rows = numel(shape) / d;
      withDense(ctx, 'layerNormGrad', [x!, w!, g!], ([xs, ws, gs]) =>
        addon.layerNormGrad(o.buffer.id, xs!.id, xs!.offset, ws!.id, ws!.offset, gs!.id, gs!.offset, rows, d, eps),
      );
    }) as CudaKernel<'layerNormGrad'>,
    layerNormGradGrad: (([x, u, g], o, { eps }) => {
      const shape = x!.layout.shape;
      const d = shape[shape.length - 1]!;
      const rows = numel(shape) / d;
      withDense(ctx, 'layerNormGradGrad', [x!, u!, g!], ([xs, us, gs]) =>
        addon.layerNormGradGrad(o.buffer.id, xs!.id, xs!.offset, us!.id, us!.offset, gs!.id, gs!.offset, rows, d, eps),
      );
    }) as CudaKernel<'layerNormGradGrad'>,
    geluGrad: (([x, g], o, { approximate, order }) => {
      const m = mergeAxes(o.layout.shape, [x!.layout.strides, g!.layout.strides], 'geluGrad');
      addon.geluGrad(approximate, o.buffer.id, m.shape, x!.buffer.id, x!.layout.offset, m.strides[0]!, g!.buffer.id, g!.layout.offset, m.strides[1]!, order ?? 1);
    }) as CudaKernel<'geluGrad'>,
    activationGrad: (([y, g], o, { activation }) => {
      const m = mergeAxes(o.layout.shape, [y!.layout.strides, g!.layout.strides], 'activationGrad');
      addon.activationGrad(activation, o.buffer.id, m.shape, y!.buffer.id, y!.layout.offset, m.strides[0]!, g!.buffer.id, g!.layout.offset, m.strides[1]!);
    }) as CudaKernel<'activationGrad'>,
    linear: (([x, w, b], o, { activation }) => {
      const [m, k] = x!.layout.shape as [number, number];
      const n = w!.layout.shape[1]!;
      const [sx, sw] = [x!.layout.strides, w!.layout.strides];
      withDense(ctx, 'linear', [b!], ([bs]) =>
        addon.linear(
          o.buffer.id, m, n, k,
          x!.buffer.id, x!.layout.offset, sx[0]!, sx[1]!,
          w!.buffer.id, w!.layout.offset, sw[0]!, sw[1]!,
          bs!.id, bs!.offset, activation,
        ),
      );
    }) as CudaKernel<'linear'>,
    adamStep: (([p, g, m, v], o, a) => {
      const n = numel(p!.layout.shape);
      withDense(ctx, 'adamStep', [p!, g!, m!, v!], ([ps, gs, ms, vs]) =>
        addon.adamStep(
          o.buffer.id, ps!.id, ps!.offset, gs!.id, gs!.offset, ms!.id, ms!.offset, vs!.id, vs!.offset, n,
          a.beta1, a.beta2, a.eps, a.weightDecay, a.decay, a.stepSize, a.bias2Sqrt,
        ),
      );
    }) as CudaKernel<'adamStep'>,
    sgdStep: (([p, g, buf], o, a) => {
      const n = numel(p!.layout.shape);
      const readsBuf = a.momentum !== 0 && !a.first;
      withDense(ctx, 'sgdStep', readsBuf ? [p!, g!, buf!] : [p!, g!], ([ps, gs, bs]) => {
        // an unread buf is not copied; the addon ignores the id / offset passed in its place
        const b = bs ?? gs!;
        addon.sgdStep(
          o.buffer.id, ps!.id, ps!.offset, gs!.id, gs!.offset, b.id, b.offset, n,
          a.lr, a.momentum, a.dampening, a.nesterov, a.weightDecay, a.first,
        );
      });
    }) as CudaKernel<'sgdStep'>,
  };
}
