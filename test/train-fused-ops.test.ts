/**
 * The fused training ops (crossEntropyGrad, layerNormGrad, activationGrad, linear, adamStep) against closed-form
 * and hand-computed values on every backend, their input validation, the fused Adam against its elementwise form
 * over several steps, and assign's storage sharing. (Parity with cpu, the composites and finite differences run in
 * the op-case suites.)
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { apply } from '../engine/dispatch.js';
import { TOLERANCE, availableBackends, compareArrays } from './helpers/backends.js';

const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, tol = TOLERANCE.f32) => {
  const cmp = compareArrays(actual, expected, tol);
  expect(cmp.ok, cmp.message).toBe(true);
};

describe.each(availableBackends())('fused training ops on %s, closed forms', (backend) => {
  const t = (data: number[], shape: number[]) => et.tensor(data, { shape, backend });

  it('crossEntropyGrad of equal logits is (1/C − onehot)·g/rows', async () => {
    const g = et.tensor(3, { backend });
    const out = apply('crossEntropyGrad', [et.zeros([2, 4], { backend }), et.tensor([1, 3], { dtype: 'i32', backend }), g], { reduction: 'mean' });
    const s = 3 / 2;
    close(await out.data(), [0.25 * s, -0.75 * s, 0.25 * s, 0.25 * s, 0.25 * s, 0.25 * s, 0.25 * s, -0.75 * s]);
    et.dispose([g, out]);
  });

  it('layerNormGrad with d = 2 and eps = 0: dx = 0 (the output is ±1 whatever x), dw = Σ g·x̂, db = Σ g', async () => {
    const x = t([1, 3, 5, 2], [2, 2]); // x̂ = [−1, 1] and [1, −1]
    const g = t([0.5, -2, 4, 1], [2, 2]);
    const out = apply('layerNormGrad', [x, t([2, -1], [2]), g], { eps: 0 });
    expect(out.shape).toEqual([4, 2]);
    close(await out.data(), [0, 0, 0, 0, -0.5 + 4, -2 - 1, 4.5, -1], { rtol: 1e-5, atol: 1e-6 });
    et.dispose([x, g, out]);
  });

  it('activationGrad: relu [y > 0], tanh 1 − y², sigmoid y(1 − y)', async () => {
    const y = t([-0.5, 0, 0.5, 0.9], [4]);
    const g = t([2, 3, 4, 5], [4]);
    const [relu, th, sig] = (['relu', 'tanh', 'sigmoid'] as const).map((a) => et.activationGrad(y, g, a));
    close(await relu!.data(), [0, 0, 4, 5]);
    close(await th!.data(), [2 * 0.75, 3, 4 * 0.75, 5 * (1 - 0.81)]);
    close(await sig!.data(), [2 * -0.75, 0, 4 * 0.25, 5 * 0.09]);
    et.dispose([y, g, relu, th, sig]);
  });

  it('linear: act(x·w + b) by hand, with w a transposed [N, K] weight', async () => {
    const x = t([1, 2, -1, 0.5], [2, 2]);
    const w = t([1, -1, 2, 0, 0.5, 3], [3, 2]); // [N=3, K=2]
    const b = t([0.5, -4, 1], [3]);
    // z = x·wᵀ + b: row 0 = [1−2, 2, 0.5+6] + b = [−0.5, −2, 7.5]; row 1 = [−1−0.5, −2, −0.5+1.5] + b = [−1, −6, 2]
    const none = et.linear(x, w.transpose(), b);
    const relu = et.linear(x, w.transpose(), b, 'relu');
    const sig = et.linear(x, w.transpose(), b, 'sigmoid');
    close(await none.data(), [-0.5, -2, 7.5, -1, -6, 2]);
    close(await relu.data(), [0, 0, 7.5, 0, 0, 2]);
    close(await sig.data(), [-0.5, -2, 7.5, -1, -6, 2].map((z) => 1 / (1 + Math.exp(-z))));
    et.dispose([x, w, b, none, relu, sig]);
  });

  it('linear relu passes NaN through like the relu op', async () => {
    const x = t([NaN, 1], [2, 1]);
    const y = et.linear(x, t([1], [1, 1]), t([0], [1]), 'relu');
    const d = await y.data();
    expect(Number.isNaN(d[0]!)).toBe(true);
    expect(d[1]).toBe(1);
    et.dispose([x, y]);
  });

  it('adamStep: the first step (m = v = 0, eps = 0) moves p by lr·sign(g) and sets m = (1 − β1)g, v = (1 − β2)g²', async () => {
    const [b1, b2, lr] = [0.9, 0.999, 0.01];
    const p = t([1, -2, 3], [3]);
    const g = t([0.5, -4, 2], [3]);
    const z = et.zeros([3], { backend });
    const out = et.adamStep(p, g, z, z, { beta1: b1, beta2: b2, eps: 0, weightDecay: 0, decay: 1, stepSize: lr / (1 - b1), bias2Sqrt: Math.sqrt(1 - b2) });
    expect(out.shape).toEqual([3, 3]);
    close(await out.data(), [1 - lr, -2 + lr, 3 - lr, 0.05, -0.4, 0.2, 0.001 * 0.25, 0.001 * 16, 0.001 * 4]);
    et.dispose([p, g, z, out]);
  });
});

describe.each(availableBackends())('reverse over forward through linear on %s', (backend) => {
  it.each(['none', 'relu', 'tanh', 'sigmoid'] as const)('%s: ∂‖J v‖²/∂W equals the unfused layer’s', async (act) => {
    const w = et.randn([5, 3], { seed: 1, backend, requiresGrad: true });
    const b = et.randn([5], { seed: 2, backend, requiresGrad: true });
    const x = et.randn([4, 3], { seed: 3, backend });
    const v = et.randn([4, 3], { seed: 4, backend });
    const grads = async (layer: (h: et.Tensor) => et.Tensor) => {
      et.tidy(() => et.jvp(layer, [x], [v])[1].square().sum().backward());
      // b gets no gradient where ‖J v‖ does not depend on it (none, relu): then both sides must agree on null.
      const out = [await w.grad!.data(), b.grad ? await b.grad.data() : null];
      w.zeroGrad();
      b.zeroGrad();
      return out;
    };
    const fused = await grads((h) => et.linear(h, w.transpose(), b, act));
    const plain = await grads((h) => et.nn.activate(h.matmul(w.transpose()).add(b), act));
    close(fused[0]!, plain[0]!);
    if (plain[1]) close(fused[1]!, plain[1]);
    else expect(fused[1]).toBeNull();
    et.dispose([w, b, x, v]);
  });
});

describe('fused training ops reject bad input with typed errors', () => {
  const f = (shape: number[]) => et.zeros(shape);
  it('crossEntropyGrad: g must be a scalar for mean, shaped like targets for none', () => {
    const z = f([3, 4]);
    const y = et.tensor([0, 1, 2], { dtype: 'i32' });
    expect(() => apply('crossEntropyGrad', [z, y, f([3])], { reduction: 'mean' })).toThrow(et.ShapeError);
    expect(() => apply('crossEntropyGrad', [z, y, f([])], { reduction: 'none' })).toThrow(et.ShapeError);
    expect(() => apply('crossEntropyGrad', [z, et.tensor([0, 1, 9], { dtype: 'i32' }), f([])], { reduction: 'sum' })).toThrow(/target 9/);
  });
  it('linear: shapes and activation names', () => {
    expect(() => et.linear(f([2, 3]), f([4, 5]), f([5]))).toThrow(et.ShapeError);
    expect(() => et.linear(f([2, 3]), f([3, 5]), f([4]))).toThrow(et.ShapeError);
    expect(() => et.linear(f([3]), f([3, 5]), f([5]))).toThrow(et.ShapeError);
    expect(() => et.linear(f([2, 3]), f([3, 5]), f([5]), 'gelu' as never)).toThrow(et.ArgumentError);
    expect(() => et.activationGrad(f([2]), f([2]), 'gelu' as never)).toThrow(/activation must be one of relu, tanh, sigmoid/);
  });
  it('layerNormGrad, activationGrad and adamStep: shapes and scalars', () => {
    expect(() => apply('layerNormGrad', [f([2, 3]), f([2]), f([2, 3])], { eps: 1e-5 })).toThrow(et.ShapeError);
    expect(() => et.activationGrad(f([2]), f([3]), 'relu')).toThrow(et.ShapeError);
    const attrs = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decay: 1, stepSize: 1e-3, bias2Sqrt: 0 };
    expect(() => et.adamStep(f([2]), f([2]), f([2]), f([2]), attrs)).toThrow(et.ArgumentError);
    expect(() => et.adamStep(f([2]), f([2]), f([2]), f([2]), attrs)).toThrow(/bias2Sqrt > 0/);
    const sgd = { lr: 0.1, momentum: 0, dampening: 0, nesterov: true, weightDecay: 0, first: false };
    expect(() => et.sgdStep(f([2]), f([2]), f([2]), sgd)).toThrow(et.ArgumentError);
    expect(() => et.sgdStep(f([2]), f([2]), f([2]), { ...sgd, nesterov: false, lr: NaN })).toThrow(/finite scalars/);
    expect(() => et.adamStep(f([2]), f([3]), f([2]), f([2]), { ...attrs, bias2Sqrt: 1 })).toThrow(et.ShapeError);
  });
});

type MakeOptimizer = (params: et.Tensor[], fused: boolean) => et.optim.Optimizer;

/**
 * Five steps of the fused optimizer and of its elementwise form on identical parameters: equal results, a constant
 * live-tensor count from the second step on. Returns the fused optimizer and its parameters for further checks.
 */
