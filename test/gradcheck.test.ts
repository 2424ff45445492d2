/**
 * Independent checks of every op's derivatives in f64 on cpu: reverse mode against central finite differences,
 * forward mode against reverse mode (⟨u, J v⟩ computed both ways), and Hessian-vector products against finite
 * differences of gradients.
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { compareArrays } from './helpers/backends.js';
import { floatCase } from './helpers/case-inputs.js';
import { centralDifference } from './helpers/central-difference.js';
import { OP_CASES } from './parity/op-cases.js';

/** Cases whose output is not differentiable in its float inputs everywhere are still checked: argmax adds a smooth term. */
const differentiable = OP_CASES.filter((c) => !c.covers.every((op) => ['eq', 'ne', 'lt', 'le', 'gt', 'ge'].includes(op)));

const dot = (a: Float64Array | ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/**
 * stopGradient deliberately differs from the true derivative; it has its own test below. So does int8 activation
 * quantisation: the output is piecewise constant in x and its gradient is straight-through (test/quant-ops.test.ts).
 */
const fdCases = differentiable.filter((c) => !c.covers.includes('stopGradient') && !c.name.includes('int8 activations'));

describe('finite-difference gradient check (f64, cpu)', () => {
  it.each(fdCases.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = fdCases[i]!;
    et.tidy(() => {
      const { floats, f } = floatCase(c, i);
      const out = f(...floats);
      const ct = et.randn(out.shape, { seed: 99 + i, dtype: 'f64' });
      // scalar objective s(x) = Σ out(x) ⊙ ct
      const s = (...xs: et.Tensor[]) => et.sum(et.mul(f(...xs), ct));
      const grads = et.grad(s, { argnums: floats.map((_, k) => k) })(...floats) as et.Tensor[];
      const eps = 1e-6;
      floats.forEach((x, k) => {
        const base = x.dataSync() as Float64Array;
        const numeric = new Float64Array(base.length);
        for (let j = 0; j < base.length; j++) {
          const eval1 = (delta: number) =>
            et.tidy(() => {
              const moved = base.slice();
              moved[j] += delta;
              const args = floats.map((t, q) => (q === k ? et.tensor(moved, { shape: x.shape, dtype: 'f64' }) : t));
              return s(...args).dataSync()[0]!;
            });
          numeric[j] = (eval1(eps) - eval1(-eps)) / (2 * eps);
        }
        const cmp = compareArrays(grads[k]!.dataSync(), numeric, { rtol: 1e-6, atol: 1e-6 });
        expect(cmp.ok, `${c.name}, input ${k}: ${cmp.message}`).toBe(true);
      });
    });
  });
});

describe('forward mode agrees with reverse mode: <u, J v> both ways', () => {
  it.each(differentiable.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = differentiable[i]!;
    et.tidy(() => {
      const { floats, f } = floatCase(c, i);
      const tangents = floats.map((x, k) => et.randn(x.shape, { seed: 500 + 10 * i + k, dtype: 'f64' }));
      const [out, jv] = et.jvp(f, floats, tangents);
      const u = et.randn(out.shape, { seed: 900 + i, dtype: 'f64' });
      const [, pullback] = et.vjp(f, ...floats);
      const jtu = pullback(u);
      const forward = dot(u.dataSync(), jv.dataSync());
      const reverse = jtu.reduce((acc, g, k) => acc + dot(g.dataSync(), tangents[k]!.dataSync()), 0);
      expect(Math.abs(forward - reverse)).toBeLessThan(1e-9 * (1 + Math.abs(reverse)));
    });
  });
});

describe('forward over forward: mixed second derivatives match central differences of the JVP', () => {
  // the inner tangent must carry the outer level's tangent through every rule, composite ones included (logsumexp's
  // was lost once: its reference ran with only the inner level active)
  const smooth = fdCases.filter((c) => !c.covers.includes('argmax'));
  it.each(smooth.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = smooth[i]!;
    et.tidy(() => {
      const { floats, f } = floatCase(c, i);
      const inner = floats.map((x, k) => et.randn(x.shape, { seed: 300 + 10 * i + k, dtype: 'f64' }));
      const outer = floats.map((x, k) => et.randn(x.shape, { seed: 400 + 10 * i + k, dtype: 'f64' }));
      const jv = (...xs: et.Tensor[]) => et.jvp(f, xs, inner)[1];
      const [, mixed] = et.jvp(jv, floats, outer);
      const numeric = centralDifference(jv, floats, outer);
      const cmp = compareArrays(mixed.dataSync(), numeric, { rtol: 1e-5, atol: 1e-6 });
      expect(cmp.ok, cmp.message).toBe(true);
    });
  });
});

