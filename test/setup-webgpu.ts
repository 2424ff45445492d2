/**
 * vitest setup: brings the webgpu backend up before a test file's suites are collected (describe.each over
 * available backends runs at import time), and destroys the device after the file so the worker can exit.
 * Tensors created without an explicit backend stay on the backend 'auto' would pick without webgpu, unless
 * EITP_BACKEND says otherwise, so suites that are not about webgpu (f64 gradchecks, goldens) are unaffected.
 */
import { afterAll } from 'vitest';
import * as et from '../engine/index.js';
import { destroyWebGPU, initWebGPU } from '../engine/backends/webgpu/index.js';

const status = await initWebGPU();
if (!status.available && process.env.EITP_REQUIRE_WEBGPU === '1') {
  throw new Error(`EITP_REQUIRE_WEBGPU=1 but webgpu is unavailable: ${status.reason}`);
}
if (!process.env.EITP_BACKEND && et.setBackend('auto') === 'webgpu') et.setBackend('cpu');

afterAll(() => destroyWebGPU());
