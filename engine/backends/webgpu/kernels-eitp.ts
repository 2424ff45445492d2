/**
 * The fused EIT-P kernels: the soft histogram and the coherence loss with their backward ops
 * (kernels/soft-histogram*.wgsl, kernels/coherence-*.wgsl), and the tanh layer's Jacobian-vector step that the
 * FTLE chains (kernels/tanh-jvp.wgsl). Every reduction runs in a fixed order: partial results go to temporary
 * buffers and reduce.wgsl sums them, so results do not depend on scheduling.
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import { ShapeError } from '../../errors.js';
import type { HistogramAttrs } from '../../ops/attrs.js';
import type { GpuContext } from './context.js';
import { withDense } from './kernels-elementwise.js';
import { pickVariant } from './kernels-matmul.js';
import { runReduce } from './kernels-reduce.js';
import { type GpuArg, numelOf } from './kernel-util.js';
import { Params } from './layout.js';
import { Runtime, type GpuBuffer } from './runtime.js';

type GpuKernel<K extends KernelOpName> = Kernel<K, GpuBuffer>;

const MAX_GROUPS = 65535;
/** Workgroup memory every adapter offers (WebGPU's default limit): the histogram table and g stay within it. */
const WORKGROUP_BYTES = 16384;
/** Elements per histogram invocation at least: the workgroup's table costs 2·KB·T steps to clear and sum. */
const HIST_MIN_PER_THREAD = 16;
/** Histogram workgroups at most: beyond it each takes more elements, so partials stay ≤ 4096·K values. */
const HIST_MAX_GROUPS = 4096;
/** Columns per workgroup of kernels/coherence-columns.wgsl (CX) and its invocations per column (RY). */
const STATS_CX = 16;
const STATS_RY = 16;
const GRAM_WG = 8;

const argOf = (buffer: GpuBuffer, shape: number[]): GpuArg => ({
  buffer,
  dtype: 'f32',
  layout: { shape, strides: shape.length === 2 ? [shape[1]!, 1] : [1], offset: 0 },
});

/** W = ⌈8h/Δ⌉: the bins each value takes part in beyond its nearest (same rule as the cpu reference). */
const reachOf = (a: HistogramAttrs): number => Math.ceil((8 * a.bandwidth) / a.width);

function histogramParams(p: Params, a: HistogramAttrs, n: number, fourth: number): Params {
  return p.u32(n, a.bins, reachOf(a), fourth).f32(a.low).f32(a.width).f32(1 / (2 * a.bandwidth * a.bandwidth));
}

function softHistogram(g: GpuContext, u: GpuArg, o: GpuArg, attrs: HistogramAttrs): void {
  const n = numelOf(u.layout.shape);
  const bins = attrs.bins;
  // T invocations × KB bins of f32 fill at most 16 KiB; more bins than one table holds go to workgroups along y
  const threads = bins <= 64 ? 64 : 32;
  const slice = Math.min(bins, WORKGROUP_BYTES / 4 / threads);
  const slices = Math.ceil(bins / slice);
  if (slices > MAX_GROUPS) throw new ShapeError(`softHistogram: ${bins} bins need ${slices} workgroup slices, more than the ${MAX_GROUPS} a dispatch has`, { op: 'softHistogram', backend: 'webgpu' });
  const perGroup = Math.ceil(Math.max(threads * HIST_MIN_PER_THREAD, Math.ceil(n / HIST_MAX_GROUPS)) / threads) * threads;
  const groups = Math.ceil(n / perGroup);
  const partial = groups === 1 ? o.buffer : g.runtime.allocate(groups * bins * 4);
  try {
    const p = g.pipelines.get({ file: 'soft-histogram.wgsl', defines: { T: `${threads}u`, KB: `${slice}u` } });
    g.runtime.dispatch(p, [u.buffer, partial], histogramParams(new Params(), attrs, n, perGroup).u32(0).done(), [groups, slices, 1]);
    if (groups > 1) runReduce(g, 'sum', argOf(partial, [groups, bins]), o, [0]);
  } finally {
    if (partial !== o.buffer) g.runtime.free(partial);
  }
}

