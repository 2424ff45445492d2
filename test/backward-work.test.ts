/**
 * The backward pass computes only the cotangents that are needed: a constant operand (x·c, x/c, x − c, pow(x, c),
 * where(…, x, c)) costs no kernels. Kernel calls are counted on the cpu backend; gradients are checked against
 * their closed forms.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { backendByName } from '../engine/device.js';
import { apply } from '../engine/dispatch.js';
import * as et from '../engine/index.js';
import { centralDifference } from './helpers/central-difference.js';
import { lyapunovAlong } from '../src/eitp/chaos.js';
import { l1PathNorm } from '../src/eitp/path-norm.js';
import { CharGpt } from '../src/models/gpt.js';
import { weightedSum } from '../src/eitp/weighted-sum.js';

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

  it('the same slice taken twice: its cotangents summed, then one pad (was a pad each and an add)', () => {
    const r = backwardOf((v) => part(v, 2, 4).sum().add(part(v, 2, 4).mul(2).sum()), x);
    expect(r.grad).toEqual([0, 0, 3, 3, 0, 0, 0, 0, 3, 3, 0, 0]);
    // the ·2 (mul), the two pieces' sum (add, [2, 2]) and one pad to [2, 6]
    expect(r.calls).toEqual({ mul: 1, add: 1, pad: 1 });
  });

  it('a slice of the whole tensor: its cotangent is the tensor\'s, no pad (a copy)', () => {
    const r = backwardOf((v) => part(v, 0, 6).mul(3).sum(), x);
    expect(r.grad).toEqual(Array(12).fill(3));
    expect(r.calls.pad ?? 0).toBe(0);
  });

  it('slices of a permuted view (q, k, v of an attention projection): the concat in the dense layout, no contiguous copy', () => {
    // x [B=2, T=3, 3·H·hd = 6] viewed as [3, B, H=1, T, hd=2], as GptBlock takes q, k and v apart
    const v = et.tensor(Array.from({ length: 36 }, (_, i) => i - 17.5), { backend: 'cpu', dtype: 'f64', shape: [2, 3, 6], requiresGrad: true });
    // L = Σ_i (i + 1)·Σ piece_i², so ∂L/∂x = 2(i + 1)·x on the last axis' entries [2i, 2i + 2) (piece i)
    const r = backwardOf((z) => {
      const heads = z.reshape([2, 3, 3, 1, 2]).permute([2, 0, 3, 1, 4]);
      return [0, 1, 2].map((i) => heads.slice([i, 0, 0, 0, 0], [i + 1, 2, 1, 3, 2]).square().sum().mul(i + 1)).reduce((a, b) => a.add(b));
    }, v);
    const xs = Array.from({ length: 36 }, (_, i) => i - 17.5);
    expect(r.grad).toEqual(xs.map((x, i) => 2 * (Math.floor((i % 6) / 2) + 1) * x));
    // one concat of the three cotangents, written in the [B, T, 3, H, hd] order, so the permute and reshape VJPs are
    // views: no contiguous copy (there was one, the concat being written in the [3, B, H, T, hd] order)
    expect(r.calls.concat).toBe(1);
    expect(r.calls.contiguous ?? 0).toBe(0);
    expect(r.calls.pad ?? 0).toBe(0);
  });

  // x [B, T, 3·H·hd] as GptBlock splits it, at ragged sizes (B 2, T 5, H 2, hd 3): kᵀ's rows (hd) are stride 1 and its
  // columns (T) 3·H·hd = 18 apart, more than its 3 rows: a transposed view of a slice, not of dense data.
  // L = Σ C[b,h,i,j]·q_i·k_j + Σ v²: ∂L/∂q_i = Σ_j C_ij k_j, ∂L/∂k_j = Σ_i C_ij q_i, ∂L/∂v = 2v, summed by hand below.
  const attention = (() => {
    const [B, T, H, hd] = [2, 5, 2, 3];
    const xs = Array.from({ length: B * T * 3 * H * hd }, (_, i) => ((i * 7) % 11) / 4 - 1.2);
    const c = Array.from({ length: B * H * T * T }, (_, i) => ((i * 5) % 9) / 3 - 1);
    const at = (b: number, t: number, part: number, h: number, e: number) => (((b * T + t) * 3 + part) * H + h) * hd + e;
    const expected = xs.map((x, i) => (Math.floor(i / (H * hd)) % 3 === 2 ? 2 * x : 0));
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < T; i++) {
          for (let j = 0; j < T; j++) {
            const w = c[((b * H + h) * T + i) * T + j]!;
            for (let e = 0; e < hd; e++) {
              expected[at(b, i, 0, h, e)]! += w * xs[at(b, j, 1, h, e)]!;
              expected[at(b, j, 1, h, e)]! += w * xs[at(b, i, 0, h, e)]!;
            }
          }
        }
      }
    }
    const input = (backend: et.BackendName, dtype: 'f32' | 'f64') => et.tensor(xs, { backend, dtype, shape: [B, T, 3 * H * hd], requiresGrad: true });
    const loss = (weights: et.Tensor) => (z: et.Tensor) => {
      const heads = z.reshape([B, T, 3, H, hd]).permute([2, 0, 3, 1, 4]);
      const [q, k, u] = [0, 1, 2].map((i) => heads.slice([i, 0, 0, 0, 0], [i + 1, B, H, T, hd]).reshape([B, H, T, hd]));
      return q!.matmul(k!.transpose(-2, -1)).mul(weights).sum().add(u!.square().sum());
    };
    const weights = (backend: et.BackendName, dtype: 'f32' | 'f64') => et.tensor(c, { backend, dtype, shape: [B, H, T, T] });
    return { input, loss, weights, expected };
  })();

  it("attention scores q·kᵀ with k a slice of the projection: k's cotangent reaches the concat dense along hd, like q's and v's", () => {
    const layouts: { shape: readonly number[]; strides: readonly number[] }[][] = [];
    counting(); // wraps the kernels first, so that afterEach restores the originals, not the wrapper below
    const concat = kernels.concat!;
    kernels.concat = (inputs: unknown, ...rest: unknown[]) => {
      layouts.push((inputs as et.Tensor['kernelArg'][]).map((a) => ({ shape: a.layout.shape, strides: a.layout.strides })));
      concat(inputs, ...rest);
    };
    let grad: number[];
    try {
      grad = et.tidy(() => backwardOf(attention.loss(attention.weights('cpu', 'f64')), attention.input('cpu', 'f64')).grad);
    } finally {
      kernels.concat = concat;
    }
    grad.forEach((g, i) => expect(g, `x.grad[${i}]`).toBeCloseTo(attention.expected[i]!, 12));
    // one concat of the three pieces, each read along hd with stride 1: the product wrote k's
    // cotangent as dense [T, hd] rows (it was a [hd, T] product seen through a transpose, read element by element)
    expect(layouts).toHaveLength(1);
    for (const piece of layouts[0]!) expect(piece.strides[piece.strides.length - 1], JSON.stringify(piece)).toBe(1);
  });

  it.skipIf(!et.backendInfo().some((b) => b.name === 'native' && b.available))('the same attention gradient on native (f32) against the hand-written sums', () => {
    et.tidy(() => {
      const x = attention.input('native', 'f32');
      const grad = Array.from((et.grad(attention.loss(attention.weights('native', 'f32')))(x) as et.Tensor).dataSync());
      grad.forEach((g, i) => expect(Math.abs(g - attention.expected[i]!), `x.grad[${i}]: ${g} vs ${attention.expected[i]}`).toBeLessThan(1e-5 * (1 + Math.abs(attention.expected[i]!))));
    });
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

/** Runs f with every cpu kernel call counted; returns f's result and the counts. */
function counted<T>(f: () => T): { result: T; calls: Record<string, number> } {
  counting();
  const result = f();
  return { result, calls: { ...calls } };
}

