/**
 * The fused activation density against closed forms on every backend: a = 0, ±τ and 3τ give a²/(a² + τ²) = 0, 1/2
 * and 9/10, and its derivative 2aτ²/(a² + τ²)² is ±1/(2τ) at ±τ and 0.06/τ at 3τ. (Forward and backward against
 * the composite, finite differences and the other backends run in fused-vs-composite, gradcheck and parity.)
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { availableBackends } from './helpers/backends.js';

describe.each(availableBackends())('activationDensity on %s', (backend) => {
  const tau = 0.5;
  const values = [0, tau, -tau, 3 * tau];

  it('mean of a²/(a² + τ²) and its gradient by hand', async () => {
    const a = et.tensor(values, { backend });
    const t = et.tensor([tau], { backend });
    const [rho, grad] = et.valueAndGrad((x: et.Tensor) => et.activationDensity(x, t))(a) as [et.Tensor, et.Tensor];
    expect((await rho.data())[0]).toBeCloseTo((0 + 0.5 + 0.5 + 0.9) / 4, 6);
    const expected = [0, 1 / (2 * tau), -1 / (2 * tau), 0.06 / tau].map((d) => d / 4);
    Array.from(await grad.data()).forEach((g, i) => expect(g).toBeCloseTo(expected[i]!, 6));
    et.dispose([a, t, rho, grad]);
  });

  it('an all-zero activation at τ = 0 has density 0 and gradient 0 (eps keeps 0/0 away)', async () => {
    const a = et.zeros([5, 3], { backend });
    const t = et.zeros([], { backend });
    const [rho, grad] = et.valueAndGrad((x: et.Tensor) => et.activationDensity(x, t, { eps: 1e-30 }))(a) as [et.Tensor, et.Tensor];
    expect((await rho.data())[0]).toBe(0);
    expect(Array.from(await grad.data())).toEqual(new Array(15).fill(0));
    et.dispose([a, t, rho, grad]);
  });

  it('the cotangent of the scalar scales the gradient, and a NaN entry makes the density NaN', async () => {
    const a = et.tensor(values, { backend });
    const t = et.tensor([tau], { backend });
    const [, pullback] = et.vjp((x: et.Tensor) => et.activationDensity(x, t), a);
    const [g] = pullback(et.tensor(-3, { backend }));
    expect((await g!.data())[1]).toBeCloseTo((-3 * (1 / (2 * tau))) / 4, 6);
    const withNan = et.tensor([1, NaN, 2], { backend });
    const rho = et.activationDensity(withNan, t);
    expect(Number.isNaN((await rho.data())[0])).toBe(true);
    et.dispose([a, t, g!, withNan, rho]);
  });
});

describe('activationDensity input checks', () => {
  it('rejects an empty activation, a τ of more than one element, a bad eps and integer inputs with typed errors', () => {
    const t = et.tensor([1]);
    expect(() => et.activationDensity(et.zeros([0]), t)).toThrow(et.ShapeError);
    expect(() => et.activationDensity(et.zeros([3]), et.ones([2]))).toThrow(/tau must hold one element/);
    expect(() => et.activationDensity(et.zeros([3]), t, { eps: -1 })).toThrow(et.ArgumentError);
    expect(() => et.activationDensity(et.zeros([3]), t, { eps: Infinity })).toThrow(et.ArgumentError);
    expect(() => et.activationDensity(et.zeros([3], { dtype: 'i32' }), t)).toThrow(et.DTypeError);
  });
});
