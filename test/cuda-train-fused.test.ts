/**
 * The cuda backend's fused training kernels (crossEntropyGrad, layerNormGrad, activationGrad, geluGrad, linear,
 * adamStep, sgdStep) against the cpu reference on ragged shapes that reach every kernel variant (32×32 and 128×128 matmul
 * tiles with float4 and strided loads, layerNormGrad's one-chunk and multi-chunk column sums, adamStep's and
 * sgdStep's float4 and scalar passes), grids with far more blocks than the emulator's worker threads, against each op's composite on cuda
 * itself, and a bad target becoming an ArgumentError. Runs the CPU-emulated addon unless EITP_CUDA_EMULATION=0 asks
 * for the real one (on a GPU machine).
 */
import { afterAll, describe, expect, it } from 'vitest';

process.env.EITP_CUDA_EMULATION ??= '1';

const et = await import('../engine/index.js');
const { apply } = await import('../engine/dispatch.js');
const { compareArrays } = await import('./helpers/backends.js');
type Tensor = import('../engine/index.js').Tensor;
type OpName = import('../engine/index.js').OpName;
type Where = 'cpu' | 'cuda';

const status = et.backendInfo().find((b) => b.name === 'cuda')!;
if (process.env.EITP_REQUIRE_CUDA === '1' && !status.available) throw new Error(`EITP_REQUIRE_CUDA=1 but cuda is unavailable: ${status.reason}`);

const TOL = { rtol: 1e-5, atol: 1e-6 };
const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decay: 0.995, stepSize: 0.01, bias2Sqrt: 0.05 };
/** sgdStep's regimes: plain (momentum 0), the first momentum step, dampening with weight decay, Nesterov. */
const SGD = {
  plain: { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0.01, first: false },
  first: { lr: 0.1, momentum: 0.9, dampening: 0.5, nesterov: false, weightDecay: 0.01, first: true },
  damped: { lr: 0.05, momentum: 0.9, dampening: 0.25, nesterov: false, weightDecay: 0.01, first: false },
  nesterov: { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: true, weightDecay: 0, first: false },
} as const;

async function read(f: () => Tensor): Promise<Float32Array> {
  const t = et.tidy(f);
  try {
    return Float32Array.from(await t.data());
  } finally {
    t.dispose();
  }
}

/** f on cpu (the reference) and on cuda. */
async function both(f: (b: Where) => Tensor) {
  return { cpu: await read(() => f('cpu')), cuda: await read(() => f('cuda')) };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string, tol = TOL) {
  const r = compareArrays(actual, expected, tol);
  expect(r.ok, `${label}: ${r.message}`).toBe(true);
}

const N = (shape: number[], seed: number, b: Where) => et.randn(shape, { seed, backend: b });
/** Non-negative values (second moments). */
const P = (shape: number[], seed: number, b: Where) => et.square(N(shape, seed, b));
const targets = (shape: number[], classes: number, seed: number, b: Where) => et.randint(shape, 0, classes, { seed, backend: b });

