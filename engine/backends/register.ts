/**
 * Registers every backend with its availability check. A backend that cannot run says why, and `eitp info`
 * prints that reason.
 */
import type { Backend } from '../backend.js';
import { registerBackend } from '../device.js';
import { createCpuBackend } from './cpu/index.js';

// Buffers never cross backends (the dispatcher checks), so the typed buffer can be erased here.
registerBackend('cpu', () => createCpuBackend() as unknown as Backend);

// The accelerated backends are separate work items; until their code lands, say so plainly.
registerBackend('native', () => ({ unavailable: 'not implemented in this version (the C++ SIMD backend is planned: issue #4)' }));
registerBackend('webgpu', () => ({ unavailable: 'not implemented in this version (the WGSL backend is planned: issue #3)' }));
registerBackend('cuda', () => ({ unavailable: 'not implemented in this version (the CUDA backend is planned: issue #10)' }));
