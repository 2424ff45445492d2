/**
 * Casts to and from f16 storage (kernels/cast-f16.wgsl): integer arithmetic on the bit patterns, so the results
 * equal the cpu reference's (engine/half.ts) exactly on every adapter. f16 copies go through copy-f16.wgsl
 * (stridedCopy) and the f16 x f16 matmul through matmul-f16.wgsl (runMatmul).
 */
import { BackendError } from '../../errors.js';
import type { GpuContext } from './context.js';
import { type GpuArg, WG, numelOf } from './kernel-util.js';
import { Params, jointLayouts } from './layout.js';
import { Runtime } from './runtime.js';

/** SRC codes of to_f16: how a source word becomes an f32. i8 and u8 live in i32 / u32 words. */
const SOURCE_CODE = { f32: 0, i32: 1, i8: 1, u8: 2 } as const;

export function runCastF16(g: GpuContext, x: GpuArg, o: GpuArg): void {
  const n = numelOf(o.layout.shape);
  if (n === 0) return;
  const [src] = jointLayouts(x.layout.shape, [x.layout]);
  const params = new Params().u32(n, 0, 0, 0).layout(src!).done();
  if (x.dtype === 'f16') {
    if (o.dtype !== 'f32') throw new BackendError(`cast f16 -> ${o.dtype} is not supported on webgpu (f16 -> f32 only)`, { op: 'cast', backend: 'webgpu', dtypes: [x.dtype, o.dtype] });
    const p = g.pipelines.get({ file: 'cast-f16.wgsl', entry: 'from_f16', constants: { WG } });
    g.runtime.dispatch(p, [x.buffer, o.buffer], params, Runtime.grid1d(n, WG));
    return;
  }
  const code = SOURCE_CODE[x.dtype as keyof typeof SOURCE_CODE];
  if (code === undefined) throw new BackendError(`cast ${x.dtype} -> f16 is not supported on webgpu`, { op: 'cast', backend: 'webgpu', dtypes: [x.dtype, o.dtype] });
  const p = g.pipelines.get({ file: 'cast-f16.wgsl', entry: 'to_f16', constants: { WG, SRC: code } });
  // one invocation per output word (two halves)
  g.runtime.dispatch(p, [x.buffer, o.buffer], params, Runtime.grid1d(Math.ceil(n / 2), WG));
}
