/**
 * The cuda backend's fused EIT-P kernels and int8 matmul beyond the shared parity suite: matmulInt8 exact on
 * integer-representable inputs (against integer arithmetic written here), soft histograms over grids of hundreds of
 * blocks (and the global-memory path for many bins), correlation (ragged shapes, many row chunks and Gram tiles, exact
 * symmetry, determinism) and the coherence loss built on it, the fused coherence op and its backward (ragged shapes,
 * N < d, a device cotangent ≠ 1, strided views, agreement with the composition, determinism, the addon's checks),
 * tanhJvp's large-tile epilogue, the fused FTLE step tanhJvpStep / tanhJvpStepGrad (ragged rows wider than a block, several v
 * tiles, strided v read in place, zero rows, the addon's own checks), the activation density and its backward against
 * a float64 reference (capped grids, tails, strided / offset / broadcast views, NaN, ±inf, zeros, determinism, the
 * addon's checks), and i8 storage. Runs the CPU-emulated addon unless EITP_CUDA_EMULATION=0 asks for the real
 * one (on a GPU machine).
 */
import { afterAll, describe, expect, it } from 'vitest';

process.env.EITP_CUDA_EMULATION ??= '1';

const et = await import('../engine/index.js');
const { TOLERANCE, compareArrays } = await import('./helpers/backends.js');
type Tensor = import('../engine/index.js').Tensor;
type Where = 'cpu' | 'cuda';

const status = et.backendInfo().find((b) => b.name === 'cuda')!;
if (process.env.EITP_REQUIRE_CUDA === '1' && !status.available) throw new Error(`EITP_REQUIRE_CUDA=1 but cuda is unavailable: ${status.reason}`);

/** f on cpu and on cuda: the output and the gradients of its float inputs for a fixed cotangent. */
async function both(f: (b: Where) => Tensor[], fn: (...xs: Tensor[]) => Tensor) {
  const run = async (b: Where) => {
    const [out, grads] = et.tidy(() => {
      const inputs = f(b);
      const [o, pullback] = et.vjp(fn, ...inputs);
      return [o, pullback(et.randn(o.shape, { seed: 99, backend: b }))] as const;
    });
    const r = { out: await out.data(), grads: await Promise.all(grads.map((g) => g.data())) };
    et.dispose([out, ...grads]);
    return r;
  };
  return { cpu: await run('cpu'), cuda: await run('cuda') };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = TOLERANCE.f32) {
  const r = compareArrays(actual, expected, tol);
  expect(r.ok, r.message).toBe(true);
}

function expectBoth(r: Awaited<ReturnType<typeof both>>, tol = TOLERANCE.f32) {
  expectClose(r.cuda.out, r.cpu.out, tol);
  r.cpu.grads.forEach((g, k) => expectClose(r.cuda.grads[k]!, g, tol));
}

async function onCuda(f: () => Tensor): Promise<ArrayLike<number>> {
  const t = et.tidy(f);
  const d = await t.data();
  t.dispose();
  return d;
}

const N = (shape: number[], seed: number, b: Where) => et.randn(shape, { seed, backend: b });

/** Round half to even, written here for the test's own reference. */
const rint = (v: number) => {
  const f = Math.floor(v);
  const d = v - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
};