async function fusedMatchesElementwise(backend: et.BackendName, make: MakeOptimizer): Promise<{ opt: et.optim.Optimizer; ps: et.Tensor[]; done: () => void }> {
  const params = () => [et.randn([33, 7], { seed: 1, backend, requiresGrad: true }), et.randn([5], { seed: 2, backend, requiresGrad: true })];
  const [fusedPs, refPs] = [params(), params()];
  const [fused, ref] = [make(fusedPs, true), make(refPs, false)];
  let live = -1;
  for (let step = 0; step < 5; step++) {
    for (const [opt, ps] of [[fused, fusedPs], [ref, refPs]] as const) {
      et.tidy(() => {
        opt.zeroGrad();
        ps[0]!.square().sum().add(ps[1]!.tanh().sum()).backward();
        opt.step();
      });
    }
    if (step === 1) live = et.memory().liveTensors;
  }
  expect(et.memory().liveTensors).toBe(live);
  for (let i = 0; i < 2; i++) close(await fusedPs[i]!.data(), await refPs[i]!.data(), { rtol: 1e-5, atol: 1e-6 });
  const done = () => {
    fused.dispose();
    ref.dispose();
    et.dispose([...fusedPs, ...refPs]);
  };
  return { opt: fused, ps: fusedPs, done };
}

