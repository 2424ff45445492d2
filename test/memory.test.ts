/** Lifetimes: tidy, keep, dispose, views sharing storage, and the live counts of memory(). */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { openScopeLengths } from '../engine/memory.js';

const cpuBuffers = () => et.memory().backends.cpu?.liveBuffers ?? 0;

describe('memory', () => {
  it('tidy disposes intermediates and keeps what is returned or kept', () => {
    const before = et.memory().liveTensors;
    let kept!: et.Tensor;
    let inner!: et.Tensor;
    const out = et.tidy(() => {
      const a = et.ones([3]);
      inner = a.mul(2);
      kept = et.keep(a.add(1));
      return { result: inner.sum() };
    });
    expect(inner.isDisposed).toBe(true);
    expect(kept.isDisposed).toBe(false);
    expect(out.result.isDisposed).toBe(false);
    expect(et.memory().liveTensors).toBe(before + 2);
    et.dispose([kept, out.result]);
    expect(et.memory().liveTensors).toBe(before);
  });

  it('nested tidy hands returned tensors to the outer scope', () => {
    const before = et.memory().liveTensors;
    et.tidy(() => {
      const x = et.tidy(() => et.ones([2]).add(1));
      expect(x.isDisposed).toBe(false);
      return undefined;
    });
    expect(et.memory().liveTensors).toBe(before);
  });

  it('views share storage: no new buffer, and the storage lives until the last view is gone', () => {
    const base = et.tensor(Float32Array.from({ length: 12 }, (_, i) => i), { shape: [3, 4] });
    const buffers = cpuBuffers();
    const t = base.transpose();
    const s = base.slice([1, 1], [3, 3]);
    const one = et.ones([1, 4]);
    const e = one.expand([5, 4]);
    expect(cpuBuffers()).toBe(buffers + 1); // only the ones() buffer; transpose/slice/expand are views
    base.dispose();
    expect(Array.from(s.dataSync())).toEqual([5, 6, 9, 10]);
    expect(t.shape).toEqual([4, 3]);
    et.dispose([t, s, e, one]);
    expect(cpuBuffers()).toBe(buffers - 1);
  });

  it("a tensor's shape and strides are immutable and never alias the caller's arrays", () => {
    const shape = [2, 3];
    const t = et.zeros(shape);
    const r = t.reshape(shape);
    shape[0] = 6;
    expect(t.shape).toEqual([2, 3]);
    expect(r.shape).toEqual([2, 3]);
    expect(Object.isFrozen(t.shape) && Object.isFrozen(t.strides) && Object.isFrozen(r.shape)).toBe(true);
    expect(() => (t.shape as number[]).push(1)).toThrow(TypeError);
    const { shape: ls, strides, offset } = t.layout;
    expect({ shape: ls, strides, offset }).toEqual({ shape: [2, 3], strides: [3, 1], offset: 0 });
    et.dispose([t, r]);
  });

  it("views freeze the layouts they build, never the caller's arrays (reshape, permute, slice, expand)", () => {
    const t = et.zeros([2, 1, 3]);
    const args = { reshape: [3, 2], axes: [2, 0, 1], starts: [0, 0, 1], ends: [2, 1, 3], expand: [4, 2, 5, 3] };
    const views = [t.reshape(args.reshape), t.permute(args.axes), t.slice(args.starts, args.ends), t.expand(args.expand)];
    for (const [name, a] of Object.entries(args)) expect(Object.isFrozen(a), name).toBe(false);
    for (const v of views) expect(Object.isFrozen(v.shape) && Object.isFrozen(v.strides), JSON.stringify(v.shape)).toBe(true);
    expect(views.map((v) => [v.shape, v.strides])).toEqual([
      [[3, 2], [2, 1]],
      [[3, 2, 1], [1, 3, 3]],
      [[2, 1, 2], [3, 3, 1]],
      [[4, 2, 5, 3], [0, 3, 0, 1]],
    ]);
    et.dispose([t, ...views]);
  });

  it('bytes are counted per backend', () => {
    const bytes = et.memory().backends.cpu!.bytes;
    const x = et.zeros([1000]);
    expect(et.memory().backends.cpu!.bytes).toBe(bytes + 4000);
    x.dispose();
    expect(et.memory().backends.cpu!.bytes).toBe(bytes);
  });

  it('a training loop inside tidy leaves memory() where it started', () => {
    const w = et.randn([8, 1], { seed: 1, requiresGrad: true });
    const x = et.randn([32, 8], { seed: 2 });
    const y = x.matmul(et.randn([8, 1], { seed: 3 }));
    const start = et.memory();
    for (let step = 0; step < 1000; step++) {
      et.tidy(() => {
        const loss = et.mean(et.square(x.matmul(w).sub(y)));
        loss.backward();
        et.noGrad(() => w.assign(w.sub(w.grad!.mul(0.05))));
        w.zeroGrad();
      });
    }
    const end = et.memory();
    expect(end.liveTensors).toBe(start.liveTensors);
    expect(end.backends.cpu).toEqual(start.backends.cpu);
  });

  it('a long loop inside one tidy that disposes as it goes holds on to no more than twice its live tensors', () => {
    const before = et.memory().liveTensors;
    et.tidy(() => {
      const alive = Array.from({ length: 100 }, () => et.ones([1]));
      for (let i = 0; i < 10_000; i++) {
        const t = et.zeros([1]).add(1);
        t.dispose();
        // zeros' output stays live until the scope ends: 100 + 2 per step would be 20,100 entries without compaction
        if (i % 1000 === 999) expect(openScopeLengths().at(-1)!, `after ${i + 1} steps`).toBeLessThanOrEqual(2 * (100 + i + 1) + 64);
      }
      expect(alive.every((t) => !t.isDisposed)).toBe(true);
    });
    et.tidy(() => {
      for (let i = 0; i < 10_000; i++) et.ones([1]).dispose();
      expect(openScopeLengths().at(-1)).toBeLessThanOrEqual(128);
    });
    expect(et.memory().liveTensors).toBe(before);
  });

  it('gradients survive tidy and accumulate across backward calls', () => {
    const w = et.tensor([1, 2], { requiresGrad: true });
    et.tidy(() => w.mul(3).sum().backward());
    et.tidy(() => w.mul(w).sum().backward());
    expect(Array.from(w.grad!.dataSync())).toEqual([3 + 2, 3 + 4]);
  });

  it('seeded random numbers are reproducible and seeds differ', () => {
    const a = et.randn([100], { seed: 42 }).dataSync();
    const b = et.randn([100], { seed: 42 }).dataSync();
    const c = et.randn([100], { seed: 43 }).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    et.seed(7);
    const g1 = et.rand([5]).dataSync();
    et.seed(7);
    expect(Array.from(et.rand([5]).dataSync())).toEqual(Array.from(g1));
  });

  it('randn has the moments of a standard normal; rand of U(0,1)', () => {
    const n = 200_000;
    const z = et.randn([n], { seed: 5, dtype: 'f64' }).dataSync() as Float64Array;
    const mean = z.reduce((s, v) => s + v, 0) / n;
    const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    const u = et.rand([n], { seed: 6, dtype: 'f64' }).dataSync() as Float64Array;
    expect(u.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(Math.abs(u.reduce((s, v) => s + v, 0) / n - 0.5)).toBeLessThan(0.005);
  });

  it('creation helpers match closed forms', async () => {
    expect(Array.from(et.arange(2, 11, 3).dataSync())).toEqual([2, 5, 8]);
    expect(await et.eye(2, 3).array()).toEqual([[1, 0, 0], [0, 1, 0]]);
    expect(Array.from(et.full([2], 7, { dtype: 'i32' }).dataSync())).toEqual([7, 7]);
    expect(et.tensor(3).shape).toEqual([]);
    expect(await et.tensor([[1, 2]]).item().catch((e: Error) => e.name)).toBe('ShapeError');
  });
});

describe('public ops made of several engine calls, outside tidy', () => {
  // each builds a scalar, broadcast views or matmul's reshapes on the way to its one result; [operands, op]
  const x = () => et.tensor(Float32Array.from([1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12]), { shape: [3, 4] });
  const v = () => et.tensor(Float32Array.from([0.5, -1, 2, 0.25]), { shape: [4] });
  const batch = () => x().reshape([1, 3, 4]).expand([2, 3, 4]).contiguous();
  const ops: [string, () => et.Tensor[], (a: et.Tensor, b: et.Tensor, c?: et.Tensor) => et.Tensor | et.Tensor[]][] = [
    ['x·2 (a number operand)', () => [x(), v()], (a) => a.mul(2)],
    ['x + v (broadcast)', () => [x(), v()], (a, b) => a.add(b)],
    ['where(x > 0, x, 0)', () => [x(), x().gt(0)], (a, c) => et.where(c, a, 0)],
    ['x @ v (2-D by 1-D)', () => [x(), v()], (a, b) => a.matmul(b)],
    ['v @ x (1-D by 2-D)', () => [et.ones([3]), x()], (a, b) => a.matmul(b)],
    ['v · v (1-D by 1-D)', () => [v(), v()], (a, b) => a.matmul(b)],
    ['[2, 3, 4] @ [4, 3] (batch folded into rows)', () => [batch(), x().transpose().contiguous()], (a, b) => a.matmul(b)],
    ['[2, 3, 4] @ [1, 4, 3] (broadcast batch)', () => [batch(), x().transpose().contiguous().reshape([1, 4, 3])], (a, b) => a.matmul(b)],
    ['reshape of a transpose (a copy, then a view of it)', () => [x().transpose(), v()], (a) => a.reshape([12])],
    ['stack (unsqueezed views)', () => [v(), v()], (a, b) => et.stack([a, b])],
    ['layerNorm without weight and bias (a unit weight and a zero bias)', () => [x(), v()], (a) => et.layerNorm(a)],
    ['linear on [2, 3, 4] (rows folded)', () => [batch(), et.randn([4, 5], { seed: 1 }), et.zeros([5])], (a, w, b) => et.linear(a, w, b!)],
    ['coherence (R, I, R − I, its square and sum)', () => [et.randn([32, 4], { seed: 2 }), v()], (z) => et.coherence(z)],
    ['tanhJvpStep (one output handed out as two views)', () => [x().tanh(), x(), et.eye(4).mul(0.5)], (h, t, w) => {
      const s = et.tanhJvpStep(h, t, w!);
      return [s.direction, s.logNorm];
    }],
  ];
  for (const [name, operands, f] of ops) {
    it(`${name}: disposing the result frees everything the op made`, async () => {
      const inputs = et.tidy(operands);
      const before = et.memory();
      const y = [f(inputs[0]!, inputs[1]!, inputs[2])].flat();
      await Promise.all(y.map((t) => t.data()));
      et.dispose(y);
      const after = et.memory();
      expect(after.liveTensors).toBe(before.liveTensors);
      expect(after.backends[et.getBackend()]?.bytes).toBe(before.backends[et.getBackend()]?.bytes);
      et.dispose(inputs);
    });
  }

  it('a recorded result keeps them: backward reads the scalar and the views (closed-form gradients)', () => {
    const x = et.tensor(Float32Array.from([1, -2, 3, -4, 5, -6]), { shape: [2, 3], requiresGrad: true });
    const v = et.tensor(Float32Array.from([0.5, -1, 2]), { shape: [3], requiresGrad: true });
    // y = Σ_i (3·x_i·v) + Σ (x + v): dy/dx = 3v + 1 per row, dy/dv = 3·Σ_rows x + 2
    const y = x.mul(3).matmul(v).sum().add(x.add(v).sum());
    y.backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([2.5, -2, 7, 2.5, -2, 7]);
    expect(Array.from(v.grad!.dataSync())).toEqual([3 * (1 - 4) + 2, 3 * (-2 + 5) + 2, 3 * (3 - 6) + 2]);
    et.dispose([x, v, y]);
  });

  it('so does one carrying forward-mode tangents: J v of x ↦ (2x) @ w is 2 v @ w', () => {
    const w = et.tensor(Float32Array.from([1, 2, 3]), { shape: [3] });
    const x = et.tensor(Float32Array.from([1, 1, 1]), { shape: [3] });
    const t = et.tensor(Float32Array.from([1, 0, -1]), { shape: [3] });
    const [y, jv] = et.jvp((a: et.Tensor) => a.mul(2).matmul(w), [x], [t]);
    expect(y.dataSync()[0]).toBe(12);
    expect(jv.dataSync()[0]).toBe(-4);
    et.dispose([w, x, t, y, jv]);
  });
});

describe('transforms outside tidy', () => {
  // f(x) = Σ tanh(x)·x² makes several intermediates in its forward pass and more in its backward
  const f = (x: et.Tensor) => x.tanh().mul(x.square()).sum();
  const xs = [0.5, -1, 2];
  const dfdx = xs.map((x) => (1 - Math.tanh(x) ** 2) * x * x + 2 * x * Math.tanh(x));
  const live = () => {
    const m = et.memory();
    return [m.liveTensors, m.backends[et.getBackend()]?.bytes ?? 0];
  };

  it('grad and valueAndGrad free the recorded forward pass and the backward temporaries, keeping what they return', () => {
    const x = et.tensor(xs, { dtype: 'f64' });
    const before = live();
    const g = et.grad(f)(x) as et.Tensor;
    expect(live()[0]).toBe(before[0]! + 1);
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(dfdx[i]!, 12));
    g.dispose();
    const [value, g2] = et.valueAndGrad(f)(x) as [et.Tensor, et.Tensor];
    expect(value.dataSync()[0]).toBeCloseTo(xs.reduce((a, v) => a + Math.tanh(v) * v * v, 0), 12);
    // the value comes back as a plain tensor: its graph went with the forward pass
    expect(value.isLeaf && !value.requiresGrad).toBe(true);
    et.dispose([value, g2]);
    expect(live()).toEqual(before);
    x.dispose();
  });

  it('jvp frees its forward pass too, and the output no longer carries the finished level', () => {
    const x = et.tensor(xs, { dtype: 'f64' });
    const t = et.tensor([1, 1, 1], { dtype: 'f64' });
    const before = live();
    const [y, jv] = et.jvp((a: et.Tensor) => a.tanh().mul(a.square()), [x], [t]);
    expect(live()[0]).toBe(before[0]! + 2);
    Array.from(jv.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(dfdx[i]!, 12));
    expect(y.tangents?.size ?? 0).toBe(0);
    et.dispose([y, jv]);
    expect(live()).toEqual(before);
    et.dispose([x, t]);
  });

  it('a result recorded for an enclosing pass keeps its graph: grad of grad, jvp of grad, grad of jvp (closed forms)', () => {
    // f(x) = Σ x³: f'' = 6x; d/dx of (J v of x ↦ x³ at v = 1) summed is 6x as well
    const cube = (a: et.Tensor) => a.mul(a).mul(a).sum();
    const x = et.tensor(xs, { dtype: 'f64' });
    const second = et.grad((a: et.Tensor) => (et.grad(cube)(a) as et.Tensor).sum())(x) as et.Tensor;
    const ones = et.onesLike(x);
    const [, hv] = et.jvp((a: et.Tensor) => et.grad(cube)(a) as et.Tensor, [x], [ones]);
    const reverseOverForward = et.grad((a: et.Tensor) => et.jvp((b: et.Tensor) => cube(b), [a], [ones])[1])(x) as et.Tensor;
    for (const r of [second, hv, reverseOverForward]) Array.from(r.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(6 * xs[i]!, 12));
    et.dispose([x, ones, second, hv, reverseOverForward]);
  });

  it('a tensor f stashes elsewhere goes with the rest; one it passes to et.keep stays', () => {
    const x = et.tensor(xs);
    let stashed: et.Tensor | null = null;
    let kept: et.Tensor | null = null;
    const g = et.grad((a: et.Tensor) => {
      stashed = a.tanh();
      kept = et.keep(a.square());
      return stashed.sum();
    })(x) as et.Tensor;
    expect(() => stashed!.dataSync()).toThrow(et.DisposedError);
    expect(Array.from(kept!.dataSync())).toEqual(xs.map((v) => v * v));
    et.dispose([x, g, kept]);
  });
});

