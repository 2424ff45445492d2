/** cuda storage: a device allocation known to JS only by the addon's numeric id. */
import type { DeviceBuffer, KernelArg } from '../../backend.js';

export interface CudaBuffer extends DeviceBuffer {
  readonly id: number;
}

export type CudaArg = KernelArg<CudaBuffer>;
