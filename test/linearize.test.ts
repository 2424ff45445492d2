/**
 * et.linearize: the pushforward walks one recorded forward pass with each op's tangent rule. Checked in f64 on cpu
 * for every op case against central finite differences of f, repeated and combined pushes against their own
 * finite differences (linearity holds by construction of the reference, not of the code), the gradient of a
 * recorded pushforward against finite differences, and the pullback against ⟨u, J v⟩.
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { compareArrays } from './helpers/backends.js';
import { floatCase } from './helpers/case-inputs.js';
import { centralDifference } from './helpers/central-difference.js';
import { OP_CASES } from './parity/op-cases.js';

// piecewise-constant cases (comparisons, int8 rounding) and stopGradient (zero tangent by design) have no finite-difference reference
const smooth = OP_CASES.filter(
  (c) => !c.covers.every((op) => ['eq', 'ne', 'lt', 'le', 'gt', 'ge'].includes(op)) && !c.covers.includes('stopGradient') && !c.name.includes('int8'),
);

describe('linearize: the pushforward matches central differences (f64, cpu)', () => {
  it.each(smooth.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = smooth[i]!;
    et.tidy(() => {
      const { floats, f } = floatCase(c, i);
      const tangents = floats.map((x, k) => et.randn(x.shape, { seed: 700 + 10 * i + k, dtype: 'f64' }));
      const [, push] = et.linearize(f, ...floats);
      const cmp = compareArrays(push(...tangents).dataSync(), centralDifference(f, floats, tangents), { rtol: 1e-6, atol: 1e-6 });
      expect(cmp.ok, cmp.message).toBe(true);
    });
  });
});

describe('linearize', () => {
  // a function with matmul, softmax (a composite tangent rule), layerNorm, gelu and a broadcast
  const W = () => et.randn([5, 5], { seed: 2, dtype: 'f64' }).mul(0.5);
  const f = (w: et.Tensor) => (x: et.Tensor) => et.gelu(et.layerNorm(et.softmax(x.matmul(w), -1).mul(x).add(x.tanh()))).logsumexp(-1);
  const x0 = () => et.randn([3, 5], { seed: 1, dtype: 'f64' });

  it('pushes many tangents through one recording: each matches its finite difference, and the pullback its adjoint', () => {
    et.tidy(() => {
      const w = W();
      const x = x0();
      const [out, push, pull] = et.linearize(f(w), x);
      expect(Array.from(out.dataSync())).toEqual(Array.from(f(w)(x).dataSync()));
      for (let k = 0; k < 3; k++) {
        const t = et.randn([3, 5], { seed: 10 + k, dtype: 'f64' });
        const jt = push(t);
        const cmp = compareArrays(jt.dataSync(), centralDifference(f(w), [x], [t]), { rtol: 1e-6, atol: 1e-7 });
        expect(cmp.ok, `push ${k}: ${cmp.message}`).toBe(true);
        const u = et.randn(out.shape, { seed: 20 + k, dtype: 'f64' });
        const [jtu] = pull(u);
        const forward = et.sum(et.mul(u, jt)).dataSync()[0]!;
        const reverse = et.sum(et.mul(jtu!, t)).dataSync()[0]!;
        expect(Math.abs(forward - reverse)).toBeLessThan(1e-10 * (1 + Math.abs(reverse)));
      }
    });
  });

  it('a recorded pushforward is differentiable: ∂/∂w ‖J_x f · v‖² matches central differences in w', () => {
    et.tidy(() => {
      const w = W();
      const x = x0();
      const v = et.randn([3, 5], { seed: 7, dtype: 'f64' });
      const s = (ww: et.Tensor) => et.linearize(f(ww), x)[1](v).square().sum();
      const g = et.grad(s)(w) as et.Tensor;
      const base = w.dataSync() as Float64Array;
      const numeric = base.map((_, j) => {
        const at = (d: number) =>
          et.tidy(() => {
            const moved = base.slice();
            moved[j] += d;
            return s(et.tensor(moved, { shape: w.shape, dtype: 'f64' })).dataSync()[0]!;
          });
        return (at(1e-6) - at(-1e-6)) / 2e-6;
      });
      const cmp = compareArrays(g.dataSync(), numeric, { rtol: 1e-6, atol: 1e-7 });
      expect(cmp.ok, cmp.message).toBe(true);
    });
  });

  it('works inside an outer jvp (forward over linearize, through composite tangent rules: softmax, logsumexp)', () => {
    et.tidy(() => {
      const x = x0();
      const v = et.randn([3, 5], { seed: 8, dtype: 'f64' });
      const dw = et.randn([5, 5], { seed: 9, dtype: 'f64' });
      // d/dw (J_x f(w) · v) along dw, against central differences in w
      const jv = (ww: et.Tensor) => et.linearize(f(ww), x)[1](v);
      const [, djv] = et.jvp(jv, [W()], [dw]);
      const cmp = compareArrays(djv.dataSync(), centralDifference(jv, [W()], [dw]), { rtol: 1e-6, atol: 1e-7 });
      expect(cmp.ok, cmp.message).toBe(true);
    });
  });

  it('has no cost of its own in live tensors: everything it makes belongs to the enclosing tidy', () => {
    const before = et.memory().liveTensors;
    const [w, x] = et.tidy(() => [W(), x0()]);
    const kept = et.tidy(() => {
      const [, push, pull] = et.linearize(f(w), x);
      const t = push(et.onesLike(x));
      pull(t);
      return t;
    });
    expect(kept.shape).toEqual([3]);
    et.dispose([kept, w, x]);
    expect(et.memory().liveTensors).toBe(before);
  });

  it('rejects tangents that do not match the primals', () => {
    et.tidy(() => {
      const [, push] = et.linearize(f(W()), x0());
      expect(() => push()).toThrow(et.ArgumentError);
      expect(() => push(et.zeros([3, 4], { dtype: 'f64' }))).toThrow(et.ShapeError);
      expect(() => push(et.zeros([3, 5]))).toThrow(/dtype/);
      expect(() => push(3 as unknown as et.Tensor)).toThrow(et.ArgumentError);
    });
  });
});
