/**
 * The FTLE's fused tanh step on webgpu (kernels/tanh-jvp-step.wgsl, kernels/tanh-jvp-step-grad.wgsl):
 * tanhJvpStep → [δ/‖δ‖ | ln‖δ‖] and its backward tanhJvpStepGrad → [dp, dh], one dispatch each. A workgroup owns
 * whole batch rows, so the row norm and dot are reduced inside it (no partial buffers, no second pass) in a fixed
 * order. Operands whose rows are contiguous are read in place through an offset and a row stride: the strided
 * `direction` view of the previous step, which the FTLE feeds back as v, costs no gather.
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import { ShapeError } from '../../errors.js';
import type { GpuContext } from './context.js';
import { denseArg } from './kernels-elementwise.js';
import type { GpuArg } from './kernel-util.js';
import { Params } from './layout.js';
import type { GpuBuffer } from './runtime.js';

type GpuKernel<K extends KernelOpName> = Kernel<K, GpuBuffer>;
type StepOp = 'tanhJvpStep' | 'tanhJvpStepGrad';

const MAX_GROUPS = 65535;
/** Rows per workgroup at most: each row costs the invocation TJ accumulators and NV tree slots. */
const MAX_ROWS = 4;
/**
 * Row blocking stops where it would leave fewer workgroups than this. A compromise made without knowing the adapter:
 * lavapipe gains from more rows per workgroup even with a single workgroup ([4, 512]·[512]: RB = 1 → 4 ≈ 1.1 → 1.7
 * GFLOP/s), while a GPU wants workgroups for its cores.
 */
const MIN_GROUPS = 8;

/** An operand as the kernels read it: element (r, c) at offset + r·rowStride + c. */
interface RowArg {
  readonly buffer: GpuBuffer;
  readonly offset: number;
  readonly rowStride: number;
}

/** x in place when its columns are contiguous; otherwise a dense copy that goes on `temps` (freed by the caller). */
function rowArg(g: GpuContext, x: GpuArg, temps: GpuBuffer[]): RowArg {
  const [rows, cols] = x.layout.shape as [number, number];
  const [rowStride, colStride] = x.layout.strides as [number, number];
  if (cols <= 1 || colStride === 1) return { buffer: x.buffer, offset: x.layout.offset, rowStride: rows <= 1 ? 0 : rowStride };
  const { arg, temp } = denseArg(g, x);
  if (temp) temps.push(temp);
  return { buffer: arg.buffer, offset: 0, rowStride: cols };
}

/**
 * Columns per invocation and pass: RB·TJ independent accumulators per k step. On lavapipe the per-lane loads of W
 * (one row per lane) dominate; TJ = 4 took [64, 256]·[256] from ≈ 1 to ≈ 3–4 GFLOP/s (tanhJvp's 4×4 blocks: ≈ 4–6).
 */
const columnsPerPass = (n: number): number => (n >= 128 ? 4 : n >= 64 ? 2 : 1);

/** Workgroup size: a power of two (the tree halves it) covering the columns in about one pass, 32..256. */
const workgroupSize = (n: number, tj: number): number => Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(Math.max(Math.ceil(n / tj), 1)))));

/** Rows per workgroup: W's rows are loaded once per RB rows, as long as enough workgroups remain. */
function rowsPerGroup(b: number): number {
  let rb = MAX_ROWS;
  while (rb > 1 && Math.ceil(b / rb) < MIN_GROUPS) rb >>= 1;
  return rb;
}

function launch(g: GpuContext, op: StepOp, inputs: readonly GpuArg[], o: GpuArg): void {
  // operands are f32 here: the op takes floats, webgpu has no f64, and dispatch stops f16 (a storage-only dtype)
  const [b, n] = inputs[0]!.layout.shape as [number, number];
  const k = inputs[1]!.layout.shape[1]!;
  // nothing to write: no rows, or (backward) no columns
  if (b === 0 || (op === 'tanhJvpStepGrad' && n === 0)) return;
  const rb = rowsPerGroup(b);
  const tj = columnsPerPass(n);
  const groups = Math.ceil(b / rb);
  const grid: [number, number, number] = groups <= MAX_GROUPS ? [groups, 1, 1] : [MAX_GROUPS, Math.ceil(groups / MAX_GROUPS), 1];
  if (grid[1] > MAX_GROUPS) throw new ShapeError(`B = ${b} rows need ${groups} workgroups, more than a dispatch has`, { op, backend: 'webgpu', shapes: [[b, n]] });
  const temps: GpuBuffer[] = [];
  try {
    const args = inputs.map((x) => rowArg(g, x, temps));
    const params = new Params()
      .u32(b, n, k, 0)
      .u32(...[0, 1, 2, 3].map((i) => args[i]?.offset ?? 0))
      .u32(...[0, 1, 2, 3].map((i) => args[i]?.rowStride ?? 0))
      .done();
    const file = op === 'tanhJvpStep' ? 'tanh-jvp-step.wgsl' : 'tanh-jvp-step-grad.wgsl';
    const p = g.pipelines.get({ file, defines: { RB: `${rb}u`, TJ: `${tj}u`, WG: `${workgroupSize(n, tj)}u` } });
    g.runtime.dispatch(p, [...args.map((a) => a.buffer), o.buffer], params, grid);
  } finally {
    for (const t of temps) g.runtime.free(t);
  }
}

export function ftleKernels(g: GpuContext) {
  return {
    tanhJvpStep: ((inputs, o) => launch(g, 'tanhJvpStep', inputs, o)) as GpuKernel<'tanhJvpStep'>,
    tanhJvpStepGrad: ((inputs, o) => launch(g, 'tanhJvpStepGrad', inputs, o)) as GpuKernel<'tanhJvpStepGrad'>,
  };
}
