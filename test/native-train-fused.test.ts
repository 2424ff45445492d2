/**
 * The fused training ops (crossEntropyGrad, layerNormGrad, activationGrad, geluGrad, linear, adamStep, sgdStep) on the native backend:
 * against the cpu reference on ragged shapes and strided/offset views, against their composites on native itself,
 * the same results on 1, 2 and 3 threads, linear's GEMM epilogue on every micro-kernel (EITP_SIMD), and a bad target
 * as a typed error (at the call, and from the asynchronous stream) with the process carrying on.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { apply } from '../engine/dispatch.js';
import * as et from '../engine/index.js';
import { nativeInfo, setNativeThreads } from '../engine/backends/native/index.js';
import { type NativeAddon, loadAddon } from '../engine/backends/native/native-addon.js';
import { ADDON_SCRIPT_PRELUDE } from './helpers/addon-script.js';
import { availableBackends, compareArrays } from './helpers/backends.js';
import { onHost } from './helpers/on-host.js';

const hasNative = availableBackends().includes('native');
type Where = 'cpu' | 'native';
type Activation = 'none' | 'relu' | 'tanh' | 'sigmoid';

function normals(n: number, seed: number, scale = 1): Float32Array {
  const rng = new et.Rng(seed);
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, label: string) {
  const cmp = compareArrays(actual, expected, { rtol, atol });
  expect(cmp.ok, `${label}: ${cmp.message}`).toBe(true);
}

/** The op's result on a backend, as host data: the builder makes its inputs there. */
function on(where: Where, build: (b: Where) => et.Tensor): Float32Array {
  return onHost(() => build(where).dataSync() as Float32Array);
}

function composite(op: et.OpName, inputs: et.Tensor[], attrs: object): et.Tensor {
  const def = et.opTable()[op] as { composite: (xs: et.Tensor[], attrs: object) => et.Tensor };
  return def.composite(inputs, attrs);
}

const t32 = (data: Float32Array, shape: number[], b: Where) => et.tensor(data, { shape, backend: b });

// ---- linear ----------------------------------------------------------------------------------------------------------

interface LinearCase {
  m: number;
  k: number;
  n: number;
  transposed: boolean;
}

/** x [m, k], and w as data of [k, n] (dense) or of [n, k] (viewed transposed), b [n]. */
function linearData({ m, k, n }: LinearCase, seed: number) {
  return { x: normals(m * k, seed), w: normals(k * n, seed + 1, 1 / Math.sqrt(Math.max(k, 1))), b: normals(n, seed + 2) };
}

function linearOn(where: Where, c: LinearCase, seed: number, activation: Activation, fused = true): Float32Array {
  const d = linearData(c, seed);
  return on(where, (b) => {
    const x = t32(d.x, [c.m, c.k], b);
    const w = c.transposed ? et.transpose(t32(d.w, [c.n, c.k], b)) : t32(d.w, [c.k, c.n], b);
    const bias = t32(d.b, [c.n], b);
    return fused ? et.linear(x, w, bias, activation) : composite('linear', [x, w, bias], { activation });
  });
}

/** |x|·|w| + |b| per output element: the scale of its f32 rounding error. */
function linearScale(c: LinearCase, seed: number): Float64Array {
  const d = linearData(c, seed);
  const s = new Float64Array(c.m * c.n);
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n; j++) {
      let acc = Math.abs(d.b[j]!);
      for (let p = 0; p < c.k; p++) acc += Math.abs(d.x[i * c.k + p]! * (c.transposed ? d.w[j * c.k + p]! : d.w[p * c.n + j]!));
      s[i * c.n + j] = acc;
    }
  }
  return s;
}

function expectWithinScale(actual: Float32Array, expected: Float32Array, scale: Float64Array, label: string) {
  let worst = -1;
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= 2e-6 * scale[i]! + 1e-7)) worst = i;
  }
  expect(worst, `${label}: index ${worst}: got ${actual[worst]}, expected ${expected[worst]}`).toBe(-1);
}

const ACTIVATIONS: Activation[] = ['none', 'relu', 'tanh', 'sigmoid'];
// Ragged against every tile size; K past one and two KC blocks; N past one NC block (3072) so the bias is offset by the
// column block; 130 x 300 x 200 is large enough for the GEMM to use the threads.
const LINEAR_SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [7, 33, 257],
  [33, 257, 7],
  [67, 401, 45],
  [13, 1000, 31],
  [9, 17, 3100],
  [130, 300, 200],
  [4, 0, 5],
];