describe.runIf(status.available)('cuda EIT-P kernels and int8 matmul', () => {
  afterAll(() => {
    expect(et.memory().backends.cuda?.liveBuffers ?? 0).toBe(0);
  });

  describe('matmulInt8 exact on integer-representable inputs', () => {
    // Rows of integers with amax exactly 127 quantise to themselves (inv = 1, scale 1), half-integers included
    // (ties round to even); one row is all zeros. Scales are powers of two, and |Σ| < 2^24, so every output is an
    // exact f32 value on both paths.
    function problem(m: number, k: number, n: number, seed: number) {
      const rng = new et.Rng(seed);
      const x = new Float32Array(m * k);
      for (let i = 0; i < m; i++) {
        if (i === 2) continue; // the all-zero row
        for (let p = 0; p < k; p++) x[i * k + p] = rng.int(-126, 127);
        x[i * k + ((i * 7) % k)] = i % 2 ? -127 : 127;
      }
      // half-integer ties at the start of row 1 (its amax, 127 at position 7, makes its codes rint(x))
      if (k > 8) [2.5, 3.5, -0.5, -1.5, 0.5].forEach((v, j) => (x[k + j] = v));
      const wq = Int8Array.from({ length: n * k }, () => rng.int(-127, 128));
      const ws = Float32Array.from({ length: n }, (_, j) => 2 ** -(j % 9));
      return { x, wq, ws };
    }
    function expected(x: Float32Array, wq: Int8Array, ws: Float32Array, m: number, k: number, n: number, quantise: boolean) {
      const out = new Float64Array(m * n);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let p = 0; p < k; p++) acc += (quantise ? rint(x[i * k + p]!) : x[i * k + p]!) * wq[j * k + p]!;
          out[i * n + j] = acc * ws[j]!;
        }
      }
      return Array.from(out);
    }

    it.each([
      ['K = 67: weights repacked to 16-byte rows', 37, 67, 130],
      ['K = 64: weights read in place', 9, 64, 5],
      ['K = 3: a single partial word', 4, 3, 7],
    ] as const)('%s', async (_name, m, k, n) => {
      const { x, wq, ws } = problem(m, k, n, m + k + n);
      for (const activations of ['int8', 'f32'] as const) {
        const got = await onCuda(() =>
          et.matmulInt8(et.tensor(x, { shape: [m, k], backend: 'cuda' }), et.tensor(wq, { shape: [n, k], backend: 'cuda' }), et.tensor(ws, { backend: 'cuda' }), { activations }),
        );
        expect(Array.from(got), activations).toEqual(expected(x, wq, ws, m, k, n, activations === 'int8'));
      }
    });

    it('quantises each row by its own amax (x scaled by 0.5 per row: same codes, half the output)', async () => {
      const m = 6;
      const k = 33;
      const n = 10;
      const { x, wq, ws } = problem(m, k, n, 5);
      const scaled = x.map((v, i) => v * 0.5 ** Math.floor(i / k));
      const got = await onCuda(() =>
        et.matmulInt8(et.tensor(scaled, { shape: [2, 3, k], backend: 'cuda' }), et.tensor(wq, { shape: [n, k], backend: 'cuda' }), et.tensor(ws, { backend: 'cuda' }), {
          activations: 'int8',
        }),
      );
      const want = expected(x, wq, ws, m, k, n, true).map((v, e) => v * 0.5 ** Math.floor(e / n));
      expect(Array.from(got)).toEqual(want);
    });
  });

  it('matmulInt8 on random and strided inputs matches the cpu backend, forward and backward', async () => {
    for (const activations of ['f32', 'int8'] as const) {
      const r = await both(
        (b) => [N([70, 3, 45], 1, b), et.mul(et.abs(N([150], 2, b)), 0.01)],
        (x, ws) => {
          const wq = et.cast(et.sub(et.randint([150, 70], 0, 255, { seed: 3, backend: x.backend as Where }), 127), 'i8');
          return et.matmulInt8(et.permute(x, [1, 2, 0]), wq, ws, { activations });
        },
      );
      expectBoth(r, { rtol: 1e-4, atol: 1e-4 });
    }
  });

  it('matmulInt8 with int8 activations refuses K where 32-bit accumulation could overflow', () => {
    const k = 133153;
    et.tidy(() => {
      const x = et.zeros([1, k], { backend: 'cuda' });
      const wq = et.zeros([1, k], { dtype: 'i8', backend: 'cuda' });
      const ws = et.ones([1], { backend: 'cuda' });
      expect(() => et.matmulInt8(x, wq, ws, { activations: 'int8' })).toThrow(et.BackendError);
      expect(() => et.matmulInt8(x, wq, ws, { activations: 'int8' })).toThrow(/K <= 133152.*K = 133153/);
    });
  });

  it('softHistogram over 200k values (hundreds of blocks on two workers) and its gradient match the cpu backend', async () => {
    const r = await both((b) => [N([200003], 4, b)], (u) => et.softHistogram(et.mul(u, 1.7)));
    expectBoth(r, { rtol: 1e-4, atol: 1e-3 });
    // every value's weights sum to one
    expect(Math.abs(Array.from(r.cuda.out).reduce((a, v) => a + v, 0) - 200003)).toBeLessThan(1);
  });

  it('softHistogram with 2000 bins (per-warp histograms in global memory) matches the cpu backend', async () => {
    const attrs = { bins: 2000, low: -3, width: 0.003, bandwidth: 0.004 };
    const r = await both((b) => [N([6001], 5, b)], (u) => et.softHistogram(u, attrs));
    expectBoth(r, { rtol: 2e-4, atol: 1e-4 });
  });

  it('softHistogram is bit-identical from run to run (no float atomics)', async () => {
    const run = () => onCuda(() => et.softHistogram(N([50000], 6, 'cuda')));
    expect(Array.from(await run())).toEqual(Array.from(await run()));
  });

  /** Correlated columns (column j also carries 0.4 × column 0), so R is far from I. */
  const correlated = (z: Tensor) => et.add(z, et.mul(et.slice(z, [0, 0], [z.shape[0]!, 1]), 0.4));

  /**
   * The gradients' tolerance scaled to their size: they shrink like 1/N, and at N = 2 (each column standardises to ±1)
   * dz is nothing but the cancellation of O(1/N) terms, so the scale is at least 1/N.
   */
  function expectGrads(r: Awaited<ReturnType<typeof both>>, rtol: number, rows: number) {
    r.cpu.grads.forEach((g, k) => {
      const scale = Array.from(g).reduce((m, v) => Math.max(m, Math.abs(v)), 1 / rows);
      expectClose(r.cuda.grads[k]!, g, { rtol, atol: 1e-4 * scale });
    });
  }

  /** The [d, d] values as bit patterns, so equality is bitwise (−0 ≠ +0, every NaN payload distinct). */
  const bits = (v: ArrayLike<number>) => new Uint32Array(Float32Array.from(v).buffer);

  it.each([
    [2, 2],
    [3, 5],
    [67, 9],
    [1000, 70],
    [300, 132],
    [130, 257],
    [4099, 65],
    [1025, 257],
  ] as const)('correlation %i×%i and its gradient (non-symmetric cotangent) match the cpu backend; R is bitwise symmetric', async (rows, cols) => {
    // both() pulls back a randn [d, d] cotangent, which is not symmetric: correlationGrad must use gR + gRᵀ.
    const r = await both((b) => [N([rows, cols], rows + cols, b)], (z) => et.correlation(correlated(z)));
    expectClose(r.cuda.out, r.cpu.out, { rtol: 2e-4, atol: 2e-5 });
    expectGrads(r, 2e-3, rows);
    const R = bits(r.cuda.out);
    let asymmetric = 0;
    for (let j = 0; j < cols; j++) for (let k = j + 1; k < cols; k++) asymmetric += R[j * cols + k] !== R[k * cols + j] ? 1 : 0;
    expect(asymmetric).toBe(0);
  });

  it('correlation is bit-identical from run to run (fixed-order split-K sums, no float atomics)', async () => {
    const run = () => onCuda(() => et.correlation(N([3001, 130], 13, 'cuda')));
    expect(Array.from(bits(await run()))).toEqual(Array.from(bits(await run())));
  });

  it('the coherence loss built on correlation matches the cpu backend, forward and backward', async () => {
    for (const [rows, cols, seed] of [
      [1000, 70, 7],
      [300, 132, 8],
    ] as const) {
      const r = await both((b) => [N([rows, cols], seed, b)], (z) => et.coherenceOfCorrelation(et.correlation(correlated(z))));
      expectClose(r.cuda.out, r.cpu.out, { rtol: 2e-4, atol: 1e-6 });
      expectGrads(r, 2e-3, rows);
    }
  });

  it('correlation of a transposed view and behind a transpose (a strided cotangent) matches the cpu backend', async () => {
    const r = await both((b) => [N([40, 500], 9, b)], (z) => et.coherenceOfCorrelation(et.correlation(et.transpose(z))));
    expectClose(r.cuda.out, r.cpu.out, { rtol: 2e-4, atol: 1e-6 });
    expectGrads(r, 2e-3, 500);
    const t = await both((b) => [N([90, 33], 10, b)], (z) => et.transpose(et.correlation(z)));
    expectClose(t.cuda.out, t.cpu.out, { rtol: 2e-4, atol: 2e-5 });
    expectGrads(t, 2e-3, 90);
  });

  describe('coherence and coherenceGrad (fused: R only in scratch, a fixed-order reduction of (R − I)², g on the device)', () => {
    /** The gradient of k·coherence(z): the cotangent reaching coherenceGrad is the device scalar k. */
    const gradOf = (z: () => Tensor, k: number) => onCuda(() => et.grad((x: Tensor) => et.coherence(x).mul(k))(z()) as Tensor);

    it.each([
      [2, 2],
      [67, 9],
      [257, 33],
      [9, 67],
      [3001, 130],
      // N ≤ d/2: the rows' Gram K = ẐẐᵀ instead of R; [100, 257]'s K takes 10 partial blocks (d − N must enter once)
      [2, 4],
      [64, 256],
      [100, 257],
    ] as const)('coherence %i×%i and its gradient (random cotangent) match the cpu backend', async (rows, cols) => {
      // both() pulls back a randn scalar cotangent, so coherenceGrad's g is not 1.
      const r = await both((b) => [N([rows, cols], 3 * rows + cols, b)], (z) => et.coherence(correlated(z)));
      expectClose(r.cuda.out, r.cpu.out, { rtol: 2e-4, atol: 1e-6 });
      expectGrads(r, 2e-3, rows);
    });

    it('coherence(z)·3: the gradient is 3× that of coherence(z) and matches the cpu backend', async () => {
      const z = (b: Where) => () => correlated(N([257, 33], 14, b));
      const [one, three, cpu] = [await gradOf(z('cuda'), 1), await gradOf(z('cuda'), 3), await gradOf(z('cpu'), 3)];
      const scale = Array.from(cpu).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(scale).toBeGreaterThan(0);
      expectClose(three, Array.from(one, (v) => 3 * v), { rtol: 1e-5, atol: 1e-6 * scale });
      expectClose(three, cpu, { rtol: 2e-3, atol: 1e-4 * scale });
      // The same cotangent as a view at offset 2 of a buffer whose other elements are NaN: g is read at its offset.
      const viaView = await onCuda(() => {
        const [, pullback] = et.vjp((x: Tensor) => et.coherence(x), z('cuda')());
        return pullback(et.reshape(et.slice(et.tensor([NaN, NaN, 3, NaN], { backend: 'cuda' }), [2], [3]), []))[0]!;
      });
      expect(Array.from(bits(viaView))).toEqual(Array.from(bits(three)));
    });

    it('coherence of a transposed view, a strided slice and a dense view at an offset matches the cpu backend', async () => {
      const t = await both((b) => [N([40, 500], 15, b)], (z) => et.coherence(et.transpose(z)));
      expectClose(t.cuda.out, t.cpu.out, { rtol: 2e-4, atol: 1e-6 });
      expectGrads(t, 2e-3, 500);
      const s = await both((b) => [N([300, 50], 16, b)], (z) => et.coherence(correlated(et.slice(z, [1, 3], [299, 47]))));
      expectClose(s.cuda.out, s.cpu.out, { rtol: 2e-4, atol: 1e-6 });
      expectGrads(s, 2e-3, 298);
      // Rows 1.. of a dense z: contiguous at offset 33 (not 16-byte aligned), read in place.
      const o = await both((b) => [correlated(N([258, 33], 19, b))], (z) => et.coherence(et.slice(z, [1, 0])));
      expectClose(o.cuda.out, o.cpu.out, { rtol: 2e-4, atol: 1e-6 });
      expectGrads(o, 2e-3, 257);
    });

    it('the fused op agrees with coherenceOfCorrelation(correlation(z)) on cuda, forward and backward', async () => {
      const z = () => correlated(N([1000, 70], 17, 'cuda'));
      const [fused, composed] = [await onCuda(() => et.coherence(z())), await onCuda(() => et.coherenceOfCorrelation(et.correlation(z())))];
      expectClose(fused, composed, { rtol: 1e-5, atol: 0 });
      const gFused = await onCuda(() => et.grad((x: Tensor) => et.coherence(x))(z()) as Tensor);
      const gComposed = await onCuda(() => et.grad((x: Tensor) => et.coherenceOfCorrelation(et.correlation(x)))(z()) as Tensor);
      const scale = Array.from(gComposed).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expectClose(gFused, gComposed, { rtol: 1e-3, atol: 1e-5 * scale });
    });

    it('on the rows\' Gram (N ≤ d/2) the fused op agrees with coherenceOfCorrelation(correlation(z)) on cuda', async () => {
      const z = () => correlated(N([60, 300], 20, 'cuda'));
      const [fused, composed] = [await onCuda(() => et.coherence(z())), await onCuda(() => et.coherenceOfCorrelation(et.correlation(z())))];
      expectClose(fused, composed, { rtol: 1e-5, atol: 0 });
      const gFused = await onCuda(() => et.grad((x: Tensor) => et.coherence(x).mul(-2))(z()) as Tensor);
      const gComposed = await onCuda(() => et.grad((x: Tensor) => et.coherenceOfCorrelation(et.correlation(x)).mul(-2))(z()) as Tensor);
      const scale = Array.from(gComposed).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expectClose(gFused, gComposed, { rtol: 1e-3, atol: 1e-5 * scale });
    });

    it.each([
      [3001, 130],
      [100, 257],
    ] as const)('coherence and coherenceGrad of %i×%i are bit-identical from run to run (fixed-order sums, no float atomics)', async (rows, cols) => {
      const z = () => N([rows, cols], 18, 'cuda');
      const value = () => onCuda(() => et.coherence(z()));
      expect(Array.from(bits(await value()))).toEqual(Array.from(bits(await value())));
      const grad = () => gradOf(z, 0.7);
      expect(Array.from(bits(await grad()))).toEqual(Array.from(bits(await grad())));
    });

    it('the addon checks its arguments: ranges outside their buffers and too small or huge shapes are errors, not faults', async () => {
      const { loadCudaAddon } = await import('../engine/backends/cuda/addon.js');
      const loaded = loadCudaAddon();
      if ('unavailable' in loaded) throw new Error(loaded.unavailable);
      const { addon } = loaded;
      const zData = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i * 1.3) + (i % 3) * 0.1 * i);
      const [zId, gId, oId] = [addon.alloc(4 * 12), addon.alloc(4 * 2), addon.alloc(4 * 12)];
      try {
        addon.write(zId, zData);
        addon.write(gId, Float32Array.from([NaN, -2]));
        // A valid call, g at offset 1 (the NaN at offset 0 must not be read): the cpu backend's gradient of −2·L.
        addon.coherenceGrad(oId, zId, 0, gId, 1, 4, 3, 1e-5);
        const got = new Float32Array(await addon.read(oId, 0, 4 * 12));
        const want = await gradOf(() => et.tensor(zData, { shape: [4, 3], backend: 'cpu' }), -2);
        expectClose(got, want, { rtol: 1e-3, atol: 1e-5 });
        expect(() => addon.coherence(oId, zId, 1, 4, 3, 1e-5)).toThrow(/coherence input: elements \[1, 13\) outside a 12-element f32 buffer/);
        expect(() => addon.coherence(oId, zId, 0, 1, 3, 1e-5)).toThrow(/coherence: z must be \[N, d\] with N >= 2 and d >= 2/);
        expect(() => addon.coherence(oId, zId, 0, 6, 1, 1e-5)).toThrow(/coherence: z must be \[N, d\] with N >= 2 and d >= 2/);
        expect(() => addon.coherence(oId, zId, 0, 2 ** 40, 2 ** 20, 1e-5)).toThrow(/coherence: z has more than 2\^53 elements/);
        expect(() => addon.coherence(oId, zId, 0, 4, 2.5, 1e-5)).toThrow(/cols must be an integer/);
        expect(() => addon.coherenceGrad(oId, zId, 0, gId, 2, 4, 3, 1e-5)).toThrow(/coherenceGrad cotangent: elements \[2, 3\) outside a 2-element f32 buffer/);
        expect(() => addon.coherenceGrad(gId, zId, 0, gId, 0, 4, 3, 1e-5)).toThrow(/coherenceGrad output: elements \[0, 12\) outside a 2-element f32 buffer/);
        expect(() => addon.coherenceGrad(oId, zId, 0, gId, 0, 4, 1, 1e-5)).toThrow(/coherenceGrad: z must be \[N, d\] with N >= 2 and d >= 2/);
      } finally {
        for (const id of [zId, gId, oId]) addon.free(id);
      }
    });
  });

  it('tanhJvp on 128×128 tiles (ragged) matches the cpu backend', async () => {
    const r = await both((b) => [et.tanh(N([300, 260], 10, b)), N([300, 45], 11, b), N([260, 45], 12, b)], (h, v, w) => et.tanhJvp(h, v, w));
    expectBoth(r, { rtol: 1e-4, atol: 1e-4 });
  });

  describe('tanhJvpStep and its backward (a block per row: GEMV, row norm, outputs in one launch)', () => {
    /** Both outputs as one [B, out + 1] tensor, so the direction, the log norm and both cotangents are checked. */
    const stepOut = (s: import('../engine/index.js').TanhJvpStep) => et.concat([s.direction, et.reshape(s.logNorm, [-1, 1])], 1);

    it.each([
      ['ragged, out wider than a 256-thread block', 3, 257, 9],
      ['ragged in (scalar loads), 2 outputs per thread', 7, 257, 67],
      ['the FTLE size: 64 rows of 512 × 512 (float4 loads)', 64, 512, 512],
      ['out = 1000 from in = 4', 5, 1000, 4],
      ['in = 4099: two v tiles, the second one element wide', 3, 33, 4099],
      ['one output per row', 9, 1, 33],
    ] as const)('%s (B=%i, out=%i, in=%i): forward and backward match the cpu backend', async (_name, b, out, inF) => {
      const r = await both((d) => [et.tanh(N([b, out], b + out, d)), N([b, inF], inF, d), et.mul(N([out, inF], 7, d), 1 / Math.sqrt(inF))], (h, v, w) => stepOut(et.tanhJvpStep(h, v, w)));
      expectBoth(r);
    });

    it("chains steps with v = the previous step's direction (row stride out + 1) and with a transposed v", async () => {
      const r = await both(
        (d) => [et.tanh(N([6, 33], 20, d)), et.tanh(N([6, 21], 21, d)), N([40, 6], 22, d), N([33, 40], 23, d), N([21, 33], 24, d)],
        (h1, h2, vt, w1, w2) => {
          const s1 = et.tanhJvpStep(h1, et.transpose(vt), w1);
          const s2 = et.tanhJvpStep(h2, s1.direction, w2);
          return et.concat([stepOut(s2), et.reshape(s1.logNorm, [-1, 1])], 1);
        },
      );
      expectBoth(r);
    });

    it('a zero tangent row gives a NaN direction and a log norm of -Infinity without crashing; the other rows match', async () => {
      const r = await both(
        (d) => [et.tanh(N([4, 300], 30, d)), et.mul(N([4, 12], 31, d), et.tensor([[1], [0], [1], [1]], { backend: d })), N([300, 12], 32, d)],
        (h, v, w) => stepOut(et.tanhJvpStep(h, v, w)),
      );
      expectBoth(r);
      const row = Array.from(r.cuda.out).slice(301, 602);
      expect(row.slice(0, 300).every(Number.isNaN)).toBe(true);
      expect(row[300]).toBe(-Infinity);
    });

    it('the addon reads v through its strides and rejects views outside their buffers', async () => {
      const { loadCudaAddon } = await import('../engine/backends/cuda/addon.js');
      const loaded = loadCudaAddon();
      if ('unavailable' in loaded) throw new Error(loaded.unavailable);
      const { addon } = loaded;
      // v [3, 5] inside a NaN-filled buffer with row stride 8 and column stride 1, from element 2.
      const [b, out, inF, rs, off] = [3, 7, 5, 8, 2];
      const rng = new et.Rng(40);
      const h = Float32Array.from({ length: b * out }, () => Math.tanh(rng.normal()));
      const w = Float32Array.from({ length: out * inF }, () => rng.normal());
      const vBuf = new Float32Array(off + (b - 1) * rs + inF).fill(NaN);
      for (let i = 0; i < b; i++) for (let k = 0; k < inF; k++) vBuf[off + i * rs + k] = rng.normal();
      const [hId, vId, wId, yId] = [addon.alloc(h.byteLength), addon.alloc(vBuf.byteLength), addon.alloc(w.byteLength), addon.alloc(4 * b * (out + 1))];
      try {
        addon.write(hId, h);
        addon.write(vId, vBuf);
        addon.write(wId, w);
        addon.tanhJvpStep(yId, hId, 0, vId, off, rs, 1, wId, 0, b, out, inF);
        const y = new Float32Array(await addon.read(yId, 0, 4 * b * (out + 1)));
        // The spec in f64: δ = (1 − h²) ⊙ (v wᵀ), y = [δ/‖δ‖ | ln‖δ‖].
        const want: number[] = [];
        for (let i = 0; i < b; i++) {
          const delta = Array.from({ length: out }, (_, j) => {
            let p = 0;
            for (let k = 0; k < inF; k++) p += vBuf[off + i * rs + k]! * w[j * inF + k]!;
            return (1 - h[i * out + j]! ** 2) * p;
          });
          const g = Math.hypot(...delta);
          want.push(...delta.map((d) => d / g), Math.log(g));
        }
        expectClose(y, want, { rtol: 1e-5, atol: 1e-6 });
        expect(() => addon.tanhJvpStep(yId, hId, 0, vId, off + 1, rs, 1, wId, 0, b, out, inF)).toThrow(/tanhJvpStep v: view reaches elements \[3, 23\] of a 23-element f32 buffer/);
        expect(() => addon.tanhJvpStep(yId, hId, 1, vId, off, rs, 1, wId, 0, b, out, inF)).toThrow(/tanhJvpStep h: elements \[1, 22\) outside a 21-element f32 buffer/);
        expect(() => addon.tanhJvpStep(yId, hId, 0, vId, off, rs, 1, wId, 0, b, out + 1, inF)).toThrow(/tanhJvpStep h/);
        expect(() => addon.tanhJvpStep(yId, hId, 0, vId, off, rs, 1, wId, 0, -1, out, inF)).toThrow(/tanhJvpStep: batch, out and in features must lie in \[0, 2\^31\)/);
        expect(() => addon.tanhJvpStepGrad(yId, hId, 0, vId, off, rs, 1, wId, 0, yId, 1, b, out, inF)).toThrow(/tanhJvpStepGrad gy: elements \[1, 25\) outside a 24-element/);
        expect(() => addon.tanhJvpStepGrad(yId, hId, 0, vId, off, rs, 1, wId, 0, yId, 0, b, out, inF)).toThrow(/tanhJvpStepGrad output: elements \[0, 42\) outside a 24-element/);
      } finally {
        for (const id of [hId, vId, wId, yId]) addon.free(id);
      }
    });

    it('shapes that do not chain are a ShapeError before any kernel runs', () => {
      et.tidy(() => {
        const [h, v] = [N([4, 6], 50, 'cuda'), N([4, 5], 51, 'cuda')];
        expect(() => et.tanhJvpStep(h, v, N([6, 4], 52, 'cuda'))).toThrow(et.ShapeError);
        expect(() => et.tanhJvpStep(h, N([3, 5], 53, 'cuda'), N([6, 5], 54, 'cuda'))).toThrow(et.ShapeError);
      });
    });
  });

  describe('activationDensity and its backward (per-block partial sums, a fixed-order combine; one elementwise pass)', () => {
    /** The spec in float64: c = τ² + eps, ρ = mean(a²/(a² + c)), grad_i = g·2a_i·c/(a_i² + c)²/n. */
    function densityRef(a: ArrayLike<number>, tau: number, eps: number, g: number) {
      const n = a.length;
      const c = Math.fround(tau) ** 2 + eps;
      let s = 0;
      const grad = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const x = a[i]!;
        const d = x * x + c;
        s += (x * x) / d;
        grad[i] = (g * 2 * x * c) / (d * d) / n;
      }
      return { rho: s / n, grad };
    }

    /** A one-element view at offset 2 of a NaN-padded buffer: the kernels must read τ (or g) at the view's offset. */
    const oneAt2 = (v: number, shape: number[]) => et.reshape(et.slice(et.tensor([NaN, NaN, v, NaN], { backend: 'cuda' }), [2], [3]), shape);

    /** ρ and its gradient on cuda for the cotangent g; `view` builds a (possibly strided) a from its dense source. */
    async function density(src: Float32Array, shape: number[], view: (t: Tensor) => Tensor, tau: number, eps: number, g: number) {
      const [rho, grad] = et.tidy(() => {
        const t = oneAt2(tau, [1]);
        const [out, pullback] = et.vjp((x: Tensor) => et.activationDensity(view(x), t, { eps }), et.tensor(src, { shape, backend: 'cuda' }));
        return [out, pullback(oneAt2(g, []))[0]!] as const;
      });
      const r = { rho: (await rho.data())[0]!, grad: await grad.data() };
      et.dispose([rho, grad]);
      return r;
    }

    /** The float64 reference of `logical` (a's values in row-major order of the view) against the kernels' output. */
    function expectDensity(got: { rho: number; grad: ArrayLike<number> }, logical: ArrayLike<number>, gradOrder: (i: number) => number, tau: number, eps: number, g: number) {
      const want = densityRef(logical, tau, eps, g);
      expectClose([got.rho], [want.rho], { rtol: 1e-6, atol: 1e-9 });
      // The gradient comes back in a's source layout: gradOrder maps a source index to its logical position.
      const wantGrad = Array.from({ length: got.grad.length }, (_, i) => want.grad[gradOrder(i)]!);
      const scale = wantGrad.reduce((m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m), 0);
      expectClose(got.grad, wantGrad, { rtol: 1e-5, atol: 1e-6 * scale });
    }

    const normals = (n: number, seed: number, spread = 1) => {
      const rng = new et.Rng(seed);
      return Float32Array.from({ length: n }, () => spread * rng.normal());
    };

    it.each([
      ['one element', 1, 0.5, 0, 1],
      ['three: only the float4 pass\'s tail', 3, 0.5, 0, 2],
      ['4099 values: float4 loads and a tail of 3', 4099, 0.3, 1e-3, -3],
      ['1.5M values: the capped grid takes two rounds', 1_500_007, 0.1, 0, 0.5],
    ] as const)('%s matches a float64 reference, forward and backward (τ and g are views at an offset)', async (_name, n, tau, eps, g) => {
      const src = normals(n, n, 2);
      expectDensity(await density(src, [n], (x) => x, tau, eps, g), src, (i) => i, tau, eps, g);
    });

    it('reads transposed, offset (misaligned) and broadcast views of a through their strides', async () => {
      const [rows, cols] = [129, 33];
      const src = normals(rows * cols, 7);
      // logical [cols, rows] = srcᵀ; element (j, i) of the view is src[i·cols + j]
      const t = Float64Array.from({ length: rows * cols }, (_, k) => src[(k % rows) * cols + Math.floor(k / rows)]!);
      expectDensity(await density(src, [rows, cols], (x) => et.transpose(x), 0.7, 0.5, 1), t, (i) => (i % cols) * rows + Math.floor(i / cols), 0.7, 0.5, 1);
      // a dense view from element 1 (its first element is not 16-byte aligned: scalar loads); element 0 gets no gradient
      const off = normals(4100, 8);
      const got = await density(off, [4100], (x) => et.slice(x, [1], [4100]), 0.2, 1e-30, 0.5);
      expect(got.grad[0]).toBe(0);
      expectDensity({ rho: got.rho, grad: Array.from(got.grad).slice(1) }, off.subarray(1), (i) => i, 0.2, 1e-30, 0.5);
      // a row broadcast over 50 rows (stride 0): ρ is the row's density; the row's gradient sums the 50 copies
      const row = normals(37, 9);
      const b = await density(row, [1, 37], (x) => et.expand(x, [50, 37]), 0.4, 0, 1);
      const tiled = Float64Array.from({ length: 50 * 37 }, (_, k) => row[k % 37]!);
      const want = densityRef(tiled, 0.4, 0, 1);
      expectClose([b.rho], [want.rho], { rtol: 1e-6, atol: 1e-9 });
      expectClose(b.grad, Array.from(row, (_, j) => 50 * want.grad[j]!), { rtol: 1e-5, atol: 1e-9 });
    });

    it('NaN and ±inf make ρ NaN (and only their own gradients); zeros at τ = 0 give exactly 0; huge and tiny values take the reference\'s limits', async () => {
      const n = 5003;
      const poisoned = normals(n, 10);
      poisoned[2501] = NaN;
      poisoned[n - 1] = -Infinity;
      const p = await density(poisoned, [n], (x) => x, 0.3, 1e-3, 1);
      expect(Number.isNaN(p.rho)).toBe(true);
      expect(Array.from(p.grad).flatMap((v, i) => (Number.isNaN(v) ? [i] : []))).toEqual([2501, n - 1]);
      expectDensity({ rho: NaN, grad: p.grad }, poisoned, (i) => i, 0.3, 1e-3, 1);

      const zeros = await density(new Float32Array(10007), [10007], (x) => x, 0, 1e-30, 1);
      expect(zeros.rho).toBe(0);
      expect(Array.from(zeros.grad).every((v) => v === 0)).toBe(true);

      const extreme = Float32Array.from([1e30, -3e38, 1e-30, 0.7, 2e19, -1e-38, 5]);
      expectDensity(await density(extreme, [7], (x) => x, 1, 0, -2.5), extreme, (i) => i, 1, 0, -2.5);
      // c = 0: a ≠ 0 gives 1 with gradient 0
      const plain = Float32Array.from([1, -2, 3, 0.5, 1e-20]);
      const c0 = await density(plain, [5], (x) => x, 0, 0, 1);
      expect(c0.rho).toBe(1);
      expect(Array.from(c0.grad).every((v) => v === 0)).toBe(true);
    });

    it('the cotangent scales the gradient linearly', async () => {
      const src = normals(2049, 11);
      const [one, minusThree] = [await density(src, [2049], (x) => x, 0.5, 0, 1), await density(src, [2049], (x) => x, 0.5, 0, -3)];
      expectClose(minusThree.grad, Array.from(one.grad, (v) => -3 * v), { rtol: 1e-6, atol: 0 });
    });

    it('ρ is bit-identical from run to run (no float atomics)', async () => {
      const run = () => onCuda(() => et.activationDensity(N([300001], 12, 'cuda'), et.tensor([0.1], { backend: 'cuda' })));
      expect(Array.from(bits(await run()))).toEqual(Array.from(bits(await run())));
    });

    it('the addon checks its arguments: views outside their buffers, an empty a and a bad eps are errors, not faults', async () => {
      const { loadCudaAddon } = await import('../engine/backends/cuda/addon.js');
      const loaded = loadCudaAddon();
      if ('unavailable' in loaded) throw new Error(loaded.unavailable);
      const { addon } = loaded;
      const [aId, tId, oId] = [addon.alloc(4 * 10), addon.alloc(4 * 3), addon.alloc(4 * 10)];
      try {
        addon.write(aId, Float32Array.from({ length: 10 }, (_, i) => i - 4.5));
        addon.write(tId, Float32Array.from([NaN, 2, 1]));
        addon.activationDensity(oId, [10], aId, 0, [1], tId, 2, 0);
        const rho = new Float32Array(await addon.read(oId, 0, 4))[0]!;
        expectClose([rho], [densityRef(Array.from({ length: 10 }, (_, i) => i - 4.5), 1, 0, 1).rho], { rtol: 1e-6, atol: 0 });
        expect(() => addon.activationDensity(oId, [10], aId, 0, [1], tId, 3, 0)).toThrow(/activationDensity tau: elements \[3, 4\) outside a 3-element f32 buffer/);
        expect(() => addon.activationDensity(oId, [10], aId, 1, [1], tId, 2, 0)).toThrow(/activationDensity a: view reaches elements \[1, 10\] of a 10-element f32 buffer/);
        expect(() => addon.activationDensity(oId, [0], aId, 0, [1], tId, 2, 0)).toThrow(/activationDensity: a must have at least one element/);
        expect(() => addon.activationDensity(oId, [10], aId, 0, [1], tId, 2, -1)).toThrow(/activationDensity: eps must be a finite number >= 0/);
        expect(() => addon.activationDensityGrad(oId, [5, 2], aId, 0, [1, 5], tId, 2, tId, 3, 0)).toThrow(/activationDensityGrad cotangent: elements \[3, 4\) outside/);
        expect(() => addon.activationDensityGrad(tId, [10], aId, 0, [1], tId, 2, tId, 1, 0)).toThrow(/activationDensityGrad output: elements \[0, 10\) outside a 3-element/);
      } finally {
        for (const id of [aId, tId, oId]) addon.free(id);
      }
    });
  });

  it('holds i8 tensors: wrapping casts, arithmetic, reductions and reads as the cpu backend', async () => {
    const f = Float32Array.from([-1.5, 127.9, 128, -129.7, 300, NaN, 1e10, -5]);
    const ops: ((b: Where) => Tensor)[] = [
      (b) => et.cast(et.tensor(f, { backend: b }), 'i8'),
      (b) => et.neg(et.cast(et.tensor(f, { backend: b }), 'i8')),
      (b) => et.add(et.cast(et.tensor(f, { backend: b }), 'i8'), et.cast(et.tensor(f, { backend: b }), 'i8')),
      (b) => et.sum(et.cast(et.tensor(f, { backend: b }), 'i8')),
      (b) => et.max(et.cast(et.tensor(f, { backend: b }), 'i8')),
      (b) => et.argmax(et.cast(et.tensor(f, { backend: b }), 'i8')),
      (b) => et.cast(et.cast(et.tensor(f, { backend: b }), 'i8'), 'f32'),
    ];
    for (const op of ops) {
      const cpu = et.tidy(() => op('cpu'));
      const cuda = et.tidy(() => op('cuda'));
      expect(cuda.dtype).toBe(cpu.dtype);
      const [a, c] = [await cuda.data(), await cpu.data()];
      expect(a.constructor).toBe(c.constructor);
      expect(Array.from(a)).toEqual(Array.from(c));
      et.dispose([cpu, cuda]);
    }
  });
});
