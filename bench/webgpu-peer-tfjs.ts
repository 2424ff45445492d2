/**
 * @tensorflow/tfjs-backend-webgpu on the engine's Dawn instance, for side-by-side benchmarks. Three shims make it
 * run in Node (../shared/GPU-WITHOUT-GPU.md): the WebGPU globals on globalThis, navigator.gpu, and a flattened
 * requiredFeatures array in requestDevice.
 */
import { globals } from 'webgpu';

export type Tf = typeof import('@tensorflow/tfjs-core');

export async function loadTfjsWebGpu(gpu: GPU): Promise<Tf> {
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(globals as Record<string, unknown>)) if (!(k in g)) g[k] = v;
  Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node' }, configurable: true });
  const adapterProto = (globals as { GPUAdapter: { prototype: GPUAdapter } }).GPUAdapter.prototype;
  const requestDevice = adapterProto.requestDevice;
  adapterProto.requestDevice = function (this: GPUAdapter, desc?: GPUDeviceDescriptor) {
    const features = desc?.requiredFeatures ? ([...desc.requiredFeatures] as unknown[]).flat() : undefined;
    return requestDevice.call(this, desc ? { ...desc, ...(features ? { requiredFeatures: features as GPUFeatureName[] } : {}) } : desc);
  };
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  await tf.setBackend('webgpu');
  await tf.ready();
  return tf;
}

/** Submits tfjs's pending commands and waits for the device (no readback). */
export async function tfjsSync(tf: Tf): Promise<void> {
  const backend = tf.backend() as unknown as { submitQueue(): void; device: GPUDevice };
  backend.submitQueue();
  await backend.device.queue.onSubmittedWorkDone();
}