const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

/** ⟨∇L, t⟩ against the central difference of L along t, for a tangent t on input k alone. */
function expectDirectional(L: (...xs: et.Tensor[]) => et.Tensor, xs: et.Tensor[], grads: et.Tensor[], k: number, seed: number): void {
  const ts = xs.map((x, q) => (q === k ? et.randn(x.shape, { backend: 'cpu', dtype: 'f64', seed }) : et.zerosLike(x)));
  const analytic = et.sum(et.mul(grads[k]!, ts[k]!)).dataSync()[0]!;
  const numeric = centralDifference(L, xs, ts)[0]!;
  expect(Math.abs(analytic - numeric), `input ${k}: ${analytic} vs ${numeric}`).toBeLessThan(1e-7 * (1 + Math.abs(numeric)));
}

describe('backward work for the FTLE: gradients of some tensors only, and second derivatives', () => {
  const f64 = { backend: 'cpu', dtype: 'f64' } as const;

  it("a pullback to x alone through linear(x, W, b): x's cotangent only, no kernels for W and b", () => {
    et.tidy(() => {
      // the FTLE's power iterations pull Jᵀw back to the block input only: W and b require grad but lead nowhere asked
      const x = et.tensor([1, 2, -1, 0.5, 3, -2], { ...f64, shape: [2, 3] });
      const W = et.tensor([1, 0, 2, -1, 3, 1], { ...f64, shape: [3, 2], requiresGrad: true });
      const b = et.tensor([0.5, -0.5], { ...f64, requiresGrad: true });
      const [, pull] = et.vjp((z: et.Tensor) => et.linear(z, W, b), x);
      const { result, calls: c } = counted(() => pull(et.tensor([1, 2, -1, 1], { ...f64, shape: [2, 2] }))[0]!);
      // one matmul g·Wᵀ (was three kernels: also Xᵀ·g for W and a column sum for b)
      expect(c).toEqual({ matmul: 1 });
      // g·Wᵀ by hand: rows (1, 2) and (−1, 1) against W's rows (1, 0), (2, −1), (3, 1)
      expect(Array.from(result.dataSync())).toEqual([1, 0, 5, -1, -3, -2]);
    });
  });

  it('layerNormGrad backward, all three cotangent rows: 9 kernels (26 before layerNormGradGrad, its composite took 59), matching central differences', () => {
    et.tidy(() => {
      const x = et.randn([2, 3, 5], { ...f64, seed: 1 });
      const w = et.randn([5], { ...f64, seed: 2 });
      const g = et.randn([2, 3, 5], { ...f64, seed: 3 });
      const cot = et.randn([8, 5], { ...f64, seed: 4 }); // [dx rows; dw; db] of the packed [rows + 2, d] output
      const packed = (a: et.Tensor, b: et.Tensor, c: et.Tensor) => apply('layerNormGrad', [a, b, c], { eps: 1e-5 });
      const [, pull] = et.vjp(packed, x, w, g);
      const { result: grads, calls: c } = counted(() => pull(cot));
      // u = g ⊙ w (mul); J o and x̄'s curvature term: 1 layerNormGradGrad. ḡ = w ⊙ J o + LayerNorm(x; ōw, ōb): mul,
      // layerNorm, add. w̄ = Σ g ⊙ J o: mul, sum. x̄: J (g ⊙ ōw) (layerNormGrad) added to the curvature (add)
      expect(c).toEqual({ layerNormGradGrad: 1, layerNormGrad: 1, layerNorm: 1, mul: 3, sum: 1, add: 2 });
      expect(total(c)).toBe(9);
      const L = (a: et.Tensor, b: et.Tensor, d: et.Tensor) => et.sum(et.mul(packed(a, b, d), cot));
      [0, 1, 2].forEach((k) => expectDirectional(L, [x, w, g], grads, k, 10 + k));
    });
  });

  it('a recorded LayerNorm tangent is one fused layerNormGrad (was fourteen primitive ops); its gradient takes 6 kernels (23 before layerNormGradGrad, 37 before that)', () => {
    et.tidy(() => {
      const x = et.randn([3, 5], { ...f64, seed: 5, requiresGrad: true });
      const w = et.randn([5], { ...f64, seed: 6, requiresGrad: true });
      const b = et.randn([5], { ...f64, seed: 7, requiresGrad: true });
      // the tangent itself differentiable, as J v is in θ inside a network
      const v = et.randn([3, 5], { ...f64, seed: 8, requiresGrad: true });
      const tangentOf = (xx: et.Tensor, ww: et.Tensor, vv: et.Tensor) => et.jvp((z: et.Tensor) => et.layerNorm(z, ww, b, 1e-5), [xx], [vv])[1];
      const fwd = counted(() => tangentOf(x, w, v));
      // the primal layerNorm, J v (layerNormGrad with unit weight), ⊙ w
      expect(fwd.calls).toEqual({ layerNorm: 1, layerNormGrad: 1, mul: 1 });
      const s = fwd.result.square().sum();
      const bwd = counted(() => s.backward());
      // square: 2 mul; ⊙ w: 2 mul and a sum over rows for w̄; the slice of the packed output: no pad (its piece goes to
      // layerNormGrad's vjpOfSlice; a pad to [rows + 2, d] before). That VJP, with the unit weight and no ōw, ōb rows:
      // v̄ = J o and x̄ from one layerNormGradGrad (u = g: no product). 16 + 37 kernels before the fused rules.
      expect(bwd.calls).toEqual({ mul: 4, sum: 1, layerNormGradGrad: 1 });
      expect(total(bwd.calls)).toBe(6);
      const L = (xx: et.Tensor, ww: et.Tensor, vv: et.Tensor) => tangentOf(xx, ww, vv).square().sum();
      const grads = [x.grad!, w.grad!, v.grad!];
      [0, 1, 2].forEach((k) => expectDirectional(L, [x, w, v], grads, k, 20 + k));
      for (const t of [x, w, b, v]) t.zeroGrad();
    });
  });

  it('et.softmaxGradGrad and et.layerNormGradGrad against hand-computed values', () => {
    et.tidy(() => {
      const t = (v: number[], shape?: number[]) => et.tensor(v, { ...f64, ...(shape && { shape }) });
      // y = (0.2, 0.3, 0.5), g = (1, 2, 3), o = (1, 0, −1): Σ g·y = 2.3, Σ o·y = −0.3;
      // ȳ = o(g − 2.3) + 0.3g = (−1, 0.6, 0.2), ḡ = y(o + 0.3) = (0.26, 0.09, −0.35)
      const s = Array.from(et.softmaxGradGrad(t([0.2, 0.3, 0.5]), t([1, 2, 3]), t([1, 0, -1]), 0).dataSync());
      [-1, 0.6, 0.2, 0.26, 0.09, -0.35].forEach((want, i) => expect(s[i]).toBeCloseTo(want, 12));
      // x = (1, 2, 3), eps = 0: μ = 2, r = √1.5, x̂ = r·(−1, 0, 1); u = e₁, o = e₂: J o = r·(−1/3, 2/3, −1/3),
      // J u = r·(1/6, −1/3, 1/6), ⟨o, J u⟩ = −r/3, ⟨u, x̂⟩ = −r, ⟨o, x̂⟩ = 0, so ∂⟨o, J u⟩/∂x = r³·(−2/9, 2/9, 0)
      const l = Array.from(et.layerNormGradGrad(t([1, 2, 3], [1, 3]), t([1, 0, 0], [1, 3]), t([0, 1, 0], [1, 3]), 0).dataSync());
      const r = Math.sqrt(1.5);
      [-r / 3, (2 * r) / 3, -r / 3, (-2 * r ** 3) / 9, (2 * r ** 3) / 9, 0].forEach((want, i) => expect(l[i]).toBeCloseTo(want, 12));
    });
  });

  it('a recorded softmax tangent (attention in the FTLE): its backward in x and v is one softmaxGradGrad and one softmax VJP (was 9 + 1 kernels), matching central differences', () => {
    et.tidy(() => {
      const x = et.randn([4, 7], { ...f64, seed: 40, requiresGrad: true });
      const v = et.randn([4, 7], { ...f64, seed: 41, requiresGrad: true });
      const tangentOf = (xx: et.Tensor, vv: et.Tensor) => et.jvp((z: et.Tensor) => et.softmax(z, -1), [xx], [vv])[1];
      const fwd = counted(() => tangentOf(x, v));
      expect(fwd.calls).toEqual({ softmax: 1, softmaxGrad: 1 });
      const s = fwd.result.square().sum();
      const bwd = counted(() => s.backward());
      // square: 2 mul; the tangent softmaxGrad(y, v): [ȳ; v̄] from one softmaxGradGrad; ȳ back through softmax: softmaxGrad
      expect(bwd.calls).toEqual({ mul: 2, softmaxGradGrad: 1, softmaxGrad: 1 });
      const L = (xx: et.Tensor, vv: et.Tensor) => tangentOf(xx, vv).square().sum();
      [0, 1].forEach((k) => expectDirectional(L, [x, v], [x.grad!, v.grad!], k, 42 + k));
      for (const t of [x, v]) t.zeroGrad();
    });
  });

  it('geluGrad backward in x: 2 kernels (ō ⊙ g, then the second-order geluGrad; 16 for the tanh form and 8 for the exact one from primitives before), matching central differences; the second order itself likewise', () => {
    et.tidy(() => {
      const x = et.tensor([-3, -1.2, -0.3, 0, 0.4, 1.1, 2.5], f64);
      const g = et.tensor([0.5, -1, 2, 1, -0.7, 1.3, 0.9], f64);
      const o = et.tensor([1, 0.5, -2, 1.5, 1, -1, 0.25], f64);
      // the second order's own backward in x is gelu‴ from primitives (rare: a third derivative of the model)
      const third: Record<'tanh' | 'none', Record<string, number>> = {
        // s = ō ⊙ g; x²; t (2 mul, add, tanh); u′ (mul, add); B (mul, add, 2 mul, square, sub); 1 − t² (square, sub);
        // t·u′·(2B + u′ + 4Cx²) (2 mul, 2 add, 2 mul); 4Cx (mul), − (sub), x·s·u′³ (3 mul, square), − (sub);
        // s·inner (mul) ⊙ (1 − t²) (activationGrad)
        tanh: { mul: 16, add: 5, square: 4, tanh: 1, sub: 4, activationGrad: 1 },
        // s = ō ⊙ g; x²; φ(x) (mul, exp, mul); s ⊙ (φ·x ⊙ (x² − 4)) (sub, 3 mul)
        none: { mul: 6, square: 1, exp: 1, sub: 1 },
      };
      for (const approximate of ['tanh', 'none'] as const) {
        for (const order of [1, 2] as const) {
          const f = (z: et.Tensor) => et.geluGrad(z, g, approximate, order);
          const [, pull] = et.vjp(f, x);
          const { result, calls: c } = counted(() => pull(o));
          expect(c, `${approximate} order ${order}`).toEqual(order === 1 ? { mul: 1, geluGrad: 1 } : third[approximate]);
          expectDirectional((z) => et.sum(et.mul(f(z), o)), [x], result, 0, 30 + order);
        }
      }
    });
  });
});

