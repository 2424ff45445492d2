/** cpu storage: a typed array in host memory. */
import type { DeviceBuffer, KernelArg } from '../../backend.js';
import type { TypedArray } from '../../dtype.js';

export interface CpuBuffer extends DeviceBuffer {
  readonly data: TypedArray;
}

export type CpuArg = KernelArg<CpuBuffer>;
