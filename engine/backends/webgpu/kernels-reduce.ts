/** Reductions along any axes and argmax (kernels/reduce.wgsl). */
import type { Kernel } from '../../backend.js';
import type { GpuContext } from './context.js';
import { type GpuArg, numelOf, wgslType, wrapMode } from './kernel-util.js';
import { Params, jointLayouts } from './layout.js';
import { Runtime, type GpuBuffer } from './runtime.js';

const OP_CODE = { sum: 0, mean: 1, max: 2, logsumexp: 3, var: 4, norm: 5, argmax: 6 } as const;
type ReduceOp = keyof typeof OP_CODE;

/** Below this many outputs a workgroup per output (parallel within the row) beats an invocation per output. */
const ROWS_MIN_OUTPUTS = 128;
const GROUP_WG = 64;
const ROWS_WG = 64;

export function runReduce(g: GpuContext, op: ReduceOp, x: GpuArg, o: GpuArg, axes: readonly number[], correction = 0): void {
  const { shape, strides, offset } = x.layout;
  const keptAxes = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const [k] = jointLayouts(
    keptAxes.map((i) => shape[i]!),
    [{ shape: keptAxes.map((i) => shape[i]!), strides: keptAxes.map((i) => strides[i]!), offset }],
  );
  const [r] = jointLayouts(
    axes.map((i) => shape[i]!),
    [{ shape: axes.map((i) => shape[i]!), strides: axes.map((i) => strides[i]!), offset: 0 }],
  );
  const outer = numelOf(o.layout.shape);
  const inner = numelOf(axes.map((i) => shape[i]!));
  if (outer === 0) return;
  const rows = outer >= ROWS_MIN_OUTPUTS || inner <= 32;
  const outInt = o.dtype !== 'f32';
  const p = g.pipelines.get({
    file: 'reduce.wgsl',
    entry: rows ? 'main_rows' : 'main_group',
    defines: { TI: wgslType(x.dtype), TO: wgslType(o.dtype) },
    constants: { OP: OP_CODE[op], WG: rows ? ROWS_WG : GROUP_WG, OUT_INT: outInt, WRAP: wrapMode(o.dtype) },
  });
  const params = new Params().u32(outer, inner).f32(correction).u32(0).layout(k!).layout(r!).done();
  g.runtime.dispatch(p, [x.buffer, o.buffer], params, rows ? Runtime.grid1d(outer, ROWS_WG) : Runtime.grid1d(outer, 1));
}

type ReduceKernel<K extends ReduceOp> = Kernel<K, GpuBuffer>;

export function reduceKernels(g: GpuContext) {
  const axesKernel = <K extends 'sum' | 'mean' | 'max' | 'logsumexp' | 'norm'>(op: K) =>
    (([x], o, { axes }) => runReduce(g, op, x!, o, axes)) as ReduceKernel<K>;
  return {
    sum: axesKernel('sum'),
    mean: axesKernel('mean'),
    max: axesKernel('max'),
    logsumexp: axesKernel('logsumexp'),
    norm: axesKernel('norm'),
    var: (([x], o, { axes, correction }) => runReduce(g, 'var', x!, o, axes, correction)) as ReduceKernel<'var'>,
    argmax: (([x], o, { axis }) => runReduce(g, 'argmax', x!, o, [axis])) as ReduceKernel<'argmax'>,
  };
}
