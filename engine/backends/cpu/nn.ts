/**
 * Fused neural-network kernels: softmax (its backward softmaxGrad and that one's softmaxGradGrad), logSoftmax, softmax
 * cross-entropy and layerNorm.
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import { ArgumentError } from '../../errors.js';
import { numel } from '../../shape.js';
import type { CpuBuffer } from './cpu-buffer.js';
import { dense, out } from './strided.js';

type CpuKernel<K extends KernelOpName> = Kernel<K, CpuBuffer>;

/**
 * Calls visit(start, inner, len) for every line along `axis` of a dense array of this shape: the line's elements are
 * start, start + inner, …, start + (len − 1)·inner.
 */
function forEachLine(shape: readonly number[], axis: number, visit: (start: number, inner: number, len: number) => void): void {
  const len = shape[axis]!;
  const inner = numel(shape.slice(axis + 1));
  const outer = numel(shape.slice(0, axis));
  for (let p = 0; p < outer; p++) for (let q = 0; q < inner; q++) visit(p * len * inner + q, inner, len);
}

/** softmax or logSoftmax of every line along `axis`, through the line's logsumexp in f64. */
function softmaxLike(log: boolean): CpuKernel<'softmax' | 'logSoftmax'> {
  return ([x], o, { axis }) => {
    const a = dense(x!);
    const r = out(o);
    forEachLine(x!.layout.shape, axis, (s, inner, len) => {
      let m = -Infinity;
      for (let j = 0; j < len; j++) m = Math.max(m, a[s + j * inner]!);
      let z = 0;
      for (let j = 0; j < len; j++) z += Math.exp(a[s + j * inner]! - m);
      const lse = m + Math.log(z);
      for (let j = 0; j < len; j++) {
        const v = a[s + j * inner]! - lse;
        r[s + j * inner] = log ? v : Math.exp(v);
      }
    });
  };
}

/** y ⊙ (g − Σ g ⊙ y) along `axis`, the sum in f64. */
const softmaxGrad: CpuKernel<'softmaxGrad'> = ([y, g], o, { axis }) => {
  const [ys, gs] = [dense(y!), dense(g!)];
  const r = out(o);
  forEachLine(y!.layout.shape, axis, (s, inner, len) => {
    let dot = 0;
    for (let j = 0; j < len; j++) dot += gs[s + j * inner]! * ys[s + j * inner]!;
    for (let j = 0; j < len; j++) r[s + j * inner] = ys[s + j * inner]! * (gs[s + j * inner]! - dot);
  });
};

/** [ȳ; ḡ] of softmaxGrad for the cotangent o: per line Σ g·y and Σ o·y, then ȳ = o(g − Σg·y) − g·Σo·y, ḡ = y(o − Σo·y). */
const softmaxGradGrad: CpuKernel<'softmaxGradGrad'> = ([y, g, c], o, { axis }) => {
  const [ys, gs, cs] = [dense(y!), dense(g!), dense(c!)];
  const r = out(o);
  const half = ys.length;
  forEachLine(y!.layout.shape, axis, (s, inner, len) => {
    let gy = 0;
    let oy = 0;
    for (let j = 0; j < len; j++) {
      const i = s + j * inner;
      gy += gs[i]! * ys[i]!;
      oy += cs[i]! * ys[i]!;
    }
    for (let j = 0; j < len; j++) {
      const i = s + j * inner;
      r[i] = cs[i]! * (gs[i]! - gy) - gs[i]! * oy;
      r[half + i] = ys[i]! * (cs[i]! - oy);
    }
  });
};

/** Mean and 1/sqrt(var + eps) of a[s .. s + d) (population variance around the mean, two passes). */
export function rowMoments(a: ArrayLike<number>, s: number, d: number, eps: number): { mu: number; rstd: number } {
  let mu = 0;
  for (let j = 0; j < d; j++) mu += a[s + j]!;
  mu /= d;
  let v = 0;
  for (let j = 0; j < d; j++) v += (a[s + j]! - mu) ** 2;
  return { mu, rstd: 1 / Math.sqrt(v / d + eps) };
}

export const nnKernels = {
  softmax: softmaxLike(false) as CpuKernel<'softmax'>,
  logSoftmax: softmaxLike(true) as CpuKernel<'logSoftmax'>,
  softmaxGrad,
  softmaxGradGrad,
  crossEntropy: (([logits, targets], o, { reduction }) => {
    const shape = logits!.layout.shape;
    const classes = shape[shape.length - 1]!;
    const x = dense(logits!);
    const t = dense(targets!);
    const rows = t.length;
    const r = out(o);
    let total = 0;
    for (let i = 0; i < rows; i++) {
      const y = t[i]!;
      if (!(y >= 0 && y < classes)) {
        throw new ArgumentError(`target ${y} at position ${i} is outside [0, ${classes})`, { op: 'crossEntropy', shapes: [shape, targets!.layout.shape] });
      }
      const s = i * classes;
      let m = -Infinity;
      for (let j = 0; j < classes; j++) m = Math.max(m, x[s + j]!);
      let z = 0;
      for (let j = 0; j < classes; j++) z += Math.exp(x[s + j]! - m);
      const loss = m + Math.log(z) - x[s + y]!;
      if (reduction === 'none') r[i] = loss;
      else total += loss;
    }
    if (reduction === 'sum') r[0] = total;
    if (reduction === 'mean') r[0] = total / rows;
  }) as CpuKernel<'crossEntropy'>,
  layerNorm: (([x, w, b], o, { eps }) => {
    const shape = x!.layout.shape;
    const d = shape[shape.length - 1]!;
    const a = dense(x!);
    const gamma = dense(w!);
    const beta = dense(b!);
    const r = out(o);
    const rows = d === 0 ? 0 : a.length / d;
    for (let i = 0; i < rows; i++) {
      const s = i * d;
      const { mu, rstd } = rowMoments(a, s, d, eps);
      for (let j = 0; j < d; j++) r[s + j] = (a[s + j]! - mu) * rstd * gamma[j]! + beta[j]!;
    }
  }) as CpuKernel<'layerNorm'>,
};