describe.skipIf(!hasNative)('native linear (matmul + bias + activation epilogue)', () => {
  it.each(LINEAR_SHAPES.flatMap(([m, k, n]) => [false, true].map((transposed) => [m, k, n, transposed] as const)))(
    '(m, k, n) = (%i, %i, %i), w transposed view: %s — every activation matches cpu',
    (m, k, n, transposed) => {
      const c = { m, k, n, transposed };
      const scale = linearScale(c, m + k + n);
      for (const act of ACTIVATIONS) {
        expectWithinScale(linearOn('native', c, m + k + n, act), linearOn('cpu', c, m + k + n, act), scale, `${act}`);
      }
    },
  );

  it('equals its composite act(matmul(x, w) + b) on native bit for bit (same GEMM, epilogue in the same order)', () => {
    for (const [m, k, n] of [
      [67, 401, 45],
      [9, 17, 3100],
      [130, 300, 200],
    ] as const) {
      for (const transposed of [false, true]) {
        for (const act of ACTIVATIONS) {
          const c = { m, k, n, transposed };
          expect(Array.from(linearOn('native', c, 5, act)), `${m}x${k}x${n} ${act}`).toEqual(Array.from(linearOn('native', c, 5, act, false)));
        }
      }
    }
  });

  it('relu clamps to exactly 0 and sigmoid/tanh saturate to their limits', () => {
    // x = [1], w = [[1, 1, 1, 1]], b picks the pre-activations −100, −0.5, 0.5, 100
    const out = (act: Activation) =>
      Array.from(on('native', (b) => et.linear(t32(Float32Array.of(1), [1, 1], b), t32(Float32Array.of(1, 1, 1, 1), [1, 4], b), t32(Float32Array.of(-101, -1.5, -0.5, 99), [4], b), act)));
    expect(out('none')).toEqual([-100, -0.5, 0.5, 100]);
    expect(out('relu')).toEqual([0, 0, 0.5, 100]);
    expect(out('tanh')[0]).toBe(-1);
    expect(out('tanh')[3]).toBe(1);
    expect(out('tanh')[2]).toBeCloseTo(Math.tanh(0.5), 6);
    expect(out('sigmoid')[0]).toBeLessThan(1e-40);
    expect(out('sigmoid')[3]).toBe(1);
    expect(out('sigmoid')[1]).toBeCloseTo(1 / (1 + Math.exp(0.5)), 6);
  });

  it('the epilogue is right on every micro-kernel, and the elementwise loops agree on every ISA (EITP_SIMD=generic, avx2, best)', () => {
    // A fresh process per instruction set (kernels are chosen once, at load), calling the addon directly. linear: x
    // [m, k] dense, w a transposed view of [n, k] data, against a float64 reference. activationGrad, adamStep and
    // sgdStep: their outputs, which must be identical on every ISA (no FMA contraction in those loops).
    const script = `
      ${ADDON_SCRIPT_PRELUDE}
      const vec = (n, f) => Float32Array.from({ length: n }, (_, i) => f(i));
      let worst = 0;
      for (const [m, k, n] of [[13, 300, 45], [67, 401, 33], [5, 20, 3100], [31, 700, 70]]) {
        const X = vec(m * k, (i) => Math.sin(i * 0.37));
        const W = vec(n * k, (i) => Math.cos(i * 0.11) / Math.sqrt(k)); // [n, k]
        const B = vec(n, (j) => 0.5 * Math.sin(j));
        for (const [code, f] of [[0, (z) => z], [1, (z) => (z > 0 ? z : 0)], [2, Math.tanh], [3, (z) => 1 / (1 + Math.exp(-z))]]) {
          const C = run('linear', [[X, [m, k], [k, 1]], [W, [k, n], [1, k]], [B, [n], [1]]], [m, n], [code]);
          for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
            let s = B[j], bound = Math.abs(B[j]);
            for (let p = 0; p < k; p++) { s += X[i * k + p] * W[j * k + p]; bound += Math.abs(X[i * k + p] * W[j * k + p]); }
            worst = Math.max(worst, Math.abs(C[i * n + j] - f(s)) / (bound + 1e-30));
          }
        }
      }
      const n = 1037;
      const y = vec(n, (i) => Math.tanh(3 * Math.sin(i))), g = vec(n, (i) => Math.cos(i * 1.3));
      const grads = [1, 2, 3].map((code) => Array.from(run('activationGrad', [[y, [n], [1]], [g, [n], [1]]], [n], [code])));
      const v = vec(n, (i) => Math.sin(i * 0.7) ** 2 * 1e-3);
      const adam = Array.from(run('adamStep', [[y, [n], [1]], [g, [n], [1]], [vec(n, (i) => 0.01 * Math.sin(i)), [n], [1]], [v, [n], [1]]], [3, n],
        [0.9, 0.999, 1e-8, 0.01, 0.999, 0.003, 0.05]));
      const b = vec(n, (i) => 0.02 * Math.cos(i * 0.9));
      const sgd = [[0.05, 0.9, 0.1, 1, 0.01, 0], [0.05, 0.9, 0, 0, 0, 1], [0.05, 0, 0, 0, 0.01, 0]].map((attrs) =>
        Array.from(run('sgdStep', [[y, [n], [1]], [g, [n], [1]], [b, [n], [1]]], [attrs[1] === 0 ? 1 : 2, n], attrs)));
      console.log(JSON.stringify({ kernel: a.info().gemmKernel, worst, grads, adam, sgd }));`;
    const runs = ['generic', 'avx2', ''].map((simd) => {
      const r = JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, EITP_SIMD: simd }, encoding: 'utf8' })) as {
        kernel: string;
        worst: number;
        grads: number[][];
        adam: number[];
        sgd: number[][];
      };
      if (simd) expect(r.kernel.startsWith(simd) || r.kernel.startsWith('generic'), r.kernel).toBe(true);
      expect(r.worst, r.kernel).toBeLessThan(2e-6);
      return r;
    });
    expect(runs[0]!.kernel.startsWith('generic')).toBe(true);
    for (const r of runs.slice(1)) {
      expect(r.grads, r.kernel).toEqual(runs[0]!.grads);
      expect(r.adam, r.kernel).toEqual(runs[0]!.adam);
      expect(r.sgd, r.kernel).toEqual(runs[0]!.sgd);
    }
  });
});

// ---- crossEntropyGrad ------------------------------------------------------------------------------------------------

type Reduction = 'mean' | 'sum' | 'none';

function crossEntropyGradOn(where: Where, shape: number[], reduction: Reduction, seed: number, fused = true, dtype: 'i32' | 'u8' = 'i32') {
  const classes = shape[shape.length - 1]!;
  const lead = shape.slice(0, -1);
  const rows = lead.reduce((p, d) => p * d, 1);
  const logits = normals(rows * classes, seed, 3);
  const rng = new et.Rng(seed + 1);
  const targets = Array.from({ length: rows }, () => rng.int(0, classes));
  const g = reduction === 'none' ? normals(rows, seed + 2) : Float32Array.of(1.7);
  return on(where, (b) => {
    const z = t32(logits, shape, b);
    const t = et.tensor(dtype === 'i32' ? Int32Array.from(targets) : Uint8Array.from(targets), { shape: lead, backend: b });
    const gt = t32(g, reduction === 'none' ? lead : [], b);
    return fused ? apply('crossEntropyGrad', [z, t, gt], { reduction }) : composite('crossEntropyGrad', [z, t, gt], { reduction });
  });
}

