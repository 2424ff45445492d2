/**
 * matmulInt8 on the reference backend against hand-computed values: f32 activations, dynamic int8 activations
 * (absmax/127 per row, round half to even, exact integer sums), the straight-through gradient, and bad input.
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';

const close = (a: ArrayLike<number>, b: readonly number[], tol: number) => b.forEach((v, i) => expect(Math.abs(a[i]! - v)).toBeLessThan(tol));

describe('matmulInt8 (cpu reference)', () => {
  const x = () => et.tensor([[1, -2, 3, 0.5], [0, 0, 0, 0]], { dtype: 'f32' });
  const wq = () => et.tensor([[1, 2, 3, 4], [-127, 5, 0, 1]], { dtype: 'i8' });
  const ws = () => et.tensor([0.5, 2], { dtype: 'f32' });

  it('f32 activations: x · (wq·ws)ᵀ', () => {
    // row 0: 1 − 4 + 9 + 2 = 8 → ×0.5; −127 − 10 + 0 + 0.5 = −136.5 → ×2
    close(et.matmulInt8(x(), wq(), ws()).dataSync(), [4, -273, 0, 0], 1e-6);
  });

  it('int8 activations: codes round(x·127/amax), exact integer dot products, then both scales', () => {
    // amax 3: x·127/3 = [42.33, −84.67, 127, 21.17] → [42, −85, 127, 21]
    const codes = [42, -85, 127, 21];
    const dots = [42 - 170 + 381 + 84, -127 * 42 - 5 * 85 + 0 + 21];
    const sx = 3 / 127;
    close(et.matmulInt8(x(), wq(), ws(), { activations: 'int8' }).dataSync(), [sx * 0.5 * dots[0]!, sx * 2 * dots[1]!, 0, 0], 1e-5);
    expect(codes.reduce((a, c, i) => a + c * [1, 2, 3, 4][i]!, 0)).toBe(dots[0]);
  });

  it('ties round half to even and codes clamp at ±127', () => {
    // amax = 127 makes the multiplier exactly 1, so the codes are the rounded inputs.
    const values = [0.5, 1.5, 2.5, -0.5, -2.5, 127, -3.5];
    const identity = Array.from({ length: 7 }, (_, r) => Array.from({ length: 7 }, (_, c) => (r === c ? 1 : 0)));
    const out = et.matmulInt8(et.tensor([values], { dtype: 'f32' }), et.tensor(identity, { dtype: 'i8' }), et.ones([7]), { activations: 'int8' });
    close(out.dataSync(), [0, 2, 2, 0, -2, 127, -4], 1e-6);
  });

  it('batched x [B, T, K] with f32 activations matches a dense matmul with the dequantised weights (f64)', () => {
    const xs = et.randn([2, 3, 17], { seed: 1, dtype: 'f64' });
    const codes = et.randint([5, 17], -127, 128, { seed: 2 });
    const scales = et.rand([5], { seed: 3, dtype: 'f64' });
    const dense = et.matmul(xs, codes.cast('f64').mul(scales.reshape([5, 1])).transpose());
    const got = et.matmulInt8(xs, codes.cast('i8'), scales);
    expect(got.shape).toEqual([2, 3, 5]);
    close(got.dataSync(), Array.from(dense.dataSync()), 1e-12);
  });

  it('the gradient reaches x straight through the quantisation: g · (wq·ws)', () => {
    const c = et.tensor([[1, -1], [2, 0.5]], { dtype: 'f32' });
    const g = et.grad((v: et.Tensor) => et.matmulInt8(v, wq(), ws(), { activations: 'int8' }).mul(c).sum())(x()) as et.Tensor;
    // dx[m, k] = Σ_n c[m, n]·ws[n]·wq[n, k]
    const w = [[0.5, 1, 1.5, 2], [-254, 10, 0, 2]];
    const expected = [0, 1].flatMap((m) => [0, 1, 2, 3].map((k) => c.dataSync()[m * 2]! * w[0]![k]! + c.dataSync()[m * 2 + 1]! * w[1]![k]!));
    close(g.dataSync(), expected, 1e-4);
  });

  it('rejects float weights, mismatched K and scales of the wrong length', () => {
    expect(() => et.matmulInt8(x(), et.ones([2, 4]), ws())).toThrow(et.DTypeError);
    expect(() => et.matmulInt8(x(), et.zeros([2, 3], { dtype: 'i8' }), ws())).toThrow(et.ShapeError);
    expect(() => et.matmulInt8(x(), wq(), et.ones([3]))).toThrow(et.ShapeError);
  });
});
