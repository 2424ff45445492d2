/** Gather / scatter, one-hot, concat and pad. Indices are checked on the device; a bad one rejects the next read. */
import type { Kernel, KernelOpName } from '../../backend.js';
import { numel } from '../../shape.js';
import type { CudaContext } from './context.js';
import type { CudaBuffer } from './cuda-buffer.js';

type CudaKernel<K extends KernelOpName> = Kernel<K, CudaBuffer>;

export function indexingKernels(ctx: CudaContext) {
  const { addon } = ctx;
  return {
    embedding: (([w, idx], o) => {
      const [rows, dim] = w!.layout.shape as [number, number];
      const table = ctx.dense(w!, 'embedding');
      const ids = ctx.indices(idx!, 'embedding');
      try {
        addon.embedding(ctx.dt(w!.dtype, 'embedding'), o.buffer.id, table.id, table.offset, ids.id, ids.offset, numel(idx!.layout.shape), rows, dim);
      } finally {
        table.release();
        ids.release();
      }
    }) as CudaKernel<'embedding'>,
    scatterAdd: (([idx, values], o, { numRows }) => {
      const shape = values!.layout.shape;
      const dim = shape[shape.length - 1]!;
      const ids = ctx.indices(idx!, 'scatterAdd');
      const v = ctx.dense(values!, 'scatterAdd');
      try {
        addon.scatterAdd(o.buffer.id, ids.id, ids.offset, v.id, v.offset, numel(idx!.layout.shape), numRows, dim);
      } finally {
        ids.release();
        v.release();
      }
    }) as CudaKernel<'scatterAdd'>,
    oneHot: (([idx], o, { numClasses, dtype }) => {
      const ids = ctx.indices(idx!, 'oneHot');
      try {
        addon.oneHot(ctx.dt(dtype, 'oneHot'), o.buffer.id, ids.id, ids.offset, numel(idx!.layout.shape), numClasses);
      } finally {
        ids.release();
      }
    }) as CudaKernel<'oneHot'>,
    concat: ((inputs, o, { axis }) => {
      const outShape = o.layout.shape;
      const outer = numel(outShape.slice(0, axis));
      const pitch = numel(outShape.slice(axis));
      const dt = ctx.dt(o.dtype, 'concat');
      let start = 0;
      for (const x of inputs) {
        const row = numel(x.layout.shape.slice(axis));
        const src = ctx.dense(x, 'concat');
        try {
          addon.copy2d(dt, o.buffer.id, start, src.id, src.offset, outer, row, pitch);
        } finally {
          src.release();
        }
        start += row;
      }
    }) as CudaKernel<'concat'>,
    pad: (([x], o, { widths }) => {
      const src = ctx.dense(x!, 'pad');
      try {
        addon.pad(ctx.dt(x!.dtype, 'pad'), o.buffer.id, src.id, src.offset, x!.layout.shape, o.layout.shape, widths.map(([before]) => before));
      } finally {
        src.release();
      }
    }) as CudaKernel<'pad'>,
  };
}