describe.each(availableBackends())('fused SGD on %s', (backend) => {
  for (const opts of [{}, { momentum: 0.9 }, { momentum: 0.9, dampening: 0.2, weightDecay: 0.05 }, { momentum: 0.8, nesterov: true }]) {
    it(`SGD ${JSON.stringify(opts)}: 5 fused steps equal the elementwise form, without leaks`, async () => {
      const { done } = await fusedMatchesElementwise(backend, (ps, fused) => new et.optim.SGD(ps, { lr: 0.05, ...opts, fused }));
      done();
    });
  }

  it('sgdStep by hand: p − lr·(g + wd·p), buf = d on the first step, μ·buf + (1 − τ)·d after', async () => {
    const t = (data: number[]) => et.tensor(data, { backend });
    const [p, g, b] = [t([1, -2]), t([0.5, 4]), t([10, 20])];
    const plain = et.sgdStep(p, g, g, { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0.5, first: false });
    expect(plain.shape).toEqual([1, 2]);
    close(await plain.data(), [1 - 0.1 * 1, -2 - 0.1 * 3]);
    const first = et.sgdStep(p, g, b, { lr: 0.1, momentum: 0.9, dampening: 0.5, nesterov: false, weightDecay: 0, first: true });
    close(await first.data(), [1 - 0.05, -2 - 0.4, 0.5, 4]);
    const later = et.sgdStep(p, g, b, { lr: 0.1, momentum: 0.9, dampening: 0.5, nesterov: true, weightDecay: 0, first: false });
    // buf′ = 0.9·buf + 0.5·g = [9.25, 20]; d = g + 0.9·buf′ = [8.825, 22]
    close(await later.data(), [1 - 0.8825, -2 - 2.2, 9.25, 20]);
    et.dispose([p, g, b, plain, first, later]);
  });
});

describe.each(availableBackends())('fused Adam on %s', (backend) => {
  for (const [name, Opt] of [['Adam', et.optim.Adam], ['AdamW', et.optim.AdamW]] as const) {
    it(`${name}: 5 fused steps equal the elementwise form, without copies or leaks`, async () => {
      const { opt, ps, done } = await fusedMatchesElementwise(backend, (params, fused) => new Opt(params, { lr: 0.05, weightDecay: 0.1, fused }));
      // p, m and v are views of one packed buffer: offsets 0, n, 2n.
      const state = opt.stateDict().tensors;
      expect([ps[0]!.offset, state['0.expAvg']!.offset, state['0.expAvgSq']!.offset]).toEqual([0, 231, 462]);
      done();
    });
  }
});

describe('assign shares dense storage instead of copying', () => {
  it('the source stays usable, disposing it keeps the target, and no bytes are added', async () => {
    const p = et.zeros([1000]);
    const x = et.ones([1000]).mul(2);
    const before = et.memory().backends.cpu!.bytes;
    p.assign(x);
    expect(et.memory().backends.cpu!.bytes).toBe(before - 4000); // p's old buffer is freed, x's is shared
    x.dispose();
    expect((await p.data())[999]).toBe(2);
    const v = et.arange(0, 6).reshape([2, 3]).transpose(); // a strided view is copied, not shared
    const q = et.zeros([3, 2]);
    q.assign(v);
    expect(Array.from(await q.data())).toEqual([0, 3, 1, 4, 2, 5]);
    expect(() => p.assign(et.zeros([999]))).toThrow(et.ShapeError);
    et.dispose([p, v, q]);
  });
});
