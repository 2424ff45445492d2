/** Reduction kernels. Operands are reordered so reduced axes are innermost, then each row is reduced in f64. */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { TypedArray } from '../../dtype.js';
import type { CpuBuffer } from './cpu-buffer.js';
import { denseWithAxesLast, out } from './strided.js';

type CpuKernel<K extends KernelOpName> = Kernel<K, CpuBuffer>;
type RowReducer = (data: TypedArray, start: number, n: number) => number;

function rowKernel<K extends 'sum' | 'mean' | 'max' | 'logsumexp' | 'norm'>(reduce: RowReducer): CpuKernel<K> {
  return ([x], o, { axes }) => {
    const { data, outer, inner } = denseWithAxesLast(x!, axes);
    const r = out(o);
    for (let i = 0; i < outer; i++) r[i] = reduce(data, i * inner, inner);
  };
}

const sumRow: RowReducer = (d, s, n) => {
  let acc = 0;
  for (let j = 0; j < n; j++) acc += d[s + j]!;
  return acc;
};

const maxRow: RowReducer = (d, s, n) => {
  let m = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = d[s + j]!;
    if (v > m || Number.isNaN(v)) m = v;
    if (Number.isNaN(m)) break;
  }
  return m;
};

const logsumexpRow: RowReducer = (d, s, n) => {
  const m = maxRow(d, s, n);
  if (!Number.isFinite(m)) return m === -Infinity ? -Infinity : m;
  let acc = 0;
  for (let j = 0; j < n; j++) acc += Math.exp(d[s + j]! - m);
  return m + Math.log(acc);
};

const normRow: RowReducer = (d, s, n) => {
  let acc = 0;
  for (let j = 0; j < n; j++) acc += d[s + j]! * d[s + j]!;
  return Math.sqrt(acc);
};

export const reduceKernels = {
  sum: rowKernel<'sum'>(sumRow),
  mean: rowKernel<'mean'>((d, s, n) => sumRow(d, s, n) / n),
  max: rowKernel<'max'>(maxRow),
  logsumexp: rowKernel<'logsumexp'>(logsumexpRow),
  norm: rowKernel<'norm'>(normRow),
  var: (([x], o, { axes, correction }) => {
    const { data, outer, inner } = denseWithAxesLast(x!, axes);
    const r = out(o);
    for (let i = 0; i < outer; i++) {
      const s = i * inner;
      const mu = sumRow(data, s, inner) / inner;
      let acc = 0;
      for (let j = 0; j < inner; j++) acc += (data[s + j]! - mu) ** 2;
      r[i] = acc / (inner - correction);
    }
  }) as CpuKernel<'var'>,
  argmax: (([x], o, { axis }) => {
    const { data, outer, inner } = denseWithAxesLast(x!, [axis]);
    const r = out(o);
    for (let i = 0; i < outer; i++) {
      const s = i * inner;
      let best = 0;
      for (let j = 1; j < inner; j++) if (data[s + j]! > data[s + best]!) best = j;
      r[i] = best;
    }
  }) as CpuKernel<'argmax'>,
};