describe.runIf(status.available)('cuda fused training kernels', () => {
  afterAll(() => {
    expect(et.memory().backends.cuda?.liveBuffers ?? 0).toBe(0);
  });

  describe('against the cpu reference', () => {
    it.each([
      ['mean', [1, 7]],
      ['sum', [33, 257]],
      ['none', [300, 7]], // 300 one-row blocks on two workers
      ['mean', [4, 1000]], // rows longer than a block
      ['none', [3, 5, 33]], // 3-D logits
      ['sum', [2, 3, 1]], // one class: the gradient is 0
    ] as const)('crossEntropyGrad %s %j', async (reduction, shape) => {
      const lead = shape.slice(0, -1);
      const gShape = reduction === 'none' ? lead : [];
      const r = await both((b) => apply('crossEntropyGrad', [N([...shape], 1, b), targets(lead, shape.at(-1)!, 2, b), N(gShape, 3, b)], { reduction }));
      expectClose(r.cuda, r.cpu, 'crossEntropyGrad');
    });

    it.each([
      ['one row', [1, 33]],
      ['d = 1', [7, 1]],
      ['one column chunk, written in place', [33, 257]],
      ['5 row chunks', [257, 300]],
      ['16 row chunks of one column tile, 1000 row blocks', [1000, 7]],
      ['3-D', [3, 5, 33]],
    ] as const)('layerNormGrad %s %j', async (_name, shape) => {
      const d = shape.at(-1)!;
      const r = await both((b) => apply('layerNormGrad', [N([...shape], 4, b), N([d], 5, b), N([...shape], 6, b)], { eps: 1e-5 }));
      // dw / db sum up to 1000 terms of order 1: their f32 rounding is relative to the terms, not the sum
      expectClose(r.cuda, r.cpu, 'layerNormGrad', { rtol: 1e-5, atol: 2e-5 });
    });

    it('layerNormGrad of strided (transposed) inputs', async () => {
      const r = await both((b) => apply('layerNormGrad', [et.transpose(N([33, 9], 7, b)), N([33], 8, b), et.transpose(N([33, 9], 9, b))], { eps: 1e-3 }));
      expectClose(r.cuda, r.cpu, 'layerNormGrad');
    });

    it.each(['relu', 'tanh', 'sigmoid'] as const)('activationGrad %s: strided, broadcast, and over a grid of hundreds of blocks', async (activation) => {
      const y = (shape: number[], seed: number, b: Where) => {
        const x = N(shape, seed, b);
        return activation === 'relu' ? et.relu(x) : activation === 'tanh' ? et.tanh(x) : et.sigmoid(x);
      };
      for (const f of [
        (b: Where) => apply('activationGrad', [y([7, 33], 10, b), N([7, 33], 11, b)], { activation }),
        (b: Where) => apply('activationGrad', [et.transpose(y([33, 7], 12, b)), et.expand(N([1, 33], 13, b), [7, 33])], { activation }),
        (b: Where) => apply('activationGrad', [y([317, 331], 14, b), N([317, 331], 15, b)], { activation }),
      ]) {
        const r = await both(f);
        expectClose(r.cuda, r.cpu, `activationGrad ${activation}`);
      }
    });

    it.each(['none', 'tanh'] as const)('geluGrad %s: dense, strided x with a broadcast g, and over a grid of hundreds of blocks', async (approximate) => {
      for (const f of [
        (b: Where) => et.geluGrad(N([7, 33], 80, b), N([7, 33], 81, b), approximate),
        (b: Where) => et.geluGrad(et.transpose(N([33, 7], 82, b)), et.expand(N([1, 33], 83, b), [7, 33]), approximate),
        (b: Where) => et.geluGrad(N([317, 331], 84, b).mul(3), N([317, 331], 85, b), approximate),
      ]) {
        const r = await both(f);
        expectClose(r.cuda, r.cpu, `geluGrad ${approximate}`);
      }
    });

    it('softmaxGradGrad: [ȳ; ḡ] along the last, a middle and the first axis, over long rows, and of strided inputs', async () => {
      const inputs = (shape: number[], axis: number, b: Where) => [N(shape, 95, b).mul(2).softmax(axis), N(shape, 96, b), N(shape, 97, b)];
      const cases: [number[], number][] = [[[192, 24], 1], [[1, 1], 1], [[3, 33, 7], 1], [[3, 33, 7], 2], [[33, 5], 0], [[300, 1031], 1], [[0, 3], 1]];
      for (const [shape, axis] of cases) {
        const r = await both((b) => apply('softmaxGradGrad', inputs(shape, axis, b), { axis }));
        const scale = r.cpu.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-30);
        expectClose(r.cuda, r.cpu, `softmaxGradGrad ${JSON.stringify(shape)} axis ${axis}`, { rtol: 1e-5, atol: 1e-5 * scale });
      }
      const strided = await both((b) => apply('softmaxGradGrad', inputs([33, 65], 0, b).map((t) => et.transpose(t)), { axis: 1 }));
      const scale = strided.cpu.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-30);
      expectClose(strided.cuda, strided.cpu, 'softmaxGradGrad strided', { rtol: 1e-5, atol: 1e-5 * scale });
    });

    it('layerNormGradGrad: [J o; curvature] over ragged shapes, strided inputs and hundreds of blocks', async () => {
      const inputs = (shape: number[], b: Where) => [N(shape, 92, b).mul(3).add(1.5), N(shape, 93, b), N(shape, 94, b)];
      for (const shape of [[1, 1], [7, 1], [1, 7], [96, 32], [2, 3, 33], [300, 257], [33, 1031]]) {
        const r = await both((b) => apply('layerNormGradGrad', inputs(shape, b), { eps: 1e-5 }));
        const half = r.cpu.length / 2;
        for (const lo of [0, half]) {
          const want = r.cpu.subarray(lo, lo + half);
          const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-30);
          expectClose(r.cuda.subarray(lo, lo + half), want, `layerNormGradGrad ${JSON.stringify(shape)}`, { rtol: 1e-5, atol: 1e-5 * scale });
        }
      }
      const strided = await both((b) => apply('layerNormGradGrad', inputs([65, 33], b).map((t) => et.transpose(t)), { eps: 1e-5 }));
      const scale = strided.cpu.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-30);
      expectClose(strided.cuda, strided.cpu, 'layerNormGradGrad strided', { rtol: 1e-5, atol: 1e-5 * scale });
    });

    it.each(['none', 'tanh'] as const)('geluGrad %s, order 2 (g·gelu″): dense, strided with a broadcast g, hundreds of blocks, and special values', async (approximate) => {
      for (const f of [
        (b: Where) => et.geluGrad(N([7, 33], 86, b).mul(3), N([7, 33], 87, b), approximate, 2),
        (b: Where) => et.geluGrad(et.transpose(N([33, 7], 88, b)), et.expand(N([1, 33], 89, b), [7, 33]), approximate, 2),
        (b: Where) => et.geluGrad(N([317, 331], 90, b).mul(3), N([317, 331], 91, b), approximate, 2),
      ]) {
        const r = await both(f);
        expectClose(r.cuda, r.cpu, `geluGrad ${approximate} order 2`);
      }
      const xs = Float32Array.of(10, -10, 30, -30, 5.2, -5.2, 0, -0, Number.NaN, 1e20, -1e20, 3e38, -3e38, Infinity, -Infinity);
      const gs = Float32Array.from(xs, (_, i) => 1 + 0.5 * i);
      const r = await both((b) => et.geluGrad(et.tensor(xs, { backend: b }), et.tensor(gs, { backend: b }), approximate, 2));
      expectClose(r.cuda, r.cpu, `geluGrad ${approximate} order 2 special values`);
      // gelu″ → 0 at ±∞: exactly 0 once it underflows (|x| ≥ 30, huge and infinite x), NaN stays NaN
      for (const i of [2, 3, 9, 10, 11, 12, 13, 14]) expect(r.cuda[i], `x = ${xs[i]}`).toBe(0);
      expect(Number.isNaN(r.cuda[8]!)).toBe(true);
    });

    it.each(['none', 'tanh'] as const)('geluGrad %s where erf and tanh saturate (±5.2 … ±30), at 0, on NaN and on huge |x|', async (approximate) => {
      // 259 values: not a multiple of 32 or of the 256-thread block
      const special = [10, -10, 30, -30, 5.2, -5.2, 4, -4, -0.7518, 0, -0, Number.NaN, 1e20, -1e20, 3e38, -3e38];
      const xs = Float32Array.from({ length: 259 }, (_, i) => special[i % special.length]! + (i >= special.length ? 0.01 * i : 0));
      const gs = Float32Array.from({ length: 259 }, (_, i) => Math.cos(0.37 * i) * 2);
      const r = await both((b) => et.geluGrad(et.tensor(xs, { backend: b }), et.tensor(gs, { backend: b }), approximate));
      expectClose(r.cuda, r.cpu, `geluGrad ${approximate} special values`);
      // the limits by hand: gelu′ → 1 for x → +∞ and 0 for x → −∞ (x = ±10 and beyond), NaN stays NaN
      for (const [i, want] of [[0, gs[0]!], [1, 0], [2, gs[2]!], [3, 0], [12, gs[12]!], [13, 0], [14, gs[14]!], [15, 0]] as const) {
        expect(Math.abs(r.cuda[i]! - want), `x = ${xs[i]}`).toBeLessThanOrEqual(1e-20);
      }
      expect(Number.isNaN(r.cuda[11]!)).toBe(true);
    });

    it.each(['none', 'tanh'] as const)("gelu %s backward (gelu's VJP is geluGrad) matches cpu", async (approximate) => {
      const grads = async (b: Where) => {
        const out = et.tidy(() => {
          const loss = (x: Tensor) => et.sum(et.mul(et.gelu(x, { approximate }), N([37, 45], 87, b)));
          return et.grad(loss)(et.transpose(N([45, 37], 86, b))) as Tensor;
        });
        const data = await out.data();
        out.dispose();
        return data;
      };
      expectClose(await grads('cuda'), await grads('cpu'), `gelu ${approximate} gradient`);
    });

    it('geluGrad: the addon rejects out-of-bounds views and an unknown form with an error, not a crash', async () => {
      const { loadCudaAddon } = await import('../engine/backends/cuda/addon.js');
      const loaded = loadCudaAddon();
      if ('unavailable' in loaded) throw new Error(loaded.unavailable);
      const { addon } = loaded;
      const [x, g, o] = [addon.alloc(16), addon.alloc(16), addon.alloc(12)];
      try {
        expect(() => addon.geluGrad('none', o, [4], x, 0, [1], g, 0, [1])).toThrow(/geluGrad output: elements \[0, 4\) outside a 3-element f32 buffer/);
        expect(() => addon.geluGrad('tanh', o, [3], x, 2, [1], g, 0, [1])).toThrow(/geluGrad x: view reaches elements \[2, 4\] of a 4-element f32 buffer/);
        expect(() => addon.geluGrad('none', o, [3], x, 0, [1], g, 0, [2])).toThrow(/geluGrad cotangent: view reaches elements \[0, 4\] of a 4-element f32 buffer/);
        expect(() => addon.geluGrad('tanh', o, [3], x, 0, [-1], g, 0, [1])).toThrow(/geluGrad x: view reaches elements \[-2, 0\]/);
        expect(() => addon.geluGrad('erf' as never, o, [3], x, 0, [1], g, 0, [1])).toThrow(/unknown geluGrad approximate 'erf'/);
        expect(() => addon.geluGrad('none', o, [3], x, 0, [1], g, 0, [1], 3 as never)).toThrow(/geluGrad: order must be 1 or 2, got 3/);
        expect(() => addon.geluGrad('none', o, [3], x, 0, [1], g, 0, [1], 'two' as never)).toThrow(/geluGrad order/);
      } finally {
        for (const id of [x, g, o]) addon.free(id);
      }
    });

    const linearCases = [
      ['32×32 tiles', 7, 33, 5],
      ['128×128 tiles, ragged, strided loads', 300, 45, 261],
      ['128×128 tiles, float4 loads, ragged M', 261, 36, 264],
      ['K not a multiple of the tile depth', 257, 3, 300],
      ['one row', 1, 129, 3],
    ] as const;
    for (const activation of ['none', 'relu', 'tanh', 'sigmoid'] as const) {
      it.each(linearCases)(`linear ${activation}: %s (M %i, K %i, N %i), w dense and a transposed [N, K] view`, async (_name, m, k, n) => {
        const dense = await both((b) => et.linear(N([m, k], 16, b), N([k, n], 17, b), N([n], 18, b), activation));
        expectClose(dense.cuda, dense.cpu, `linear ${activation} dense w`, { rtol: 1e-5, atol: 1e-5 });
        const transposed = await both((b) => et.linear(N([m, k], 19, b), et.transpose(N([n, k], 20, b)), N([n], 21, b), activation));
        expectClose(transposed.cuda, transposed.cpu, `linear ${activation} transposed w`, { rtol: 1e-5, atol: 1e-5 });
      });
    }

    it('linear with a transposed x, a strided bias and K = 0', async () => {
      const r1 = await both((b) => et.linear(et.transpose(N([40, 70], 22, b)), N([40, 9], 23, b), et.reshape(et.slice(N([9, 2], 24, b), [0, 1], [9, 2]), [9]), 'tanh'));
      expectClose(r1.cuda, r1.cpu, 'linear transposed x', { rtol: 1e-5, atol: 1e-5 });
      // K = 0: the product is 0 and the output act(b) in every row
      const r2 = await both((b) => et.linear(et.zeros([3, 0], { backend: b }), et.zeros([0, 4], { backend: b }), N([4], 25, b), 'sigmoid'));
      expectClose(r2.cuda, r2.cpu, 'linear K = 0');
    });

    it('linear backward (activationGrad, then the matmuls) matches cpu', async () => {
      const grads = async (b: Where) => {
        const out = et.tidy(() => {
          const [x, w, bias] = [N([37, 20], 26, b), N([11, 20], 27, b), N([11], 28, b)];
          const loss = (xx: Tensor, ww: Tensor, bb: Tensor) => et.sum(et.square(et.linear(xx, et.transpose(ww), bb, 'sigmoid')));
          return et.grad(loss, { argnums: [0, 1, 2] })(x, w, bias) as Tensor[];
        });
        const data = await Promise.all(out.map((t) => t.data()));
        et.dispose(out);
        return data;
      };
      const [cuda, cpu] = [await grads('cuda'), await grads('cpu')];
      cpu.forEach((g, i) => expectClose(cuda[i]!, g, `linear gradient ${i}`, { rtol: 1e-4, atol: 1e-5 }));
    });

    it.each([1, 7, 33, 257, 1000, 100003])('adamStep of %i elements (Adam with weight decay and AdamW decay)', async (n) => {
      for (const attrs of [ADAM, { ...ADAM, weightDecay: 0, decay: 0.99 }]) {
        const r = await both((b) => et.adamStep(N([n], 29, b), N([n], 30, b), N([n], 31, b).mul(0.1), P([n], 32, b).mul(0.01), attrs));
        expectClose(r.cuda, r.cpu, `adamStep n=${n}`);
      }
    });

    it.each([256, 257])('adamStep on offset views of one packed buffer (n = %i: float4 and scalar passes) and on strided inputs', async (n) => {
      const r = await both((b) => {
        const packed = et.concat([N([1, n], 33, b), N([1, n], 34, b).mul(0.1), P([1, n], 35, b).mul(0.01)], 0);
        const part = (k: number) => et.reshape(et.slice(packed, [k, 0], [k + 1, n]), [n]);
        return et.adamStep(part(0), N([n], 36, b), part(1), part(2), { ...ADAM, weightDecay: 0, decay: 0.999 });
      });
      expectClose(r.cuda, r.cpu, 'adamStep offset views');
      const s = await both((b) => et.adamStep(et.transpose(N([9, 13], 37, b)), N([13, 9], 38, b), et.transpose(N([9, 13], 39, b)), P([13, 9], 40, b), ADAM));
      expectClose(s.cuda, s.cpu, 'adamStep strided');
    });

    it.each([1, 7, 33, 257, 1000, 100003])('sgdStep of %i elements (plain, first momentum step, dampening + weight decay, Nesterov)', async (n) => {
      for (const [name, attrs] of Object.entries(SGD)) {
        const r = await both((b) => et.sgdStep(N([n], 41, b), N([n], 42, b), N([n], 43, b).mul(0.1), attrs));
        expect(r.cuda.length, `sgdStep ${name} n=${n} output size`).toBe((attrs.momentum === 0 ? 1 : 2) * n);
        expectClose(r.cuda, r.cpu, `sgdStep ${name} n=${n}`);
      }
    });

    it.each([256, 257])('sgdStep on offset views of one packed buffer (n = %i: float4 and scalar passes) and on strided inputs', async (n) => {
      for (const attrs of [SGD.damped, SGD.nesterov]) {
        const r = await both((b) => {
          const packed = et.concat([N([1, n], 44, b), N([1, n], 45, b).mul(0.1)], 0);
          const part = (k: number) => et.reshape(et.slice(packed, [k, 0], [k + 1, n]), [n]);
          return et.sgdStep(part(0), N([n], 46, b), part(1), attrs);
        });
        expectClose(r.cuda, r.cpu, 'sgdStep offset views');
      }
      for (const attrs of Object.values(SGD)) {
        const s = await both((b) => et.sgdStep(et.transpose(N([9, 13], 47, b)), N([13, 9], 48, b), et.transpose(N([9, 13], 49, b)), attrs));
        expectClose(s.cuda, s.cpu, 'sgdStep strided');
      }
    });

    it('sgdStep without momentum ignores buf: g itself, or NaNs, give the same update', async () => {
      const n = 257;
      // p′ = p − lr·(g + wd·p), by hand in f64 from the inputs' f32 values
      const [p, g] = [await read(() => N([n], 50, 'cpu')), await read(() => N([n], 51, 'cpu'))];
      const want = Array.from(p, (pi, i) => pi - SGD.plain.lr * (g[i]! + SGD.plain.weightDecay * pi));
      for (const buf of ['g', 'nan'] as const) {
        const got = await read(() => {
          const gc = N([n], 51, 'cuda');
          return et.sgdStep(N([n], 50, 'cuda'), gc, buf === 'g' ? gc : et.full([n], Number.NaN, { backend: 'cuda' }), SGD.plain);
        });
        expectClose(got, want, `sgdStep buf = ${buf}`);
      }
      // first step: buf′ = d, so a NaN buf must not reach the output either
      const first = await read(() => et.sgdStep(N([n], 50, 'cuda'), N([n], 51, 'cuda'), et.full([n], Number.NaN, { backend: 'cuda' }), SGD.first));
      expect(first.every(Number.isFinite)).toBe(true);
    });
  });

  describe('against the composite on cuda itself', () => {
    const cases: { op: OpName; attrs: object; inputs: () => Tensor[] }[] = [
      { op: 'crossEntropyGrad', attrs: { reduction: 'mean' }, inputs: () => [N([33, 7], 41, 'cuda'), targets([33], 7, 42, 'cuda'), N([], 43, 'cuda')] },
      { op: 'crossEntropyGrad', attrs: { reduction: 'none' }, inputs: () => [N([3, 5, 257], 44, 'cuda'), targets([3, 5], 257, 45, 'cuda'), N([3, 5], 46, 'cuda')] },
      { op: 'layerNormGrad', attrs: { eps: 1e-5 }, inputs: () => [N([257, 70], 47, 'cuda'), N([70], 48, 'cuda'), N([257, 70], 49, 'cuda')] },
      { op: 'activationGrad', attrs: { activation: 'tanh' }, inputs: () => [et.tanh(N([7, 33], 50, 'cuda')), N([7, 33], 51, 'cuda')] },
      { op: 'activationGrad', attrs: { activation: 'sigmoid' }, inputs: () => [et.sigmoid(N([7, 33], 52, 'cuda')), N([7, 33], 53, 'cuda')] },
      { op: 'activationGrad', attrs: { activation: 'relu' }, inputs: () => [et.relu(N([7, 33], 54, 'cuda')), N([7, 33], 55, 'cuda')] },
      { op: 'geluGrad', attrs: { approximate: 'none' }, inputs: () => [N([7, 33], 75, 'cuda').mul(3), N([7, 33], 76, 'cuda')] },
      { op: 'geluGrad', attrs: { approximate: 'tanh' }, inputs: () => [N([7, 33], 77, 'cuda').mul(3), N([7, 33], 78, 'cuda')] },
      { op: 'linear', attrs: { activation: 'relu' }, inputs: () => [N([300, 45], 56, 'cuda'), et.transpose(N([261, 45], 57, 'cuda')), N([261], 58, 'cuda')] },
      { op: 'linear', attrs: { activation: 'sigmoid' }, inputs: () => [N([7, 33], 59, 'cuda'), N([33, 5], 60, 'cuda'), N([5], 61, 'cuda')] },
      { op: 'adamStep', attrs: ADAM, inputs: () => [N([257], 62, 'cuda'), N([257], 63, 'cuda'), N([257], 64, 'cuda').mul(0.1), P([257], 65, 'cuda').mul(0.01)] },
      ...Object.values(SGD).map((attrs) => ({ op: 'sgdStep' as const, attrs, inputs: () => [N([1000], 72, 'cuda'), N([1000], 73, 'cuda'), N([1000], 74, 'cuda').mul(0.1)] })),
    ];
    it.each(cases.map((c, i) => [`${c.op} ${JSON.stringify(c.attrs)}`, i] as const))('%s', async (_label, i) => {
      const c = cases[i]!;
      const def = et.opTable()[c.op] as { composite: (xs: Tensor[], attrs: object) => Tensor };
      const [fused, composite] = await Promise.all(
        [(xs: Tensor[]) => apply(c.op, xs, c.attrs as never), (xs: Tensor[]) => def.composite(xs, c.attrs)].map((f) => read(() => f(c.inputs()))),
      );
      expectClose(fused!, composite!, `${c.op} fused vs composite`, { rtol: 1e-5, atol: 2e-5 });
    });
  });

  it('layerNormGrad column sums are the same on every run (fixed-order partial sums, no atomics)', async () => {
    const f = () => apply('layerNormGrad', [N([1000, 70], 66, 'cuda'), N([70], 67, 'cuda'), N([1000, 70], 68, 'cuda')], { eps: 1e-5 });
    const [a, b] = [await read(f), await read(f)];
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });

  it('a target outside [0, C) rejects the next readback with an ArgumentError, and the backend keeps working', async () => {
    const logits = Float32Array.from({ length: 15 }, (_, i) => 3 * Math.sin(1.7 * i));
    // the good rows' reference: 'mean' over 3 rows is 'none' with g = 1/3 per row (row 1's target made valid)
    const want = await read(() =>
      apply('crossEntropyGrad', [et.tensor(logits, { shape: [3, 5], backend: 'cpu' }), et.tensor(Int32Array.from([1, 0, 0]), { backend: 'cpu' }), et.full([3], 1 / 3, { backend: 'cpu' })], { reduction: 'none' }),
    );
    for (const bad of [5, -1]) {
      const inputs = [et.tensor(logits, { shape: [3, 5], backend: 'cuda' }), et.tensor(Int32Array.from([1, bad, 0]), { backend: 'cuda' }), et.ones([], { backend: 'cuda' })];
      const out = apply('crossEntropyGrad', inputs, { reduction: 'mean' });
      const err = await out.data().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(et.ArgumentError);
      expect((err as Error).message).toMatch(new RegExp(`^crossEntropyGrad: target ${bad} at position 1 is outside \\[0, 5\\)`));
      // reported once: the next readback succeeds; the bad row is NaN, the others are computed
      const rows = await out.data();
      expect(Array.from(rows.slice(5, 10)).every(Number.isNaN)).toBe(true);
      expectClose(rows.slice(0, 5), want.slice(0, 5), 'row 0');
      expectClose(rows.slice(10), want.slice(10), 'row 2');
      et.dispose([...inputs, out]);
    }
  });

  it('the forward crossEntropy reports a bad target as an ArgumentError too', async () => {
    const [logits, t] = [N([2, 4], 71, 'cuda'), et.tensor(Int32Array.from([4, 0]), { backend: 'cuda' })];
    const loss = et.crossEntropy(logits, t);
    await expect(loss.data()).rejects.toThrow(et.ArgumentError);
    et.dispose([logits, t, loss]);
  });
});
