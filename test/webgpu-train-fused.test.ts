/**
 * The fused training kernels of the webgpu backend (crossEntropyGrad, layerNormGrad, activationGrad, geluGrad, linear,
 * adamStep, sgdStep) against the cpu reference kernels on ragged shapes, against their composite references on webgpu
 * itself, and against hand-computed values; linear on shapes that reach every matmul variant it can pick, with w
 * dense and as a transposed view; the out-of-range target error. softmaxGrad against a float64 reference computed
 * here: long, ragged and many lines, non-last axes, strided / offset / broadcast views, NaN, one dispatch.
 */
import { describe, expect, it } from 'vitest';
import { apply as applyOp } from '../engine/dispatch.js';
import { ArgumentError } from '../engine/errors.js';
import * as et from '../engine/index.js';
import { initWebGPU, webgpuDevice, webgpuStats } from '../engine/backends/webgpu/index.js';
import { MATMUL_VARIANTS, pickVariant } from '../engine/backends/webgpu/kernels-matmul.js';
import { kernelSource } from '../engine/backends/webgpu/shaders.js';
import { compareArrays } from './helpers/backends.js';
import { onBoth } from './helpers/on-both.js';

const status = await initWebGPU();
if (!status.available && process.env.EITP_REQUIRE_WEBGPU === '1') throw new Error(`webgpu unavailable: ${status.reason}`);

type Tol = { rtol: number; atol: number };
/** f32 kernels against the cpu reference: a few ulps relative, plus an absolute floor for values near 0. */
const TOL: Tol = { rtol: 1e-5, atol: 1e-6 };

/** The fused op and its composite reference, both on webgpu. */
async function fusedAndComposite(op: keyof et.OpAttrs, inputs: () => et.Tensor[], attrs: object): Promise<[Float32Array, Float32Array]> {
  const def = et.opTable()[op] as { composite: (xs: et.Tensor[], attrs: object) => et.Tensor };
  const out: Float32Array[] = [];
  for (const mode of ['fused', 'composite'] as const) {
    const t = et.tidy(() => (mode === 'fused' ? applyOp(op, inputs(), attrs as never) : def.composite(inputs(), attrs)));
    out.push((await t.data()) as Float32Array);
    t.dispose();
  }
  return out as [Float32Array, Float32Array];
}

function expectClose([got, want]: [ArrayLike<number>, ArrayLike<number>], tol: Tol = TOL): void {
  const cmp = compareArrays(got, want, tol);
  expect(cmp.ok, cmp.message).toBe(true);
}

const randn = (shape: number[], seed: number, b: et.BackendName) => et.randn(shape, { seed, backend: b });

