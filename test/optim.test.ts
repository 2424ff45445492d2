/**
 * Optimizers, gradient clipping and lr schedules against independent references: torch 1.13 golden values
 * (test/golden/generate_optim.py), plain-JS closed forms, and hand-picked schedule values.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import * as optim from '../engine/optim/index.js';

type Nested = number | Nested[];
interface GoldenCase {
  name: string;
  optimizer: 'sgd' | 'adam' | 'adamw';
  options: Record<string, number | boolean | number[]>;
  params: Nested[];
  a: Nested[];
  c: (Nested | null)[][];
  expected: Nested[][];
}
interface GoldenClip {
  maxNorm: number;
  grads: Nested[];
  total: number;
  clipped: Nested[];
}
const golden = JSON.parse(readFileSync(new URL('./golden/optim.json', import.meta.url), 'utf8')) as {
  cases: GoldenCase[];
  clip: GoldenClip[];
};

const flat = (x: Nested): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x]);

function expectClose(actual: ArrayLike<number>, expected: number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Math.abs(a - e) > tol * (1 + Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (tol ${tol})\n  actual   [${Array.from(actual).join(', ')}]\n  expected [${expected.join(', ')}]`);
    }
  }
}

const param = (v: Nested): et.Tensor => et.tensor(v as number[], { requiresGrad: true });

/** The golden loss: sum_i 0.5 * sum(a_i * p_i^2) + sum(c_i * p_i) over the parameters active this step. */
function backwardGoldenLoss(ps: et.Tensor[], a: Nested[], c: (Nested | null)[]): void {
  et.tidy(() => {
    let loss: et.Tensor | null = null;
    for (let i = 0; i < ps.length; i++) {
      const ci = c[i];
      if (ci === null || ci === undefined) continue;
      const p = ps[i]!;
      const term = p.square().mul(et.tensor(a[i] as number[])).sum().mul(0.5).add(p.mul(et.tensor(ci as number[])).sum());
      loss = loss ? loss.add(term) : term;
    }
    loss!.backward();
  });
}

function makeOptimizer(c: GoldenCase, ps: et.Tensor[], fused: boolean): optim.Optimizer {
  const o = c.options as { lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number; betas?: [number, number]; eps?: number };
  if (c.optimizer === 'sgd') return new optim.SGD(ps, { ...o, fused });
  if (c.optimizer === 'adam') return new optim.Adam(ps, { ...o, fused });
  return new optim.AdamW(ps, { ...o, fused });
}

// Every optimizer runs both ways: its fused kernel (et.sgdStep / et.adamStep, the default) and the elementwise ops.
const goldenRuns = golden.cases.flatMap((c) => [true, false].map((fused) => ({ c, fused })));

describe('optimizers match torch (golden, 3 steps)', () => {
  for (const { c, fused } of goldenRuns) {
    it(`${c.name}${fused ? ' (fused)' : ' (composite)'}`, async () => {
      const ps = c.params.map(param);
      const opt = makeOptimizer(c, ps, fused);
      for (let k = 0; k < c.c.length; k++) {
        backwardGoldenLoss(ps, c.a, c.c[k]!);
        opt.step();
        opt.zeroGrad();
        for (let i = 0; i < ps.length; i++) expectClose(await ps[i]!.data(), flat(c.expected[k]![i]!));
      }
      opt.dispose();
      et.dispose(ps);
    });
  }
});

describe('closed forms in plain JS', () => {
  it('SGD momentum, nesterov and weight decay on f(p) = 0.5 * p^2 (grad = p)', async () => {
    for (const nesterov of [false, true]) {
      const lr = 0.1;
      const mu = 0.9;
      const wd = 0.01;
      const p = param([1, -2]);
      const opt = new optim.SGD([p], { lr, momentum: mu, nesterov, weightDecay: wd });
      let x = [1, -2];
      let buf: number[] | null = null;
      for (let k = 0; k < 3; k++) {
        et.tidy(() => p.square().sum().mul(0.5).backward());
        opt.step();
        opt.zeroGrad();
        const d = x.map((v) => v + wd * v);
        buf = buf ? buf.map((b, i) => mu * b + d[i]!) : d;
        const b = buf;
        const step = nesterov ? d.map((v, i) => v + mu * b[i]!) : b;
        x = x.map((v, i) => v - lr * step[i]!);
        expectClose(await p.data(), x);
      }
      opt.dispose();
      p.dispose();
    }
  });

  it('Adam: the first step moves each coordinate by lr * sign(grad) (bias correction)', async () => {
    const p = param([3, -0.001, 0.5]);
    const opt = new optim.Adam([p], { lr: 0.01, eps: 0 });
    et.tidy(() => p.mul(et.tensor([2, -5, 1e-3])).sum().backward());
    opt.step();
    expectClose(await p.data(), [3 - 0.01, -0.001 + 0.01, 0.5 - 0.01]);
    opt.dispose();
    p.dispose();
  });

  it('AdamW decays the parameter by (1 - lr * wd) before the Adam step; Adam adds wd * p to the grad', async () => {
    const lr = 0.1;
    const wd = 0.5;
    const pw = param([2]);
    const pa = param([2]);
    const adamw = new optim.AdamW([pw], { lr, weightDecay: wd, eps: 0 });
    const adam = new optim.Adam([pa], { lr, weightDecay: wd, eps: 0 });
    // With eps 0 the first Adam step is lr * sign(effective grad).
    // AdamW, grad -1: p = 2 * (1 - lr * wd) + lr. Adam, grad -3: effective grad -3 + wd * 2 = -2, p = 2 + lr.
    et.tidy(() => pw.mul(-1).sum().backward());
    et.tidy(() => pa.mul(-3).sum().backward());
    adamw.step();
    adam.step();
    expectClose(await pw.data(), [2 * (1 - lr * wd) + lr]);
    expectClose(await pa.data(), [2 + lr]);
    expect(adamw.weightDecay).toBe(wd);
    expect(new optim.AdamW([param([1])]).weightDecay).toBe(0.01);
    expect(new optim.Adam([param([1])]).weightDecay).toBe(0);
  });
});

