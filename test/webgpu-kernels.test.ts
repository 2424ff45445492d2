/**
 * Every kernel file compiles for every specialisation the backend uses (type aliases x override constants), with
 * the compiler's own messages on failure instead of a later "invalid pipeline".
 */
import { describe, expect, it } from 'vitest';
import '../engine/index.js';
import { initWebGPU } from '../engine/backends/webgpu/index.js';
import { kernelSource } from '../engine/backends/webgpu/shaders.js';
import { webgpuDevice, webgpuStats } from '../engine/backends/webgpu/index.js';

const status = await initWebGPU();
/** matmul-int8-dot4.wgsl calls dot4I8Packed, which only compiles where WGSL has the packed dot product. */
const hasPackedDot = status.available && webgpuStats().wgslFeatures.includes('packed_4x8_integer_dot_product');
/** The f16 kernels that declare f16 (`enable f16`) need the device feature shader-f16. */
const hasF16 = status.available && webgpuStats().features.includes('shader-f16');

const SPECS: { file: string; defines: Record<string, string>[] }[] = [
  { file: 'unary.wgsl', defines: ['f32', 'i32', 'u32'].flatMap((ti) => ['f32', 'i32', 'u32'].map((to) => ({ TI: ti, TO: to }))) },
  { file: 'binary.wgsl', defines: ['f32', 'i32', 'u32'].flatMap((t) => [t, 'u32'].map((to) => ({ T: t, TO: to }))) },
  { file: 'where.wgsl', defines: [{ T: 'f32' }, { T: 'i32' }, { T: 'u32' }] },
  { file: 'copy.wgsl', defines: [{ T: 'f32' }, { T: 'i32' }, { T: 'u32' }] },
  { file: 'reduce.wgsl', defines: [{ TI: 'f32', TO: 'f32' }, { TI: 'f32', TO: 'i32' }, { TI: 'i32', TO: 'i32' }, { TI: 'u32', TO: 'u32' }] },
  { file: 'matmul.wgsl', defines: [{ TM: '4u', TN: '4u' }, { TM: '1u', TN: '1u' }, { TM: '8u', TN: '4u' }] },
  { file: 'softmax.wgsl', defines: [{}] },
  { file: 'softmax-grad.wgsl', defines: [{}] },
  { file: 'cross-entropy.wgsl', defines: [{ TT: 'i32' }, { TT: 'u32' }] },
  { file: 'layer-norm.wgsl', defines: [{}] },
  { file: 'embedding.wgsl', defines: [{ TI: 'i32' }, { TI: 'u32' }] },
  { file: 'scatter-add.wgsl', defines: [{ TI: 'i32' }, { TI: 'u32' }] },
  { file: 'one-hot.wgsl', defines: [{ TI: 'i32', TO: 'f32' }, { TI: 'u32', TO: 'i32' }] },
  { file: 'soft-histogram.wgsl', defines: [{ T: '64u', KB: '64u' }, { T: '32u', KB: '128u' }, { T: '64u', KB: '7u' }] },
  { file: 'soft-histogram-grad.wgsl', defines: [{ GS: '64u' }, { GS: '1u' }] },
  { file: 'correlation-stats.wgsl', defines: [{}] },
  { file: 'correlation-syrk.wgsl', defines: [{ TB: '1u' }, { TB: '4u' }, { TB: '8u' }] },
  { file: 'correlation-symmetrize.wgsl', defines: [{}] },
  { file: 'correlation-backward.wgsl', defines: [{}] },
  { file: 'matmul-int8-quantize.wgsl', defines: [{}] },
  { file: 'sgd-step.wgsl', defines: [{}] },
  { file: 'activation-grad.wgsl', defines: [{}] },
  { file: 'activation-density.wgsl', defines: [{}, { WG: '64u' }] },
  { file: 'activation-density-grad.wgsl', defines: [{}] },
  { file: 'tanh-jvp.wgsl', defines: [{ TM: '4u', TN: '4u' }, { TM: '1u', TN: '1u' }, { TM: '8u', TN: '16u' }] },
  { file: 'tanh-jvp-step.wgsl', defines: [{ RB: '1u', TJ: '1u', WG: '32u' }, { RB: '4u', TJ: '4u', WG: '256u' }] },
  { file: 'tanh-jvp-step-grad.wgsl', defines: [{ RB: '1u', TJ: '1u', WG: '32u' }, { RB: '4u', TJ: '4u', WG: '256u' }] },
  { file: 'matmul-int8-unpacked.wgsl', defines: [{ TM: '4u', TN: '4u' }, { TM: '1u', TN: '1u' }, { TM: '8u', TN: '16u' }] },
  ...(hasPackedDot ? [{ file: 'matmul-int8-dot4.wgsl', defines: [{ TM: '4u', TN: '4u' }, { TM: '8u', TN: '16u' }] }] : []),
  { file: 'cast-f16.wgsl', defines: [{}] },
  ...(hasF16
    ? [
        { file: 'copy-f16.wgsl', defines: [{ T: 'f16' }] },
        { file: 'matmul-f16.wgsl', defines: [{ TA: 'f16', TM: '4u', TN: '4u' }, { TA: 'f16', TM: '4u', TN: '1u' }, { TA: 'f16', TM: '8u', TN: '16u' }] },
      ]
    : []),
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