describe('reverse over forward: the gradient of a recorded JVP', () => {
  // the FTLE differentiates ‖J v‖ in θ; layerNorm's tangent rule has a fused form (unrecorded) and a primitive form
  // (recorded), and this checks the recorded one end to end against finite differences
  it('∂/∂(x, w, b) of ‖J_x layerNorm(x; w, b) · v‖² matches central differences', () => {
    et.tidy(() => {
      const [x, w, b] = [et.randn([3, 6], { seed: 1, dtype: 'f64' }), et.randn([6], { seed: 2, dtype: 'f64' }), et.randn([6], { seed: 3, dtype: 'f64' })];
      const v = et.randn([3, 6], { seed: 4, dtype: 'f64' });
      const s = (xx: et.Tensor, ww: et.Tensor, bb: et.Tensor) => et.jvp((z: et.Tensor) => et.layerNorm(z, ww, bb, 1e-5), [xx], [v])[1].square().sum();
      const grads = et.grad(s, { argnums: [0, 1, 2] })(x, w, b) as et.Tensor[];
      const args = [x, w, b];
      args.forEach((a, k) => {
        const base = a.dataSync() as Float64Array;
        const numeric = base.map((_, j) => {
          const at = (delta: number) =>
            et.tidy(() => {
              const moved = base.slice();
              moved[j] += delta;
              const xs = args.map((t, q) => (q === k ? et.tensor(moved, { shape: a.shape, dtype: 'f64' }) : t));
              return s(xs[0]!, xs[1]!, xs[2]!).dataSync()[0]!;
            });
          return (at(1e-6) - at(-1e-6)) / 2e-6;
        });
        const cmp = compareArrays(grads[k]!.dataSync(), numeric, { rtol: 1e-6, atol: 1e-7 });
        expect(cmp.ok, `input ${k}: ${cmp.message}`).toBe(true);
      });
    });
  });
});

describe('stopGradient', () => {
  it('blocks the gradient through its branch: d/dx Σ x·sg(x) = x', () => {
    et.tidy(() => {
      const x = et.tensor([0.5, -2, 3], { dtype: 'f64' });
      const g = et.grad((z: et.Tensor) => et.sum(et.mul(z, et.stopGradient(z))))(x) as et.Tensor;
      expect(Array.from(g.dataSync())).toEqual([0.5, -2, 3]);
    });
  });
});

describe('Hessian-vector products', () => {
  const objectives: [string, (x: et.Tensor) => et.Tensor][] = [
    ['tanh MLP', (x) => et.tanh(et.matmul(x.reshape([3, 4]), et.randn([4, 5], { seed: 1, dtype: 'f64' }))).square().sum()],
    ['softmax cross-entropy', (x) => et.crossEntropy(x.reshape([3, 4]), et.tensor([0, 3, 1], { dtype: 'i32' }))],
    ['layerNorm + gelu', (x) => et.gelu(et.layerNorm(x.reshape([3, 4]))).mul(x.reshape([3, 4])).sum()],
    ['logsumexp of exp', (x) => et.logsumexp(et.exp(x.mul(0.3)), -1).sum()],
    // fused ops whose backward op is differentiated through its composite reference (vjp: 'composite'); τ and the
    // histogram's grid are constants, so only some of the backward op's inputs want a cotangent
    ['coherence of [6, 2]', (x) => et.coherence(x.reshape([6, 2]).mul(x.reshape([6, 2]).add(1)))],
    ['activationDensity, constant τ', (x) => et.activationDensity(x.mul(x.slice([0], [1])), et.tensor([0.7], { dtype: 'f64' })).mul(x.sum())],
    ['softHistogram counts squared', (x) => et.softHistogram(x.mul(0.6)).square().sum()],
  ];
  it.each(objectives)('%s: forward-over-reverse and reverse-over-reverse match finite differences', (_name, f) => {
    et.tidy(() => {
      const x = et.randn([12], { seed: 3, dtype: 'f64' });
      const v = et.randn([12], { seed: 4, dtype: 'f64' });
      const g = (z: et.Tensor) => et.grad(f)(z) as et.Tensor;
      const [, hvpForward] = et.jvp(g, [x], [v]);
      const hvpReverse = et.grad((z: et.Tensor) => et.sum(et.mul(g(z), v)))(x) as et.Tensor;
      const eps = 1e-5;
      const gp = g(x.add(v.mul(eps))).dataSync();
      const gm = g(x.sub(v.mul(eps))).dataSync();
      const numeric = gp.map((p, j) => (p - gm[j]!) / (2 * eps));
      for (const [label, h] of [['jvp(grad)', hvpForward], ['grad(grad·v)', hvpReverse]] as const) {
        const cmp = compareArrays(h.dataSync(), numeric, { rtol: 1e-6, atol: 1e-7 });
        expect(cmp.ok, `${label}: ${cmp.message}`).toBe(true);
      }
    });
  });

  it('t.backward({createGraph}) records the backward pass for a second derivative', () => {
    et.tidy(() => {
      const x = et.tensor([0.5, -1.5, 2], { dtype: 'f64', requiresGrad: true });
      const y = x.pow(et.tensor(3, { dtype: 'f64' })).sum();
      y.backward(undefined, { createGraph: true });
      const g = x.grad!; // 3x²
      x.grad = null;
      g.sum().backward();
      expect(Array.from(x.grad!.dataSync())).toEqual([3, -9, 12]); // 6x, exact in binary floating point
    });
  });
});