describe('work of the power FTLE through a transformer block', () => {
  it("the differentiated J v's backward takes the fused backward passes of the tangent rules (layerNorm, softmax, gelu), none of their primitives", () => {
    et.tidy(() => {
      const gpt = new CharGpt({ vocabSize: 5, context: 4, width: 8, depth: 1, heads: 2, seed: 3 });
      const tokens = et.tensor([0, 1, 2, 3, 4, 3, 2, 1], { dtype: 'i32', shape: [2, 4] });
      const d = gpt.dynamics(tokens);
      const v = et.randn(d.h0.shape, { seed: 9 });
      const lambda = lyapunovAlong(d, v);
      const { calls: c } = counted(() => lambda.backward());
      // ln1 and ln2 (their tangents' backward, one kernel each), the attention softmax's tangent, and gelu's tangent
      // (the second order for x̄, the first for the tangent's own cotangent; with one block, nothing downstream reads
      // the primal output, so gelu's own backward does not run)
      expect([c.layerNormGradGrad, c.softmaxGradGrad, c.geluGrad]).toEqual([2, 1, 2]);
      // the primitives those rules took before: variance, rsqrt and the tanh of gelu″'s closed form
      expect([c.var ?? 0, c.rsqrt ?? 0, c.tanh ?? 0]).toEqual([0, 0, 0]);
      // the gradient reaches the weights J v depends on, the LayerNorm gains through the fused rules among them
      const b = gpt.blocks[0]!;
      for (const [name, p] of Object.entries({ qkv: b.qkv.weight, fc: b.fc.weight, fcOut: b.fcOut.weight, ln1: b.ln1.weight, ln2: b.ln2.weight, wte: gpt.wte })) {
        expect(p?.grad, name).toBeTruthy();
      }
      for (const p of gpt.parameters()) p.zeroGrad();
    });
  });
});

