/**
 * Launch geometry for the CUDA kernels: axes of size 1 are dropped and neighbouring axes that every operand
 * walks as one are merged, so most views reach the kernels as rank 1 or 2 (cheaper index math, and within the
 * kernels' 8-axis limit).
 */
import type { KernelArg } from '../../backend.js';
import { BackendError } from '../../errors.js';
import { isContiguous } from '../../shape.js';
import type { CudaBuffer } from './cuda-buffer.js';

const MAX_DIMS = 8;

export interface Merged {
  shape: number[];
  strides: number[][];
}

/** Merges axes d and d+1 wherever stride[d] = stride[d+1]·shape[d+1] holds for every operand. */
export function mergeAxes(shape: readonly number[], strides: readonly (readonly number[])[], op: string): Merged {
  const out: Merged = { shape: [], strides: strides.map(() => []) };
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const last = out.shape.length - 1;
    if (last >= 0 && strides.every((s, k) => out.strides[k]![last] === s[d]! * n)) {
      out.shape[last]! *= n;
      out.strides.forEach((o, k) => (o[last] = strides[k]![d]!));
    } else {
      out.shape.push(n);
      out.strides.forEach((o, k) => o.push(strides[k]![d]!));
    }
  }
  if (out.shape.length > MAX_DIMS) {
    throw new BackendError(`views with more than ${MAX_DIMS} unmergeable axes are not supported by the CUDA kernels`, { op, shapes: [shape], backend: 'cuda' });
  }
  return out;
}

/** An operand that is dense from `offset`, as the row kernels (softmax, layerNorm, …) need. */
export const isDense = (arg: KernelArg<CudaBuffer>): boolean => isContiguous(arg.layout);
