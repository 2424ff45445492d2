/**
 * Reference kernels of the fused FTLE step (engine/ops/tanh-jvp-step.ts), in f64 whatever the storage dtype:
 * tanhJvpStep → [δ/‖δ‖ | ln‖δ‖] per row and its backward tanhJvpStepGrad → [dp, dh].
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { TypedArray } from '../../dtype.js';
import type { CpuBuffer } from './cpu-buffer.js';
import { dense, out } from './strided.js';

type CpuKernel<K extends KernelOpName> = Kernel<K, CpuBuffer>;

/** Row i of p = v Wᵀ (v [B, in], w [out, in]) into p [out]. */
function productRow(vs: TypedArray, ws: TypedArray, i: number, rows: number, cols: number, p: Float64Array): void {
  for (let j = 0; j < rows; j++) {
    let acc = 0;
    for (let k = 0; k < cols; k++) acc += vs[i * cols + k]! * ws[j * cols + k]!;
    p[j] = acc;
  }
}

/** δ = (1 − h²) ⊙ p for row i into delta; returns ‖δ‖. */
function tangentRow(hs: TypedArray, i: number, p: Float64Array, delta: Float64Array): number {
  let ss = 0;
  for (let j = 0; j < p.length; j++) {
    const y = hs[i * p.length + j]!;
    delta[j] = (1 - y * y) * p[j]!;
    ss += delta[j]! * delta[j]!;
  }
  return Math.sqrt(ss);
}

export const tanhJvpStepKernels = {
  tanhJvpStep: (([h, v, w], o) => {
    const [b, rows] = h!.layout.shape as [number, number];
    const cols = w!.layout.shape[1]!;
    const [hs, vs, ws] = [dense(h!), dense(v!), dense(w!)];
    const r = out(o);
    const [p, delta] = [new Float64Array(rows), new Float64Array(rows)];
    for (let i = 0; i < b; i++) {
      productRow(vs, ws, i, rows, cols, p);
      const g = tangentRow(hs, i, p, delta);
      for (let j = 0; j < rows; j++) r[i * (rows + 1) + j] = delta[j]! / g;
      r[i * (rows + 1) + rows] = Math.log(g);
    }
  }) satisfies CpuKernel<'tanhJvpStep'>,

  tanhJvpStepGrad: (([h, v, w, gy], o) => {
    const [b, rows] = h!.layout.shape as [number, number];
    const cols = w!.layout.shape[1]!;
    const [hs, vs, ws, gs] = [dense(h!), dense(v!), dense(w!), dense(gy!)];
    const r = out(o);
    const [p, delta] = [new Float64Array(rows), new Float64Array(rows)];
    for (let i = 0; i < b; i++) {
      productRow(vs, ws, i, rows, cols, p);
      const g = tangentRow(hs, i, p, delta);
      const gRow = i * (rows + 1);
      // dδ = (ḡ_u − u (u·ḡ_u) + u ḡ_ℓ)/g with u = δ/g
      let dot = 0;
      for (let j = 0; j < rows; j++) dot += (delta[j]! / g) * gs[gRow + j]!;
      const gl = gs[gRow + rows]!;
      for (let j = 0; j < rows; j++) {
        const u = delta[j]! / g;
        const dDelta = (gs[gRow + j]! - u * dot + u * gl) / g;
        const y = hs[i * rows + j]!;
        r[i * rows + j] = (1 - y * y) * dDelta;
        r[(b + i) * rows + j] = -2 * y * p[j]! * dDelta;
      }
    }
  }) satisfies CpuKernel<'tanhJvpStepGrad'>,
};