describe('Optimizer base', () => {
  it('skips parameters whose grad is null and leaves them without state', async () => {
    const a = param([1, 2]);
    const b = param([3]);
    const opt = new optim.Adam([a, b], { lr: 0.1 });
    et.tidy(() => a.sum().backward());
    expect(b.grad).toBeNull();
    opt.step();
    expectClose(await b.data(), [3]);
    const sd = opt.stateDict();
    expect(Object.keys(sd.tensors).sort()).toEqual(['0.expAvg', '0.expAvgSq']);
    expect(sd.meta.paramSteps).toEqual([1, 0]);
    opt.dispose();
  });

  it('zeroGrad disposes the grads and sets them to null', () => {
    const p = param([1, 2, 3]);
    const opt = new optim.SGD([p], { lr: 0.1 });
    et.tidy(() => p.square().sum().backward());
    const g = p.grad;
    expect(g).not.toBeNull();
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    expect(g!.isDisposed).toBe(true);
  });

  it('lr is settable between steps', async () => {
    const p = param([1]);
    const opt = new optim.SGD([p], { lr: 0.1 });
    for (const lr of [0.1, 0.5]) {
      opt.lr = lr;
      et.tidy(() => p.mul(2).sum().backward());
      opt.step();
      opt.zeroGrad();
    }
    expectClose(await p.data(), [1 - 0.2 - 1.0]);
  });

  it('validates its hyperparameters with ArgumentError', () => {
    const p = param([1]);
    expect(() => new optim.SGD([p], { lr: -1 })).toThrow(et.ArgumentError);
    expect(() => new optim.SGD([p], { lr: 0.1, nesterov: true })).toThrow(/nesterov/);
    expect(() => new optim.Adam([p], { betas: [0.9, 1] })).toThrow(/betas\[1\]/);
    expect(() => new optim.Adam([p], { eps: -1 })).toThrow(et.ArgumentError);
    expect(() => new optim.SGD([p, p], { lr: 0.1 })).toThrow(/more than once/);
    expect(() => new optim.Adam([])).toThrow(/empty parameter list/);
  });

  it('stateDict round trip: a fresh optimizer continues exactly where the first one was', async () => {
    const init = [0.5, -1, 2];
    const grads = [
      [0.1, -0.2, 0.3],
      [-0.4, 0.5, 0.6],
      [0.7, -0.8, 0.9],
    ];
    const p1 = param(init);
    const o1 = new optim.AdamW([p1], { lr: 0.05 });
    const stepWith = (o: optim.Optimizer, p: et.Tensor, g: number[]): void => {
      et.tidy(() => p.mul(et.tensor(g)).sum().backward());
      o.step();
      o.zeroGrad();
    };
    stepWith(o1, p1, grads[0]!);
    stepWith(o1, p1, grads[1]!);
    const sd = o1.stateDict();
    expect(JSON.parse(JSON.stringify(sd.meta))).toEqual(sd.meta);
    expect(sd.meta).toMatchObject({ type: 'AdamW', stepCount: 2, paramSteps: [2], lr: 0.05 });

    const p2 = param(Array.from(await p1.data()));
    const o2 = new optim.AdamW([p2], { lr: 0.9 });
    o2.loadStateDict(sd);
    expect(o2.lr).toBe(0.05);
    expect(o2.stepCount).toBe(2);
    stepWith(o1, p1, grads[2]!);
    stepWith(o2, p2, grads[2]!);
    expectClose(await p2.data(), Array.from(await p1.data()), 1e-7);

    // loading its own state is safe (copies are made before the old state is freed)
    o1.loadStateDict(o1.stateDict());
    expect(Object.values(o1.stateDict().tensors).every((t) => !t.isDisposed)).toBe(true);
  });

  it('loadStateDict rejects a different optimizer type and mismatched shapes', () => {
    const p = param([1, 2]);
    const adam = new optim.Adam([p]);
    et.tidy(() => p.sum().backward());
    adam.step();
    expect(() => new optim.AdamW([p]).loadStateDict(adam.stateDict())).toThrow(/state dict is for Adam, not AdamW/);
    const q = param([1, 2, 3]);
    const other = new optim.Adam([q]);
    let err: unknown;
    try {
      other.loadStateDict(adam.stateDict());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(et.ShapeError);
    expect(String(err)).toMatch(/\[2\].*\[3\]/);
  });
});

describe('clipGradNorm (golden)', () => {
  for (const c of golden.clip) {
    it(`maxNorm ${c.maxNorm}`, async () => {
      const ps = [param([0.5, -1, 2]), param([[0.3, -0.2], [0.1, 0.7]])];
      // loss = sum(g * p) gives grad = g exactly
      et.tidy(() => ps[0]!.mul(et.tensor(c.grads[0] as number[])).sum().add(ps[1]!.mul(et.tensor(c.grads[1] as number[])).sum()).backward());
      const total = optim.clipGradNorm(ps, c.maxNorm);
      expect(total.shape).toEqual([]);
      expectClose([await total.item()], [c.total]);
      for (let i = 0; i < ps.length; i++) expectClose(await ps[i]!.grad!.data(), flat(c.clipped[i]!));
      total.dispose();
    });
  }

  it('ignores parameters without grads and returns 0 when none has one', async () => {
    const a = param([3, 4]);
    const b = param([1]);
    et.tidy(() => a.mul(a).mul(0.5).sum().backward()); // grad = a = [3, 4], norm 5
    const total = optim.clipGradNorm([a, b], 1);
    expectClose([await total.item()], [5]);
    expectClose(await a.grad!.data(), [3 / (5 + 1e-6), 4 / (5 + 1e-6)]);
    expect(b.grad).toBeNull();
    const zero = optim.clipGradNorm([b], 1);
    expect(await zero.item()).toBe(0);
    expect(() => optim.clipGradNorm([a], -1)).toThrow(et.ArgumentError);
  });
});

describe('schedules', () => {
  it('constant, linearWarmup, stepDecay at chosen steps', () => {
    expect([0, 10, 1e6].map(optim.constant())).toEqual([1, 1, 1]);
    const w = optim.linearWarmup(4);
    expect([0, 1, 2, 3, 4, 100].map(w)).toEqual([0.25, 0.5, 0.75, 1, 1, 1]);
    expect(optim.linearWarmup(0)(0)).toBe(1);
    const s = optim.stepDecay(3, 0.5);
    expect([0, 2, 3, 5, 6, 9].map(s)).toEqual([1, 1, 0.5, 0.5, 0.25, 0.125]);
  });

  it('cosine with warmup and a floor', () => {
    const f = optim.cosine(110, { warmupSteps: 10, minLr: 0.1 });
    expect(f(0)).toBeCloseTo(0.1, 12);
    expect(f(9)).toBeCloseTo(1, 12);
    expect(f(10)).toBeCloseTo(1, 12);
    expect(f(60)).toBeCloseTo(0.1 + 0.9 * 0.5, 12); // halfway: cos(pi/2) = 0
    expect(f(35)).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.SQRT1_2), 12); // a quarter: cos(pi/4)
    expect(f(110)).toBeCloseTo(0.1, 12);
    expect(f(500)).toBeCloseTo(0.1, 12);
    const g = optim.cosine(4);
    expect([0, 1, 2, 3, 4].map(g).map((v) => +v.toFixed(12))).toEqual([1, 0.853553390593, 0.5, 0.146446609407, 0]);
    expect(() => optim.cosine(10, { warmupSteps: 11 })).toThrow(et.ArgumentError);
  });

  it('LrScheduler sets lr = baseLr * f(step), starting at f(0)', () => {
    const opt = { lr: 0.2 };
    const sched = new optim.LrScheduler(opt, optim.stepDecay(2, 0.1));
    const seen = [opt.lr];
    for (let i = 0; i < 4; i++) {
      sched.step();
      seen.push(opt.lr);
    }
    expect(seen.map((v) => +v.toPrecision(12))).toEqual([0.2, 0.2, 0.02, 0.02, 0.002]);
    const again = new optim.LrScheduler(opt, optim.stepDecay(2, 0.1), { baseLr: 0.2 });
    again.loadStateDict(sched.stateDict());
    expect(opt.lr).toBeCloseTo(0.002, 15);
  });
});
