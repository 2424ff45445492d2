/**
 * Registers every backend with its availability check. A backend that cannot run says why, and `eitp info`
 * prints that reason.
 */
import type { Backend } from '../backend.js';
import { registerBackend } from '../device.js';
import { createCpuBackend } from './cpu/index.js';
import { loadCudaBackend } from './cuda/index.js';
import { loadNativeBackend } from './native/index.js';
import { webgpuLoader } from './webgpu/index.js';

// Buffers never cross backends (the dispatcher checks), so the typed buffer can be erased here.
registerBackend('cpu', () => createCpuBackend() as unknown as Backend);

// Each loader returns the backend or says why it cannot run here (no addon, no adapter, no device).
registerBackend('native', () => loadNativeBackend() as unknown as Backend | { unavailable: string });
registerBackend('webgpu', webgpuLoader); // available after `await et.initWebGPU()`
registerBackend('cuda', loadCudaBackend);
