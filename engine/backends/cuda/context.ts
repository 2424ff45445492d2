/** What every CUDA kernel wrapper needs: the addon, dtype checks, and dense / i32 temporaries of operands. */
import type { DType } from '../../dtype.js';
import { itemSize } from '../../dtype.js';
import { BackendError } from '../../errors.js';
import { numel } from '../../shape.js';
import type { CudaAddon, CudaDType } from './addon.js';
import type { CudaArg } from './cuda-buffer.js';
import { isDense, mergeAxes } from './layout.js';

export const CUDA_DTYPES: readonly DType[] = ['f32', 'i32', 'i8', 'u8'];

/** A dense view of an operand: its own buffer when already dense, else a temporary the caller must release. */
export interface DenseRef {
  id: number;
  offset: number;
  release(): void;
}

export class CudaContext {
  constructor(readonly addon: CudaAddon) {}

  dt(d: DType, op: string): CudaDType {
    if (d === 'f32' || d === 'i32' || d === 'i8' || d === 'u8') return d;
    throw new BackendError(`dtype ${d} is not supported by the CUDA backend (f32, i32, i8, u8)`, { op, dtypes: [d], backend: 'cuda' });
  }

  /** A temporary device buffer, freed by release(). Freeing right after queueing the kernel that reads it is
   * safe: the allocator hands the block out again only to work queued later on the same stream. */
  temp(n: number, d: DType): DenseRef {
    const id = this.addon.alloc(n * itemSize(d));
    return { id, offset: 0, release: () => this.addon.free(id) };
  }

  /** The operand as a dense block (a strided copy when it is a non-contiguous view). */
  dense(arg: CudaArg, op: string): DenseRef {
    if (isDense(arg)) return { id: arg.buffer.id, offset: arg.layout.offset, release: () => {} };
    const n = numel(arg.layout.shape);
    const t = this.temp(n, arg.dtype);
    const m = mergeAxes(arg.layout.shape, [arg.layout.strides], op);
    this.addon.copy(this.dt(arg.dtype, op), t.id, m.shape, arg.buffer.id, arg.layout.offset, m.strides[0]!);
    return t;
  }

  /** Index operands as dense i32 (the kernels read i32 only; u8 indices are widened first). */
  indices(arg: CudaArg, op: string): DenseRef {
    if (arg.dtype === 'i32') return this.dense(arg, op);
    const n = numel(arg.layout.shape);
    const t = this.temp(n, 'i32');
    const m = mergeAxes(arg.layout.shape, [arg.layout.strides], op);
    this.addon.cast('i32', this.dt(arg.dtype, op), t.id, m.shape, arg.buffer.id, arg.layout.offset, m.strides[0]!);
    return t;
  }
}
