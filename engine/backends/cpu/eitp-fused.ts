/**
 * Reference kernels of the fused EIT-P ops: the soft histogram, the correlation matrix R and the coherence loss
 * ‖R − I‖_F²/(d(d − 1)), each with its backward. They compute in f64 whatever the storage dtype, so they are the
 * accurate side of every parity test.
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { HistogramAttrs } from '../../ops/attrs.js';
import type { CpuBuffer } from './cpu-buffer.js';
import { dense, out } from './strided.js';

type CpuKernel<K extends KernelOpName> = Kernel<K, CpuBuffer>;

/**
 * The bins one value takes part in: its own bin ± W, W = ⌈8h/Δ⌉. Farther bins weigh < e^−32 of the nearest one
 * (the logit gap grows quadratically), so skipping them changes no f32 or f64 result; the backends do the same.
 */
export function histogramWindow(u: number, { bins, low, width, bandwidth }: HistogramAttrs): [number, number] {
  const reach = Math.ceil((8 * bandwidth) / width);
  const nearest = Math.min(bins - 1, Math.max(0, Math.floor((u - low) / width)));
  return [Math.max(0, nearest - reach), Math.min(bins - 1, nearest + reach)];
}

/** Calls visit(k, a_k, slope_k) for the soft assignment of u: a_k = softmax over the window, slope_k = (c_k − u)/h². */
function assign(u: number, attrs: HistogramAttrs, weights: Float64Array, visit: (k: number, a: number, slope: number) => void): void {
  const [lo, hi] = histogramWindow(u, attrs);
  const h2 = attrs.bandwidth * attrs.bandwidth;
  let max = -Infinity;
  for (let k = lo; k <= hi; k++) {
    const d = attrs.low + (k + 0.5) * attrs.width - u;
    weights[k] = (-d * d) / (2 * h2);
    max = Math.max(max, weights[k]!);
  }
  let total = 0;
  for (let k = lo; k <= hi; k++) total += weights[k] = Math.exp(weights[k]! - max);
  for (let k = lo; k <= hi; k++) visit(k, weights[k]! / total, (attrs.low + (k + 0.5) * attrs.width - u) / h2);
}

/** Column means, 1/σ and the standardised columns Ẑ of a row-major [N, d] array. */
function standardize(z: ArrayLike<number>, n: number, d: number, eps: number): { zhat: Float64Array; rstd: Float64Array } {
  const mean = new Float64Array(d);
  const rstd = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += z[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) rstd[j] += (z[i * d + j]! - mean[j]!) ** 2;
  for (let j = 0; j < d; j++) rstd[j] = 1 / Math.sqrt(rstd[j]! / n + eps);
  const zhat = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) zhat[i * d + j] = (z[i * d + j]! - mean[j]!) * rstd[j]!;
  return { zhat, rstd };
}

/** R = ẐᵀẐ/N, [d, d] row-major; each pair j ≤ k summed once and written to both halves, so R is exactly symmetric. */
function gram(zhat: Float64Array, n: number, d: number): Float64Array {
  const r = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    for (let k = j; k < d; k++) {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += zhat[i * d + j]! * zhat[i * d + k]!;
      r[j * d + k] = r[k * d + j] = acc / n;
    }
  }
  return r;
}

/**
 * dz of a loss through R = ẐᵀẐ/N, given S = (gR + gRᵀ)/N (made from Ẑ by `sym`): dẐ = Ẑ·S, then per column
 * layerNorm's backward r_j (dẐ − mean dẐ − Ẑ·mean(dẐ Ẑ)).
 */
function correlationBackward(z: ArrayLike<number>, n: number, d: number, eps: number, sym: (zhat: Float64Array) => Float64Array): Float64Array {
  const { zhat, rstd } = standardize(z, n, d, eps);
  const s = sym(zhat);
  const dzhat = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let k = 0; k < d; k++) acc += zhat[i * d + k]! * s[k * d + j]!;
      dzhat[i * d + j] = acc;
    }
  }
  const meanG = new Float64Array(d);
  const meanGZ = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      meanG[j] += dzhat[i * d + j]! / n;
      meanGZ[j] += (dzhat[i * d + j]! * zhat[i * d + j]!) / n;
    }
  }
  const dz = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) dz[i * d + j] = rstd[j]! * (dzhat[i * d + j]! - meanG[j]! - zhat[i * d + j]! * meanGZ[j]!);
  }
  return dz;
}

