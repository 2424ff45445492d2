/**
 * Reference kernel of matmulInt8: x [M, K] · (wq·ws)ᵀ. With 'int8' activations each row of x is quantised exactly
 * as the spec says (f32 arithmetic, round half to even, clamp ±127) and the inner products are exact integers.
 */
import type { Kernel } from '../../backend.js';
import type { CpuBuffer } from './cpu-buffer.js';
import { dense, out } from './strided.js';

/** Round half to even: the IEEE default rounding that C's nearbyint, WGSL's round and CUDA's rintf use. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const frac = v - f;
  if (frac !== 0.5) return frac < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Per-row symmetric quantisation of x [M, K]: codes in [−127, 127] and scales amax/127 (0 for an all-zero row).
 * `single` rounds every step to f32, as the f32 kernels of the other backends compute it.
 */
export function quantizeRows(x: ArrayLike<number>, m: number, k: number, single: boolean): { codes: Int32Array; scales: Float64Array } {
  const f = single ? Math.fround : (v: number) => v;
  const codes = new Int32Array(m * k);
  const scales = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let amax = 0;
    for (let p = 0; p < k; p++) amax = Math.max(amax, Math.abs(x[i * k + p]!));
    if (amax === 0) continue;
    const inv = f(127 / amax);
    scales[i] = f(amax / 127);
    for (let p = 0; p < k; p++) codes[i * k + p] = Math.max(-127, Math.min(127, roundHalfEven(f(x[i * k + p]! * inv))));
  }
  return { codes, scales };
}

export const quantKernels = {
  matmulInt8: (([x, wq, ws], o, { activations }) => {
    const shape = x!.layout.shape;
    const k = shape[shape.length - 1]!;
    const [n] = wq!.layout.shape as [number, number];
    const a = dense(x!);
    const w = dense(wq!);
    const s = dense(ws!);
    const m = k === 0 ? a.length : a.length / k;
    const r = out(o);
    if (activations === 'f32') {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let p = 0; p < k; p++) acc += a[i * k + p]! * w[j * k + p]!;
          r[i * n + j] = s[j]! * acc;
        }
      }
      return;
    }
    const { codes, scales } = quantizeRows(a, m, k, x!.dtype === 'f32');
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0; // |acc| ≤ 127²·K: exact in a double for any K below 2^38
        for (let p = 0; p < k; p++) acc += codes[i * k + p]! * w[j * k + p]!;
        r[i * n + j] = scales[i]! * s[j]! * acc;
      }
    }
  }) satisfies Kernel<'matmulInt8', CpuBuffer>,
};
