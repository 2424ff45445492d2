/**
 * The cuda backend beyond the shared parity suite: ragged shapes that hit every kernel variant (128×128 and 32×32
 * matmul tiles, float4 and strided loads, block- and thread-per-output reductions, softmaxGrad's row and line
 * kernels against an f64 reference), grids with far more blocks than the emulator's worker threads, integer
 * semantics, and errors becoming JS exceptions.
 * Runs the CPU-emulated addon unless EITP_CUDA_EMULATION=0 asks for the real one (on a GPU machine).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

process.env.EITP_CUDA_EMULATION ??= '1';

const et = await import('../engine/index.js');
const { TOLERANCE, compareArrays } = await import('./helpers/backends.js');
type Tensor = import('../engine/index.js').Tensor;

const status = et.backendInfo().find((b) => b.name === 'cuda')!;
const required = process.env.EITP_REQUIRE_CUDA === '1';
if (required && !status.available) throw new Error(`EITP_REQUIRE_CUDA=1 but cuda is unavailable: ${status.reason}`);

async function both(f: (backend: 'cpu' | 'cuda') => import('../engine/index.js').Tensor) {
  const run = async (backend: 'cpu' | 'cuda') => {
    const t = et.tidy(() => f(backend));
    const d = await t.data();
    t.dispose();
    return d;
  };
  return { cpu: await run('cpu'), cuda: await run('cuda') };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = TOLERANCE.f32) {
  const r = compareArrays(actual, expected, tol);
  expect(r.ok, r.message).toBe(true);
}

const N = (shape: number[], seed: number, backend: 'cpu' | 'cuda') => et.randn(shape, { seed, backend });

/** Deterministic values in (−2, 2) for data built on the host (a 32-bit LCG). */
function hostValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 4 - 2);
}

const count = (shape: readonly number[]) => shape.reduce((a: number, b) => a * b, 1);
/** [outer, len, inner] around `axis`. */
const lineGeometry = (shape: readonly number[], axis: number) => [count(shape.slice(0, axis)), shape[axis]!, count(shape.slice(axis + 1))] as const;

/** softmax of x along `axis`, in f64, rounded to f32: the y that softmaxGrad meets in training. */
function hostSoftmax(x: Float32Array, shape: readonly number[], axis: number): Float32Array {
  const [outer, len, inner] = lineGeometry(shape, axis);
  const y = new Float32Array(x.length);
  for (let p = 0; p < outer; p++) {
    for (let q = 0; q < inner; q++) {
      const at = (j: number) => p * len * inner + j * inner + q;
      let m = -Infinity;
      for (let j = 0; j < len; j++) m = Math.max(m, x[at(j)]!);
      let z = 0;
      for (let j = 0; j < len; j++) z += Math.exp(x[at(j)]! - m);
      for (let j = 0; j < len; j++) y[at(j)] = Math.exp(x[at(j)]! - m) / z;
    }
  }
  return y;
}

/**
 * Checks got = y ⊙ (g − Σ_axis g ⊙ y) against an f64 reference. The f32 dot's rounding is relative to Σ |g·y| over
 * the line, so each element may be off by |y|·(|g| + Σ |g·y|)·1e-5; NaN must appear exactly where the reference has it.
 */
function expectSoftmaxGrad(got: ArrayLike<number>, y: Float32Array, g: Float32Array, shape: readonly number[], axis: number) {
  const [outer, len, inner] = lineGeometry(shape, axis);
  expect(got.length).toBe(y.length);
  let bad = 0;
  let first = '';
  for (let p = 0; p < outer; p++) {
    for (let q = 0; q < inner; q++) {
      const at = (j: number) => p * len * inner + j * inner + q;
      let dot = 0;
      let mag = 0;
      for (let j = 0; j < len; j++) (dot += g[at(j)]! * y[at(j)]!), (mag += Math.abs(g[at(j)]! * y[at(j)]!));
      for (let j = 0; j < len; j++) {
        const i = at(j);
        const want = y[i]! * (g[i]! - dot);
        const ok = Number.isNaN(want) ? Number.isNaN(got[i]!) : Math.abs(got[i]! - want) <= 1e-5 * Math.abs(y[i]!) * (Math.abs(g[i]!) + mag);
        if (!ok && bad++ === 0) first = `at ${i}: got ${got[i]}, want ${want}`;
      }
    }
  }
  expect(bad, `${bad} of ${y.length} wrong, first ${first}`).toBe(0);
}