describe.runIf(status.available)('webgpu training kernel sources', () => {
  it.each([
    ['cross-entropy-grad.wgsl', { TT: 'i32' }],
    ['cross-entropy-grad.wgsl', { TT: 'u32' }],
    ['layer-norm-grad.wgsl', {}],
    ['layer-norm-grad-grad.wgsl', {}],
    ['softmax-grad-grad.wgsl', {}],
    ['activation-grad.wgsl', {}],
    ['adam-step.wgsl', {}],
    ['sgd-step.wgsl', {}],
    ...Object.values(MATMUL_VARIANTS).map((v) => ['matmul.wgsl', { TM: `${v.tm}u`, TN: `${v.tn}u` }] as const),
  ] as [string, Record<string, string>][])('%s %o compiles', async (file, defines) => {
    const module = webgpuDevice().createShaderModule({ code: kernelSource(file, defines) });
    const info = await module.getCompilationInfo();
    expect(info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`)).toEqual([]);
  });
});

describe.runIf(status.available)('webgpu crossEntropyGrad', () => {
  type Reduction = et.OpAttrs['crossEntropyGrad']['reduction'];
  const ceInputs = (shape: number[], reduction: Reduction, b: et.BackendName): et.Tensor[] => {
    const classes = shape[shape.length - 1]!;
    const lead = shape.slice(0, -1);
    const logits = randn(shape, shape.length * 100 + classes, b).mul(3);
    const targets = et.randint(lead, 0, classes, { seed: classes + 7, backend: b });
    const g = reduction === 'none' ? randn(lead, 5, b) : et.full([], 0.7, { backend: b });
    return [logits, targets, g];
  };
  const SHAPES: number[][] = [[1, 1], [7, 3], [33, 10], [257, 33], [3, 5, 7]];
  const REDUCTIONS: Reduction[] = ['mean', 'sum', 'none'];
  const CASES = SHAPES.flatMap((s) => REDUCTIONS.map((r) => [s, r] as const));

  it.each(CASES)('logits %j, reduction %s, matches cpu', async (shape, reduction) => {
    expectClose(await onBoth((b) => applyOp('crossEntropyGrad', ceInputs(shape, reduction, b), { reduction })));
  });

  it.each(CASES)('logits %j, reduction %s, matches its composite on webgpu', async (shape, reduction) => {
    expectClose(await fusedAndComposite('crossEntropyGrad', () => ceInputs(shape, reduction, 'webgpu'), { reduction }));
  });

  it('equal logits: softmax is uniform (hand-computed)', async () => {
    const z = et.zeros([2, 4], { backend: 'webgpu' });
    const t = et.tensor([2, 0], { dtype: 'i32', backend: 'webgpu' });
    const g = et.full([], 2, { backend: 'webgpu' });
    const d = applyOp('crossEntropyGrad', [z, t, g], { reduction: 'mean' });
    // (0.25 − onehot)·(2/2)
    expect(Array.from(await d.data())).toEqual([0.25, 0.25, -0.75, 0.25, -0.75, 0.25, 0.25, 0.25]);
    et.dispose([z, t, g, d]);
  });

  it('reads a transposed view of the logits', async () => {
    expectClose(
      await onBoth((b) =>
        applyOp('crossEntropyGrad', [randn([6, 9], 3, b).transpose(), et.randint([9], 0, 6, { seed: 2, backend: b }), et.full([], 1.5, { backend: b })], { reduction: 'sum' }),
      ),
    );
  });

  it('a target outside [0, C) is an ArgumentError at the next read, and the backend keeps working', async () => {
    const z = randn([3, 5], 1, 'webgpu');
    const bad = et.tensor([0, 5, 1], { dtype: 'i32', backend: 'webgpu' });
    const g = et.full([], 1, { backend: 'webgpu' });
    const d = applyOp('crossEntropyGrad', [z, bad, g], { reduction: 'mean' });
    const read = d.data();
    await expect(read).rejects.toBeInstanceOf(ArgumentError);
    await expect(read).rejects.toThrow(/target 5 at position 1 is outside \[0, 5\)/);
    const negative = et.tensor([-1, 0, 0], { dtype: 'i32', backend: 'webgpu' });
    const d2 = applyOp('crossEntropyGrad', [z, negative, g], { reduction: 'sum' });
    await expect(d2.data()).rejects.toThrow(/target -1 at position 0 is outside \[0, 5\)/);
    const good = et.tensor([4, 0, 2], { dtype: 'i32', backend: 'webgpu' });
    const ok = applyOp('crossEntropyGrad', [z, good, g], { reduction: 'mean' });
    expect((await ok.data()).every(Number.isFinite)).toBe(true);
    et.dispose([z, bad, g, d, negative, d2, good, ok]);
  });
});

describe.runIf(status.available)('webgpu layerNormGrad', () => {
  /** x: a ramp along the row plus noise, so that few rows are nearly constant (see expectLayerNormClose). */
  const lnInputs = (shape: number[], b: et.BackendName): et.Tensor[] => {
    const d = shape[shape.length - 1]!;
    const ramp = et.tensor(Float32Array.from({ length: d }, (_, j) => (j % 5) - 2), { backend: b });
    return [randn(shape, d + 1, b).mul(0.4).add(ramp), randn([d], d + 2, b), randn(shape, d + 3, b)];
  };
  /**
   * dx row by row against the size of what it is computed from: dx_j = rstd·(gŵ_j − mean gŵ − x̂_j·mean gŵx̂) is a
   * difference of terms up to rstd·max|g·w| (and x̂ = (x − μ)·rstd carries f32's error of x times rstd), and can be
   * far smaller than its terms, so an f32 kernel matches it to ~1e-5 of S = rstd·max|g·w|·(1 + rstd·max|x|), not
   * of dx itself. dw, db: sums of `rows` terms of size ~1, to ~√rows ulps of a term. x, w, g: the cpu inputs.
   */
  const expectLayerNormClose = ([got, want]: [Float32Array, Float32Array], [x, w, g]: et.Tensor[]): void => {
    const [xs, ws, gs] = [x!, w!, g!].map((t) => t.contiguous().dataSync() as Float32Array) as [Float32Array, Float32Array, Float32Array];
    const d = ws.length;
    const rows = got.length / d - 2;
    for (let i = 0; i < rows; i++) {
      const row = Array.from(xs.subarray(i * d, (i + 1) * d));
      const mu = row.reduce((a, v) => a + v, 0) / d;
      const rstd = 1 / Math.sqrt(row.reduce((a, v) => a + (v - mu) ** 2, 0) / d + 1e-5);
      let gw = 0;
      for (let j = 0; j < d; j++) gw = Math.max(gw, Math.abs(gs[i * d + j]! * ws[j]!));
      const size = rstd * gw * (1 + rstd * Math.max(...row.map(Math.abs)));
      const cmp = compareArrays(got.subarray(i * d, (i + 1) * d), want.subarray(i * d, (i + 1) * d), { rtol: 0, atol: 1e-5 * size + 1e-7 });
      if (!cmp.ok) expect(cmp.ok, `dx row ${i}: ${cmp.message}`).toBe(true);
    }
    expectClose([got.subarray(rows * d), want.subarray(rows * d)], { rtol: 1e-5, atol: 2e-6 * Math.sqrt(rows) });
  };
  // rows = 1 and 32 (one chunk, written directly), 33 (two chunks), 257 (nine), 40 001 (the chunk grows past 32
  // rows to keep ≤ 1024 partials); d = 1, ragged against the 64-invocation workgroups
  const SHAPES: number[][] = [[1, 7], [7, 1], [32, 5], [33, 65], [257, 33], [3, 11, 13], [40_001, 3], [5, 300]];

  it.each(SHAPES.map((s) => [s]))('x %j matches cpu', async (shape) => {
    expectLayerNormClose(await onBoth((b) => applyOp('layerNormGrad', lnInputs(shape, b), { eps: 1e-5 })), lnInputs(shape, 'cpu'));
  });

  it.each(SHAPES.filter((s) => s[0]! < 1000).map((s) => [s]))('x %j matches its composite on webgpu', async (shape) => {
    expectLayerNormClose(await fusedAndComposite('layerNormGrad', () => lnInputs(shape, 'webgpu'), { eps: 1e-5 }), lnInputs(shape, 'cpu'));
  });

  it('d = 1: dx = 0, dw = 0, db = Σ g (closed form)', async () => {
    const x = et.tensor([[1], [-2], [5]], { backend: 'webgpu' });
    const w = et.tensor([3], { backend: 'webgpu' });
    const g = et.tensor([[0.5], [0.25], [2]], { backend: 'webgpu' });
    const out = applyOp('layerNormGrad', [x, w, g], { eps: 1e-5 });
    expect(Array.from(await out.data())).toEqual([0, 0, 0, 0, 2.75]);
    et.dispose([x, w, g, out]);
  });

  it('the column sums are the same bits on every run (fixed-order reduction)', async () => {
    const inputs = lnInputs([5000, 17], 'webgpu');
    const a = applyOp('layerNormGrad', inputs, { eps: 1e-5 });
    const b = applyOp('layerNormGrad', inputs, { eps: 1e-5 });
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    et.dispose([...inputs, a, b]);
  });

  it('reads strided x and g', async () => {
    const inputs = (b: et.BackendName) => [randn([9, 40], 1, b).transpose(), randn([9], 2, b), randn([9, 40], 3, b).transpose()];
    expectLayerNormClose(await onBoth((b) => applyOp('layerNormGrad', inputs(b), { eps: 1e-5 })), inputs('cpu'));
  });
});

describe.runIf(status.available)('webgpu softmaxGrad', () => {
  /** [outer, len, inner] around `axis`: the lines are outer × inner, of len elements `inner` apart. */
  const linesOf = (shape: number[], axis: number) => ({
    outer: shape.slice(0, axis).reduce((a, d) => a * d, 1),
    len: shape[axis]!,
    inner: shape.slice(axis + 1).reduce((a, d) => a * d, 1),
  });
  /** Host f32 operands: y a softmax along `axis` of logits 2·N(0, 1) (formed in f64, then rounded), g ~ N(0, 1). */
  const hostOperands = (shape: number[], axis: number, seed: number): { y: Float32Array; g: Float32Array } => {
    const logits = et.randn(shape, { seed, backend: 'cpu' });
    const cot = et.randn(shape, { seed: seed + 1, backend: 'cpu' });
    const x = logits.dataSync() as Float32Array;
    const g = (cot.dataSync() as Float32Array).slice();
    et.dispose([logits, cot]);
    const { outer, len, inner } = linesOf(shape, axis);
    const y = new Float32Array(x.length);
    for (let p = 0; p < outer; p++) {
      for (let q = 0; q < inner; q++) {
        const s = p * len * inner + q;
        let m = -Infinity;
        for (let j = 0; j < len; j++) m = Math.max(m, 2 * x[s + j * inner]!);
        let z = 0;
        for (let j = 0; j < len; j++) z += Math.exp(2 * x[s + j * inner]! - m);
        for (let j = 0; j < len; j++) y[s + j * inner] = Math.exp(2 * x[s + j * inner]! - m) / z;
      }
    }
    return { y, g };
  };
  /**
   * The float64 y ⊙ (g − Σ g ⊙ y) of the same f32 values, element by element within what an f32 kernel may differ
   * by: its dot sums len rounded products, so it is off by up to (len + 1)·u·Σ|g ⊙ y| (u = 2⁻²⁴), which the
   * subtraction and the product by y carry into the output with a few ulps of their own. NaN must match NaN.
   */
  const expectSoftmaxGrad = (got: ArrayLike<number>, y: Float32Array, g: Float32Array, shape: number[], axis: number): void => {
    const u = 2 ** -24;
    const { outer, len, inner } = linesOf(shape, axis);
    const want = new Float64Array(y.length);
    const bound = new Float64Array(y.length);
    for (let p = 0; p < outer; p++) {
      for (let q = 0; q < inner; q++) {
        const s = p * len * inner + q;
        let dot = 0;
        let mag = 0;
        for (let j = 0; j < len; j++) {
          dot += g[s + j * inner]! * y[s + j * inner]!;
          mag += Math.abs(g[s + j * inner]! * y[s + j * inner]!);
        }
        for (let j = 0; j < len; j++) {
          const i = s + j * inner;
          want[i] = y[i]! * (g[i]! - dot);
          bound[i] = Math.abs(y[i]!) * ((len + 2) * u * mag + 2 * u * (Math.abs(g[i]!) + Math.abs(dot))) + 2 * u * Math.abs(want[i]!);
        }
      }
    }
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) {
      const ok = Number.isNaN(want[i]!) ? Number.isNaN(got[i]!) : Math.abs(got[i]! - want[i]!) <= bound[i]!;
      if (!ok) expect.fail(`element ${i} of ${JSON.stringify(shape)} along ${axis}: got ${got[i]}, want ${want[i]} ± ${bound[i]}`);
    }
  };
  const onDevice = (a: Float32Array, shape: number[]) => et.tensor(a, { shape, backend: 'webgpu' });
  /** The same values as a permuted view (a dense copy laid out along `perm`, permuted back): strided, offset 0. */
  const permutedView = (t: et.Tensor, perm: number[]): et.Tensor => {
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return et.permute(et.permute(t, inverse).contiguous(), perm);
  };
  const run = async (y: et.Tensor, g: et.Tensor, axis: number): Promise<Float32Array> => {
    const out = et.softmaxGrad(y, g, axis);
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return data;
  };

  // last axis: attention's [B, H, T, T] (T = 24 and 256, the latter 8192 rows), T = 1024, lengths 1 and around 64
  // (a single element; ragged tails), line counts ragged against the 64-invocation workgroups (1, 5, 65, 6 000)
  const LAST: number[][] = [[1, 1], [65, 1], [32, 2, 24, 24], [8, 4, 256, 256], [2, 1, 3, 1024], [3, 1025], [5, 63], [1, 64], [65, 65], [3, 5, 17], [6000, 7]];
  it.each(LAST.map((s) => [s]))('%j along the last axis matches a float64 reference', async (shape) => {
    const axis = shape.length - 1;
    const { y, g } = hostOperands(shape, axis, shape.length * 1000 + shape[axis]!);
    const [ty, tg] = [onDevice(y, shape), onDevice(g, shape)];
    expectSoftmaxGrad(await run(ty, tg, axis), y, g, shape, axis);
    et.dispose([ty, tg]);
  });

  // a non-last axis: lines `inner` apart, from inner = 1 … 30 and a long line (1024) with inner = 3
  const MIDDLE: [number[], number][] = [[[33, 5], 0], [[3, 17, 5], 1], [[4, 7, 6, 5], 1], [[4, 7, 6, 5], 2], [[5, 2, 3], 0], [[2, 1024, 3], 1], [[65, 9, 2], 0]];
  it.each(MIDDLE)('%j along axis %i matches a float64 reference', async (shape, axis) => {
    const { y, g } = hostOperands(shape, axis, 7 * shape[axis]! + axis);
    const [ty, tg] = [onDevice(y, shape), onDevice(g, shape)];
    expectSoftmaxGrad(await run(ty, tg, axis), y, g, shape, axis);
    et.dispose([ty, tg]);
  });

  it.each([
    ['y transposed', [9, 40], 1, [1, 0], null],
    ['g transposed', [40, 9], 0, null, [1, 0]],
    ['y and g with heads and time swapped (attention)', [2, 3, 24, 24], 3, [0, 2, 1, 3], [0, 2, 1, 3]],
    ['y and g with the softmax axis outermost in memory', [4, 5, 33], 2, [2, 0, 1], [1, 2, 0]],
  ] as [string, number[], number, number[] | null, number[] | null][])('reads %s', async (_name, shape, axis, py, pg) => {
    const { y, g } = hostOperands(shape, axis, 31);
    const [dy, dg] = [onDevice(y, shape), onDevice(g, shape)];
    const [ty, tg] = [py ? permutedView(dy, py) : dy, pg ? permutedView(dg, pg) : dg];
    expectSoftmaxGrad(await run(ty, tg, axis), y, g, shape, axis);
    et.dispose([dy, dg, ty, tg]);
  });

  it('reads y as a column slice at an offset and g broadcast (stride 0) across rows', async () => {
    const [rows, len] = [6, 37];
    const { y } = hostOperands([rows, len], 1, 41);
    const gRow = hostOperands([1, len], 1, 43).g;
    // y sits in columns 3 … 3 + len of a wider buffer whose other columns hold garbage the kernel must not read
    const wide = new Float32Array(rows * (len + 5)).fill(1e30);
    for (let r = 0; r < rows; r++) wide.set(y.subarray(r * len, (r + 1) * len), r * (len + 5) + 3);
    const base = onDevice(wide, [rows, len + 5]);
    const ty = et.slice(base, [0, 3], [rows, 3 + len]);
    const g1 = onDevice(gRow, [1, len]);
    const tg = et.expand(g1, [rows, len]);
    const g = new Float32Array(rows * len);
    for (let r = 0; r < rows; r++) g.set(gRow, r * len);
    expectSoftmaxGrad(await run(ty, tg, 1), y, g, [rows, len], 1);
    et.dispose([base, ty, g1, tg]);
  });

  it.each([1, 0])('a NaN in g or y turns its own line (along axis %i) to NaN and no other', async (axis) => {
    const shape = [6, 9];
    const { y, g } = hostOperands(shape, axis, 53);
    g[1 * 9 + 3] = NaN;
    y[4 * 9 + 7] = NaN;
    const [ty, tg] = [onDevice(y, shape), onDevice(g, shape)];
    const got = await run(ty, tg, axis);
    // the reference propagates the NaNs too; checked here by hand as well: rows 1 and 4, or columns 3 and 7
    const nanLine = (i: number) => (axis === 1 ? [1, 4].includes(Math.floor(i / 9)) : [3, 7].includes(i % 9));
    expect(Array.from(got, (v, i) => Number.isNaN(v) === nanLine(i)).every(Boolean)).toBe(true);
    expectSoftmaxGrad(got, y, g, shape, axis);
    et.dispose([ty, tg]);
  });

  it('hand-computed: y = [1/2, 1/4, 1/4], g = [1, 2, 3] (Σ g ⊙ y = 7/4)', async () => {
    const ty = et.tensor([0.5, 0.25, 0.25], { backend: 'webgpu' });
    const tg = et.tensor([1, 2, 3], { backend: 'webgpu' });
    expect(Array.from(await run(ty, tg, 0))).toEqual([-0.375, 0.0625, 0.3125]);
    et.dispose([ty, tg]);
  });

  it('is one dispatch on dense operands, where the composite takes four (mul, sum, sub, mul)', async () => {
    const shape = [32, 2, 24, 24];
    const { y, g } = hostOperands(shape, 3, 61);
    const [ty, tg] = [onDevice(y, shape), onDevice(g, shape)];
    const def = et.opTable().softmaxGrad as { composite: (xs: et.Tensor[], attrs: { axis: number }) => et.Tensor };
    const count = async (fn: () => et.Tensor): Promise<number> => {
      const before = webgpuStats().dispatches;
      const out = et.tidy(fn);
      const n = webgpuStats().dispatches - before;
      expectSoftmaxGrad((await out.data()) as Float32Array, y, g, shape, 3);
      out.dispose();
      return n;
    };
    expect(await count(() => et.softmaxGrad(ty, tg, 3))).toBe(1);
    expect(await count(() => def.composite([ty, tg], { axis: 3 }))).toBeGreaterThanOrEqual(4);
    et.dispose([ty, tg]);
  });
});

describe.runIf(status.available)('webgpu activationGrad', () => {
  const ACTS = ['relu', 'tanh', 'sigmoid'] as const;
  const output = (act: (typeof ACTS)[number], shape: number[], seed: number, b: et.BackendName): et.Tensor => {
    const x = randn(shape, seed, b).mul(2);
    return act === 'relu' ? x.relu() : act === 'tanh' ? x.tanh() : x.sigmoid();
  };
  const CASES = ACTS.flatMap((a) => [1, 7, 257, 4099].map((n) => [a, n] as const));

  it.each(CASES)('%s, n = %i, matches cpu and its composite', async (act, n) => {
    expectClose(await onBoth((b) => et.activationGrad(output(act, [n], n, b), randn([n], n + 1, b), act)));
    expectClose(await fusedAndComposite('activationGrad', () => [output(act, [n], n, 'webgpu'), randn([n], n + 1, 'webgpu')], { activation: act }));
  });

  it.each(ACTS)('%s reads strided and broadcast operands', async (act) => {
    expectClose(await onBoth((b) => et.activationGrad(output(act, [13, 6], 2, b).transpose(), randn([6, 13], 3, b), act)));
    expectClose(await onBoth((b) => et.activationGrad(output(act, [6, 13], 4, b), et.expand(randn([1, 13], 5, b), [6, 13]), act)));
  });

  it('hand-computed values', async () => {
    const g = et.tensor([3, 4, 5], { backend: 'webgpu' });
    const r = et.activationGrad(et.tensor([-1, 0, 2], { backend: 'webgpu' }), g, 'relu');
    const t = et.activationGrad(et.tensor([0.5, -0.5, 1], { backend: 'webgpu' }), g, 'tanh');
    const s = et.activationGrad(et.tensor([0.5, 0.25, 1], { backend: 'webgpu' }), g, 'sigmoid');
    expect(Array.from(await r.data())).toEqual([0, 0, 5]);
    expect(Array.from(await t.data())).toEqual([2.25, 3, 0]);
    expect(Array.from(await s.data())).toEqual([0.75, 0.75, 0]);
    et.dispose([g, r, t, s]);
  });
});

describe.runIf(status.available)('webgpu layerNormGradGrad', () => {
  // x scaled and shifted so that μ and r are not 0 and 1; each half ([J o; curvature]) to its own magnitude
  const inputs = (shape: number[], b: et.BackendName) => [randn(shape, 40, b).mul(3).add(1.5), randn(shape, 41, b), randn(shape, 42, b)];
  it.each([[1, 1], [7, 1], [1, 7], [96, 32], [2, 3, 33], [300, 257]].map((s) => [JSON.stringify(s)]))('x %s matches cpu', async (shapeText) => {
    const shape = JSON.parse(shapeText) as number[];
    const [got, want] = await onBoth((b) => applyOp('layerNormGradGrad', inputs(shape, b), { eps: 1e-5 }));
    const half = want.length / 2;
    for (const lo of [0, half]) {
      const w = want.subarray(lo, lo + half);
      const scale = w.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-30);
      expectClose([got.subarray(lo, lo + half), w], { rtol: 1e-5, atol: 1e-5 * scale });
    }
  });

  it('reads strided inputs (transposed views)', async () => {
    const [got, want] = await onBoth((b) => applyOp('layerNormGradGrad', inputs([33, 65], b).map((t) => t.transpose()), { eps: 1e-5 }));
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-30);
    expectClose([got, want], { rtol: 1e-5, atol: 1e-5 * scale });
  });

  it('no rows: an empty result', async () => {
    const out = applyOp('layerNormGradGrad', inputs([0, 5], 'webgpu'), { eps: 1e-5 });
    expect(out.shape).toEqual([2, 0, 5]);
    expect((await out.data()).length).toBe(0);
    out.dispose();
  });
});

describe.runIf(status.available)('webgpu softmaxGradGrad', () => {
  const inputs = (shape: number[], axis: number, b: et.BackendName) => [randn(shape, 43, b).mul(2).softmax(axis), randn(shape, 44, b), randn(shape, 45, b)];
  it.each([[[192, 24], 1], [[1, 1], 1], [[3, 33, 7], 1], [[3, 33, 7], 2], [[33, 5], 0], [[300, 1031], 1]] as const)('%j along axis %i matches cpu', async (shape, axis) => {
    const [got, want] = await onBoth((b) => applyOp('softmaxGradGrad', inputs([...shape], axis, b), { axis }));
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-30);
    expectClose([got, want], { rtol: 1e-5, atol: 1e-5 * scale });
  });

  it('reads strided inputs (transposed views)', async () => {
    const [got, want] = await onBoth((b) => applyOp('softmaxGradGrad', inputs([33, 65], 0, b).map((t) => t.transpose()), { axis: 1 }));
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-30);
    expectClose([got, want], { rtol: 1e-5, atol: 1e-5 * scale });
  });
});

describe.runIf(status.available)('webgpu geluGrad', () => {
  const FORMS = ['none', 'tanh'] as const;
  type Form = (typeof FORMS)[number];
  const gpu = (values: number[]) => et.tensor(values, { backend: 'webgpu' });
  const CASES = FORMS.flatMap((a) => [1, 7, 257, 4099].map((n) => [a, n] as const));

  it.each(CASES)('%s, n = %i, matches cpu and its composite', async (approximate, n) => {
    const x = (b: et.BackendName) => randn([n], n, b).mul(3);
    expectClose(await onBoth((b) => et.geluGrad(x(b), randn([n], n + 1, b), approximate)));
    // the tanh composite forms 1 ± tanh(u) in f32, which cancels for x < −3 (absolute errors of a few 1e-6 there);
    // the fused kernel avoids that, so the strict comparison is the one against cpu above
    const compositeTol = approximate === 'tanh' ? { rtol: 1e-5, atol: 1e-5 } : TOL;
    expectClose(await fusedAndComposite('geluGrad', () => [x('webgpu'), randn([n], n + 1, 'webgpu')], { approximate }), compositeTol);
  });

  it.each(FORMS.flatMap((a) => [7, 257, 4099].map((n) => [a, n] as const)))('%s, order 2 (g·gelu″), n = %i, matches cpu and its composite', async (approximate, n) => {
    const x = (b: et.BackendName) => randn([n], n + 5, b).mul(3);
    expectClose(await onBoth((b) => et.geluGrad(x(b), randn([n], n + 6, b), approximate, 2)));
    // the composite's 1 − tanh² cancels in f32 where tanh rounds near ±1 (x beyond ±3) and is then scaled by a bracket
    // of up to ~x·u′² (absolute errors of a few 1e-5 there); the fused kernel forms 1 − th² from exp(−2|u|)
    expectClose(await fusedAndComposite('geluGrad', () => [x('webgpu'), randn([n], n + 6, 'webgpu')], { approximate, order: 2 }), approximate === 'tanh' ? { rtol: 1e-5, atol: 1e-4 } : TOL);
  });

  it.each(FORMS)('%s, order 2: strided and broadcast operands; 0 where gelu″ underflows and at huge |x|, NaN from NaN', async (approximate) => {
    expectClose(await onBoth((b) => et.geluGrad(randn([13, 6], 7, b).mul(3).transpose(), et.expand(randn([1, 6], 8, b), [13, 6]).transpose(), approximate, 2)));
    const got = et.geluGrad(gpu([-1e20, -30, 30, 1e20, Number.NaN]), gpu([1, 2, -1, 3, 1]), approximate, 2);
    const values = Array.from(await got.data());
    expect(values.slice(0, 4).map(Math.abs)).toEqual([0, 0, 0, 0]);
    expect(Number.isNaN(values[4]!)).toBe(true);
    got.dispose();
  });

  it.each(FORMS)('%s reads strided and broadcast operands', async (approximate) => {
    expectClose(await onBoth((b) => et.geluGrad(randn([13, 6], 2, b).mul(3).transpose(), randn([6, 13], 3, b), approximate)));
    expectClose(await onBoth((b) => et.geluGrad(randn([6, 13], 4, b).mul(3), et.expand(randn([1, 13], 5, b), [6, 13]), approximate)));
  });

  it.each(FORMS)('%s: g·gelu′ equals central differences of the f64 cpu gelu', async (approximate) => {
    const xs = Array.from({ length: 49 }, (_, i) => -6 + i * 0.25);
    const gs = xs.map((_, i) => 1 + (i % 3));
    const h = 1e-5;
    const f = (shift: number): number[] => {
      const x = et.tensor(xs.map((v) => v + shift), { dtype: 'f64', backend: 'cpu' });
      const y = et.gelu(x, { approximate });
      const values = Array.from(y.dataSync());
      et.dispose([x, y]);
      return values;
    };
    const [up, down] = [f(h), f(-h)];
    const want = xs.map((_, i) => (gs[i]! * (up[i]! - down[i]!)) / (2 * h));
    const got = et.geluGrad(gpu(xs), gpu(gs), approximate);
    expectClose([await got.data(), want]);
    got.dispose();
  });

  it('hand-computed values: Φ(x) + x·φ(x) and the tanh form', async () => {
    // Φ(1) = 0.8413447460685429, φ(1) = 0.24197072451914337, Φ(2) = 0.9772498680518208, φ(2) = 0.05399096651318806
    const exact = et.geluGrad(gpu([0, 1, -1, 2]), gpu([2, 1, 3, 1]));
    expectClose([await exact.data(), [1, 1.0833154705876864, 3 * (0.15865525393145707 - 0.24197072451914337), 0.9772498680518208 + 2 * 0.05399096651318806]]);
    const tanhAt = (x: number): number => {
      const k = Math.sqrt(2 / Math.PI);
      const th = Math.tanh(k * (x + 0.044715 * x ** 3));
      return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * k * (1 + 3 * 0.044715 * x * x);
    };
    const approx = et.geluGrad(gpu([0, 1, -1, 2]), gpu([2, 1, 3, 1]), 'tanh');
    expectClose([await approx.data(), [1, tanhAt(1), 3 * tanhAt(-1), tanhAt(2)]]);
    et.dispose([exact, approx]);
  });

  it.each(FORMS)('%s saturates to the step function at large |x| without NaN', async (approximate: Form) => {
    // |gelu′(x) − [x > 0]| < 1e-7 for |x| ≥ 6; ±1e20 overflows x² and x³ in f32
    const xs = [-1e20, -30, -10, -6, 6, 10, 30, 1e20];
    const got = et.geluGrad(gpu(xs), gpu(xs.map(() => 1)), approximate);
    expectClose([await got.data(), xs.map((v) => (v > 0 ? 1 : 0))]);
    got.dispose();
  });

  it.each(FORMS)('%s propagates NaN from x and from g', async (approximate) => {
    const got = et.geluGrad(gpu([Number.NaN, 1, -2]), gpu([1, Number.NaN, 1]), approximate);
    const [a, b, c] = Array.from(await got.data());
    expect([Number.isNaN(a!), Number.isNaN(b!), Number.isNaN(c!)]).toEqual([true, true, false]);
    got.dispose();
  });
});

describe.runIf(status.available)('webgpu linear', () => {
  const ACTS = ['none', 'relu', 'tanh', 'sigmoid'] as const;
  // [M, K, N] and the matmul variant pickVariant gives [M, N]; all but the MLP shape [64, 784, 256] leave ragged
  // edges against the variant's tile (block × workgroup)
  const SHAPES: [number, number, number, keyof typeof MATMUL_VARIANTS][] = [
    [1, 1, 1, 'small'],
    [7, 5, 9, 'small'],
    [100, 17, 3, 'skinny'],
    [300, 9, 1, 'skinny'],
    [33, 40, 65, 'medium'],
    [9, 70, 600, 'medium'],
    [67, 37, 129, 'large'],
    [64, 784, 256, 'large'],
  ];
  /** x [M, K], w [K, N] (dense, or the transpose of an [N, K] weight), b [N]; values keep z = x·w + b near 1. */
  const linInputs = (m: number, k: number, n: number, transposed: boolean, b: et.BackendName): et.Tensor[] => {
    const x = randn([m, k], m + k, b);
    const scale = 1 / Math.sqrt(k);
    const w = transposed ? randn([n, k], k + n, b).mul(scale).transpose() : randn([k, n], k + n, b).mul(scale);
    return [x, w, randn([n], n, b)];
  };
  const CASES = SHAPES.flatMap(([m, k, n, v]) => ACTS.flatMap((act) => [false, true].map((t) => [m, k, n, v, act, t] as const)));

  it.each(SHAPES)('[%i, %i]·[%i, …] picks the %s variant', (m, _k, n, v) => {
    expect(pickVariant(m, n)).toBe(MATMUL_VARIANTS[v]);
  });

  it.each(CASES)('[%i, %i]·[%i, %i] (%s), %s, transposed w: %s, matches cpu', async (m, k, n, _v, act, t) => {
    // f32 sums of k products against the cpu's: the error grows like √k ulps of the terms
    expectClose(await onBoth((b) => et.linear(...(linInputs(m, k, n, t, b) as [et.Tensor, et.Tensor, et.Tensor]), act)), { rtol: 1e-5, atol: 2e-6 * Math.sqrt(k) });
  });

  it.each(CASES)('[%i, %i]·[%i, %i] (%s), %s, transposed w: %s, equals matmul + add + activation on webgpu', async (m, k, n, _v, act, t) => {
    const [fused, composite] = await fusedAndComposite('linear', () => linInputs(m, k, n, t, 'webgpu'), { activation: act });
    // the same kernel computes the same accumulators; the epilogue adds the bias and applies the same scalar functions
    expect(Array.from(fused)).toEqual(Array.from(composite));
  });

  it('k = 0: act(b) in every row', async () => {
    const x = et.zeros([3, 0], { backend: 'webgpu' });
    const w = et.zeros([0, 2], { backend: 'webgpu' });
    const b = et.tensor([-1.5, 2], { backend: 'webgpu' });
    const y = et.linear(x, w, b, 'relu');
    expect(Array.from(await y.data())).toEqual([0, 2, 0, 2, 0, 2]);
    et.dispose([x, w, b, y]);
  });

  it('hand-computed: [[1, 2]]·[[1, −1], [2, 1]] + [0.5, −2] through relu', async () => {
    const y = et.linear(et.tensor([[1, 2]], { backend: 'webgpu' }), et.tensor([[1, -1], [2, 1]], { backend: 'webgpu' }), et.tensor([0.5, -2], { backend: 'webgpu' }), 'relu');
    // z = [5.5, −1]
    expect(Array.from(await y.data())).toEqual([5.5, 0]);
    y.dispose();
  });

  it('reads a bias that is an offset view, and a broadcast (stride 0) one', async () => {
    for (const act of ['tanh', 'none'] as const) {
      expectClose(
        await onBoth((b) => {
          const [x, w] = linInputs(33, 20, 40, true, b);
          const bias = act === 'tanh' ? et.slice(randn([50], 9, b), [7], [47]) : et.expand(randn([1], 9, b), [40]);
          expect([bias.layout.strides[0], bias.layout.offset]).toEqual(act === 'tanh' ? [1, 7] : [0, 0]);
          return et.linear(x!, w!, bias, act);
        }),
      );
    }
  });
});

describe.runIf(status.available)('webgpu adamStep', () => {
  const ADAM: et.OpAttrs['adamStep'] = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decay: 1, stepSize: 0.01, bias2Sqrt: Math.sqrt(1 - 0.999 ** 3) };
  const ADAM_WD: et.OpAttrs['adamStep'] = { ...ADAM, weightDecay: 0.05 };
  const ADAMW: et.OpAttrs['adamStep'] = { ...ADAM, decay: 1 - 0.01 * 0.1, stepSize: 0.03 };
  const CONFIGS = [['adam', ADAM], ['adam + weight decay', ADAM_WD], ['adamw (decay ≠ 1)', ADAMW]] as const;

  /** p, g, m, v as four separate tensors; v ≥ 0. */
  const separate = (shape: number[], b: et.BackendName): et.Tensor[] => [
    randn(shape, 1, b),
    randn(shape, 2, b),
    randn(shape, 3, b).mul(0.1),
    randn(shape, 4, b).mul(0.1).square(),
  ];
  /** p, m, v as rows of one packed [3, n] buffer (offsets 0, n, 2n), as the optimizer keeps them. */
  const packed = (n: number, b: et.BackendName): et.Tensor[] => {
    const host = new Float32Array(3 * n);
    const r = et.randn([3 * n], { seed: 11, backend: 'cpu' }).dataSync() as Float32Array;
    for (let i = 0; i < n; i++) {
      host[i] = r[i]!;
      host[n + i] = 0.1 * r[n + i]!;
      host[2 * n + i] = 0.01 * r[2 * n + i]! ** 2;
    }
    const all = et.tensor(host, { shape: [3, n], backend: b });
    const row = (k: number) => et.slice(all, [k, 0], [k + 1, n]).reshape([n]);
    return [row(0), randn([n], 12, b), row(1), row(2)];
  };
  const CASES = CONFIGS.flatMap(([name, a]) => [1, 7, 257, 4099].map((n) => [name, n, a] as const));

  it.each(CASES)('%s, n = %i, matches cpu and its composite', async (_name, n, a) => {
    expectClose(await onBoth((b) => et.adamStep(...(separate([n], b) as [et.Tensor, et.Tensor, et.Tensor, et.Tensor]), a)));
    expectClose(await fusedAndComposite('adamStep', () => separate([n], 'webgpu'), a));
  });

  it.each(CASES)('%s, n = %i, reads p, m, v as offset views of one buffer', async (_name, n, a) => {
    et.tidy(() => {
      const [p, , m, v] = packed(n, 'webgpu');
      expect([p!.layout.offset, m!.layout.offset, v!.layout.offset]).toEqual([0, n, 2 * n]);
      expect(m!.storage).toBe(p!.storage);
    });
    expectClose(await onBoth((b) => et.adamStep(...(packed(n, b) as [et.Tensor, et.Tensor, et.Tensor, et.Tensor]), a)));
    expectClose(await fusedAndComposite('adamStep', () => packed(n, 'webgpu'), a));
  });

  it('reads transposed and broadcast operands', async () => {
    expectClose(
      await onBoth((b) => {
        const [p, , m, v] = separate([7, 5], b);
        return et.adamStep(p!.transpose(), et.expand(randn([1, 7], 3, b), [5, 7]), m!.transpose(), v!.transpose(), ADAMW);
      }),
    );
  });

  it('three chained steps on views of the previous output match cpu', async () => {
    expectClose(
      await onBoth((b) => {
        let [p, , m, v] = packed(300, b);
        for (let s = 0; s < 3; s++) {
          const out = et.adamStep(p!, randn([300], 20 + s, b), m!, v!, ADAM_WD);
          [p, m, v] = [0, 1, 2].map((k) => et.slice(out, [k, 0], [k + 1, 300]).reshape([300]));
        }
        return et.stack([p!, m!, v!], 0);
      }),
    );
  });

  it("a first step moves p by stepSize·sign(g)·(1 − β1) / (1 − β1) = lr (hand-computed)", async () => {
    const t = (v: number[]) => et.tensor(v, { backend: 'webgpu' });
    const a = { beta1: 0.9, beta2: 0.999, eps: 0, weightDecay: 0, decay: 1, stepSize: 0.01 / (1 - 0.9), bias2Sqrt: Math.sqrt(1 - 0.999) };
    const out = et.adamStep(t([1, -2]), t([0.5, -4]), t([0, 0]), t([0, 0]), a);
    const d = await out.data();
    // m′ = 0.1·g, v′ = 0.001·g², √v′/√0.001 = |g|: p′ = p − (0.1·g/|g|)·0.1 = p − 0.01·sign(g)
    expect(d[0]).toBeCloseTo(0.99, 6);
    expect(d[1]).toBeCloseTo(-1.99, 6);
    expect(Array.from(d.slice(2, 4))).toEqual([Math.fround(0.05), Math.fround(-0.4)]);
    expect(d[4]).toBeCloseTo(0.00025, 9);
    expect(d[5]).toBeCloseTo(0.016, 8);
    out.dispose();
  });
});

describe.runIf(status.available)('webgpu sgdStep', () => {
  const PLAIN: et.SgdStepAttrs = { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, first: false };
  const FIRST: et.SgdStepAttrs = { ...PLAIN, momentum: 0.9, first: true };
  const DAMPED: et.SgdStepAttrs = { ...PLAIN, momentum: 0.9, dampening: 0.3, weightDecay: 0.05 };
  const NESTEROV: et.SgdStepAttrs = { ...PLAIN, lr: 0.03, momentum: 0.8, nesterov: true, weightDecay: 0.01 };
  const CONFIGS = [
    ['momentum 0', PLAIN],
    ['momentum, first step', FIRST],
    ['momentum + dampening + weight decay', DAMPED],
    ['nesterov + weight decay', NESTEROV],
  ] as const;
  const SIZES = [1, 7, 257, 100_003];

  /** p, g, buf as three separate tensors. */
  const separate = (shape: number[], b: et.BackendName): [et.Tensor, et.Tensor, et.Tensor] => [randn(shape, 1, b), randn(shape, 2, b), randn(shape, 3, b).mul(0.1)];
  /** p and buf as rows of one packed [2, n] buffer (offsets 0 and n), as the optimizer keeps them. */
  const packed = (n: number, b: et.BackendName): [et.Tensor, et.Tensor, et.Tensor] => {
    const all = randn([2, n], 11, b);
    const row = (k: number) => et.slice(all, [k, 0], [k + 1, n]).reshape([n]);
    return [row(0), randn([n], 12, b), row(1)];
  };
  const CASES = CONFIGS.flatMap(([name, a]) => SIZES.map((n) => [name, n, a] as const));

  it.each(CASES)('%s, n = %i, matches cpu and its composite', async (_name, n, a) => {
    expectClose(await onBoth((b) => et.sgdStep(...separate([n], b), a)));
    expectClose(await fusedAndComposite('sgdStep', () => separate([n], 'webgpu'), a));
  });

  it.each(CASES)('%s, n = %i, reads p and buf as offset views of one buffer', async (_name, n, a) => {
    et.tidy(() => {
      const [p, , buf] = packed(n, 'webgpu');
      expect([p.layout.offset, buf.layout.offset]).toEqual([0, n]);
      expect(buf.storage).toBe(p.storage);
    });
    expectClose(await onBoth((b) => et.sgdStep(...packed(n, b), a)));
    expectClose(await fusedAndComposite('sgdStep', () => packed(n, 'webgpu'), a));
  });

  it.each(CONFIGS)('%s reads transposed and broadcast operands', async (_name, a) => {
    expectClose(
      await onBoth((b) => {
        const [p, , buf] = separate([7, 5], b);
        return et.sgdStep(p.transpose(), et.expand(randn([1, 7], 3, b), [5, 7]), buf.transpose(), a);
      }),
    );
  });

  it('momentum 0 with g passed as buf: the output is [1, ...shape] = [p′]', async () => {
    const [p, g] = separate([3, 4], 'webgpu');
    const out = et.sgdStep(p, g, g, PLAIN);
    expect(out.shape).toEqual([1, 3, 4]);
    const want = et.tidy(() => et.sgdStep(...separate([3, 4], 'cpu'), PLAIN));
    expectClose([await out.data(), want.dataSync()]);
    et.dispose([p, g, out, want]);
  });

  it('three chained steps on views of the previous output match cpu', async () => {
    expectClose(
      await onBoth((b) => {
        let [p, , buf] = packed(300, b);
        for (let s = 0; s < 3; s++) {
          const out = et.sgdStep(p, randn([300], 20 + s, b), buf, { ...DAMPED, first: s === 0 });
          [p, buf] = [0, 1].map((k) => et.slice(out, [k, 0], [k + 1, 300]).reshape([300])) as [et.Tensor, et.Tensor];
        }
        return et.stack([p, buf], 0);
      }),
    );
  });

  it('hand-computed values; buf is not read on a first step or without momentum', async () => {
    const t = (v: number[]) => et.tensor(v, { backend: 'webgpu' });
    const [p, g, buf, nan] = [t([1, -2]), t([0.5, -4]), t([2, 1]), t([NaN, NaN])];
    // momentum 0: p − 0.5·g
    const plain = et.sgdStep(p, g, nan, { ...PLAIN, lr: 0.5 });
    expect(Array.from(await plain.data())).toEqual([0.75, 0]);
    // first step: buf′ = d = g + 0.5·p = [1, −5], p′ = p − 0.25·buf′
    const first = et.sgdStep(p, g, nan, { ...FIRST, lr: 0.25, weightDecay: 0.5 });
    expect(Array.from(await first.data())).toEqual([0.75, -0.75, 1, -5]);
    // buf′ = 0.5·buf + (1 − 0.5)·g = [1.25, −1.5]; nesterov d = g + 0.5·buf′ = [1.125, −4.75]; p′ = p − 2·d
    const nest = et.sgdStep(p, g, buf, { ...PLAIN, lr: 2, momentum: 0.5, dampening: 0.5, nesterov: true });
    expect(Array.from(await nest.data())).toEqual([-1.25, 7.5, 1.25, -1.5]);
    et.dispose([p, g, buf, nan, plain, first, nest]);
  });
});
