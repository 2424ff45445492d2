/**
 * matmulInt8 (kernels/matmul-int8*.wgsl): x [..., K] · (wq·ws)ᵀ with int8 weights, which live one value per 32-bit
 * word on webgpu. Each call first packs the weights into i8x4 words, transposed to [K/4, N] (a quarter of the
 * traffic, and neighbouring invocations read neighbouring words; per call because a pool buffer may be reused by
 * another tensor, so there is nothing safe to cache by buffer). 'f32' activations then multiply in f32; 'int8'
 * activations are quantised per row into packed words and row scales, and the exact i32 dot products run on
 * dot4I8Packed where WGSL has it, on byte arithmetic otherwise (GpuContext.int8Dot).
 */
import type { Kernel } from '../../backend.js';
import { ShapeError } from '../../errors.js';
import type { GpuContext } from './context.js';
import { withDense } from './kernels-elementwise.js';
import { pickVariant } from './kernels-matmul.js';
import { type GpuArg, numelOf } from './kernel-util.js';
import { Params } from './layout.js';
import { Runtime, type GpuBuffer } from './runtime.js';

const MAX_GROUPS = 65535;
const QUANT_WG = 64;

function matmulInt8(g: GpuContext, x: GpuArg, wq: GpuArg, ws: GpuArg, o: GpuArg, activations: 'f32' | 'int8'): void {
  const shape = x.layout.shape;
  const k = shape[shape.length - 1]!;
  const n = wq.layout.shape[0]!;
  const m = numelOf(shape.slice(0, -1));
  if (m * n === 0) return;
  if (k === 0) {
    g.runtime.clear(o.buffer, m * n * 4);
    return;
  }
  const v = pickVariant(m, n);
  const groups: [number, number, number] = [Math.ceil(n / (v.tn * v.wgx)), Math.ceil(m / (v.tm * v.wgy)), 1];
  if (groups[0] > MAX_GROUPS || groups[1] > MAX_GROUPS) {
    throw new ShapeError(`matmulInt8: [${m}, ${n}] outputs need more than the ${MAX_GROUPS} workgroups per axis a dispatch has`, { op: 'matmulInt8', backend: 'webgpu' });
  }
  const spec = (file: string, entry: string) => g.pipelines.get({ file, entry, defines: { TM: `${v.tm}u`, TN: `${v.tn}u` }, constants: { WGX: v.wgx, WGY: v.wgy } });
  const k4 = Math.ceil(k / 4);
  const params = new Params().u32(m, n, k, k4).done();
  const weights = g.runtime.allocate(n * k4 * 4);
  const codes = activations === 'int8' ? g.runtime.allocate(m * k4 * 4) : null;
  const scales = activations === 'int8' ? g.runtime.allocate(m * 4) : null;
  try {
    // weights [n, k] (a word per value) → packed and transposed [k4, n]
    const pack = g.pipelines.get({ file: 'matmul-int8-quantize.wgsl', entry: 'pack_weights', constants: { WG: QUANT_WG } });
    g.runtime.dispatch(pack, [wq.buffer, weights], new Params().u32(n, k, k4, 0).done(), [Math.ceil(n / QUANT_WG), Math.min(k4, MAX_GROUPS), 1]);
    if (!codes || !scales) {
      g.runtime.dispatch(spec('matmul-int8-unpacked.wgsl', 'main_f32'), [x.buffer, weights, ws.buffer, o.buffer], params, groups);
      return;
    }
    const rows = g.pipelines.get({ file: 'matmul-int8-quantize.wgsl', entry: 'rows', constants: { WG: QUANT_WG } });
    g.runtime.dispatch(rows, [x.buffer, codes, scales], new Params().u32(m, k, k4, 0).done(), Runtime.grid1d(m, 1));
    const file = g.int8Dot === 'packed' ? 'matmul-int8-dot4.wgsl' : 'matmul-int8-unpacked.wgsl';
    g.runtime.dispatch(spec(file, 'main_int8'), [codes, weights, ws.buffer, o.buffer, scales], params, groups);
  } finally {
    g.runtime.free(weights);
    if (codes) g.runtime.free(codes);
    if (scales) g.runtime.free(scales);
  }
}

export function quantKernels(g: GpuContext) {
  return {
    matmulInt8: (([x, wq, ws], o, { activations }) =>
      withDense(g, [x!, wq!, ws!], ([dx, dw, ds]) => matmulInt8(g, dx!, dw!, ds!, o, activations))) as Kernel<'matmulInt8', GpuBuffer>,
  };
}
