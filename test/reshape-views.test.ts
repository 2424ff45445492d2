/**
 * reshape is a view whenever the layout allows one (viewStrides, torch's view rule) and a copy otherwise. Checked by
 * brute force: every element of the reshaped tensor, addressed through the returned strides, must be the element at
 * the same row-major position of the source addressed through its own strides; and against hand-made cases where no
 * view exists.
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { type Shape, contiguousStrides, numel, viewStrides } from '../engine/shape.js';

/** Storage offset of every element in row-major order. */
function offsets(shape: Shape, strides: readonly number[]): number[] {
  const out: number[] = [];
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < numel(shape); k++) {
    out.push(idx.reduce((s, i, d) => s + i * strides[d]!, 0));
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Every factorisation-preserving reshape of a few layouts that views, slices, permutes and broadcasts produce. */
const CASES: { name: string; shape: Shape; strides: number[]; to: Shape[]; views: boolean[] }[] = [
  { name: 'last-axis slice of [2, 3, 12] split in heads', shape: [2, 3, 4], strides: [36, 12, 1], to: [[2, 3, 2, 2], [6, 4], [2, 12], [24]], views: [true, true, false, false] },
  { name: 'transposed matrix', shape: [3, 4], strides: [1, 3], to: [[12], [3, 2, 2], [3, 4, 1], [1, 3, 4], [3, 2, 2, 1]], views: [false, true, true, true, true] },
  { name: 'broadcast row', shape: [5, 4], strides: [0, 1], to: [[5, 2, 2], [20], [1, 5, 4, 1]], views: [true, false, true] },
  { name: 'size-1 dims with odd strides', shape: [1, 3, 1, 2], strides: [99, 2, 7, 1], to: [[6], [3, 2], [3, 1, 2, 1]], views: [true, true, true] },
  { name: 'heads permuted back', shape: [2, 3, 2, 4], strides: [24, 4, 12, 1], to: [[2, 3, 8], [6, 2, 4], [2, 3, 2, 2, 2], [2, 6, 4], [2, 3, 1, 2, 4]], views: [false, false, true, false, true] },
];

describe('viewStrides', () => {
  it.each(CASES.flatMap((c) => c.to.map((to, i) => [c.name, to, c, c.views[i]!] as const)))('%s as [%s]', (_name, to, c, view) => {
    const s = viewStrides(c.shape, c.strides, to);
    expect(s !== null).toBe(view);
    if (s) expect(offsets(to, s)).toEqual(offsets(c.shape, c.strides));
  });

  it('a contiguous layout views as anything with the same size', () => {
    const shape = [2, 3, 4];
    for (const to of [[24], [4, 3, 2], [1, 24, 1]]) expect(viewStrides(shape, contiguousStrides(shape), to)).toEqual(contiguousStrides(to));
  });
});

describe('reshape of strided tensors', () => {
  it('a sliced q of a [B, T, 3d] projection reshapes to heads without a copy, with the right values', () => {
    const qkv = et.arange(0, 2 * 3 * 12).reshape([2, 3, 12]);
    const k = qkv.slice([0, 0, 4], [2, 3, 8]);
    const heads = k.reshape([2, 3, 2, 2]);
    expect(heads.storage).toBe(qkv.storage);
    const expected = Array.from({ length: 24 }, (_, i) => {
      const [b, t, j] = [Math.floor(i / 12), Math.floor(i / 4) % 3, i % 4];
      return b * 36 + t * 12 + 4 + j;
    });
    expect(Array.from(heads.dataSync())).toEqual(expected);
  });

  it('a transposed matrix flattened is copied in row-major order of the view', () => {
    const m = et.arange(0, 6).reshape([2, 3]).transpose();
    const flat = m.reshape([6]);
    expect(flat.storage).not.toBe(m.storage);
    expect(Array.from(flat.dataSync())).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('gradients flow through a strided view reshape (sum of squares of a sliced, reshaped input)', () => {
    const x = et.randn([2, 3, 12], { seed: 3, dtype: 'f64' });
    const g = et.grad((z: et.Tensor) => z.slice([0, 0, 4], [2, 3, 8]).reshape([2, 3, 2, 2]).square().sum())(x) as et.Tensor;
    const xs = x.dataSync();
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBe(i % 12 >= 4 && i % 12 < 8 ? 2 * xs[i]! : 0));
  });
});
