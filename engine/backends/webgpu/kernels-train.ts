/**
 * The fused training kernels besides `linear` (which is matmul.wgsl's epilogue, see kernels-matmul.ts): softmax
 * cross-entropy backward, layerNorm backward, activation backward (relu / tanh / sigmoid from y, gelu from x: one
 * kernel), the Adam step and the SGD step (kernels/*.wgsl). The cpu
 * kernels in engine/backends/cpu/train-fused.ts are the reference; layerNorm's dw / db column sums run in a fixed
 * order (per-chunk partial sums, then a second pass), never through float atomics.
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import { ShapeError } from '../../errors.js';
import type { AdamStepAttrs, SgdStepAttrs } from '../../ops/attrs.js';
import type { GpuContext } from './context.js';
import { withDense } from './kernels-elementwise.js';
import { type GpuArg, WG, numelOf, wgslType } from './kernel-util.js';
import { Params, isDenseLayout, jointLayouts } from './layout.js';
import { Runtime, type GpuBuffer, statusCode } from './runtime.js';

type GpuKernel<K extends KernelOpName> = Kernel<K, GpuBuffer>;

const MAX_GROUPS = 65535;
/** Invocations per workgroup of the per-row kernels (a row each) and of the column kernels (a column each). */
const ROW_WG = 64;
const COL_WG = 64;
/** Rows one `columns` invocation sums at least; more for tall inputs, so there are at most MAX_CHUNKS partials. */
const MIN_CHUNK = 32;
const MAX_CHUNKS = 1024;

const REDUCTION_CODE = { none: 0, mean: 1, sum: 2 } as const;
/** ACT codes of kernels/activation-grad.wgsl: the slope comes from y for relu / tanh / sigmoid, from x for gelu′ and gelu″. */
const ACT_CODE = { relu: 1, tanh: 2, sigmoid: 3, geluErf: 4, geluTanh: 5, geluErfCurvature: 6, geluTanhCurvature: 7 } as const;

function crossEntropyGrad(g: GpuContext, x: GpuArg, t: GpuArg, scale: GpuArg, o: GpuArg, reduction: keyof typeof REDUCTION_CODE): void {
  const shape = x.layout.shape;
  const classes = shape[shape.length - 1]!;
  const rows = numelOf(t.layout.shape);
  if (rows === 0) return;
  const p = g.pipelines.get({
    file: 'cross-entropy-grad.wgsl',
    defines: { TT: wgslType(t.dtype) },
    constants: { WG: ROW_WG, REDUCTION: REDUCTION_CODE[reduction], STATUS_OP: statusCode('crossEntropyGrad') },
  });
  g.runtime.dispatch(p, [x.buffer, t.buffer, scale.buffer, o.buffer], new Params().u32(rows, classes, 0, 0).done(), Runtime.grid1d(rows, ROW_WG), true);
}

function layerNormGrad(g: GpuContext, x: GpuArg, w: GpuArg, cot: GpuArg, o: GpuArg, eps: number): void {
  const shape = x.layout.shape;
  const d = shape[shape.length - 1]!;
  const rows = numelOf(shape) / d;
  if (rows === 0) {
    // no rows: dx is empty and the column sums are zero
    g.runtime.clear(o.buffer, 2 * d * 4);
    return;
  }
  if (Math.ceil((2 * d) / COL_WG) > MAX_GROUPS) {
    throw new ShapeError(`layerNormGrad: d = ${d} features exceed the ${(MAX_GROUPS * COL_WG) / 2} the column kernels launch`, { op: 'layerNormGrad', backend: 'webgpu' });
  }
  const chunk = Math.max(MIN_CHUNK, Math.ceil(rows / MAX_CHUNKS));
  const chunks = Math.ceil(rows / chunk);
  const scratch = g.runtime.allocate((2 * rows + (chunks > 1 ? chunks * 2 * d : 0)) * 4);
  try {
    const params = new Params().u32(rows, d).f32(eps).u32(chunk, chunks).done();
    const rowsPipe = g.pipelines.get({ file: 'layer-norm-grad.wgsl', entry: 'rows', constants: { WG: ROW_WG } });
    g.runtime.dispatch(rowsPipe, [scratch, o.buffer, x.buffer, cot.buffer, w.buffer], params, Runtime.grid1d(rows, ROW_WG));
    const colsPipe = g.pipelines.get({ file: 'layer-norm-grad.wgsl', entry: 'columns', constants: { WG: COL_WG, DIRECT: chunks === 1 } });
    g.runtime.dispatch(colsPipe, [scratch, o.buffer, x.buffer, cot.buffer], params, [Math.ceil(d / COL_WG), chunks, 1]);
    if (chunks > 1) {
      const finishPipe = g.pipelines.get({ file: 'layer-norm-grad.wgsl', entry: 'finish', constants: { WG: COL_WG } });
      g.runtime.dispatch(finishPipe, [scratch, o.buffer], params, [Math.ceil((2 * d) / COL_WG), 1, 1]);
    }
  } finally {
    g.runtime.free(scratch);
  }
}

/** [J o; curvature] of LayerNorm rows (layerNormGradGrad) from dense x, u, o: one invocation per row. */
function layerNormGradGrad(g: GpuContext, x: GpuArg, u: GpuArg, cot: GpuArg, o: GpuArg, eps: number): void {
  const shape = x.layout.shape;
  const d = shape[shape.length - 1]!;
  const rows = numelOf(shape) / d;
  if (rows === 0) return;
  const pipe = g.pipelines.get({ file: 'layer-norm-grad-grad.wgsl', constants: { WG: ROW_WG } });
  g.runtime.dispatch(pipe, [o.buffer, x.buffer, u.buffer, cot.buffer], new Params().u32(rows, d).f32(eps).u32(0).done(), Runtime.grid1d(rows, ROW_WG));
}

