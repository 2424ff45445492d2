/** Gather/scatter, one-hot, concat and pad kernels. */
import type { Kernel, KernelOpName } from '../../backend.js';
import { ArgumentError } from '../../errors.js';
import { contiguousStrides, numel } from '../../shape.js';
import type { CpuBuffer } from './cpu-buffer.js';
import { dense, out } from './strided.js';

type CpuKernel<K extends KernelOpName> = Kernel<K, CpuBuffer>;

function checkIndex(op: string, value: number, position: number, limit: number): void {
  if (!(value >= 0 && value < limit)) throw new ArgumentError(`index ${value} at position ${position} is outside [0, ${limit})`, { op });
}

export const indexingKernels = {
  embedding: (([w, idx], o) => {
    const [rows, dim] = w!.layout.shape as [number, number];
    const table = dense(w!);
    const ids = dense(idx!);
    const r = out(o);
    for (let i = 0; i < ids.length; i++) {
      const row = ids[i]!;
      checkIndex('embedding', row, i, rows);
      r.set(table.subarray(row * dim, row * dim + dim), i * dim);
    }
  }) as CpuKernel<'embedding'>,
  scatterAdd: (([idx, values], o, { numRows }) => {
    const shape = values!.layout.shape;
    const dim = shape[shape.length - 1]!;
    const ids = dense(idx!);
    const v = dense(values!);
    const r = out(o);
    r.fill(0);
    for (let i = 0; i < ids.length; i++) {
      const row = ids[i]!;
      checkIndex('scatterAdd', row, i, numRows);
      for (let j = 0; j < dim; j++) r[row * dim + j]! += v[i * dim + j]!;
    }
  }) as CpuKernel<'scatterAdd'>,
  oneHot: (([idx], o, { numClasses }) => {
    const ids = dense(idx!);
    const r = out(o);
    r.fill(0);
    for (let i = 0; i < ids.length; i++) {
      checkIndex('oneHot', ids[i]!, i, numClasses);
      r[i * numClasses + ids[i]!] = 1;
    }
  }) as CpuKernel<'oneHot'>,
  concat: ((inputs, o, { axis }) => {
    const r = out(o);
    const outShape = o.layout.shape;
    const outer = numel(outShape.slice(0, axis));
    const outRow = numel(outShape.slice(axis));
    let start = 0;
    for (const x of inputs) {
      const a = dense(x);
      const row = numel(x.layout.shape.slice(axis));
      for (let p = 0; p < outer; p++) r.set(a.subarray(p * row, p * row + row), p * outRow + start);
      start += row;
    }
  }) as CpuKernel<'concat'>,
  pad: (([x], o, { widths }) => {
    const shape = x!.layout.shape;
    const a = dense(x!);
    const r = out(o);
    r.fill(0);
    if (a.length === 0) return;
    const outStrides = contiguousStrides(o.layout.shape);
    const rank = shape.length;
    if (rank === 0) {
      r[0] = a[0]!;
      return;
    }
    const last = shape[rank - 1]!;
    const idx = new Array<number>(rank).fill(0);
    for (let i = 0; i < a.length; i += last) {
      let dst = widths[rank - 1]![0];
      for (let d = 0; d < rank - 1; d++) dst += (idx[d]! + widths[d]![0]) * outStrides[d]!;
      r.set(a.subarray(i, i + last), dst);
      for (let d = rank - 2; d >= 0; d--) {
        if (++idx[d]! < shape[d]!) break;
        idx[d] = 0;
      }
    }
  }) as CpuKernel<'pad'>,
};