describe.runIf(status.available)('cuda backend', () => {
  afterAll(() => {
    // every test disposed what it made; the addon's own count must agree
    expect(et.memory().backends.cuda?.liveBuffers ?? 0).toBe(0);
  });

  it.each([
    ['32x32 tiles', [7, 33], [33, 5]],
    ['128x128 tiles, ragged, strided loads', [300, 45], [45, 261]],
    ['128x128 tiles, float4 loads, ragged M', [261, 36], [36, 264]],
    ['K not a multiple of the tile depth', [257, 3], [3, 300]],
  ] as const)('matmul %s', async (_name, sa, sb) => {
    const r = await both((b) => et.matmul(N([...sa], 1, b), N([...sb], 2, b)));
    expectClose(r.cuda, r.cpu, { rtol: 1e-4, atol: 1e-4 });
  });

  it('matmul of transposed and batch-broadcast views (read in place, no copies)', async () => {
    const r = await both((b) => et.matmul(et.permute(N([3, 300, 270], 3, b), [0, 2, 1]), N([1, 300, 9], 4, b)));
    expectClose(r.cuda, r.cpu, { rtol: 1e-4, atol: 1e-4 });
  });

  it('elementwise over 100k elements: a grid of hundreds of blocks on two workers', async () => {
    const r = await both((b) => et.add(et.mul(N([317, 331], 5, b), N([331], 6, b)), et.tanh(N([317, 1], 7, b))));
    expectClose(r.cuda, r.cpu);
  });

  it('reductions: thread per output (5000 outputs) and block per output, over permuted views', async () => {
    const x = (b: 'cpu' | 'cuda') => et.transpose(N([37, 5000], 8, b));
    for (const f of [
      (b: 'cpu' | 'cuda') => et.sum(x(b), 1),
      (b: 'cpu' | 'cuda') => et.max(x(b), 0),
      (b: 'cpu' | 'cuda') => et.var(x(b), 0),
      (b: 'cpu' | 'cuda') => et.logsumexp(x(b), [0, 1]),
      (b: 'cpu' | 'cuda') => et.mean(N([3, 5, 7, 11], 9, b), [0, 2]),
    ]) {
      const r = await both(f);
      expectClose(r.cuda, r.cpu, { rtol: 2e-4, atol: 1e-4 });
    }
  });

  it('argmax ignores NaN and takes the first of tied maxima', async () => {
    const data = Float32Array.from([1, NaN, 3, 3, 2, 0, 0, 0]);
    const r = await both((b) => et.argmax(et.tensor(data, { shape: [2, 4], backend: b }), 1));
    expect(Array.from(r.cuda)).toEqual(Array.from(r.cpu));
  });

  it('integer semantics: wrapping i32 arithmetic, float-to-u8 casts, i32 sums', async () => {
    // products overflow 32 bits but stay below 2^53, where the f64 reference is exact
    const big = Int32Array.from([46341, -46341, 196608, -7]);
    const r1 = await both((b) => et.mul(et.tensor(big, { backend: b }), et.tensor(big, { backend: b })));
    expect(Array.from(r1.cuda)).toEqual(Array.from(r1.cpu));
    const f = Float32Array.from([-1.5, 255.9, 256, 300.7, NaN, 1e10]);
    const r2 = await both((b) => et.cast(et.tensor(f, { backend: b }), 'u8'));
    expect(Array.from(r2.cuda)).toEqual(Array.from(r2.cpu));
    const r3 = await both((b) => et.sum(et.tensor(big, { backend: b })));
    expect(Array.from(r3.cuda)).toEqual(Array.from(r3.cpu));
  });

  it('softmax, layerNorm and crossEntropy on rows longer than a block', async () => {
    for (const f of [
      (b: 'cpu' | 'cuda') => et.softmax(N([9, 1000], 10, b), -1),
      (b: 'cpu' | 'cuda') => et.logSoftmax(N([4, 300, 6], 11, b), 1),
      (b: 'cpu' | 'cuda') => et.layerNorm(N([5, 700], 12, b), N([700], 13, b), N([700], 14, b)),
      (b: 'cpu' | 'cuda') => et.crossEntropy(N([40, 513], 15, b), et.randint([40], 0, 513, { seed: 16, backend: b })),
    ]) {
      const r = await both(f);
      expectClose(r.cuda, r.cpu, { rtol: 2e-4, atol: 1e-4 });
    }
  });

  it('softmax / logSoftmax / crossEntropy keep their small terms when the logits are large (and the gradients made of them)', async () => {
    // One dominant logit near −1000 per row: in f32, −1000 + log z drops log z (≈ 4e-6), so outputs formed as
    // x − (m + log z) lose the digits that these gradients (and the loss) consist of; formed from x − m they keep them.
    const logits = Float32Array.from([-1000, -1012.5, -1030, -1050, -990, -1005, -1020, -1100]);
    // logSoftmax's cotangent: the non-dominant entries of each row sum to 0, so its gradient at the top entry is
    // g·(1 − p_top), tiny and exact only if p_top is.
    const cases: [string, number[], (x: Tensor, b: 'cpu' | 'cuda') => Tensor][] = [
      ['softmax', [0.3, -1.2, 0.7, 2.0, -0.4, 0.9, 1.1, -2.2], (x) => et.softmax(x, -1)],
      ['logSoftmax', [0.3, -1.2, 0.7, 0.5, 0.4, -0.9, 0.2, 0.7], (x) => et.logSoftmax(x, -1)],
      ['crossEntropy', [1, 1], (x, b) => et.crossEntropy(x, et.tensor(Int32Array.from([0, 0]), { backend: b }), { reduction: 'none' })],
    ];
    for (const [name, cot, f] of cases) {
      const run = async (b: 'cpu' | 'cuda') => {
        const [out, grad] = et.tidy(() => {
          const x = et.tensor(logits, { shape: [2, 4], backend: b });
          const [y, pullback] = et.vjp((z: Tensor) => f(z, b), x);
          return [y, pullback(et.tensor(Float32Array.from(cot), { shape: y.shape, backend: b }))[0]!] as const;
        });
        const r = [await out.data(), await grad.data()];
        et.dispose([out, grad]);
        return r;
      };
      const [cuda, cpu] = [await run('cuda'), await run('cpu')];
      for (const k of [0, 1]) {
        const c = compareArrays(cuda[k]!, cpu[k]!, { rtol: 1e-3, atol: 1e-6 });
        expect(c.ok, `${name} ${k ? 'gradient' : 'output'}: ${c.message}`).toBe(true);
      }
    }
  });

  it.each([
    ['attention rows [2, 3, 24, 24]', [2, 3, 24, 24], 3],
    ['T = 1024: four elements per thread', [33, 1024], 1],
    ['an odd length with a ragged tail', [9, 997], 1],
    ['rows shorter than a warp, 300 blocks', [300, 7], 1],
    ['one element per row', [5, 1], 1],
    ['a middle axis (thread per line)', [3, 17, 5], 1],
    ['the first axis: long strided lines', [1024, 3], 0],
    ['a middle axis with 2100 lines', [7, 33, 300], 1],
  ] as const)('softmaxGrad: %s %j along axis %i, against f64', async (_name, shape, axis) => {
    const n = count(shape);
    const y = hostSoftmax(hostValues(n, 40 + n), shape, axis);
    const g = hostValues(n, 41 + n);
    const out = et.tidy(() => et.softmaxGrad(et.tensor(y, { shape: [...shape], backend: 'cuda' }), et.tensor(g, { shape: [...shape], backend: 'cuda' }), axis));
    const got = await out.data();
    et.dispose(out);
    expectSoftmaxGrad(got, y, g, shape, axis);
  });

  it('softmaxGrad of strided views: a transposed y, a column slice of g, a dense g at an offset', async () => {
    const [rows, len] = [37, 45];
    const y = hostSoftmax(hostValues(rows * len, 50), [rows, len], 1);
    const g = hostValues(rows * len, 51);
    // y stored as [len, rows] and read through a transpose
    const yT = Float32Array.from({ length: rows * len }, (_, k) => y[(k % rows) * len + Math.floor(k / rows)]!);
    // g inside [rows + 1, len + 3]: columns 2 .. len + 2 of rows 1 .. rows + 1 (strided), or whole rows from row 1 (dense from an offset)
    const wide = new Float32Array((rows + 1) * (len + 3)).fill(Number.NaN);
    for (let r = 0; r < rows; r++) wide.set(g.subarray(r * len, (r + 1) * len), (r + 1) * (len + 3) + 2);
    const tall = new Float32Array((rows + 1) * len).fill(Number.NaN);
    tall.set(g, len);
    const outs = et.tidy(() => {
      const yv = et.transpose(et.tensor(yT, { shape: [len, rows], backend: 'cuda' }));
      const gStrided = et.slice(et.tensor(wide, { shape: [rows + 1, len + 3], backend: 'cuda' }), [1, 2], [rows + 1, len + 2]);
      const gOffset = et.slice(et.tensor(tall, { shape: [rows + 1, len], backend: 'cuda' }), [1, 0]);
      return [et.softmaxGrad(yv, gStrided, 1), et.softmaxGrad(et.tensor(y, { shape: [rows, len], backend: 'cuda' }), gOffset, 1)];
    });
    const got = await Promise.all(outs.map((t) => t.data()));
    et.dispose(outs);
    for (const d of got) expectSoftmaxGrad(d, y, g, [rows, len], 1);
  });

  it('softmaxGrad: a NaN in y or g turns exactly its own line NaN', async () => {
    for (const [shape, axis, where, at] of [
      [[9, 257], 1, 'g', 4 * 257 + 100],
      [[4, 40], 1, 'y', 2 * 40 + 39],
      [[3, 17, 5], 1, 'g', 85 + 5 * 6 + 2],
    ] as const) {
      const n = count(shape);
      const y = hostSoftmax(hostValues(n, 60), shape, axis);
      const g = hostValues(n, 61);
      (where === 'y' ? y : g)[at] = Number.NaN;
      const out = et.tidy(() => et.softmaxGrad(et.tensor(y, { shape: [...shape], backend: 'cuda' }), et.tensor(g, { shape: [...shape], backend: 'cuda' }), axis));
      const got = await out.data();
      et.dispose(out);
      expectSoftmaxGrad(got, y, g, shape, axis);
      expect(Array.from(got).filter(Number.isNaN).length).toBe(shape[axis]);
    }
  });

  it('softmaxGrad: the addon rejects bad extents and out-of-range operands with an error, not a crash', async () => {
    const { loadCudaAddon } = await import('../engine/backends/cuda/addon.js');
    const loaded = loadCudaAddon();
    if ('unavailable' in loaded) throw new Error(loaded.unavailable);
    const { addon } = loaded;
    const [y, g, o] = [addon.alloc(24), addon.alloc(24), addon.alloc(20)];
    try {
      expect(() => addon.softmaxGrad(o, y, 0, g, 0, 2, 3, 1)).toThrow(/softmaxGrad output: elements \[0, 6\) outside a 5-element f32 buffer/);
      expect(() => addon.softmaxGrad(o, y, 2, g, 0, 1, 5, 1)).toThrow(/softmaxGrad y: elements \[2, 7\) outside a 6-element f32 buffer/);
      expect(() => addon.softmaxGrad(o, y, 0, g, 2, 5, 1, 1)).toThrow(/softmaxGrad g: elements \[2, 7\) outside a 6-element f32 buffer/);
      // −1 · −1 · 1 = 1 element would pass the range checks: negative extents are refused first
      expect(() => addon.softmaxGrad(o, y, 0, g, 0, -1, -1, 1)).toThrow(/softmaxGrad: bad extents \[-1, -1, 1\]/);
      expect(() => addon.softmaxGrad(o, y, 0, g, 0, 2 ** 40, 2 ** 40, 1)).toThrow(/softmaxGrad: bad extents/);
      expect(() => addon.softmaxGradGrad(o, y, 0, g, 0, g, 0, 2 ** 40, 2 ** 40, 1)).toThrow(/softmaxGradGrad: bad extents/);
      expect(() => addon.softmaxGradGrad(o, y, 0, g, 0, g, 0, 1, 3, 1)).toThrow(/softmaxGradGrad output: elements \[0, 6\) outside a 5-element f32 buffer/);
      expect(() => addon.softmaxGradGrad(o, y, 0, g, 0, g, 4, 1, 3, 1)).toThrow(/softmaxGradGrad cotangent: elements \[4, 7\) outside a 6-element f32 buffer/);
    } finally {
      for (const id of [y, g, o]) addon.free(id);
    }
  });

  it('u8 indices, concat of strided inputs, pad of rank 3', async () => {
    const ids = Uint8Array.from([3, 0, 2, 2, 1]);
    const r1 = await both((b) => et.embedding(N([4, 6], 17, b), et.tensor(ids, { backend: b })));
    expectClose(r1.cuda, r1.cpu);
    const r2 = await both((b) => et.concat([et.transpose(N([5, 3], 18, b)), N([3, 7], 19, b)], 1));
    expectClose(r2.cuda, r2.cpu);
    const r3 = await both((b) => et.pad(N([2, 3, 4], 20, b), [[1, 0], [0, 2], [3, 1]]));
    expectClose(r3.cuda, r3.cpu);
  });

  it('an out-of-range index is checked on the device and rejects the next readback', async () => {
    const w = et.randn([4, 3], { backend: 'cuda' });
    const idx = et.tensor(Int32Array.from([1, 7, 2]), { backend: 'cuda' });
    const out = et.embedding(w, idx);
    await expect(out.data()).rejects.toThrow(/embedding: index 7 at position 1 is outside \[0, 4\)/);
    // reported once: the next read succeeds
    expect((await w.data()).length).toBe(12);
    et.dispose([w, idx, out]);
  });

  it('CUDA errors become JS exceptions naming the error', async () => {
    const { backendByName } = await import('../engine/device.js');
    // 2^46 bytes: more than any device (or this machine) has
    expect(() => backendByName('cuda').allocate(2 ** 44, 'f32')).toThrow(/cudaErrorMemoryAllocation \(2\).*cudaMalloc of 70368744177664 bytes/);
    expect(() => et.zeros([2], { dtype: 'f64', backend: 'cuda' })).toThrow(/does not support dtype f64/);
  });

  it('the addon rejects stale buffer ids and out-of-bounds views instead of touching memory', async () => {
    const { loadCudaAddon } = await import('../engine/backends/cuda/addon.js');
    const loaded = loadCudaAddon();
    if ('unavailable' in loaded) throw new Error(loaded.unavailable);
    const { addon } = loaded;
    const id = addon.alloc(16);
    addon.free(id);
    expect(() => addon.free(id)).toThrow(/unknown buffer id/);
    const a = addon.alloc(16);
    const o = addon.alloc(16);
    expect(() => addon.unary('exp', 'f32', o, [4], a, 1, [1], 0)).toThrow(/view reaches elements \[1, 4\] of a 4-element f32 buffer/);
    expect(() => addon.unary('nope', 'f32', o, [4], a, 0, [1], 0)).toThrow(/unknown unary op 'nope'/);
    addon.free(a);
    addon.free(o);
  });

  it('reports which addon runs the kernels', async () => {
    const { cudaInfo } = await import('../engine/backends/cuda/index.js');
    const info = cudaInfo()!;
    expect(info.addon).toMatch(process.env.EITP_CUDA_EMULATION === '1' ? /eitp_cuda_emu\.node$/ : /eitp_cuda\.node$/);
    expect(info.emulated).toBe(process.env.EITP_CUDA_EMULATION === '1');
  });
});

// The real (nvcc) addon must load on any machine; without a GPU or driver it reports why instead of crashing.
const realAddon = [process.env.EITP_CUDA_ADDON_DIR, join(import.meta.dirname, '..', 'build', 'Release'), join(import.meta.dirname, '..', 'build', 'cuda', 'Release')]
  .filter((d): d is string => !!d)
  .map((d) => join(d, 'eitp_cuda.node'))
  .find((f) => existsSync(f));

describe.runIf(realAddon)('the nvcc-built addon', () => {
  it('loads, and reports a device or the runtime reason there is none', () => {
    const addon = createRequire(import.meta.url)(realAddon!) as { info(): { available: boolean; reason: string; runtimeVersion: number } };
    const info = addon.info();
    expect(info.runtimeVersion).toBeGreaterThanOrEqual(13000);
    if (!info.available) expect(info.reason).toMatch(/no CUDA device: cudaGetDeviceCount|could not be initialised/);
  });
});
