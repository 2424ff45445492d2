/**
 * `et.profile(fn)`: per-kernel times of the work fn queues on the current backend. webgpu times dispatches with
 * timestamp queries (device time); native times each task on the thread that runs it (wall time). cpu and cuda
 * have no profiler: asking for one there is a BackendError, not an empty answer.
 */
import type { KernelSpan, KernelTime } from './backend.js';
import { nativeProfile } from './backends/native/index.js';
import { webgpuProfile } from './backends/webgpu/index.js';
import { getBackend } from './device.js';
import { BackendError } from './errors.js';

export interface ProfileResult<T> {
  readonly result: T;
  /** Time per kernel name, most time first. */
  readonly kernels: KernelTime[];
  readonly totalMs: number;
  /** native only: every kernel call in order, with its start, so gaps (the stream waiting for work) show. */
  readonly timeline?: KernelSpan[];
}

export function profile<T>(fn: () => T | Promise<T>): Promise<ProfileResult<T>> {
  const backend = getBackend();
  if (backend === 'webgpu') return webgpuProfile(fn);
  if (backend === 'native') return nativeProfile(fn);
  return Promise.reject(new BackendError(`et.profile() times kernels on webgpu and native; the current backend is ${backend}`, { op: 'profile', backend }));
}