const CE_SHAPES: number[][] = [[0, 4], [1, 1], [7, 33], [257, 10], [1, 257], [3, 5, 7], [33, 1000]];

describe.skipIf(!hasNative)('native crossEntropyGrad', () => {
  it.each(CE_SHAPES.flatMap((s) => (['mean', 'sum', 'none'] as const).map((r) => [JSON.stringify(s), r] as const)))(
    'logits %s, reduction %s: matches cpu and the composite on native',
    (shapeText, reduction) => {
      const shape = JSON.parse(shapeText) as number[];
      const expected = crossEntropyGradOn('cpu', shape, reduction, shape.length * 100 + shape[0]!);
      const actual = crossEntropyGradOn('native', shape, reduction, shape.length * 100 + shape[0]!);
      // softmax values carry the f32 exponential's few-ulp error, absolute at the scale of |g|
      const atol = 1e-6 * Math.max(maxAbs(expected), 1e-30);
      expectClose(actual, expected, 1e-5, atol, 'vs cpu');
      expectClose(actual, crossEntropyGradOn('native', shape, reduction, shape.length * 100 + shape[0]!, false), 1e-5, atol, 'vs composite');
    },
  );

  it('u8 targets match cpu', () => {
    const expected = crossEntropyGradOn('cpu', [9, 200], 'sum', 3, true, 'u8');
    expectClose(crossEntropyGradOn('native', [9, 200], 'sum', 3, true, 'u8'), expected, 1e-5, 1e-6 * maxAbs(expected), 'u8');
  });

  it('a target outside [0, C) is an ArgumentError at the call, naming the op; the process carries on', () => {
    const logits = et.tensor(normals(4 * 3, 8), { shape: [4, 3], backend: 'native' });
    const g = et.tensor(1, { backend: 'native' });
    for (const bad of [3, -1]) {
      const t = et.tensor(Int32Array.from([0, 1, bad, 2]), { backend: 'native' });
      expect(() => apply('crossEntropyGrad', [logits, t, g], { reduction: 'mean' })).toThrow(et.ArgumentError);
      expect(() => apply('crossEntropyGrad', [logits, t, g], { reduction: 'mean' })).toThrow(
        new RegExp(`crossEntropyGrad: target ${bad} at position 2 is outside \\[0, 3\\)`),
      );
      t.dispose();
    }
    const ok = onHost(() => apply('crossEntropyGrad', [logits, et.tensor(Int32Array.from([0, 1, 2, 2]), { backend: 'native' }), g], { reduction: 'sum' }).dataSync());
    expect(ok.length).toBe(12);
    expect(Math.abs(ok[0]! + ok[1]! + ok[2]!)).toBeLessThan(1e-6); // each row of softmax − onehot sums to 0
    et.dispose([logits, g]);
  });

  it.skipIf(hasNative && nativeInfo().sync)('a bad target computed by queued work rejects read() with an ArgumentError', async () => {
    const logits = et.tensor(normals(2 * 5, 9), { shape: [2, 5], backend: 'native' });
    const ones = et.ones([256, 256], { backend: 'native' });
    (loadAddon() as NativeAddon).stallStream(100); // what follows is still queued when crossEntropyGrad is called
    const big = et.matmul(ones, ones); // 256 everywhere
    const t = et.tidy(() => et.cast(et.sub(et.slice(et.reshape(big, [-1]), [0], [2]), 250), 'i32')); // [6, 6]: out of range
    const g = et.tensor(1, { backend: 'native' });
    const out = apply('crossEntropyGrad', [logits, t, g], { reduction: 'mean' });
    const err = await out.data().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(et.ArgumentError);
    expect(String((err as Error).message)).toMatch(/target 6 at position 0 is outside \[0, 5\)/);
    const fine = et.tidy(() => et.add(logits, 1));
    expect((await fine.data())[0]).toBeCloseTo((await logits.data())[0]! + 1, 5);
    et.dispose([logits, ones, big, t, g, out, fine]);
  });
});

// ---- layerNormGrad ---------------------------------------------------------------------------------------------------

function layerNormGradOn(where: Where, shape: number[], seed: number, mode: 'fused' | 'composite' | 'strided' = 'fused') {
  const d = shape[shape.length - 1]!;
  const n = shape.reduce((p, s) => p * s, 1);
  const x = normals(n, seed, 2);
  const w = normals(d, seed + 1);
  const g = normals(n, seed + 2);
  for (let i = 0; i < n; i++) x[i]! += 0.5 * (i % d); // a row mean and spread to take out
  return on(where, (b) => {
    if (mode === 'strided') {
      // x and g as transposed views of [d, rows] data (2-D shapes only)
      const rows = n / d;
      const xt = new Float32Array(n);
      const gt = new Float32Array(n);
      for (let i = 0; i < rows; i++) for (let j = 0; j < d; j++) [xt[j * rows + i], gt[j * rows + i]] = [x[i * d + j]!, g[i * d + j]!];
      return apply('layerNormGrad', [et.transpose(t32(xt, [d, rows], b)), t32(w, [d], b), et.transpose(t32(gt, [d, rows], b))], { eps: 1e-5 });
    }
    const inputs = [t32(x, shape, b), t32(w, [d], b), t32(g, shape, b)];
    return mode === 'fused' ? apply('layerNormGrad', inputs, { eps: 1e-5 }) : composite('layerNormGrad', inputs, { eps: 1e-5 });
  });
}

/** Per packed row group (dx rows, dw, db), a tolerance scaled to that group's magnitude. */
function expectLayerNormClose(actual: Float32Array, expected: Float32Array, d: number, rtol: number, label: string) {
  const rows = expected.length / d - 2;
  const parts: [string, number, number][] = [
    ['dx', 0, rows * d],
    ['dw', rows * d, (rows + 1) * d],
    ['db', (rows + 1) * d, (rows + 2) * d],
  ];
  for (const [name, lo, hi] of parts) {
    const e = expected.subarray(lo, hi);
    expectClose(actual.subarray(lo, hi), e, rtol, 1e-6 * Math.max(maxAbs(e), 1e-30), `${label} ${name}`);
  }
}

