/**
 * The backend contract: allocate, free, write, read (async), run(kernel). Everything a backend must provide is
 * here; the rest of the engine never looks inside a backend's buffers.
 */
import type { DType, TypedArray } from './dtype.js';
import type { OpAttrs, OpName } from './ops/attrs.js';
import type { Layout } from './shape.js';

export type BackendName = 'cpu' | 'native' | 'webgpu' | 'cuda';
export const BACKEND_NAMES: readonly BackendName[] = ['cpu', 'native', 'webgpu', 'cuda'];

/** Time spent in one kernel (summed over its calls) during `et.profile(fn)`. */
export interface KernelTime {
  readonly kernel: string;
  readonly calls: number;
  readonly ms: number;
}

/** One kernel call of a profile's timeline: when it started (ms from the profile's start) and how long it ran. */
export interface KernelSpan {
  readonly kernel: string;
  readonly startMs: number;
  readonly ms: number;
}

/** An opaque device allocation. `bytes` is what `memory()` counts. */
export interface DeviceBuffer {
  readonly bytes: number;
}

/** One kernel operand: a buffer seen through a strided layout. Outputs are always dense (offset 0, contiguous). */
export interface KernelArg<B extends DeviceBuffer = DeviceBuffer> {
  readonly buffer: B;
  readonly dtype: DType;
  readonly layout: Layout;
}

export type Kernel<K extends OpName, B extends DeviceBuffer = DeviceBuffer> = (
  inputs: readonly KernelArg<B>[],
  output: KernelArg<B>,
  attrs: OpAttrs[K],
) => void;

/** View ops need no kernel; every other op needs one per backend. */
export type KernelOpName = Exclude<OpName, 'reshape' | 'permute' | 'slice' | 'expand' | 'stopGradient'>;

export type KernelTable<B extends DeviceBuffer = DeviceBuffer> = { [K in KernelOpName]?: Kernel<K, B> };

export interface Backend<B extends DeviceBuffer = DeviceBuffer> {
  readonly name: BackendName;
  /** dtypes this backend can hold. */
  readonly dtypes: readonly DType[];
  /** True when the kernels run under a CPU emulator (tests only): 'auto' never picks such a backend. */
  readonly emulated?: boolean;
  /** One line for `eitp info`: device, addon, ISA. */
  readonly detail?: string;
  readonly kernels: KernelTable<B>;
  allocate(numel: number, dtype: DType): B;
  free(buffer: B): void;
  write(buffer: B, data: TypedArray): void;
  read(buffer: B, dtype: DType, numel: number): Promise<TypedArray>;
  /** Synchronous read, only where the memory is host memory (cpu). */
  readSync?(buffer: B, dtype: DType, numel: number): TypedArray;
  /** Releases device resources so the process can exit. */
  destroy?(): void;
}

export interface BackendStatus {
  readonly name: BackendName;
  readonly available: boolean;
  readonly reason?: string;
  readonly detail?: string;
  readonly emulated?: boolean;
}