/** cot·f′ with f′ from `a`: the activation's output y (relu, tanh, sigmoid) or gelu's input x. */
function activationGrad(g: GpuContext, a: GpuArg, cot: GpuArg, o: GpuArg, activation: keyof typeof ACT_CODE): void {
  const n = numelOf(o.layout.shape);
  if (n === 0) return;
  const [la, lg] = jointLayouts(o.layout.shape, [a.layout, cot.layout]);
  const p = g.pipelines.get({
    file: 'activation-grad.wgsl',
    constants: { WG, ACT: ACT_CODE[activation], DENSE_A: isDenseLayout(la!), DENSE_G: isDenseLayout(lg!) },
  });
  g.runtime.dispatch(p, [a.buffer, cot.buffer, o.buffer], new Params().u32(n, 0, 0, 0).layout(la!).layout(lg!).done(), Runtime.grid1d(n, WG));
}

function adamStep(g: GpuContext, [p, grad, m, v]: readonly GpuArg[], o: GpuArg, a: AdamStepAttrs): void {
  const shape = p!.layout.shape;
  const n = numelOf(shape);
  if (n === 0) return;
  const layouts = jointLayouts(shape, [p!.layout, grad!.layout, m!.layout, v!.layout]);
  const [lp, lg, lm, lv] = layouts;
  const pipe = g.pipelines.get({
    file: 'adam-step.wgsl',
    constants: { WG, DENSE_P: isDenseLayout(lp!), DENSE_G: isDenseLayout(lg!), DENSE_M: isDenseLayout(lm!), DENSE_V: isDenseLayout(lv!) },
  });
  const params = new Params(128)
    .u32(n, 0, 0, 0)
    .f32(a.beta1)
    .f32(1 - a.beta1)
    .f32(a.beta2)
    .f32(1 - a.beta2)
    .f32(a.eps)
    .f32(a.weightDecay)
    .f32(a.decay)
    .f32(a.stepSize)
    .f32(a.bias2Sqrt)
    .u32(0, 0, 0)
    .layout(lp!)
    .layout(lg!)
    .layout(lm!)
    .layout(lv!)
    .done();
  // p, m and v may be views of one buffer: several read-only bindings of the same buffer are valid
  g.runtime.dispatch(pipe, [p!.buffer, grad!.buffer, m!.buffer, v!.buffer, o.buffer], params, Runtime.grid1d(n, WG));
}

function sgdStep(g: GpuContext, [p, grad, buf]: readonly GpuArg[], o: GpuArg, a: SgdStepAttrs): void {
  const shape = p!.layout.shape;
  const n = numelOf(shape);
  if (n === 0) return;
  const momentum = a.momentum !== 0;
  const readBuf = momentum && !a.first;
  // buf joins the axis merging only when it is read: an unread buf (often g itself) must not split p's and g's axes
  const [lp, lg, lb] = jointLayouts(shape, readBuf ? [p!.layout, grad!.layout, buf!.layout] : [p!.layout, grad!.layout]);
  const pipe = g.pipelines.get({
    file: 'sgd-step.wgsl',
    constants: {
      WG,
      DENSE_P: isDenseLayout(lp!),
      DENSE_G: isDenseLayout(lg!),
      DENSE_B: readBuf && isDenseLayout(lb!),
      MOMENTUM: momentum,
      READ_BUF: readBuf,
      NESTEROV: momentum && a.nesterov,
    },
  });
  const params = new Params(128)
    .u32(n, 0, 0, 0)
    .f32(a.lr)
    .f32(a.momentum)
    .f32(1 - a.dampening)
    .f32(a.weightDecay)
    .layout(lp!)
    .layout(lg!)
    // an unread buf's slot still needs a valid layout block; g's is as good as any
    .layout(lb ?? lg!)
    .done();
  // p and buf may be views of one buffer: several read-only bindings of the same buffer are valid
  g.runtime.dispatch(pipe, [p!.buffer, grad!.buffer, buf!.buffer, o.buffer], params, Runtime.grid1d(n, WG));
}

export function trainKernels(g: GpuContext) {
  return {
    crossEntropyGrad: (([logits, targets, scale], o, { reduction }) =>
      withDense(g, [logits!, targets!, scale!], ([x, t, s]) => crossEntropyGrad(g, x!, t!, s!, o, reduction))) as GpuKernel<'crossEntropyGrad'>,
    layerNormGrad: (([x, w, cot], o, { eps }) =>
      withDense(g, [x!, w!, cot!], ([dx, dw, dc]) => layerNormGrad(g, dx!, dw!, dc!, o, eps))) as GpuKernel<'layerNormGrad'>,
    layerNormGradGrad: (([x, u, cot], o, { eps }) =>
      withDense(g, [x!, u!, cot!], ([dx, du, dc]) => layerNormGradGrad(g, dx!, du!, dc!, o, eps))) as GpuKernel<'layerNormGradGrad'>,
    geluGrad: (([x, cot], o, { approximate, order }) => {
      const form = approximate === 'tanh' ? 'geluTanh' : 'geluErf';
      activationGrad(g, x!, cot!, o, order === 2 ? `${form}Curvature` : form);
    }) as GpuKernel<'geluGrad'>,
    activationGrad: (([y, cot], o, { activation }) => activationGrad(g, y!, cot!, o, activation)) as GpuKernel<'activationGrad'>,
    adamStep: ((inputs, o, attrs) => adamStep(g, inputs, o, attrs)) as GpuKernel<'adamStep'>,
    sgdStep: ((inputs, o, attrs) => sgdStep(g, inputs, o, attrs)) as GpuKernel<'sgdStep'>,
  };
}
