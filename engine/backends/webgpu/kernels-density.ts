/**
 * The thermodynamic term's activation density on webgpu (kernels/activation-density*.wgsl): activationDensity as
 * one pass over a into per-workgroup partial sums, which reduce.wgsl adds in a fixed order (no float atomics, so
 * the result does not depend on scheduling), and activationDensityGrad as one elementwise pass. a is read in place
 * through its layout (a transposed or sliced activation costs no gather); τ and g are read by the kernels from their
 * own buffers at their offsets, so nothing is read back to the host.
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { GpuContext } from './context.js';
import { runReduce } from './kernels-reduce.js';
import { type GpuArg, WG, numelOf } from './kernel-util.js';
import { type FlatLayout, Params, isDenseLayout, jointLayouts } from './layout.js';
import { Runtime, type GpuBuffer } from './runtime.js';

type GpuKernel<K extends KernelOpName> = Kernel<K, GpuBuffer>;

/** Invocations of the forward's workgroup (its tree in workgroup memory has one slot per invocation). */
const SUM_WG = 256;
/**
 * Elements per invocation at least. Each workgroup pays for its tree's eight barriers, and on lavapipe (one CPU
 * thread runs a workgroup's 256 invocations as 8-wide slices, and every barrier passes through all of them) that
 * dominated: n = 4 Mi took ≈ 50 ms of device time at 4 elements per invocation (4096 workgroups), ≈ 15 ms at 32
 * (512 workgroups). A GPU still gets hundreds of workgroups at the sizes that matter, each invocation streaming 32
 * coalesced loads.
 */
const MIN_PER_THREAD = 32;
/**
 * Partial sums at most. Past 1024·SUM_WG·MIN_PER_THREAD = 8 Mi elements each workgroup takes more elements instead
 * of more workgroups, so the 1-D grid stays far below the 65535 workgroups a dispatch dimension has, and the second
 * pass adds at most 1024 values.
 */
const MAX_PARTIALS = 1024;

/** a's layout with its axes merged, and whether it reads elements offset + i (then no index math in the kernel). */
function readLayout(a: GpuArg): { layout: FlatLayout; dense: boolean } {
  const [layout] = jointLayouts(a.layout.shape, [a.layout]);
  return { layout: layout!, dense: isDenseLayout(layout!) };
}

/** The storage index of a one-element tensor's element: its offset (all its strides multiply index 0). */
const elementAt = (x: GpuArg): number => x.layout.offset;

// operands are f32 here: the op takes floats, webgpu has no f64, and dispatch stops f16 (a storage-only dtype)
function density(g: GpuContext, a: GpuArg, tau: GpuArg, o: GpuArg, eps: number): void {
  const n = numelOf(a.layout.shape);
  const perGroup = Math.ceil(Math.max(SUM_WG * MIN_PER_THREAD, Math.ceil(n / MAX_PARTIALS)) / SUM_WG) * SUM_WG;
  const groups = Math.ceil(n / perGroup);
  const { layout, dense } = readLayout(a);
  // one workgroup writes the density itself; more write partials (each already divided by n) for reduce.wgsl
  const partial = groups === 1 ? o.buffer : g.runtime.allocate(groups * 4);
  try {
    const p = g.pipelines.get({ file: 'activation-density.wgsl', defines: { WG: `${SUM_WG}u` }, constants: { DENSE_A: dense } });
    const params = new Params().u32(n, perGroup, elementAt(tau), 0).f32(eps).f32(1 / n).u32(0, 0).layout(layout).done();
    g.runtime.dispatch(p, [a.buffer, tau.buffer, partial], params, [groups, 1, 1]);
    if (groups > 1) runReduce(g, 'sum', { buffer: partial, dtype: 'f32', layout: { shape: [groups], strides: [1], offset: 0 } }, o, [0]);
  } finally {
    if (partial !== o.buffer) g.runtime.free(partial);
  }
}

function densityGrad(g: GpuContext, a: GpuArg, tau: GpuArg, cot: GpuArg, o: GpuArg, eps: number): void {
  const n = numelOf(a.layout.shape);
  const { layout, dense } = readLayout(a);
  const p = g.pipelines.get({ file: 'activation-density-grad.wgsl', constants: { WG, DENSE_A: dense } });
  const params = new Params().u32(n, elementAt(tau), elementAt(cot), 0).f32(eps).f32(2 / n).u32(0, 0).layout(layout).done();
  g.runtime.dispatch(p, [a.buffer, tau.buffer, cot.buffer, o.buffer], params, Runtime.grid1d(n, WG));
}

export function densityKernels(g: GpuContext) {
  return {
    activationDensity: (([a, tau], o, { eps }) => density(g, a!, tau!, o, eps)) as GpuKernel<'activationDensity'>,
    activationDensityGrad: (([a, tau, cot], o, { eps }) => densityGrad(g, a!, tau!, cot!, o, eps)) as GpuKernel<'activationDensityGrad'>,
  };
}
