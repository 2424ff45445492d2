/**
 * Batched matmul (kernels/matmul.wgsl): register-blocked, no workgroup memory, operands read through their
 * strides (a transposed view costs nothing). The block shape is chosen by the output's shape; the table below was
 * picked with bench/webgpu-matmul-variants.ts on lavapipe (GFLOP per CPU-second, steadier than wall time on a shared
 * machine), where each SIMD lane is one invocation and bigger register blocks amortise the gathers of A and B.
 * `linear` is the same kernel with its epilogue switched on (bias + activation as the accumulators are stored).
 */
import type { Kernel } from '../../backend.js';
import { ShapeError } from '../../errors.js';
import type { GradActivation } from '../../ops/attrs.js';
import type { GpuContext } from './context.js';
import { type GpuArg, numelOf } from './kernel-util.js';
import { Params, jointLayouts } from './layout.js';
import type { GpuBuffer } from './runtime.js';

export interface MatmulVariant {
  readonly tm: number;
  readonly tn: number;
  readonly wgx: number;
  readonly wgy: number;
}

export const MATMUL_VARIANTS: Record<string, MatmulVariant> = {
  /** large outputs: 8×16 blocks measured best on lavapipe (about 10 GFLOP per CPU-second vs 4 for 4×4 at 1024²) */
  large: { tm: 8, tn: 16, wgx: 8, wgy: 8 },
  /** medium outputs: smaller blocks keep enough invocations busy */
  medium: { tm: 8, tn: 8, wgx: 8, wgy: 8 },
  /** few columns (classifier heads, matrix-vector) */
  skinny: { tm: 4, tn: 1, wgx: 4, wgy: 16 },
  /** tiny outputs: one element per invocation */
  small: { tm: 1, tn: 1, wgx: 8, wgy: 8 },
};

/** The `linear` epilogue: + bias[c] and an activation, applied as the accumulators are stored. */
export interface MatmulEpilogue {
  /** [N], any stride / offset */
  readonly bias: GpuArg;
  readonly activation: 'none' | GradActivation;
}

/** ACT codes of kernels/matmul.wgsl. */
const ACT_CODE = { none: 0, relu: 1, tanh: 2, sigmoid: 3 } as const;

export function pickVariant(m: number, n: number): MatmulVariant {
  if (m * n <= 256) return MATMUL_VARIANTS.small!;
  if (n <= 4) return MATMUL_VARIANTS.skinny!;
  // 8×16 also won on the MLP shapes (64×784·784×256, 784×64·64×256, 64×256·256×784) in CPU time per product
  if (m * n >= 4096 && n >= 32 && m >= 16) return MATMUL_VARIANTS.large!;
  return MATMUL_VARIANTS.medium!;
}

export function runMatmul(g: GpuContext, a: GpuArg, b: GpuArg, o: GpuArg, variant?: MatmulVariant, epilogue?: MatmulEpilogue): void {
  const ra = a.layout.shape.length;
  const rb = b.layout.shape.length;
  const m = a.layout.shape[ra - 2]!;
  const k = a.layout.shape[ra - 1]!;
  const n = b.layout.shape[rb - 1]!;
  const batchShape = o.layout.shape.slice(0, -2);
  const batches = numelOf(batchShape);
  if (batches > 65535) throw new ShapeError(`matmul: ${batches} batches exceed the 65535 the kernel launches`, { op: 'matmul', backend: 'webgpu' });
  if (m * n * batches === 0) return;
  // with k = 0 the product is 0; an epilogue still has bias and activation to apply, which the kernel does (its k loop
  // runs zero times)
  if (k === 0 && !epilogue) {
    g.runtime.clear(o.buffer, m * n * batches * 4);
    return;
  }
  const v = variant ?? pickVariant(m, n);
  const [ba, bb] = jointLayouts(batchShape, [
    { shape: batchShape, strides: a.layout.strides.slice(0, -2), offset: a.layout.offset },
    { shape: batchShape, strides: b.layout.strides.slice(0, -2), offset: b.layout.offset },
  ]);
  // f16 operands (f16 storage, f32 accumulation): the same kernel reading halves (matmul-f16.wgsl wraps it with `enable f16`)
  const half = a.dtype === 'f16';
  const p = g.pipelines.get({
    file: half ? 'matmul-f16.wgsl' : 'matmul.wgsl',
    defines: half ? { TA: 'f16', TM: `${v.tm}u`, TN: `${v.tn}u` } : { TM: `${v.tm}u`, TN: `${v.tn}u` },
    constants: { WGX: v.wgx, WGY: v.wgy, HAS_BIAS: epilogue !== undefined, ACT: ACT_CODE[epilogue?.activation ?? 'none'] },
  });
  const bias = epilogue?.bias;
  const params = new Params()
    .u32(m, n, k, batches, a.layout.strides[ra - 2]!, a.layout.strides[ra - 1]!, b.layout.strides[rb - 2]!, b.layout.strides[rb - 1]!)
    .layout(ba!)
    .layout(bb!)
    .u32(bias ? bias.layout.offset : 0, bias ? bias.layout.strides[0]! : 0)
    .done();
  const groups: [number, number, number] = [Math.ceil(n / v.tn / v.wgx), Math.ceil(m / v.tm / v.wgy), batches];
  // without an epilogue the kernel never reads its bias binding, but the binding exists: A stands in for it
  g.runtime.dispatch(p, [a.buffer, b.buffer, o.buffer, bias ? bias.buffer : a.buffer], params, groups);
}

export function matmulKernels(g: GpuContext) {
  return {
    matmul: (([a, b], o) => runMatmul(g, a!, b!, o)) as Kernel<'matmul', GpuBuffer>,
    linear: (([x, w, b], o, { activation }) => runMatmul(g, x!, w!, o, undefined, { bias: b!, activation })) as Kernel<'linear', GpuBuffer>,
  };
}
