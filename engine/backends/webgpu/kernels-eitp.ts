/**
 * The fused EIT-P kernels: the soft histogram, the correlation matrix R and the coherence loss ‖R − I‖_F²/(d(d − 1))
 * with their backward ops (kernels/soft-histogram*.wgsl, kernels/correlation-*.wgsl, kernels/coherence-*.wgsl), and
 * the tanh layer's Jacobian-vector step that the FTLE chains (kernels/tanh-jvp.wgsl). Every reduction runs in a fixed
 * order: partial results go to temporary buffers and reduce.wgsl sums them, so results do not depend on scheduling.
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import { ShapeError } from '../../errors.js';
import type { HistogramAttrs } from '../../ops/attrs.js';
import type { GpuContext } from './context.js';
import { withDense } from './kernels-elementwise.js';
import { type MatmulVariant, pickVariant, runMatmul } from './kernels-matmul.js';
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
/** Columns per workgroup of kernels/correlation-columns.wgsl (CX) and its invocations per column (RY). */
const STATS_CX = 16;
const STATS_RY = 16;
const SYRK_WG = 64;
const SYM_WG = 256;
/** Invocations of kernels/coherence-loss.wgsl's workgroup (its tree has one slot per invocation). */
const LOSS_WG = 256;
/** Elements of R per loss invocation at least: d ≤ 90 (8192 elements) takes one workgroup, which writes L itself. */
const LOSS_MIN_PER_THREAD = 32;
/** Loss partials at most: larger R give each workgroup more elements, so the second pass adds ≤ 1024 values. */
const LOSS_MAX_PARTIALS = 1024;

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
  g.runtime.dispatch(g.pipelines.get({ file: 'correlation-stats.wgsl' }), [z.buffer, stats, zhat], statsParams(n, d, eps), [groups, 1, 1]);
  return { stats, zhat };
}

/** Register block of the SYRK (TB×TB per invocation): bigger blocks amortise loads, smaller ones keep invocations busy. */
const syrkBlock = (d: number): number => (d >= 64 ? 8 : d >= 16 ? 4 : 1);

/**
 * Split K: while the upper-triangle block pairs fill fewer than SPLIT_TARGET_GROUPS workgroups, Ẑ's rows are cut
 * into slices (a row of workgroups each) until they do. Each slice keeps at least SPLIT_MIN_ROWS rows (shorter
 * ones make the d×d partial Grams and their sum cost more than the parallelism gains) and all partials together
 * stay within SPLIT_MAX_FLOATS.
 */
const SPLIT_TARGET_GROUPS = 32;
const SPLIT_MIN_ROWS = 256;
const SPLIT_MAX_FLOATS = 1 << 24;

/** R = ẐᵀẐ/n into o ([d, d]): the upper-triangle SYRK, its split-K slices summed in a fixed order. */
function syrk(g: GpuContext, zhat: GpuBuffer, o: GpuArg, n: number, d: number, op: string): void {
  const tb = syrkBlock(d);
  const blocks = Math.ceil(d / tb);
  const pairs = (blocks * (blocks + 1)) / 2;
  const groups = Math.ceil(pairs / SYRK_WG);
  if (groups > MAX_GROUPS) throw new ShapeError(`${op}: d = ${d} features need ${groups} workgroups, more than the ${MAX_GROUPS} a dispatch has`, { op, backend: 'webgpu' });
  const wanted = Math.min(Math.ceil(SPLIT_TARGET_GROUPS / groups), Math.floor(n / SPLIT_MIN_ROWS), Math.floor(SPLIT_MAX_FLOATS / (d * d)), MAX_GROUPS);
  const rows = Math.ceil(n / Math.max(1, wanted));
  const splits = Math.ceil(n / rows);
  const p = g.pipelines.get({ file: 'correlation-syrk.wgsl', defines: { TB: `${tb}u` }, constants: { WG: SYRK_WG } });
  const params = new Params().u32(n, d, pairs, rows).f32(1 / n).u32(0, 0, 0).done();
  const partial = splits === 1 ? o.buffer : g.runtime.allocate(splits * d * d * 4);
  try {
    g.runtime.dispatch(p, [zhat, partial], params, [groups, splits, 1]);
    if (splits > 1) runReduce(g, 'sum', argOf(partial, [splits, d * d]), argOf(o.buffer, [d * d]), [0]);
  } finally {
    if (partial !== o.buffer) g.runtime.free(partial);
  }
}

