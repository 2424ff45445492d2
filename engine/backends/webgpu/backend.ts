/** The webgpu Backend object: allocation through the pool, 8-bit dtypes widened to 32-bit words, f16 packed two per word, async reads. */
import type { Backend, KernelTable } from '../../backend.js';
import type { DType, TypedArray } from '../../dtype.js';
import { BackendError } from '../../errors.js';
import type { GpuContext } from './context.js';
import { densityKernels } from './kernels-density.js';
import { eitpKernels } from './kernels-eitp.js';
import { elementwiseKernels } from './kernels-elementwise.js';
import { ftleKernels } from './kernels-ftle.js';
import { indexingKernels } from './kernels-indexing.js';
import { matmulKernels } from './kernels-matmul.js';
import { nnKernels } from './kernels-nn.js';
import { quantKernels } from './kernels-quant.js';
import { reduceKernels } from './kernels-reduce.js';
import { trainKernels } from './kernels-train.js';
import type { GpuBuffer } from './runtime.js';
import { storageBytes } from './kernel-util.js';

/** f64 stays on cpu (WGSL has no f64); u8 / i8 are stored one per 32-bit word. */
export const WEBGPU_DTYPES: readonly DType[] = ['f32', 'i32', 'u8', 'i8'];
/** With the 'shader-f16' device feature: f16 too, two per 32-bit word (its binary16 bits, as on the host). */
const WEBGPU_DTYPES_F16: readonly DType[] = [...WEBGPU_DTYPES, 'f16'];

/** Every kernel op: `satisfies Required<…>` makes a missing one a compile error (the coverage table checks too). */
export function webgpuKernels(g: GpuContext) {
  return {
    ...elementwiseKernels(g),
    ...reduceKernels(g),
    ...matmulKernels(g),
    ...nnKernels(g),
    ...eitpKernels(g),
    ...densityKernels(g),
    ...ftleKernels(g),
    ...trainKernels(g),
    ...quantKernels(g),
    ...indexingKernels(g),
  } satisfies Required<KernelTable<GpuBuffer>>;
}

function widen(data: TypedArray): ArrayBufferView {
  if (data instanceof Uint8Array) return Uint32Array.from(data);
  if (data instanceof Int8Array) return Int32Array.from(data);
  // f16 bits as they are; an odd count gets a zero half so that the write is whole 32-bit words
  if (data instanceof Uint16Array && data.length % 2 === 1) return padToWords(data);
  if (data instanceof Float64Array) throw new BackendError('f64 data cannot live on webgpu (WGSL has no f64); cast to f32 first', { backend: 'webgpu', dtypes: ['f64'] });
  return data;
}

function narrow(bytes: ArrayBuffer, dtype: DType, numel: number): TypedArray {
  switch (dtype) {
    case 'f32':
      return new Float32Array(bytes, 0, numel);
    case 'i32':
      return new Int32Array(bytes, 0, numel);
    case 'u8':
      return Uint8Array.from(new Uint32Array(bytes, 0, numel));
    case 'i8':
      return Int8Array.from(new Int32Array(bytes, 0, numel));
    case 'f16':
      return new Uint16Array(bytes, 0, numel);
    default:
      throw new BackendError(`dtype ${dtype} is not supported on webgpu`, { backend: 'webgpu', dtypes: [dtype] });
  }
}

function padToWords(data: Uint16Array): Uint16Array {
  const out = new Uint16Array(data.length + 1);
  out.set(data);
  return out;
}

export function createWebGpuBackend(g: GpuContext, detail?: string): Backend<GpuBuffer> {
  const kernels = webgpuKernels(g);
  const dtypes = g.f16 ? WEBGPU_DTYPES_F16 : WEBGPU_DTYPES;
  return {
    name: 'webgpu',
    ...(detail ? { detail } : {}),
    dtypes,
    kernels,
    allocate(numel: number, dtype: DType): GpuBuffer {
      if (!dtypes.includes(dtype)) throw new BackendError(`dtype ${dtype} is not supported on webgpu`, { backend: 'webgpu', dtypes: [dtype] });
      return g.runtime.allocate(storageBytes(dtype, numel));
    },
    free(buffer: GpuBuffer): void {
      g.runtime.free(buffer);
    },
    write(buffer: GpuBuffer, data: TypedArray): void {
      if (data.length === 0) return;
      g.runtime.write(buffer, widen(data));
    },
    async read(buffer: GpuBuffer, dtype: DType, numel: number): Promise<TypedArray> {
      if (numel === 0) return narrow(new ArrayBuffer(0), dtype, 0);
      const bytes = await g.runtime.read(buffer, storageBytes(dtype, numel));
      return narrow(bytes, dtype, numel);
    },
    destroy(): void {
      g.runtime.destroy();
    },
  };
}
