import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { caught } from './helpers/caught.js';

// y = [1/2, 1/4, 1/4], g = [1, 0, 2]: Σ g ⊙ y = 1, so y ⊙ (g − 1) = [0, −1/4, 1/4] (by hand).
const Y = [0.5, 0.25, 0.25];
const G = [1, 0, 2];
const EXPECTED = [0, -0.25, 0.25];

describe('et.softmaxGrad: axes and bad input', () => {
  it('defaults to the last axis and takes negative axes as softmax does', async () => {
    const y = et.tensor([...Y, ...Y], { shape: [2, 3] });
    const g = et.tensor([...G, ...G], { shape: [2, 3] });
    expect(Array.from(await et.softmaxGrad(y, g).data())).toEqual([...EXPECTED, ...EXPECTED]);
    expect(Array.from(await et.softmaxGrad(y, g, -1).data())).toEqual([...EXPECTED, ...EXPECTED]);
    // the same rows laid out as columns: axis −2 is axis 0 of a [3, 2]
    const yc = et.tensor(Y.flatMap((v) => [v, v]), { shape: [3, 2] });
    const gc = et.tensor(G.flatMap((v) => [v, v]), { shape: [3, 2] });
    expect(Array.from(await et.softmaxGrad(yc, gc, -2).data())).toEqual(EXPECTED.flatMap((v) => [v, v]));
  });

  it('refuses operands of different shapes, with both shapes named', () => {
    const e = caught(() => et.softmaxGrad(et.zeros([2, 3]), et.zeros([3, 2])));
    expect(e).toBeInstanceOf(et.ShapeError);
    expect((e as et.ShapeError).message).toMatch(/softmaxGrad.*\[2, 3\].*\[3, 2\]/);
  });

  it('refuses an axis outside [−rank, rank)', () => {
    for (const axis of [2, -3, 1.5]) {
      const e = caught(() => et.softmaxGrad(et.zeros([2, 3]), et.zeros([2, 3]), axis));
      expect(e).toBeInstanceOf(et.AxisError);
      expect((e as et.AxisError).message).toContain(`got ${axis}`);
    }
  });

  it('refuses integer operands and mixed dtypes', () => {
    expect(caught(() => et.softmaxGrad(et.zeros([3], { dtype: 'i32' }), et.zeros([3], { dtype: 'i32' })))).toBeInstanceOf(et.DTypeError);
    expect(caught(() => et.softmaxGrad(et.zeros([3], { dtype: 'f64' }), et.zeros([3])))).toBeInstanceOf(et.DTypeError);
  });
});
