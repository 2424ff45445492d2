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

/**
 * dz into o from S (symmetric): dẐ = Ẑ·S through the matmul kernel (S [d, d]), or S·Ẑ for the rows' Gram path (S [N, N],
 * `rowsS`), then in place layerNorm's backward per column.
 */
function standardizeBackward(g: GpuContext, zhat: GpuBuffer, stats: GpuBuffer, s: GpuBuffer, o: GpuArg, n: number, d: number, eps: number, v: MatmulVariant, rowsS = false): void {
  const means = g.runtime.allocate(2 * d * 4);
  try {
    if (rowsS) runMatmul(g, argOf(s, [n, n]), argOf(zhat, [n, d]), o, v);
    else runMatmul(g, argOf(zhat, [n, d]), argOf(s, [d, d]), o, v);
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
function backwardThroughS(g: GpuContext, z: GpuArg, o: GpuArg, eps: number, op: string, fillS: (s: GpuBuffer, zhat: GpuBuffer) => void, rowsS = false): void {
  const [n, d] = z.layout.shape as [number, number];
  const v = backwardVariant(n, d, op);
  const { stats, zhat } = standardize(g, z, n, d, eps, op);
  const side = rowsS ? n : d;
  const s = g.runtime.allocate(side * side * 4);
  try {
    fillS(s, zhat);
    standardizeBackward(g, zhat, stats, s, o, n, d, eps, v, rowsS);
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

/**
 * N ≤ d/2 (a batch of 64 rows of 256 features): the loss and its backward go through the rows' Gram K = ẐẐᵀ [N, N]
 * instead of R, as on native (native/correlation.cc, rowGramPath): ‖R − I‖² = ‖K/N − I_N‖² + d − N and
 * Ẑ(R − I) = (K/N − I)·Ẑ, N²d multiply-adds forward and 2N²d backward instead of d²N/2 (the SYRK) and 3d²N/2. R has
 * rank ≤ N ≤ d/2 there, so ‖R − I‖² ≥ d/2 and the sum has no cancellation to lose digits in.
 */
const rowGramPath = (n: number, d: number): boolean => 2 * n <= d;

/** K = ẐẐᵀ [n, n] into k through the matmul kernel (Ẑᵀ as a transposed view of Ẑ: no copy). */
function rowGram(g: GpuContext, zhat: GpuBuffer, k: GpuBuffer, n: number, d: number): void {
  const zhatT: GpuArg = { buffer: zhat, dtype: 'f32', layout: { shape: [d, n], strides: [1, d], offset: 0 } };
  runMatmul(g, argOf(zhat, [n, d]), zhatT, argOf(k, [n, n]));
}

/** L = Σ (R − I)²/(d(d − 1)) into the scalar o: R (or the rows' Gram) in a scratch buffer, then coherence-loss.wgsl's partials. */
function coherence(g: GpuContext, z: GpuArg, o: GpuArg, eps: number): void {
  const [n, d] = z.layout.shape as [number, number];
  const rows = rowGramPath(n, d);
  const side = rows ? n : d;
  const { stats, zhat } = standardize(g, z, n, d, eps, 'coherence');
  const r = g.runtime.allocate(side * side * 4);
  try {
    if (rows) rowGram(g, zhat, r, n, d);
    else syrk(g, zhat, argOf(r, [d, d]), n, d, 'coherence');
    coherenceLoss(g, r, o, side, 1 / (d * (d - 1)), rows ? { a: 1 / n, extra: d - n } : { a: 1, extra: 0 });
  } finally {
    g.runtime.free(stats);
    g.runtime.free(zhat);
    g.runtime.free(r);
  }
}

/**
 * (Σ (a·M − I)² + extra)·scale of M [side, side]: one pass when one workgroup covers M, else partials summed by
 * reduce.wgsl. On R: a = 1, extra = 0; on the rows' Gram: a = 1/N, extra = d − N.
 */
function coherenceLoss(g: GpuContext, r: GpuBuffer, o: GpuArg, side: number, scale: number, { a, extra }: { a: number; extra: number }): void {
  const count = side * side;
  const perGroup = Math.ceil(Math.max(LOSS_WG * LOSS_MIN_PER_THREAD, Math.ceil(count / LOSS_MAX_PARTIALS)) / LOSS_WG) * LOSS_WG;
  const groups = Math.ceil(count / perGroup);
  const partial = groups === 1 ? o.buffer : g.runtime.allocate(groups * 4);
  try {
    const params = new Params().u32(count, side, perGroup, 0).f32(scale).f32(a).f32(extra).u32(0).done();
    g.runtime.dispatch(g.pipelines.get({ file: 'coherence-loss.wgsl' }), [r, partial], params, [groups, 1, 1]);
    if (groups > 1) runReduce(g, 'sum', argOf(partial, [groups]), o, [0]);
  } finally {
    if (partial !== o.buffer) g.runtime.free(partial);
  }
}

/**
 * dz of L·g: R recomputed in scratch, turned in place into S = 4g(R − I)/(n d(d − 1)) (coherence-residual.wgsl, which
 * reads g on the device at its offset: g is any one-element view), then correlationGrad's backward passes. For N ≤ d/2
 * the rows' Gram K instead, turned into S' = 4g(K/N − I)/(n d(d − 1)), and dẐ = S'·Ẑ.
 */
function coherenceGrad(g: GpuContext, z: GpuArg, cot: GpuArg, o: GpuArg, eps: number): void {
  const [n, d] = z.layout.shape as [number, number];
  const rows = rowGramPath(n, d);
  const side = rows ? n : d;
  backwardThroughS(
    g,
    z,
    o,
    eps,
    'coherenceGrad',
    (s, zhat) => {
      if (rows) rowGram(g, zhat, s, n, d);
      else syrk(g, zhat, argOf(s, [d, d]), n, d, 'coherenceGrad');
      const residual = g.pipelines.get({ file: 'coherence-residual.wgsl', constants: { WG: SYM_WG } });
      // a one-element tensor's element sits at its offset (every stride multiplies index 0)
      const params = new Params().u32(side, cot.layout.offset).f32(4 / (n * d * (d - 1))).f32(rows ? 1 / n : 1).done();
      g.runtime.dispatch(residual, [s, cot.buffer], params, Runtime.grid1d(side * side, SYM_WG));
    },
    rows,
  );
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
