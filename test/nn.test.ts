/**
 * engine/nn: layers against manual computations in plain JS, init distributions, dropout reproducibility,
 * parameter discovery and state dicts, and two end-to-end checks (an MLP learns XOR; 1000 training steps leak
 * no tensors).
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import * as nn from '../engine/nn/index.js';
import * as optim from '../engine/optim/index.js';

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e)))) throw new Error(`element ${i}: got ${a}, expected ${e} (tol ${tol})`);
  }
}

const range = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

function stats(xs: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  const a = Array.from(xs);
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
  return { mean, std, min: Math.min(...a), max: Math.max(...a) };
}

describe('Linear', () => {
  it('forward equals x W^T + b computed by hand, for any leading dims', async () => {
    const lin = new nn.Linear(4, 3, { seed: 1 });
    expect(lin.weight.shape).toEqual([3, 4]);
    expect(lin.bias!.shape).toEqual([3]);
    const xs = range(2 * 5 * 4, (i) => Math.sin(i + 1));
    const x = et.tensor(xs, { shape: [2, 5, 4] });
    const y = lin.forward(x);
    expect(y.shape).toEqual([2, 5, 3]);
    const w = await lin.weight.data();
    const b = await lin.bias!.data();
    const expected: number[] = [];
    for (let r = 0; r < 10; r++) {
      for (let o = 0; o < 3; o++) {
        let s = b[o]!;
        for (let k = 0; k < 4; k++) s += xs[r * 4 + k]! * w[o * 4 + k]!;
        expected.push(s);
      }
    }
    expectClose(await y.data(), expected);
    // 1-D input and no bias
    const nb = new nn.Linear(4, 2, { bias: false, seed: 2 });
    expect(nb.bias).toBeNull();
    expect(nb.namedParameters().map(([n]) => n)).toEqual(['weight']);
    const y1 = nb.forward(et.tensor([1, 0, 0, 0]));
    const w2 = await nb.weight.data();
    expectClose(await y1.data(), [w2[0]!, w2[4]!]);
    et.dispose([x, y, y1]);
  });

  it('init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias, reproducible by seed', async () => {
    const inF = 64;
    const lin = new nn.Linear(inF, 128, { seed: 7 });
    const k = 1 / Math.sqrt(inF);
    const w = stats(await lin.weight.data());
    expect(w.min).toBeGreaterThanOrEqual(-k);
    expect(w.max).toBeLessThanOrEqual(k);
    expect(w.min).toBeLessThan(-0.95 * k); // fills the interval, not a narrower one
    expect(w.max).toBeGreaterThan(0.95 * k);
    expect(Math.abs(w.mean)).toBeLessThan(0.05 * k);
    expect(w.std).toBeCloseTo(k / Math.sqrt(3), 2); // uniform's std
    const b = stats(await lin.bias!.data());
    expect(b.min).toBeGreaterThanOrEqual(-k);
    expect(b.max).toBeLessThanOrEqual(k);
    expect(lin.weight.requiresGrad && lin.bias!.requiresGrad).toBe(true);

    const same = new nn.Linear(inF, 128, { seed: 7 });
    const other = new nn.Linear(inF, 128, { seed: 8 });
    expect(Array.from(await same.weight.data())).toEqual(Array.from(await lin.weight.data()));
    expect(Array.from(await other.weight.data())).not.toEqual(Array.from(await lin.weight.data()));
    // weight and bias draw from different streams
    expect(Array.from((await lin.bias!.data()).slice(0, 8))).not.toEqual(Array.from((await lin.weight.data()).slice(0, 8)));
  });

  it('rejects a wrong input width with a ShapeError naming both shapes', () => {
    const lin = new nn.Linear(3, 2);
    const x = et.zeros([5, 4]);
    expect(() => lin.forward(x)).toThrow(et.ShapeError);
    expect(() => lin.forward(x)).toThrow(/Linear\(3, 2\).*\[5, 4\].*\[2, 3\]/);
    expect(() => new nn.Linear(0, 2)).toThrow(et.ArgumentError);
  });
});

describe('Embedding and LayerNorm', () => {
  it('Embedding: N(0, 1) init and row lookup', async () => {
    const emb = new nn.Embedding(500, 32, { seed: 3 });
    const s = stats(await emb.weight.data());
    expect(Math.abs(s.mean)).toBeLessThan(0.03);
    expect(Math.abs(s.std - 1)).toBeLessThan(0.03);
    const ids = et.tensor([[4, 0], [499, 4]], { dtype: 'i32' });
    const out = emb.forward(ids);
    expect(out.shape).toEqual([2, 2, 32]);
    const w = await emb.weight.data();
    const o = await out.data();
    const row = (r: number): number[] => Array.from(w.slice(r * 32, r * 32 + 32));
    expectClose(o, [...row(4), ...row(0), ...row(499), ...row(4)], 0);
    expect(() => emb.forward(et.tensor([1]))).toThrow(et.DTypeError);
  });

  it('LayerNorm: matches a hand normalisation; affine params start at ones/zeros', async () => {
    const ln = new nn.LayerNorm(4);
    expect(ln.namedParameters().map(([n, t]) => [n, t.shape])).toEqual([
      ['weight', [4]],
      ['bias', [4]],
    ]);
    const xs = [1, 2, 3, 4, -1, 0.5, 2, 8];
    const y = await ln.forward(et.tensor(xs, { shape: [2, 4] })).data();
    const expected: number[] = [];
    for (let r = 0; r < 2; r++) {
      const row = xs.slice(r * 4, r * 4 + 4);
      const m = row.reduce((a, b) => a + b) / 4;
      const v = row.reduce((a, b) => a + (b - m) ** 2, 0) / 4; // biased variance, as torch
      expected.push(...row.map((x) => (x - m) / Math.sqrt(v + 1e-5)));
    }
    expectClose(y, expected);
    expect(new nn.LayerNorm(4, { elementwiseAffine: false }).numParameters()).toBe(0);
    expect(() => ln.forward(et.zeros([2, 3]))).toThrow(et.ShapeError);
  });
});

describe('Dropout', () => {
  it('the k-th call gives the same mask for the same seed; consecutive calls differ', async () => {
    const x = et.ones([1000]);
    const a = new nn.Dropout(0.3, { seed: 11 });
    const b = new nn.Dropout(0.3, { seed: 11 });
    const a1 = await a.forward(x).data();
    const a2 = await a.forward(x).data();
    et.seed(12345); // the global RNG must not matter for a seeded Dropout
    const b1 = await b.forward(x).data();
    const b2 = await b.forward(x).data();
    expect(Array.from(b1)).toEqual(Array.from(a1));
    expect(Array.from(b2)).toEqual(Array.from(a2));
    expect(Array.from(a2)).not.toEqual(Array.from(a1));
    const c = new nn.Dropout(0.3, { seed: 11 });
    c.calls = 1; // replay from the second call
    expect(Array.from(await c.forward(x).data())).toEqual(Array.from(a2));
  });

  it('inverted scaling: kept units are x / (1 - p); the dropped fraction is about p', async () => {
    const p = 0.25;
    const n = 20000;
    const xs = range(n, (i) => 1 + (i % 7));
    const y = await new nn.Dropout(p, { seed: 5 }).forward(et.tensor(xs)).data();
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      if (y[i] === 0) dropped++;
      else expect(Math.abs(y[i]! - xs[i]! / (1 - p))).toBeLessThan(1e-5);
    }
    expect(Math.abs(dropped / n - p)).toBeLessThan(0.015); // ~5 sigma
  });

  it('is the identity in eval mode and for p = 0; p = 1 zeroes; bad p throws', async () => {
    const x = et.tensor([1, 2, 3]);
    const d = new nn.Dropout(0.9, { seed: 1 });
    d.eval();
    expect(Array.from(await d.forward(x).data())).toEqual([1, 2, 3]);
    expect(d.calls).toBe(0);
    expect(Array.from(await new nn.Dropout(0).forward(x).data())).toEqual([1, 2, 3]);
    expect(Array.from(await new nn.Dropout(1).forward(x).data())).toEqual([0, 0, 0]);
    expect(() => new nn.Dropout(1.5)).toThrow(et.ArgumentError);
  });

  it('gradients flow through the kept units only', async () => {
    const x = et.ones([200], { requiresGrad: true });
    const d = new nn.Dropout(0.5, { seed: 2 });
    const y = d.forward(x);
    y.sum().backward();
    const yv = await y.data();
    const g = await x.grad!.data();
    for (let i = 0; i < 200; i++) expect(g[i]).toBeCloseTo(yv[i]!, 6); // dy/dx = mask * 2 = y when x = 1
  });
});

class Block extends nn.Module {
  readonly norm = new nn.LayerNorm(4);
  readonly layers = [new nn.Linear(4, 4, { seed: 1 }), new nn.Linear(4, 4, { seed: 2, bias: false })];
  readonly drop = new nn.Dropout(0.1, { seed: 3 });
  /** Not a parameter: no requiresGrad. */
  readonly scale = et.tensor([2]);
  forward(x: et.Tensor): et.Tensor {
    return this.drop.forward(this.layers[1]!.forward(this.layers[0]!.forward(this.norm.forward(x))));
  }
}

