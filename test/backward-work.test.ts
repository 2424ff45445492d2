/**
 * The backward pass computes only the cotangents that are needed: a constant operand (x·c, x/c, x − c, pow(x, c),
 * where(…, x, c)) costs no kernels. Kernel calls are counted on the cpu backend; gradients are checked against
 * their closed forms.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { backendByName } from '../engine/device.js';
import * as et from '../engine/index.js';

const kernels = backendByName('cpu').kernels as unknown as Record<string, (...args: unknown[]) => void>;
const originals = new Map<string, (...args: unknown[]) => void>();
let calls: Record<string, number> = {};

function counting(): void {
  calls = {};
  if (originals.size > 0) return; // already wrapped in this test
  for (const [op, kernel] of Object.entries(kernels)) {
    originals.set(op, kernel);
    kernels[op] = (...args: unknown[]) => {
      calls[op] = (calls[op] ?? 0) + 1;
      kernel(...args);
    };
  }
}

afterEach(() => {
  for (const [op, kernel] of originals) kernels[op] = kernel;
  originals.clear();
});

/** The kernels backward runs for f at x (forward kernels not counted), and x's gradient. */
function backwardOf(f: (x: et.Tensor) => et.Tensor, x: et.Tensor): { calls: Record<string, number>; grad: number[] } {
  return et.tidy(() => {
    const y = f(x);
    counting();
    y.backward();
    const grad = Array.from(x.grad!.dataSync());
    x.zeroGrad();
    return { calls: { ...calls }, grad };
  });
}

describe('backward work for constant operands', () => {
  const x = et.tensor([1, -2, 3, 0.5], { backend: 'cpu', dtype: 'f64', requiresGrad: true });

  it('x / c: one division, no cotangent for c', () => {
    const r = backwardOf((v) => v.div(4).sum(), x);
    expect(r.grad).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(r.calls.div).toBe(1);
    expect(r.calls.square ?? 0).toBe(0);
    expect(r.calls.neg ?? 0).toBe(0);
  });

  it('c / x: the divisor cotangent −(g/x)·(c/x), and none for c', () => {
    const r = backwardOf((v) => et.div(3, v).sum(), x);
    [1, -2, 3, 0.5].forEach((v, i) => expect(r.grad[i]).toBeCloseTo(-3 / (v * v), 14));
    expect(r.calls.div).toBe(1);
    expect(r.calls.square ?? 0).toBe(0);
  });

  it('x · c and x − c: no kernel for the constant side', () => {
    const m = backwardOf((v) => v.mul(3).sum(), x);
    expect(m.grad).toEqual([3, 3, 3, 3]);
    expect(m.calls.mul).toBe(1);
    const s = backwardOf((v) => v.sub(3).sum(), x);
    expect(s.grad).toEqual([1, 1, 1, 1]);
    expect(s.calls.neg ?? 0).toBe(0);
  });

  it('pow(x, c) and where(x > 0, x, c): only the cotangents of x', () => {
    const p = backwardOf((v) => et.pow(v.abs(), 2).sum(), x);
    expect(p.grad).toEqual([2, -4, 6, 1]);
    expect(p.calls.log ?? 0).toBe(0); // ∂/∂c of |x|^c would need ln|x|
    const w = backwardOf((v) => et.where(et.gt(v, 0), v, et.zerosLike(v)).sum(), x);
    expect(w.grad).toEqual([1, 0, 1, 1]);
    expect(w.calls.where).toBe(1);
  });
});

describe('backward work for slices', () => {
  // rows [0..5] + 10·row: a [2, 6] input whose gradient entries are told apart by the weights below
  const x = et.tensor([0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15], { backend: 'cpu', dtype: 'f64', shape: [2, 6], requiresGrad: true });
  const part = (v: et.Tensor, a: number, b: number) => v.slice([0, a], [2, b]);

  it('slices that split a tensor (q, k, v of one projection): one concat, no pad and no add', () => {
    const r = backwardOf((v) => part(v, 0, 2).mul(1).sum().add(part(v, 2, 4).mul(2).sum()).add(part(v, 4, 6).mul(3).sum()), x);
    expect(r.grad).toEqual([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
    expect(r.calls.concat).toBe(1);
    expect(r.calls.pad ?? 0).toBe(0);
  });

  it('a split in any order along axis 0, plus a direct use of the tensor', () => {
    const rows = (v: et.Tensor, a: number, b: number) => v.slice([a, 0], [b, 6]);
    const r = backwardOf((v) => rows(v, 1, 2).mul(3).sum().add(rows(v, 0, 1).square().sum()).add(v.sum()), x);
    expect(r.grad).toEqual([1, 3, 5, 7, 9, 11, 4, 4, 4, 4, 4, 4]);
    expect(r.calls.concat).toBe(1);
  });

  it('overlapping slices and slices with a gap are padded and added', () => {
    const overlap = backwardOf((v) => part(v, 0, 4).sum().add(part(v, 2, 6).mul(2).sum()), x);
    expect(overlap.grad).toEqual([1, 1, 3, 3, 2, 2, 1, 1, 3, 3, 2, 2]);
    expect(overlap.calls.pad).toBe(2);
    expect(overlap.calls.concat ?? 0).toBe(0);
    const gap = backwardOf((v) => part(v, 0, 2).sum().add(part(v, 4, 6).mul(5).sum()), x);
    expect(gap.grad).toEqual([1, 1, 0, 0, 5, 5, 1, 1, 0, 0, 5, 5]);
    expect(gap.calls.pad).toBe(2);
  });

  it('the concat is recorded for a second derivative: the Hessian diagonal of Σ a² + Σ b³ over a split', () => {
    et.tidy(() => {
      const v = et.tensor([1, 2, 3, 4], { backend: 'cpu', dtype: 'f64' });
      const f = (z: et.Tensor) => z.slice([0], [2]).square().sum().add(z.slice([2], [4]).pow(3).sum());
      const hessianDiagonal = et.grad((z: et.Tensor) => (et.grad(f)(z) as et.Tensor).sum())(v) as et.Tensor;
      // ∂/∂z of (2a, 3b²) summed: 2 for a, 6b for b
      expect(Array.from(hessianDiagonal.dataSync())).toEqual([2, 2, 18, 24]);
    });
  });
});