function softHistogramGrad(g: GpuContext, u: GpuArg, cot: GpuArg, o: GpuArg, attrs: HistogramAttrs): void {
  const n = numelOf(u.layout.shape);
  const shared = attrs.bins * 4 <= WORKGROUP_BYTES;
  const wg = 256;
  const p = g.pipelines.get({ file: 'soft-histogram-grad.wgsl', defines: { GS: `${shared ? attrs.bins : 1}u` }, constants: { G_SHARED: shared, WG: wg } });
  const params = histogramParams(new Params(), attrs, n, 0).f32(1 / (attrs.bandwidth * attrs.bandwidth)).done();
  g.runtime.dispatch(p, [u.buffer, cot.buffer, o.buffer], params, Runtime.grid1d(n, wg));
}

const statsParams = (n: number, d: number, eps: number) => new Params().u32(n, d).f32(eps).f32(1 / n).done();

/** μ and 1/σ of z's columns ([2d]) and Ẑ = (z − μ)/σ ([n, d]) in new buffers (freed by the caller). */
function standardize(g: GpuContext, z: GpuArg, n: number, d: number, eps: number, op: string): { stats: GpuBuffer; zhat: GpuBuffer } {
  const groups = Math.ceil(d / STATS_CX);
  if (groups > MAX_GROUPS) throw new ShapeError(`${op}: d = ${d} features exceed the ${MAX_GROUPS * STATS_CX} the kernels launch`, { op, backend: 'webgpu' });
  const stats = g.runtime.allocate(2 * d * 4);
  const zhat = g.runtime.allocate(n * d * 4);
  g.runtime.dispatch(g.pipelines.get({ file: 'coherence-stats.wgsl' }), [z.buffer, stats, zhat], statsParams(n, d, eps), [groups, 1, 1]);
  return { stats, zhat };
}

/** Register block of the Gram kernel: bigger blocks amortise loads, smaller ones keep invocations busy. */
const gramBlock = (d: number): number => (d >= 64 ? 8 : d >= 16 ? 4 : 1);

/** ẐᵀẐ with an epilogue: per-invocation partial sums of the loss (residual = false) or R − I (true). */
function gram(g: GpuContext, zhat: GpuBuffer, out: GpuBuffer, n: number, d: number, residual: boolean): void {
  const tb = gramBlock(d);
  const tiles = Math.ceil(d / (tb * GRAM_WG));
  const p = g.pipelines.get({ file: 'coherence-gram.wgsl', defines: { TB: `${tb}u` }, constants: { WG: GRAM_WG, RESIDUAL: residual } });
  g.runtime.dispatch(p, [zhat, out], new Params().u32(n, d).f32(1 / n).f32(1 / (d * (d - 1))).done(), [tiles, tiles, 1]);
}

const gramSlots = (d: number): number => Math.ceil(d / (gramBlock(d) * GRAM_WG)) ** 2 * GRAM_WG * GRAM_WG;

function coherence(g: GpuContext, z: GpuArg, o: GpuArg, eps: number): void {
  const [n, d] = z.layout.shape as [number, number];
  const { stats, zhat } = standardize(g, z, n, d, eps, 'coherence');
  const slots = gramSlots(d);
  const partial = g.runtime.allocate(slots * 4);
  try {
    gram(g, zhat, partial, n, d, false);
    runReduce(g, 'sum', argOf(partial, [slots]), o, [0]);
  } finally {
    g.runtime.free(stats);
    g.runtime.free(zhat);
    g.runtime.free(partial);
  }
}