class Tied extends nn.Module {
  readonly emb = new nn.Embedding(10, 4, { seed: 1 });
  readonly head = new nn.Linear(4, 10, { bias: false });
  readonly blocks = [new Block()];
  constructor() {
    super();
    this.head.weight.dispose();
    this.head.weight = this.emb.weight; // weight tying, as in GPT-2
  }
  forward(ids: et.Tensor): et.Tensor {
    return this.head.forward(this.blocks[0]!.forward(this.emb.forward(ids)));
  }
}

describe('Module', () => {
  it('namedParameters: dotted names in field order, arrays indexed, tied tensors once', () => {
    const m = new Tied();
    expect(m.namedParameters().map(([n]) => n)).toEqual([
      'emb.weight',
      'blocks.0.norm.weight',
      'blocks.0.norm.bias',
      'blocks.0.layers.0.weight',
      'blocks.0.layers.0.bias',
      'blocks.0.layers.1.weight',
    ]);
    expect(m.parameters()[0]).toBe(m.emb.weight);
    expect(m.numParameters()).toBe(40 + 4 + 4 + 16 + 4 + 16);
  });

  it('MLP and Sequential naming; Sequential names children by index like torch', () => {
    const mlp = new nn.MLP([3, 5, 2], { seed: 0 });
    expect(mlp.namedParameters().map(([n, t]) => `${n}:${t.shape.join('x')}`)).toEqual([
      'layers.0.weight:5x3',
      'layers.0.bias:5',
      'layers.1.weight:2x5',
      'layers.1.bias:2',
    ]);
    const seq = new nn.Sequential(new nn.Linear(3, 4), new nn.Dropout(0.5), new nn.LayerNorm(4));
    expect(seq.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(seq.forward(et.zeros([2, 3])).shape).toEqual([2, 4]);
  });

  it('train()/eval() propagate to every descendant', () => {
    const m = new Tied();
    m.eval();
    expect([m.training, m.blocks[0]!.training, m.blocks[0]!.drop.training, m.blocks[0]!.layers[1]!.training]).toEqual([false, false, false, false]);
    m.train();
    expect(m.blocks[0]!.drop.training).toBe(true);
    const seq = new nn.Sequential(new nn.Dropout(0.5));
    seq.eval();
    expect(seq.modules[0]!.training).toBe(false);
  });

  it('stateDict round trip: loading A into B makes B compute what A computes', async () => {
    const a = new nn.MLP([3, 8, 2], { activation: 'tanh', seed: 1 });
    const b = new nn.MLP([3, 8, 2], { activation: 'tanh', seed: 2 });
    const x = et.tensor(range(12, (i) => Math.cos(i)), { shape: [4, 3] });
    const ya = await a.forward(x).data();
    expect(Array.from(await b.forward(x).data())).not.toEqual(Array.from(ya));
    const bWeight = b.layers[0]!.weight;
    const sd = a.stateDict();
    expect(Object.keys(sd)).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
    b.loadStateDict(sd);
    expect(b.layers[0]!.weight).toBe(bWeight); // values copied in, identity kept (optimizers still hold it)
    expectClose(await b.forward(x).data(), ya, 0);
  });

  it('loadStateDict errors: missing/unexpected keys, shape and dtype mismatches (module unchanged)', async () => {
    const m = new nn.MLP([3, 4, 2], { seed: 1 });
    const before = Array.from(await m.layers[0]!.weight.data());
    const sd = { ...m.stateDict() };
    const missing = Object.fromEntries(Object.entries(sd).filter(([k]) => k !== 'layers.1.bias'));
    expect(() => m.loadStateDict(missing)).toThrow(/missing keys: layers\.1\.bias/);
    expect(() => m.loadStateDict({ ...sd, extra: et.zeros([1]) })).toThrow(/unexpected keys: extra/);
    m.loadStateDict(missing, { strict: false });
    m.loadStateDict({ ...sd, extra: et.zeros([1]) }, { strict: false });

    const wrongShape = { ...sd, 'layers.0.bias': et.zeros([5]), 'layers.0.weight': et.zeros([4, 3]) };
    let err: unknown;
    try {
      m.loadStateDict(wrongShape);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(et.ShapeError);
    expect(String(err)).toMatch(/"layers\.0\.bias" has shape \[4\] in the module but \[5\] in the state dict/);
    // validation precedes any write: layers.0.weight was not zeroed
    expect(Array.from(await m.layers[0]!.weight.data())).toEqual(before);
    // shape mismatches are errors even when not strict (as in torch)
    expect(() => m.loadStateDict(wrongShape, { strict: false })).toThrow(et.ShapeError);
    expect(() => m.loadStateDict({ ...sd, 'layers.1.bias': et.zeros([2], { dtype: 'f64' }) })).toThrow(/layers\.1\.bias.*f32.*f64/);
  });
});

describe('training', () => {
  it('an MLP learns XOR with Adam (cross-entropy < 0.05 within 300 steps)', async () => {
    const x = et.tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
    const y = et.tensor([0, 1, 1, 0], { dtype: 'i32' });
    const mlp = new nn.MLP([2, 16, 2], { activation: 'tanh', seed: 42 });
    const opt = new optim.Adam(mlp.parameters(), { lr: 0.05 });
    let loss = Infinity;
    for (let step = 0; step < 300; step++) {
      const l = et.tidy(() => {
        const out = et.crossEntropy(mlp.forward(x), y);
        out.backward();
        opt.step();
        opt.zeroGrad();
        return out;
      });
      if (step === 299) loss = await l.item();
      l.dispose();
    }
    expect(loss).toBeLessThan(0.05);
    const pred = await et.argmax(mlp.forward(x), -1).data();
    expect(Array.from(pred)).toEqual([0, 1, 1, 0]);
  });

  it('1000 training steps (dropout, clipping, schedule, AdamW) leave et.memory().liveTensors unchanged', () => {
    const mlp = new nn.Sequential(new nn.Linear(4, 16, { seed: 1 }), new nn.Dropout(0.1, { seed: 2 }), new nn.MLP([16, 8, 3], { activation: 'gelu', seed: 3 }));
    const opt = new optim.AdamW(mlp.parameters(), { lr: 1e-2 });
    const sched = new optim.LrScheduler(opt, optim.cosine(1000, { warmupSteps: 10 }));
    const x = et.randn([8, 4], { seed: 1 });
    const y = et.randint([8], 0, 3, { seed: 2 });
    const trainStep = (): void =>
      et.tidy(() => {
        et.crossEntropy(mlp.forward(x), y).backward();
        optim.clipGradNorm(mlp.parameters(), 1.0);
        opt.step();
        opt.zeroGrad();
        sched.step();
      });
    // The GC backstop turns a live tensor into a leaked one when it collects an undisposed tensor (other tests
    // leave some behind), so count live + leaked: that sum only moves when tensors are created and not disposed.
    const count = (): number => et.memory().liveTensors + et.memory().leaked;
    trainStep(); // the first step creates the optimizer state, which lives on
    const before = count();
    const liveBefore = et.memory().liveTensors;
    const leakedBefore = et.memory().leaked;
    for (let i = 0; i < 1000; i++) trainStep();
    expect(count()).toBe(before);
    if (et.memory().leaked === leakedBefore) expect(et.memory().liveTensors).toBe(liveBefore);
    opt.dispose();
    expect(before - count()).toBe(2 * mlp.parameters().length); // expAvg and expAvgSq per parameter
  });
});