describe('leak backstop', () => {
  it('frees and counts a tensor that was garbage-collected without dispose(), with a warning', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'vitest runs workers with --expose-gc').toBeTypeOf('function');
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const before = et.memory();
    (() => {
      et.zeros([1000]); // dropped on the floor
    })();
    for (let i = 0; i < 50 && et.memory().leaked === before.leaked; i++) {
      gc!();
      await new Promise((r) => setTimeout(r, 10));
    }
    process.off('warning', onWarning);
    const after = et.memory();
    expect(after.leaked).toBeGreaterThan(before.leaked);
    // earlier tests' undisposed tensors may be collected in the same pass: every collected tensor moves from live to leaked
    expect(after.liveTensors + after.leaked).toBe(before.liveTensors + before.leaked + 1); // + the dropped tensor
    expect(after.backends.cpu!.bytes).toBeLessThanOrEqual(before.backends.cpu!.bytes);
    if (before.leaked === 0) expect(warnings).toContain('EitpLeakWarning');
  });
});

describe('leak backstop for tensors that leave tidy scopes', () => {
  // Tensors made inside a scope join the backstop only when they outlive it: these are the ways out.
  const dropped: Record<string, () => void> = {
    'returned from nested tidy scopes': () => void et.tidy(() => et.tidy(() => et.ones([300]).mul(2))),
    'kept inside a scope': () => void et.tidy(() => void et.keep(et.ones([300]).add(1))),
    'assigned new storage after leaving the scope': () => {
      const p = et.tidy(() => et.ones([300]).mul(3));
      p.assign(et.zeros([300]));
    },
  };
  it.each(Object.keys(dropped))('%s, then dropped: freed by the backstop', async (name) => {
    const gc = (globalThis as { gc?: () => void }).gc!;
    gc();
    const before = et.memory();
    dropped[name]!();
    expect(et.memory().backends.cpu!.liveBuffers).toBeGreaterThan(before.backends.cpu!.liveBuffers);
    for (let i = 0; i < 50 && et.memory().backends.cpu!.liveBuffers > before.backends.cpu!.liveBuffers; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    const after = et.memory();
    expect(after.leaked).toBeGreaterThan(before.leaked);
    expect(after.backends.cpu!.bytes).toBeLessThanOrEqual(before.backends.cpu!.bytes);
    expect(after.backends.cpu!.liveBuffers).toBeLessThanOrEqual(before.backends.cpu!.liveBuffers);
  });
});

describe('tidy when the function throws', () => {
  it('disposes what the scope created and rethrows', () => {
    const before = et.memory().liveTensors;
    expect(() =>
      et.tidy(() => {
        et.ones([3]).add(1);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(et.memory().liveTensors).toBe(before);
  });
});