const LN_SHAPES: number[][] = [[0, 5], [1, 7], [7, 1], [1, 1], [33, 257], [2, 3, 33], [300, 65], [4096, 64], [1000, 9]];

describe.skipIf(!hasNative)('native layerNormGrad', () => {
  it.each(LN_SHAPES.map((s) => [JSON.stringify(s)]))('x %s: matches cpu and the composite on native', (shapeText) => {
    const shape = JSON.parse(shapeText) as number[];
    const d = shape[shape.length - 1]!;
    const expected = layerNormGradOn('cpu', shape, shape[0]!);
    const actual = layerNormGradOn('native', shape, shape[0]!);
    expectLayerNormClose(actual, expected, d, 1e-5, 'vs cpu');
    // the composite computes in f32 ops: its own error is larger
    expectLayerNormClose(actual, layerNormGradOn('native', shape, shape[0]!, 'composite'), d, 1e-4, 'vs composite');
  });

  it('d = 1: dx is 0 (x̂ = 0), dw = 0 and db = Σg', () => {
    const out = layerNormGradOn('native', [5, 1], 3);
    const g = normals(5, 5);
    expect(Array.from(out.subarray(0, 6))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(out[6]).toBeCloseTo(g.reduce((s, v) => s + v, 0), 5);
  });

  it('reads transposed (non-contiguous) x and g', () => {
    const expected = layerNormGradOn('cpu', [70, 33], 4);
    expectLayerNormClose(layerNormGradOn('native', [70, 33], 4, 'strided'), expected, 33, 1e-5, 'strided');
  });
});

// ---- activationGrad --------------------------------------------------------------------------------------------------

type GradActivation = 'relu' | 'tanh' | 'sigmoid';

/** y as the activation's output (relu with exact zeros, tanh and sigmoid near saturation too), g any. */
function activationGradOn(where: Where, n: number, act: GradActivation, seed: number, mode: 'fused' | 'composite' | 'strided' = 'fused') {
  const z = normals(n, seed, 3);
  const y = Float32Array.from(z, (v) => (act === 'relu' ? Math.max(v, 0) : act === 'tanh' ? Math.tanh(v) : 1 / (1 + Math.exp(-v))));
  const g = normals(n, seed + 1);
  return on(where, (b) => {
    if (mode === 'strided') {
      // [rows, 7] read through a transposed view of [7, rows] data
      const rows = n / 7;
      const view = (a: Float32Array) => et.transpose(t32(Float32Array.from({ length: n }, (_, e) => a[(e % rows) * 7 + Math.floor(e / rows)]!), [7, rows], b));
      return et.activationGrad(view(y), view(g), act);
    }
    const inputs = [t32(y, [n], b), t32(g, [n], b)];
    return mode === 'fused' ? et.activationGrad(inputs[0]!, inputs[1]!, act) : composite('activationGrad', inputs, { activation: act });
  });
}

describe.skipIf(!hasNative)('native activationGrad', () => {
  it.each((['relu', 'tanh', 'sigmoid'] as const).flatMap((a) => [1, 7, 33, 257, 100003].map((n) => [a, n] as const)))(
    '%s, n = %i: matches cpu and the composite on native',
    (act, n) => {
      const expected = activationGradOn('cpu', n, act, n);
      const actual = activationGradOn('native', n, act, n);
      expectClose(actual, expected, 2e-6, 0, 'vs cpu');
      // the composite's 1 − y² loses up to ~1e-7 absolute to cancellation as |y| → 1
      expectClose(actual, activationGradOn('native', n, act, n, 'composite'), 1e-5, 1e-6 * maxAbs(expected), 'vs composite');
    },
  );

  it.each(['relu', 'tanh', 'sigmoid'] as const)('%s reads transposed views', (act) => {
    expectClose(activationGradOn('native', 7 * 41, act, 6, 'strided'), activationGradOn('cpu', 7 * 41, act, 6, 'strided'), 2e-6, 0, act);
  });

  it('relu keeps g·0 = NaN for an infinite g where y ≤ 0, like g·f′', () => {
    const out = on('native', (b) => et.activationGrad(t32(Float32Array.of(0, 2, -1), [3], b), t32(Float32Array.of(Infinity, Infinity, 5), [3], b), 'relu'));
    expect(Array.from(out)).toEqual([NaN, Infinity, 0]);
  });
});

// ---- layerNormGradGrad ------------------------------------------------------------------------------------------------

/** [J o; curvature] of x's LayerNorm rows for u, o (x scaled by 3 and shifted, so μ and r are not 0 and 1). */
function layerNormGradGradOn(where: Where, shape: number[], seed: number, transposed = false): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const [x, u, o] = [normals(n, seed, 3).map((v) => v + 1.5), normals(n, seed + 1), normals(n, seed + 2)];
  return on(where, (b) => {
    // a [rows, d] shape read through transposed views of [d, rows] buffers (the kernel's dense copy)
    const view = (a: Float32Array) => (transposed ? et.transpose(t32(a, [shape[1]!, shape[0]!], b)) : t32(a, shape, b));
    return apply('layerNormGradGrad', [view(x), view(u), view(o)], { eps: 1e-5 });
  });
}

/** Each half (J o, the curvature) to a tolerance scaled to its own magnitude. */
function expectHalvesClose(actual: Float32Array, expected: Float32Array, label: string) {
  const half = expected.length / 2;
  for (const [name, lo] of [['J o', 0], ['curvature', half]] as const) {
    const e = expected.subarray(lo, lo + half);
    expectClose(actual.subarray(lo, lo + half), e, 1e-5, 1e-5 * Math.max(maxAbs(e), 1e-30), `${label} ${name}`);
  }
}

