/**
 * Every kernel file compiles for every specialisation the backend uses (type aliases x override constants), with
 * the compiler's own messages on failure instead of a later "invalid pipeline".
 */
import { describe, expect, it } from 'vitest';
import '../engine/index.js';
import { initWebGPU } from '../engine/backends/webgpu/index.js';
import { kernelSource } from '../engine/backends/webgpu/shaders.js';
import { webgpuDevice } from '../engine/backends/webgpu/index.js';

const status = await initWebGPU();

const SPECS: { file: string; defines: Record<string, string>[] }[] = [
  { file: 'unary.wgsl', defines: ['f32', 'i32', 'u32'].flatMap((ti) => ['f32', 'i32', 'u32'].map((to) => ({ TI: ti, TO: to }))) },
  { file: 'binary.wgsl', defines: ['f32', 'i32', 'u32'].flatMap((t) => [t, 'u32'].map((to) => ({ T: t, TO: to }))) },
  { file: 'where.wgsl', defines: [{ T: 'f32' }, { T: 'i32' }, { T: 'u32' }] },
  { file: 'copy.wgsl', defines: [{ T: 'f32' }, { T: 'i32' }, { T: 'u32' }] },
  { file: 'reduce.wgsl', defines: [{ TI: 'f32', TO: 'f32' }, { TI: 'f32', TO: 'i32' }, { TI: 'i32', TO: 'i32' }, { TI: 'u32', TO: 'u32' }] },
  { file: 'matmul.wgsl', defines: [{ TM: '4u', TN: '4u' }, { TM: '1u', TN: '1u' }, { TM: '8u', TN: '4u' }] },
  { file: 'softmax.wgsl', defines: [{}] },
  { file: 'cross-entropy.wgsl', defines: [{ TT: 'i32' }, { TT: 'u32' }] },
  { file: 'layer-norm.wgsl', defines: [{}] },
  { file: 'embedding.wgsl', defines: [{ TI: 'i32' }, { TI: 'u32' }] },
  { file: 'scatter-add.wgsl', defines: [{ TI: 'i32' }, { TI: 'u32' }] },
  { file: 'one-hot.wgsl', defines: [{ TI: 'i32', TO: 'f32' }, { TI: 'u32', TO: 'i32' }] },
];

describe.runIf(status.available)('webgpu kernel sources', () => {
  it.each(SPECS.flatMap((s) => s.defines.map((d) => [`${s.file} ${JSON.stringify(d)}`, s.file, d] as const)))('%s compiles', async (_l, file, defines) => {
    const device = webgpuDevice();
    const module = device.createShaderModule({ code: kernelSource(file, defines) });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
    expect(errors).toEqual([]);
  });
});