export const eitpFusedKernels = {
  softHistogram: (([u], o, attrs) => {
    const values = dense(u!);
    const counts = new Float64Array(attrs.bins);
    const scratch = new Float64Array(attrs.bins);
    for (let i = 0; i < values.length; i++) assign(values[i]!, attrs, scratch, (k, a) => (counts[k] += a));
    out(o).set(counts);
  }) satisfies CpuKernel<'softHistogram'>,

  softHistogramGrad: (([u, g], o, attrs) => {
    const values = dense(u!);
    const cot = dense(g!);
    const r = out(o);
    const scratch = new Float64Array(attrs.bins);
    for (let i = 0; i < values.length; i++) {
      let gbar = 0;
      let weighted = 0;
      let slopeMean = 0;
      // du = Σ a_k g_k s_k − ḡ Σ a_k s_k with ḡ = Σ a_k g_k: one pass over the window.
      assign(values[i]!, attrs, scratch, (k, a, s) => {
        gbar += a * cot[k]!;
        weighted += a * cot[k]! * s;
        slopeMean += a * s;
      });
      r[i] = weighted - gbar * slopeMean;
    }
  }) satisfies CpuKernel<'softHistogramGrad'>,

  correlation: (([z], o, { eps }) => {
    const [n, d] = z!.layout.shape as [number, number];
    out(o).set(gram(standardize(dense(z!), n, d, eps).zhat, n, d));
  }) satisfies CpuKernel<'correlation'>,

  correlationGrad: (([z, g], o, { eps }) => {
    const [n, d] = z!.layout.shape as [number, number];
    const gr = dense(g!);
    // S = (gR + gRᵀ)/N
    const sym = new Float64Array(d * d);
    for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) sym[j * d + k] = (gr[j * d + k]! + gr[k * d + j]!) / n;
    out(o).set(correlationBackward(dense(z!), n, d, eps, () => sym));
  }) satisfies CpuKernel<'correlationGrad'>,

  coherence: (([z], o, { eps }) => {
    const [n, d] = z!.layout.shape as [number, number];
    const r = gram(standardize(dense(z!), n, d, eps).zhat, n, d);
    let acc = 0;
    for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) acc += (r[j * d + k]! - (j === k ? 1 : 0)) ** 2;
    out(o)[0] = acc / (d * (d - 1));
  }) satisfies CpuKernel<'coherence'>,

  coherenceGrad: (([z, g], o, { eps }) => {
    const [n, d] = z!.layout.shape as [number, number];
    // ∂L/∂R = 2g(R − I)/(d(d − 1)) is symmetric, so S = (gR + gRᵀ)/N = 4g(R − I)/(N d(d − 1)).
    const scale = (4 * dense(g!)[0]!) / (n * d * (d - 1));
    out(o).set(
      correlationBackward(dense(z!), n, d, eps, (zhat) => {
        const r = gram(zhat, n, d);
        for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) r[j * d + k] = (r[j * d + k]! - (j === k ? 1 : 0)) * scale;
        return r;
      }),
    );
  }) satisfies CpuKernel<'coherenceGrad'>,

  tanhJvp: (([h, v, w], o) => {
    const [b, rows] = h!.layout.shape as [number, number];
    const cols = w!.layout.shape[1]!;
    const [hs, vs, ws] = [dense(h!), dense(v!), dense(w!)];
    const r = out(o);
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < rows; j++) {
        let acc = 0;
        for (let k = 0; k < cols; k++) acc += vs[i * cols + k]! * ws[j * cols + k]!;
        const y = hs[i * rows + j]!;
        r[i * rows + j] = (1 - y * y) * acc;
      }
    }
  }) satisfies CpuKernel<'tanhJvp'>,
};