describe.skipIf(!hasNative)('native layerNormGradGrad', () => {
  it.each([[0, 5], [1, 1], [7, 1], [1, 7], [96, 32], [2, 3, 33], [300, 257], [4096, 64]].map((s) => [JSON.stringify(s)]))('x %s: matches cpu (float64)', (shapeText) => {
    const shape = JSON.parse(shapeText) as number[];
    expectHalvesClose(layerNormGradGradOn('native', shape, shape[0]! + 3), layerNormGradGradOn('cpu', shape, shape[0]! + 3), 'vs cpu');
  });

  it('strided inputs (transposed views) and 1, 2, 3 threads give the same bits', () => {
    const expected = layerNormGradGradOn('cpu', [257, 33], 9, true);
    const initial = nativeInfo().threads;
    const runs = [1, 2, 3].map((threads) => {
      setNativeThreads(threads);
      try {
        return layerNormGradGradOn('native', [257, 33], 9, true);
      } finally {
        setNativeThreads(initial);
      }
    });
    expectHalvesClose(runs[0]!, expected, 'vs cpu');
    expect(Array.from(runs[1]!)).toEqual(Array.from(runs[0]!));
    expect(Array.from(runs[2]!)).toEqual(Array.from(runs[0]!));
  });
});

// ---- softmaxGradGrad -------------------------------------------------------------------------------------------------

/** [ȳ; ḡ] of softmaxGrad(y, g) for o along `axis`, y a softmax along that axis (optionally read transposed). */
function softmaxGradGradOn(where: Where, shape: number[], axis: number, seed: number, transposed = false): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const [x, g, o] = [normals(n, seed, 2), normals(n, seed + 1), normals(n, seed + 2)];
  return on(where, (b) => {
    const view = (a: Float32Array) => (transposed ? et.transpose(t32(a, [shape[1]!, shape[0]!], b)) : t32(a, shape, b));
    return apply('softmaxGradGrad', [et.softmax(view(x), axis), view(g), view(o)], { axis });
  });
}

describe.skipIf(!hasNative)('native softmaxGradGrad', () => {
  it.each([
    [[192, 24], 1], [[1, 1], 1], [[7, 1], 1], [[3, 33, 7], 1], [[3, 33, 7], 2], [[33, 5], 0], [[300, 1031], 1], [[0, 4], 1],
  ] as const)('%j along axis %i: matches cpu (float64)', (shape, axis) => {
    const expected = softmaxGradGradOn('cpu', [...shape], axis, shape[0]! + axis);
    expectHalvesClose(softmaxGradGradOn('native', [...shape], axis, shape[0]! + axis), expected, 'vs cpu');
  });

  it('strided inputs (transposed views) and 1, 2, 3 threads give the same bits', () => {
    const expected = softmaxGradGradOn('cpu', [129, 33], 1, 5, true);
    const initial = nativeInfo().threads;
    const runs = [1, 2, 3].map((threads) => {
      setNativeThreads(threads);
      try {
        return softmaxGradGradOn('native', [129, 33], 1, 5, true);
      } finally {
        setNativeThreads(initial);
      }
    });
    expectHalvesClose(runs[0]!, expected, 'vs cpu');
    expect(Array.from(runs[1]!)).toEqual(Array.from(runs[0]!));
    expect(Array.from(runs[2]!)).toEqual(Array.from(runs[0]!));
  });
});

