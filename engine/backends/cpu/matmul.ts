/**
 * Batched matmul on the host: per batch, dense row-major blocks and an i-p-j loop that streams rows of B.
 * f16 operands (f16 storage, f32 accumulation) are decoded to their exact f32 values and go through the same loop
 * into the f32 output: each product of two halves is exact (11 + 11 significant bits fit f32's 24), and each
 * `acc[j] += a·b` is evaluated in double and rounded to the Float32Array on store, so the sum is an f32 accumulation
 * with one rounding per step (as an f32 FMA does).
 */
import type { Kernel } from '../../backend.js';
import { type TypedArray, allocTyped } from '../../dtype.js';
import { decodeF16 } from '../../half.js';
import { numel } from '../../shape.js';
import type { CpuArg, CpuBuffer } from './cpu-buffer.js';
import { dense, out } from './strided.js';

/** Batch offsets of an operand's matrices, in row-major batch order. */
function batchOffsets(arg: CpuArg): number[] {
  const { shape, strides, offset } = arg.layout;
  const batchShape = shape.slice(0, -2);
  const n = numel(batchShape);
  const offsets = new Array<number>(n);
  for (let b = 0; b < n; b++) {
    let rem = b;
    let off = offset;
    for (let d = batchShape.length - 1; d >= 0; d--) {
      off += (rem % batchShape[d]!) * strides[d]!;
      rem = Math.floor(rem / batchShape[d]!);
    }
    offsets[b] = off;
  }
  return offsets;
}

/** One matrix of a batched operand as a dense row-major array (cached when batches share storage, e.g. expanded). */
function matrices(arg: CpuArg): (b: number) => TypedArray {
  const { shape, strides } = arg.layout;
  const r = shape.length;
  const rows = shape[r - 2]!;
  const cols = shape[r - 1]!;
  const offsets = batchOffsets(arg);
  let lastOffset = -1;
  let last: TypedArray | null = null;
  return (b) => {
    const off = offsets[b]!;
    if (off === lastOffset && last) return last;
    lastOffset = off;
    const m = dense({ ...arg, layout: { shape: [rows, cols], strides: [strides[r - 2]!, strides[r - 1]!], offset: off } });
    last = arg.dtype === 'f16' ? decodeF16(m as Uint16Array) : m;
    return last;
  };
}

export const matmulKernels = {
  matmul: (([a, b], o) => {
    const r = a!.layout.shape.length;
    const m = a!.layout.shape[r - 2]!;
    const k = a!.layout.shape[r - 1]!;
    const n = b!.layout.shape[r - 1]!;
    const batches = numel(a!.layout.shape.slice(0, -2));
    const A = matrices(a!);
    const B = matrices(b!);
    const C = out(o);
    const acc = allocTyped(o.dtype, n);
    for (let bi = 0; bi < batches; bi++) {
      const Ab = A(bi);
      const Bb = B(bi);
      const base = bi * m * n;
      for (let i = 0; i < m; i++) {
        acc.fill(0);
        for (let p = 0; p < k; p++) {
          const av = Ab[i * k + p]!;
          const row = p * n;
          for (let j = 0; j < n; j++) acc[j]! += av * Bb[row + j]!;
        }
        C.set(acc, base + i * n);
      }
    }
  }) as Kernel<'matmul', CpuBuffer>,
};