function coherenceGrad(g: GpuContext, z: GpuArg, cot: GpuArg, o: GpuArg, eps: number): void {
  const [n, d] = z.layout.shape as [number, number];
  const { stats, zhat } = standardize(g, z, n, d, eps, 'coherenceGrad');
  const residual = g.runtime.allocate(d * d * 4);
  const means = g.runtime.allocate(2 * d * 4);
  try {
    gram(g, zhat, residual, n, d, true);
    // o = s·Ẑ(R − I), then in place the per-column standardisation backward
    const v = pickVariant(n, d);
    const product = g.pipelines.get({ file: 'coherence-grad.wgsl', defines: { TM: `${v.tm}u`, TN: `${v.tn}u` }, constants: { WGX: v.wgx, WGY: v.wgy } });
    const productGroups: [number, number, number] = [Math.ceil(d / (v.tn * v.wgx)), Math.min(MAX_GROUPS, Math.ceil(n / (v.tm * v.wgy))), 1];
    g.runtime.dispatch(product, [zhat, residual, cot.buffer, o.buffer], new Params().u32(n, d).f32(4 / (n * d * (d - 1))).u32(0).done(), productGroups);
    const params = statsParams(n, d, eps);
    const columns = Math.ceil(d / STATS_CX);
    g.runtime.dispatch(g.pipelines.get({ file: 'coherence-backward.wgsl', entry: 'column_means' }), [zhat, o.buffer, means], params, [columns, 1, 1]);
    const rows = Math.min(MAX_GROUPS, Math.ceil(n / STATS_RY));
    g.runtime.dispatch(g.pipelines.get({ file: 'coherence-backward.wgsl', entry: 'finish' }), [zhat, o.buffer, means, stats], params, [columns, rows, 1]);
  } finally {
    g.runtime.free(stats);
    g.runtime.free(zhat);
    g.runtime.free(residual);
    g.runtime.free(means);
  }
}

/** (1 − h²) ⊙ (v wᵀ): h [b, out], v [b, in], w [out, in], all dense. */
function tanhJvp(g: GpuContext, h: GpuArg, v: GpuArg, w: GpuArg, o: GpuArg): void {
  const [m, n] = h.layout.shape as [number, number];
  const k = v.layout.shape[1]!;
  if (m * n === 0) return;
  if (k === 0) {
    g.runtime.clear(o.buffer, m * n * 4);
    return;
  }
  const t = pickVariant(m, n);
  const groups: [number, number, number] = [Math.ceil(n / (t.tn * t.wgx)), Math.ceil(m / (t.tm * t.wgy)), 1];
  if (groups[0] > MAX_GROUPS || groups[1] > MAX_GROUPS) {
    throw new ShapeError(`tanhJvp: [${m}, ${n}] outputs need more than the ${MAX_GROUPS} workgroups per axis a dispatch has`, { op: 'tanhJvp', backend: 'webgpu' });
  }
  const p = g.pipelines.get({ file: 'tanh-jvp.wgsl', defines: { TM: `${t.tm}u`, TN: `${t.tn}u` }, constants: { WGX: t.wgx, WGY: t.wgy } });
  g.runtime.dispatch(p, [h.buffer, v.buffer, w.buffer, o.buffer], new Params().u32(m, n, k, 0).done(), groups);
}

export function eitpKernels(g: GpuContext) {
  return {
    softHistogram: (([u], o, attrs) => withDense(g, [u!], ([du]) => softHistogram(g, du!, o, attrs))) as GpuKernel<'softHistogram'>,
    softHistogramGrad: (([u, cot], o, attrs) => withDense(g, [u!, cot!], ([du, dc]) => softHistogramGrad(g, du!, dc!, o, attrs))) as GpuKernel<'softHistogramGrad'>,
    coherence: (([z], o, { eps }) => withDense(g, [z!], ([dz]) => coherence(g, dz!, o, eps))) as GpuKernel<'coherence'>,
    coherenceGrad: (([z, cot], o, { eps }) => withDense(g, [z!, cot!], ([dz, dc]) => coherenceGrad(g, dz!, dc!, o, eps))) as GpuKernel<'coherenceGrad'>,
    tanhJvp: (([h, v, w], o) => withDense(g, [h!, v!, w!], ([dh, dv, dw]) => tanhJvp(g, dh!, dv!, dw!, o))) as GpuKernel<'tanhJvp'>,
  };
}