function correlation(g: GpuContext, z: GpuArg, o: GpuArg, eps: number): void {
  const [n, d] = z.layout.shape as [number, number];
  const { stats, zhat } = standardize(g, z, n, d, eps, 'correlation');
  try {
    syrk(g, zhat, o, n, d, 'correlation');
  } finally {
    g.runtime.free(stats);
    g.runtime.free(zhat);
  }
}

/** The matmul variant of dẐ = Ẑ·S; it launches one workgroup row per TM·WGY rows of Ẑ and does not stride past the grid. */
function backwardVariant(n: number, d: number, op: string): MatmulVariant {
  const v = pickVariant(n, d);
  if (Math.ceil(n / (v.tm * v.wgy)) > MAX_GROUPS) {
    throw new ShapeError(`${op}: N = ${n} samples exceed the ${MAX_GROUPS * v.tm * v.wgy} the matmul kernel launches`, { op, backend: 'webgpu' });
  }
  return v;
}

/** dz into o from S [d, d] (symmetric): o = Ẑ·S through the matmul kernel, then in place layerNorm's backward per column. */
function standardizeBackward(g: GpuContext, zhat: GpuBuffer, stats: GpuBuffer, s: GpuBuffer, o: GpuArg, n: number, d: number, eps: number, v: MatmulVariant): void {
  const means = g.runtime.allocate(2 * d * 4);
  try {
    runMatmul(g, argOf(zhat, [n, d]), argOf(s, [d, d]), o, v);
    const params = statsParams(n, d, eps);
    const columns = Math.ceil(d / STATS_CX);
    g.runtime.dispatch(g.pipelines.get({ file: 'correlation-backward.wgsl', entry: 'column_means' }), [zhat, o.buffer, means], params, [columns, 1, 1]);
    const rows = Math.min(MAX_GROUPS, Math.ceil(n / STATS_RY));
    g.runtime.dispatch(g.pipelines.get({ file: 'correlation-backward.wgsl', entry: 'finish' }), [zhat, o.buffer, means, stats], params, [columns, rows, 1]);
  } finally {
    g.runtime.free(means);
  }
}

/**
 * dz from z through a symmetric S [d, d] that `fillS` writes into scratch from Ẑ: dẐ = Ẑ·S, then layerNorm's backward
 * per column (correlationGrad's and coherenceGrad's shared passes; only how S is made differs).
 */
function backwardThroughS(g: GpuContext, z: GpuArg, o: GpuArg, eps: number, op: string, fillS: (s: GpuBuffer, zhat: GpuBuffer) => void): void {
  const [n, d] = z.layout.shape as [number, number];
  const v = backwardVariant(n, d, op);
  const { stats, zhat } = standardize(g, z, n, d, eps, op);
  const s = g.runtime.allocate(d * d * 4);
  try {
    fillS(s, zhat);
    standardizeBackward(g, zhat, stats, s, o, n, d, eps, v);
  } finally {
    g.runtime.free(stats);
    g.runtime.free(zhat);
    g.runtime.free(s);
  }
}

/** dz from z and gR: S = (gR + gRᵀ)/n. */
function correlationGrad(g: GpuContext, z: GpuArg, gr: GpuArg, o: GpuArg, eps: number): void {
  const [n, d] = z.layout.shape as [number, number];
  backwardThroughS(g, z, o, eps, 'correlationGrad', (sym) => {
    const symmetrize = g.pipelines.get({ file: 'correlation-symmetrize.wgsl', constants: { WG: SYM_WG } });
    g.runtime.dispatch(symmetrize, [gr.buffer, sym], new Params().u32(d, 0).f32(1 / n).u32(0).done(), Runtime.grid1d(d * d, SYM_WG));
  });
}

