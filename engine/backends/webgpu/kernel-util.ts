/** Helpers shared by the webgpu kernel tables: dtype mapping, operand layouts and launch math. */
import type { KernelArg } from '../../backend.js';
import type { DType } from '../../dtype.js';
import { BackendError } from '../../errors.js';
import type { GpuBuffer } from './runtime.js';

export type GpuArg = KernelArg<GpuBuffer>;

/** WGSL has no 8-bit storage: u8 and i8 live one per 32-bit word (u32 / i32) and wrap on store. */
export function wgslType(d: DType): 'f32' | 'i32' | 'u32' {
  switch (d) {
    case 'f32':
      return 'f32';
    case 'i32':
    case 'i8':
      return 'i32';
    case 'u8':
      return 'u32';
    default:
      throw new BackendError(`dtype ${d} is not supported on webgpu (f32, i32, i8, u8)`, { backend: 'webgpu', dtypes: [d] });
  }
}

/**
 * Bytes of a buffer for n elements of dtype d: 4 per element (8-bit dtypes are widened to words), 2 for f16,
 * rounded up to whole 32-bit words (WebGPU copies, clears and writes work in multiples of 4 bytes).
 */
export function storageBytes(d: DType, n: number): number {
  return d === 'f16' ? Math.ceil(n / 2) * 4 : n * 4;
}

export const wrapMode = (d: DType): number => (d === 'u8' ? 1 : d === 'i8' ? 2 : 0);

export const isFloatType = (d: DType): boolean => d === 'f32';

// the engine's shape arithmetic (frozen shapes are read by index there: engine/shape.ts)
export { contiguousStrides, numel as numelOf } from '../../shape.js';

export const WG = 256;
