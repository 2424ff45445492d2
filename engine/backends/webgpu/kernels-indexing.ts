/** Gather / scatter-add / one-hot (index errors are reported through the status buffer), concat and pad. */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { GpuContext } from './context.js';
import { stridedCopy, withDense } from './kernels-elementwise.js';
import { contiguousStrides, numelOf, storageBytes, wgslType, wrapMode } from './kernel-util.js';
import { Params } from './layout.js';
import { Runtime, type GpuBuffer, statusCode } from './runtime.js';

type GpuKernel<K extends KernelOpName> = Kernel<K, GpuBuffer>;


export function indexingKernels(g: GpuContext) {
  return {
    embedding: (([w, idx], o) =>
      withDense(g, [w!, idx!], ([dw, di]) => {
        const [rows, dim] = dw!.layout.shape as [number, number];
        const n = numelOf(di!.layout.shape);
        if (n * dim === 0) return;
        const p = g.pipelines.get({ file: 'embedding.wgsl', defines: { TI: wgslType(di!.dtype) }, constants: { WG: 256, STATUS_OP: statusCode('embedding') } });
        g.runtime.dispatch(p, [dw!.buffer, di!.buffer, o.buffer], new Params().u32(n, dim, rows, 0).done(), Runtime.grid1d(n * dim, 256), true);
      })) as GpuKernel<'embedding'>,
    scatterAdd: (([idx, values], o, { numRows }) =>
      withDense(g, [idx!, values!], ([di, dv]) => {
        const shape = dv!.layout.shape;
        const dim = shape[shape.length - 1]!;
        const n = numelOf(di!.layout.shape);
        if (numRows * dim === 0) return;
        const p = g.pipelines.get({ file: 'scatter-add.wgsl', defines: { TI: wgslType(di!.dtype) }, constants: { WG: 64, STATUS_OP: statusCode('scatterAdd') } });
        g.runtime.dispatch(p, [di!.buffer, dv!.buffer, o.buffer], new Params().u32(n, dim, numRows, 0).done(), Runtime.grid1d(numRows * dim, 64), true);
      })) as GpuKernel<'scatterAdd'>,
    oneHot: (([idx], o, { numClasses }) =>
      withDense(g, [idx!], ([di]) => {
        const n = numelOf(di!.layout.shape);
        if (n * numClasses === 0) return;
        const p = g.pipelines.get({
          file: 'one-hot.wgsl',
          defines: { TI: wgslType(di!.dtype), TO: wgslType(o.dtype) },
          constants: { WG: 256, STATUS_OP: statusCode('oneHot'), WRAP: wrapMode(o.dtype) },
        });
        g.runtime.dispatch(p, [di!.buffer, o.buffer], new Params().u32(n, numClasses, 0, 0).done(), Runtime.grid1d(n * numClasses, 256), true);
      })) as GpuKernel<'oneHot'>,
    concat: ((inputs, o, { axis }) => {
      const outShape = o.layout.shape;
      const strides = contiguousStrides(outShape);
      let start = 0;
      for (const x of inputs) {
        // each input lands in the slab [start, start + size) of the output along `axis`
        stridedCopy(g, x, o.buffer, { shape: x.layout.shape, strides, offset: start * strides[axis]! }, o.dtype);
        start += x.layout.shape[axis]!;
      }
    }) as GpuKernel<'concat'>,
    pad: (([x], o, { widths }) => {
      const outShape = o.layout.shape;
      const strides = contiguousStrides(outShape);
      g.runtime.clear(o.buffer, storageBytes(o.dtype, numelOf(outShape)));
      const offset = widths.reduce((acc, [before], d) => acc + before * strides[d]!, 0);
      stridedCopy(g, x!, o.buffer, { shape: x!.layout.shape, strides, offset }, o.dtype);
    }) as GpuKernel<'pad'>,
  };
}