/** L = Σ (R − I)²/(d(d − 1)) into the scalar o: R in a scratch buffer (never a tensor), then coherence-loss.wgsl's partials. */
function coherence(g: GpuContext, z: GpuArg, o: GpuArg, eps: number): void {
  const [n, d] = z.layout.shape as [number, number];
  const { stats, zhat } = standardize(g, z, n, d, eps, 'coherence');
  const r = g.runtime.allocate(d * d * 4);
  try {
    syrk(g, zhat, argOf(r, [d, d]), n, d, 'coherence');
    coherenceLoss(g, r, o, d);
  } finally {
    g.runtime.free(stats);
    g.runtime.free(zhat);
    g.runtime.free(r);
  }
}

/** Σ (R − I)²/(d(d − 1)) of R [d, d]: one pass when one workgroup covers R, else partials summed by reduce.wgsl. */
function coherenceLoss(g: GpuContext, r: GpuBuffer, o: GpuArg, d: number): void {
  const count = d * d;
  const perGroup = Math.ceil(Math.max(LOSS_WG * LOSS_MIN_PER_THREAD, Math.ceil(count / LOSS_MAX_PARTIALS)) / LOSS_WG) * LOSS_WG;
  const groups = Math.ceil(count / perGroup);
  const partial = groups === 1 ? o.buffer : g.runtime.allocate(groups * 4);
  try {
    const params = new Params().u32(count, d, perGroup, 0).f32(1 / (d * (d - 1))).u32(0, 0, 0).done();
    g.runtime.dispatch(g.pipelines.get({ file: 'coherence-loss.wgsl' }), [r, partial], params, [groups, 1, 1]);
    if (groups > 1) runReduce(g, 'sum', argOf(partial, [groups]), o, [0]);
  } finally {
    if (partial !== o.buffer) g.runtime.free(partial);
  }
}

/**
 * dz of L·g: R recomputed in scratch, turned in place into S = 4g(R − I)/(n d(d − 1)) (coherence-residual.wgsl, which
 * reads g on the device at its offset: g is any one-element view), then correlationGrad's backward passes.
 */
function coherenceGrad(g: GpuContext, z: GpuArg, cot: GpuArg, o: GpuArg, eps: number): void {
  const [n, d] = z.layout.shape as [number, number];
  backwardThroughS(g, z, o, eps, 'coherenceGrad', (s, zhat) => {
    syrk(g, zhat, argOf(s, [d, d]), n, d, 'coherenceGrad');
    const residual = g.pipelines.get({ file: 'coherence-residual.wgsl', constants: { WG: SYM_WG } });
    // a one-element tensor's element sits at its offset (every stride multiplies index 0)
    const params = new Params().u32(d, cot.layout.offset).f32(4 / (n * d * (d - 1))).u32(0).done();
    g.runtime.dispatch(residual, [s, cot.buffer], params, Runtime.grid1d(d * d, SYM_WG));
  });
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
    correlation: (([z], o, { eps }) => withDense(g, [z!], ([dz]) => correlation(g, dz!, o, eps))) as GpuKernel<'correlation'>,
    correlationGrad: (([z, gr], o, { eps }) => withDense(g, [z!, gr!], ([dz, dg]) => correlationGrad(g, dz!, dg!, o, eps))) as GpuKernel<'correlationGrad'>,
    coherence: (([z], o, { eps }) => withDense(g, [z!], ([dz]) => coherence(g, dz!, o, eps))) as GpuKernel<'coherence'>,
    // g is read in place at its offset; only z needs the dense layout the column kernels index
    coherenceGrad: (([z, cot], o, { eps }) => withDense(g, [z!], ([dz]) => coherenceGrad(g, dz!, cot!, o, eps))) as GpuKernel<'coherenceGrad'>,
    tanhJvp: (([h, v, w], o) => withDense(g, [h!, v!, w!], ([dh, dv, dw]) => tanhJvp(g, dh!, dv!, dw!, o))) as GpuKernel<'tanhJvp'>,
  };
}
