/**
 * Fused neural-network kernels: softmax (and its backward softmaxGrad), logSoftmax, softmax cross-entropy and layerNorm
 * (kernels/*.wgsl).
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { GpuContext } from './context.js';
import { withDense } from './kernels-elementwise.js';
import { runReduce } from './kernels-reduce.js';
import { type GpuArg, numelOf, wgslType } from './kernel-util.js';
import { Params } from './layout.js';
import { Runtime, type GpuBuffer, statusCode } from './runtime.js';

type GpuKernel<K extends KernelOpName> = Kernel<K, GpuBuffer>;
const WG = 64;

/** outer, len and inner of the lines along `axis` of a dense shape (elements `inner` apart). */
function lines(shape: readonly number[], axis: number): { outer: number; len: number; inner: number } {
  return { outer: numelOf(shape.slice(0, axis)), len: shape[axis]!, inner: numelOf(shape.slice(axis + 1)) };
}

function softmaxKernel(g: GpuContext, log: boolean): GpuKernel<'softmax' | 'logSoftmax'> {
  return ([x], o, { axis }) =>
    withDense(g, [x!], ([d]) => {
      const { outer, len, inner } = lines(d!.layout.shape, axis);
      if (outer * inner * len === 0) return;
      const p = g.pipelines.get({ file: 'softmax.wgsl', constants: { LOG: log, WG } });
      const params = new Params().u32(outer, len, inner, 0).done();
      g.runtime.dispatch(p, [d!.buffer, o.buffer], params, Runtime.grid1d(outer * inner, WG));
    });
}

/** y ⊙ (g − Σ_axis g ⊙ y) in one dispatch (the composite takes four: mul, sum, sub, mul), lines as softmax's. */
function softmaxGradKernel(g: GpuContext): GpuKernel<'softmaxGrad'> {
  return ([y, cot], o, { axis }) =>
    withDense(g, [y!, cot!], ([dy, dg]) => {
      const { outer, len, inner } = lines(dy!.layout.shape, axis);
      if (outer * inner * len === 0) return;
      const p = g.pipelines.get({ file: 'softmax-grad.wgsl', constants: { WG } });
      const params = new Params().u32(outer, len, inner, 0).done();
      g.runtime.dispatch(p, [dy!.buffer, dg!.buffer, o.buffer], params, Runtime.grid1d(outer * inner, WG));
    });
}

/** [ȳ; ḡ] of softmaxGrad for a cotangent o in one dispatch (the rule took nine), lines as softmax's. */
function softmaxGradGradKernel(g: GpuContext): GpuKernel<'softmaxGradGrad'> {
  return ([y, cot, c], o, { axis }) =>
    withDense(g, [y!, cot!, c!], ([dy, dg, dc]) => {
      const { outer, len, inner } = lines(dy!.layout.shape, axis);
      if (outer * inner * len === 0) return;
      const p = g.pipelines.get({ file: 'softmax-grad-grad.wgsl', constants: { WG } });
      const params = new Params().u32(outer, len, inner, 0).done();
      g.runtime.dispatch(p, [dy!.buffer, dg!.buffer, dc!.buffer, o.buffer], params, Runtime.grid1d(outer * inner, WG));
    });
}

export function nnKernels(g: GpuContext) {
  return {
    softmax: softmaxKernel(g, false) as GpuKernel<'softmax'>,
    logSoftmax: softmaxKernel(g, true) as GpuKernel<'logSoftmax'>,
    softmaxGrad: softmaxGradKernel(g),
    softmaxGradGrad: softmaxGradGradKernel(g),
    crossEntropy: (([logits, targets], o, { reduction }) =>
      withDense(g, [logits!, targets!], ([x, t]) => {
        const classes = x!.layout.shape[x!.layout.shape.length - 1]!;
        const rows = numelOf(t!.layout.shape);
        const perRow = reduction === 'none' ? o.buffer : g.runtime.allocate(Math.max(rows, 1) * 4);
        try {
          if (rows > 0) {
            const p = g.pipelines.get({ file: 'cross-entropy.wgsl', defines: { TT: wgslType(t!.dtype) }, constants: { WG, STATUS_OP: statusCode('crossEntropy') } });
            g.runtime.dispatch(p, [x!.buffer, t!.buffer, perRow], new Params().u32(rows, classes, 0, 0).done(), Runtime.grid1d(rows, WG), true);
          }
          if (reduction !== 'none') {
            const rowsArg: GpuArg = { buffer: perRow, dtype: 'f32', layout: { shape: [rows], strides: [1], offset: 0 } };
            runReduce(g, reduction, rowsArg, o, [0]);
          }
        } finally {
          if (perRow !== o.buffer) g.runtime.free(perRow);
        }
      })) as GpuKernel<'crossEntropy'>,
    layerNorm: (([x, w, b], o, { eps }) =>
      withDense(g, [x!, w!, b!], ([dx, dw, db]) => {
        const shape = dx!.layout.shape;
        const d = shape[shape.length - 1]!;
        const rows = d === 0 ? 0 : numelOf(shape) / d;
        if (rows === 0) return;
        const p = g.pipelines.get({ file: 'layer-norm.wgsl', constants: { WG } });
        const params = new Params().u32(rows, d).f32(eps).u32(0).done();
        g.runtime.dispatch(p, [dx!.buffer, dw!.buffer, db!.buffer, o.buffer], params, Runtime.grid1d(rows, WG));
      })) as GpuKernel<'layerNorm'>,
  };
}