describe('work of the EIT-P sums: the weighted total, L_thermo and the l1 path norm', () => {
  const f64 = { backend: 'cpu', dtype: 'f64' } as const;

  it('Σ c_i·t_i over four scalars: a stack and one dot forward (was 4 mul + 3 add), one product backward (was 4 mul)', () => {
    et.tidy(() => {
      const ts = [1.5, -2, 0.25, 3].map((v) => et.tensor(v, { ...f64, requiresGrad: true }));
      const c = [1, 0.5, -2, 4];
      const fwd = counted(() => weightedSum(ts, c));
      expect(fwd.calls).toEqual({ concat: 1, matmul: 1 });
      // 1.5 − 1 − 0.5 + 12, exact in binary
      expect(fwd.result.dataSync()[0]).toBe(12);
      const bwd = counted(() => fwd.result.backward());
      // the dot's cotangent for the stack, g·cᵀ (one matmul); the stack's VJP hands out its entries as views
      expect(bwd.calls).toEqual({ matmul: 1 });
      expect(ts.map((t) => t.grad!.dataSync()[0])).toEqual(c);
      // one term keeps t·c (a mul), as cheap as it gets
      expect(counted(() => weightedSum([ts[0]!], [3])).calls).toEqual({ mul: 1 });
    });
  });

  it('Σ c_i·t_i refuses mismatched weights, no terms, non-scalar terms and non-finite weights with typed errors', () => {
    et.tidy(() => {
      const t = et.tensor(1, f64);
      const fails = (f: () => unknown, type: new (...a: never[]) => Error, text: RegExp) => {
        let caught: unknown = null;
        try {
          f();
        } catch (e) {
          caught = e;
        }
        expect(caught).toBeInstanceOf(type);
        expect((caught as Error).message).toMatch(text);
      };
      fails(() => weightedSum([t, t], [1]), et.ArgumentError, /2 terms and 1 weights/);
      fails(() => weightedSum([], []), et.ArgumentError, /at least one term/);
      fails(() => weightedSum([t, et.tensor([1, 2], f64)], [1, 1]), et.ShapeError, /scalar/);
      fails(() => weightedSum([t, t], [1, Number.NaN]), et.ArgumentError, /finite/);
    });
  });

  it('l1 path norm of an unrolled rnn: |W_rec| taken once for all steps, by hand and central differences', () => {
    et.tidy(() => {
      const [wIn, wRec, wOut] = [
        [0.5, -1, 2, 0.25],
        [0.3, -0.6, -0.2, 0.9],
        [1, -3],
      ];
      const input = et.tensor(wIn, { ...f64, shape: [2, 2], requiresGrad: true });
      const recurrent = et.tensor(wRec, { ...f64, shape: [2, 2], requiresGrad: true });
      const output = et.tensor(wOut, { ...f64, shape: [1, 2], requiresGrad: true });
      // P = 1ᵀ|W_out| (|W_rec|² + |W_rec| + I) |W_in| 1 for 3 steps, in plain numbers
      const mv = (m: number[], v: number[]) => v.map((_, i) => Math.abs(m[2 * i]!) * v[0]! + Math.abs(m[2 * i + 1]!) * v[1]!);
      const byHand = (rec: number[]) => {
        const drive = mv(wIn, [1, 1]);
        let v = drive;
        for (let t = 1; t < 3; t++) v = mv(rec, v).map((x, i) => x + drive[i]!);
        return Math.abs(wOut[0]!) * v[0]! + Math.abs(wOut[1]!) * v[1]!;
      };
      const fwd = counted(() => l1PathNorm({ kind: 'rnn', input, recurrent, output, steps: 3 }));
      // one abs per matrix (the recurrent one was taken again at every step: 4 for 3 steps)
      expect(fwd.calls.abs).toBe(3);
      expect(Math.abs(fwd.result.dataSync()[0]! - byHand(wRec))).toBeLessThan(1e-12);
      const bwd = counted(() => fwd.result.backward());
      // sign(W) ⊙ ḡ once per matrix: the recurrent |W|'s two cotangents are summed before it
      expect(bwd.calls.sign).toBe(3);
      const g = Array.from(recurrent.grad!.dataSync());
      wRec.forEach((_, j) => {
        const at = (d: number) => byHand(wRec.map((w, k) => (k === j ? w + d : w)));
        expect(Math.abs(g[j]! - (at(1e-6) - at(-1e-6)) / 2e-6), `recurrent[${j}]`).toBeLessThan(1e-8);
      });
    });
  });
});