describe.skipIf(!hasNative)('native layerNormGradGrad and softmaxGradGrad on malformed calls', () => {
  it('throw native errors naming the op for operands of the wrong size or an axis out of range; good calls then run', () => {
    const a = loadAddon() as NativeAddon;
    const handles = [0, 1, 2, 3].map(() => a.alloc(48));
    // rows of [0.5, 0.25, 0.25] in every input
    for (const h of handles) a.write(h, Float32Array.of(0.5, 0.25, 0.25, 0.5, 0.25, 0.25));
    const strides = (shape: number[]) => shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
    // three f32 inputs (dtype 0, rank, offset, shape, strides each), then the output (dtype 0, rank, shape)
    const call = (op: string, shapes: number[][], out: number[], attr: number) => () => {
      const meta = [3, ...shapes.flatMap((sh) => [0, sh.length, 0, ...sh, ...strides(sh)]), 0, out.length, ...out];
      a.run(op, handles, new Float64Array(meta), Float64Array.of(attr));
      return Array.from(new Float32Array(a.readSync(handles[3]!, 4 * out.reduce((p, d) => p * d, 1))));
    };
    expect(call('layerNormGradGrad', [[2, 3], [2, 3], [2, 2]], [2, 2, 3], 1e-5)).toThrow(/^layerNormGradGrad: u and o must have x's size/);
    expect(call('softmaxGradGrad', [[2, 3], [2, 3], [3, 2]], [2, 2, 3], 1)).toThrow(/^softmaxGradGrad: y, g and o must have one shape/);
    expect(call('softmaxGradGrad', [[2, 3], [2, 3], [2, 3]], [2, 2, 3], 2)).toThrow(/^softmaxGradGrad: axis out of range/);
    // y = g = o = [0.5, 0.25, 0.25] per row: Σ g·y = Σ o·y = 0.375, so ȳ = o(g − 0.375) − 0.375·g = −0.125 everywhere
    // and ḡ = y(o − 0.375) = (0.0625, −0.03125, −0.03125)
    const yBar = [-0.125, -0.125, -0.125];
    const gBar = [0.0625, -0.03125, -0.03125];
    expect(call('softmaxGradGrad', [[2, 3], [2, 3], [2, 3]], [2, 2, 3], 1)()).toEqual([...yBar, ...yBar, ...gBar, ...gBar]);
    // x = (1, 2, 3), u = e₁, o = e₂, eps = 0: r = √1.5, J o = r·(−1/3, 2/3, −1/3), curvature r³·(−2/9, 2/9, 0) (the
    // values worked by hand in backward-work.test.ts)
    a.write(handles[0]!, Float32Array.of(1, 2, 3));
    a.write(handles[1]!, Float32Array.of(1, 0, 0));
    a.write(handles[2]!, Float32Array.of(0, 1, 0));
    const r = Math.sqrt(1.5);
    const want = [-r / 3, (2 * r) / 3, -r / 3, (-2 * r ** 3) / 9, (2 * r ** 3) / 9, 0];
    const ln = call('layerNormGradGrad', [[1, 3], [1, 3], [1, 3]], [2, 1, 3], 0)();
    ln.forEach((v, i) => expect(Math.abs(v - want[i]!), `element ${i}`).toBeLessThan(1e-6));
    for (const h of handles) a.free(h);
  });
});

// ---- geluGrad --------------------------------------------------------------------------------------------------------

/** The tanh form's gelu′ in float64, written out (the exact form is checked against the cpu kernel's erf instead). */
function geluTanhSlope(x: number): number {
  const c = Math.sqrt(2 / Math.PI);
  const th = Math.tanh(c * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * c * (1 + 3 * 0.044715 * x * x);
}

describe.skipIf(!hasNative)('native geluGrad', () => {
  const forms = ['none', 'tanh'] as const;
  it.each(forms.flatMap((a) => [1, 7, 33, 257, 100003].map((n) => [a, n] as const)))('%s, n = %i: matches cpu (f64 math) and the composite on native', (approximate, n) => {
    const x = normals(n, n, 3);
    const g = normals(n, n + 1);
    const run = (b: Where, mode: 'fused' | 'composite') =>
      on(b, (bk) => {
        const inputs = [t32(x, [n], bk), t32(g, [n], bk)];
        return mode === 'fused' ? et.geluGrad(inputs[0]!, inputs[1]!, approximate) : composite('geluGrad', inputs, { approximate });
      });
    const expected = run('cpu', 'fused');
    const actual = run('native', 'fused');
    expectClose(actual, expected, 2e-5, 1e-6 * maxAbs(expected), 'vs cpu');
    expectClose(actual, run('native', 'composite'), 2e-5, 1e-6 * maxAbs(expected), 'vs composite');
  });

  it('the tanh form against its closed-form derivative in float64, saturated and NaN inputs included', () => {
    const x = Float32Array.of(-30, -10, -4, -1, -1e-3, 0, 1e-3, 0.5, 1, 4, 10, 30, NaN);
    const g = Float32Array.from(x, (_, i) => 1 + 0.25 * i);
    const out = on('native', (b) => et.geluGrad(t32(x, [x.length], b), t32(g, [g.length], b), 'tanh'));
    x.forEach((v, i) => {
      if (Number.isNaN(v)) return expect(out[i]).toBeNaN();
      const want = g[i]! * geluTanhSlope(v);
      expect(Math.abs(out[i]! - want), `x = ${v}`).toBeLessThanOrEqual(2e-6 * Math.abs(g[i]!) + 1e-6 * Math.abs(want));
    });
  });

  it('the tanh form keeps its relative accuracy in the left tail, where 1 + tanh would cancel (x in [−6, −3])', () => {
    const x = Float32Array.of(-3, -3.5, -4, -4.5, -5, -5.5, -6);
    const out = on('native', (b) => et.geluGrad(t32(x, [x.length], b), t32(new Float32Array(x.length).fill(1), [x.length], b), 'tanh'));
    x.forEach((v, i) => {
      const want = geluTanhSlope(v);
      expect(Math.abs(out[i]! - want), `x = ${v}: ${out[i]} vs ${want}`).toBeLessThanOrEqual(1e-4 * Math.abs(want));
    });
  });

  it('the exact form saturates to g (x ≫ 0) and 0 (x ≪ 0), and propagates NaN', () => {
    const x = Float32Array.of(-30, -10, 10, 30, NaN, 0);
    const g = Float32Array.of(2, 2, 2, 2, 2, 2);
    const out = on('native', (b) => et.geluGrad(t32(x, [6], b), t32(g, [6], b)));
    [0, 0, 2, 2].forEach((want, i) => expect(Math.abs(out[i]! - want), `x = ${x[i]}`).toBeLessThan(1e-6));
    expect(out[4]).toBeNaN();
    expect(out[5]).toBeCloseTo(1, 6); // gelu′(0) = ½
  });

  it.each(forms.flatMap((a) => [7, 257, 100003].map((n) => [a, n] as const)))('%s, order 2 (g·gelu″), n = %i: matches cpu and the composite on native', (approximate, n) => {
    const x = normals(n, n + 7, 3);
    const g = normals(n, n + 8);
    const run = (b: Where, mode: 'fused' | 'composite') =>
      on(b, (bk) => {
        const inputs = [t32(x, [n], bk), t32(g, [n], bk)];
        return mode === 'fused' ? et.geluGrad(inputs[0]!, inputs[1]!, approximate, 2) : composite('geluGrad', inputs, { approximate, order: 2 });
      });
    const expected = run('cpu', 'fused');
    const actual = run('native', 'fused');
    expectClose(actual, expected, 2e-5, 1e-6 * maxAbs(expected), 'vs cpu');
    expectClose(actual, run('native', 'composite'), 2e-5, 1e-5 * maxAbs(expected), 'vs composite');
  });

  it.each(forms)('%s, order 2: 0 where gelu″ underflows and at ±∞ (the limit), NaN from a NaN x, on strided views', (approximate) => {
    const x = Float32Array.of(-30, 30, -1e20, 1e20, -Infinity, Infinity, NaN, 0.5, -2);
    const g = Float32Array.from(x, (_, i) => 1.5 - 0.25 * i);
    const run = (b: Where) => on(b, (bk) => et.geluGrad(et.transpose(t32(x, [1, x.length], bk)), et.transpose(t32(g, [1, g.length], bk)), approximate, 2));
    const out = run('native');
    expect(Array.from(out.slice(0, 6), Math.abs)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(out[6]).toBeNaN();
    expectClose(out, run('cpu'), 2e-5, 1e-6, approximate);
  });

  it.each(forms)('%s reads transposed views', (approximate) => {
    const n = 7 * 41;
    const x = normals(n, 5, 3);
    const g = normals(n, 6);
    const run = (b: Where) =>
      on(b, (bk) => {
        const view = (a: Float32Array) => et.transpose(t32(a, [7, 41], bk));
        return et.geluGrad(view(x), view(g), approximate);
      });
    expectClose(run('native'), run('cpu'), 2e-5, 1e-6, approximate);
  });
});

// ---- adamStep --------------------------------------------------------------------------------------------------------

interface AdamCase {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decay: number;
  stepSize: number;
  bias2Sqrt: number;
}
const ADAM: AdamCase = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decay: 1, stepSize: 0.01 / (1 - 0.9 ** 3), bias2Sqrt: Math.sqrt(1 - 0.999 ** 3) };
const ADAMW: AdamCase = { ...ADAM, decay: 1 - 0.01 * 0.1 };
const ADAM_L2: AdamCase = { ...ADAM, weightDecay: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-6 };

/** p, m, v as views at offsets 0, n, 2n of one packed [3, n] buffer (as the optimizer keeps them), or separate. */
function adamOn(where: Where, n: number, a: AdamCase, seed: number, mode: 'packed' | 'separate' | 'composite' | 'strided' = 'packed') {
  const p = normals(n, seed);
  const g = normals(n, seed + 1, 0.1);
  const m = normals(n, seed + 2, 0.05);
  const v = Float32Array.from(normals(n, seed + 3, 0.05), (x) => x * x);
  return on(where, (b) => {
    let inputs: et.Tensor[];
    if (mode === 'packed') {
      const state = t32(Float32Array.from([...p, ...m, ...v]), [3, n], b);
      const row = (i: number) => et.reshape(et.slice(state, [i, 0], [i + 1, n]), [n]);
      inputs = [row(0), t32(g, [n], b), row(1), row(2)];
    } else if (mode === 'strided') {
      // [n/7, 7] tensors read through transposed views of [7, n/7] data
      const rows = n / 7;
      const view = (x: Float32Array) => et.transpose(t32(Float32Array.from({ length: n }, (_, e) => x[(e % rows) * 7 + Math.floor(e / rows)]!), [7, rows], b));
      inputs = [view(p), view(g), view(m), view(v)];
    } else {
      inputs = [t32(p, [n], b), t32(g, [n], b), t32(m, [n], b), t32(v, [n], b)];
    }
    return mode === 'composite' ? composite('adamStep', inputs, a) : et.adamStep(inputs[0]!, inputs[1]!, inputs[2]!, inputs[3]!, a);
  });
}

/** p′, m′, v′ each within tolerance scaled to its own magnitude. */
function expectAdamClose(actual: Float32Array, expected: Float32Array, rtol: number, label: string) {
  const n = expected.length / 3;
  ['p', 'm', 'v'].forEach((name, i) => {
    const e = expected.subarray(i * n, (i + 1) * n);
    expectClose(actual.subarray(i * n, (i + 1) * n), e, rtol, 1e-6 * Math.max(maxAbs(e), 1e-30), `${label} ${name}′`);
  });
}

describe.skipIf(!hasNative)('native adamStep', () => {
  it.each(
    [
      ['adam', ADAM],
      ['adamw (decay ≠ 1)', ADAMW],
      ['adam + L2 (weightDecay ≠ 0)', ADAM_L2],
    ].flatMap(([name, a]) => [1, 7, 33, 257, 100003].map((n) => [name as string, n, a as AdamCase] as const)),
  )('%s, n = %i, offset views of one buffer: matches cpu and the composite on native', (_name, n, a) => {
    const expected = adamOn('cpu', n, a, n, 'separate');
    expectAdamClose(adamOn('native', n, a, n, 'packed'), expected, 1e-5, 'packed vs cpu');
    expectAdamClose(adamOn('native', n, a, n, 'separate'), expected, 1e-5, 'separate vs cpu');
    expectAdamClose(adamOn('native', n, a, n, 'packed'), adamOn('native', n, a, n, 'composite'), 1e-5, 'vs composite');
  });

  it('reads transposed (strided) views', () => {
    expectAdamClose(adamOn('native', 7 * 37, ADAM_L2, 3, 'strided'), adamOn('cpu', 7 * 37, ADAM_L2, 3, 'strided'), 1e-5, 'strided');
  });
});

// ---- sgdStep ---------------------------------------------------------------------------------------------------------

const SGD_BASE: et.SgdStepAttrs = { lr: 0.05, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, first: false };
const SGD_PLAIN: et.SgdStepAttrs = { ...SGD_BASE, weightDecay: 0.01 };
const SGD_FIRST: et.SgdStepAttrs = { ...SGD_BASE, momentum: 0.9, first: true };
const SGD_DAMPED: et.SgdStepAttrs = { ...SGD_BASE, momentum: 0.8, dampening: 0.3, weightDecay: 0.05 };
const SGD_NESTEROV: et.SgdStepAttrs = { ...SGD_BASE, momentum: 0.9, nesterov: true, weightDecay: 0.01 };
const SGD_NESTEROV_FIRST: et.SgdStepAttrs = { ...SGD_NESTEROV, first: true };

/**
 * p and buf as views at offsets 0 and n of one packed [2, n] buffer (the optimizer keeps them so), or separate, or
 * [n/7, 7] transposed views of [7, n/7] data. bufFill replaces buf's data (NaN: a buffer the step must not read).
 */
function sgdOn(where: Where, n: number, a: et.SgdStepAttrs, seed: number, mode: 'packed' | 'separate' | 'composite' | 'strided' = 'packed', bufFill?: number) {
  const p = normals(n, seed);
  const g = normals(n, seed + 1, 0.1);
  const buf = bufFill === undefined ? normals(n, seed + 2, 0.05) : new Float32Array(n).fill(bufFill);
  return on(where, (b) => {
    let inputs: et.Tensor[];
    if (mode === 'packed') {
      const state = t32(Float32Array.from([...p, ...buf]), [2, n], b);
      const row = (i: number) => et.reshape(et.slice(state, [i, 0], [i + 1, n]), [n]);
      inputs = [row(0), t32(g, [n], b), row(1)];
    } else if (mode === 'strided') {
      const rows = n / 7;
      const view = (x: Float32Array) => et.transpose(t32(Float32Array.from({ length: n }, (_, e) => x[(e % rows) * 7 + Math.floor(e / rows)]!), [7, rows], b));
      inputs = [view(p), view(g), view(buf)];
    } else {
      inputs = [t32(p, [n], b), t32(g, [n], b), t32(buf, [n], b)];
    }
    return mode === 'composite' ? composite('sgdStep', inputs, a) : et.sgdStep(inputs[0]!, inputs[1]!, inputs[2]!, a);
  });
}

/** p′ (and buf′) each within tolerance scaled to its own magnitude. */
function expectSgdClose(actual: Float32Array, expected: Float32Array, a: et.SgdStepAttrs, rtol: number, label: string) {
  const parts = a.momentum === 0 ? ['p'] : ['p', 'buf'];
  expect(actual.length, `${label}: output length`).toBe(expected.length);
  const n = expected.length / parts.length;
  parts.forEach((name, i) => {
    const e = expected.subarray(i * n, (i + 1) * n);
    expectClose(actual.subarray(i * n, (i + 1) * n), e, rtol, 1e-6 * Math.max(maxAbs(e), 1e-30), `${label} ${name}′`);
  });
}

describe.skipIf(!hasNative)('native sgdStep', () => {
  it.each(
    [
      ['plain SGD + weight decay (momentum 0)', SGD_PLAIN],
      ['momentum, first step', SGD_FIRST],
      ['momentum + dampening + weight decay', SGD_DAMPED],
      ['nesterov + weight decay', SGD_NESTEROV],
      ['nesterov, first step', SGD_NESTEROV_FIRST],
    ].flatMap(([name, a]) => [1, 7, 257, 100003].map((n) => [name as string, n, a as et.SgdStepAttrs] as const)),
  )('%s, n = %i, offset views of one buffer: matches cpu and the composite on native', (_name, n, a) => {
    const expected = sgdOn('cpu', n, a, n, 'separate');
    expect(expected.length).toBe((a.momentum === 0 ? 1 : 2) * n);
    expectSgdClose(sgdOn('native', n, a, n, 'packed'), expected, a, 1e-5, 'packed vs cpu');
    expectSgdClose(sgdOn('native', n, a, n, 'separate'), expected, a, 1e-5, 'separate vs cpu');
    expectSgdClose(sgdOn('native', n, a, n, 'packed'), sgdOn('native', n, a, n, 'composite'), a, 1e-5, 'vs composite');
  });

  it('reads transposed (strided) views', () => {
    for (const a of [SGD_PLAIN, SGD_DAMPED, SGD_NESTEROV]) {
      expectSgdClose(sgdOn('native', 7 * 37, a, 3, 'strided'), sgdOn('cpu', 7 * 37, a, 3, 'strided'), a, 1e-5, 'strided');
    }
  });

  it('does not read buf with momentum 0 or on the first step (a NaN buf leaves the result finite)', () => {
    for (const a of [SGD_PLAIN, SGD_FIRST, SGD_NESTEROV_FIRST]) {
      const r = sgdOn('native', 1000, a, 9, 'separate', NaN);
      expect(r.every(Number.isFinite), JSON.stringify(a)).toBe(true);
      expectSgdClose(r, sgdOn('cpu', 1000, a, 9, 'separate', NaN), a, 1e-5, 'NaN buf vs cpu');
    }
    // and buf may be g itself, as the optimizer passes it without momentum
    const p = normals(50, 1);
    const g = normals(50, 2);
    const r = on('native', (b) => {
      const gt = t32(g, [50], b);
      return et.sgdStep(t32(p, [50], b), gt, gt, SGD_BASE);
    });
    expect(r.length).toBe(50);
    r.forEach((x, i) => expect(x).toBeCloseTo(p[i]! - 0.05 * g[i]!, 6));
  });

  it('hand-computed step: momentum 0.9, dampening 0.5, weight decay 0.1, nesterov', () => {
    // d = g + 0.1p = [0.6, 0.8]; buf′ = 0.9·[0.2, −0.4] + 0.5·d = [0.48, 0.04]; d = d + 0.9·buf′ = [1.032, 0.836];
    // p′ = p − 0.1·d = [0.8968, −2.0836]
    const a: et.SgdStepAttrs = { lr: 0.1, momentum: 0.9, dampening: 0.5, nesterov: true, weightDecay: 0.1, first: false };
    const r = on('native', (b) => et.sgdStep(t32(Float32Array.of(1, -2), [2], b), t32(Float32Array.of(0.5, 1), [2], b), t32(Float32Array.of(0.2, -0.4), [2], b), a));
    [0.8968, -2.0836, 0.48, 0.04].forEach((x, i) => expect(r[i]).toBeCloseTo(x, 6));
  });
});

// ---- thread-count independence -----------------------------------------------------------------------------------------

describe.skipIf(!hasNative)('native fused training ops on 1, 2 and 3 threads', () => {
  const initialThreads = hasNative ? nativeInfo().threads : 1;
  afterAll(() => {
    if (hasNative) setNativeThreads(initialThreads);
  });

  it('give identical results', () => {
    const runs = [1, 2, 3].map((threads) => {
      expect(setNativeThreads(threads)).toBe(threads);
      return [
        linearOn('native', { m: 130, k: 300, n: 200, transposed: true }, 1, 'tanh'),
        crossEntropyGradOn('native', [3000, 37], 'mean', 2),
        layerNormGradOn('native', [2000, 96], 3),
        layerNormGradOn('native', [64, 4096], 4),
        activationGradOn('native', 300001, 'sigmoid', 5),
        adamOn('native', 300001, ADAM_L2, 6),
        sgdOn('native', 300001, SGD_DAMPED, 7),
        sgdOn('native', 300001, SGD_NESTEROV, 8),
      ].map((r) => Array.from(r));
    });
    runs.slice(1).forEach((r) => r.forEach((out, i) => expect(out, `output ${i}`).toEqual(runs[0]![i])));
  });
});
