/**
 * The public entry points of the tangent rules' backward passes (et.softmaxGradGrad, et.layerNormGradGrad and
 * geluGrad's order): axes as softmaxGrad takes them, and bad input as typed errors naming the op. Their values are
 * checked elsewhere (backward-work: hand-computed values and central differences; the backend suites against cpu).
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { caught } from './helpers/caught.js';

describe('et.softmaxGradGrad: axes and bad input', () => {
  // y = (0.2, 0.3, 0.5), g = (1, 2, 3), o = (1, 0, −1): ȳ = (−1, 0.6, 0.2), ḡ = (0.26, 0.09, −0.35) by hand
  const t = (v: number[], shape: number[]) => et.tensor(v, { shape, dtype: 'f64' });
  const [Y, G, O] = [[0.2, 0.3, 0.5], [1, 2, 3], [1, 0, -1]];
  const expected = [-1, 0.6, 0.2, 0.26, 0.09, -0.35];

  it('defaults to the last axis and takes negative axes as softmaxGrad does', () => {
    et.tidy(() => {
      const rows = (v: number[]) => t([...v, ...v], [2, 3]);
      const both = [...expected.slice(0, 3), ...expected.slice(0, 3), ...expected.slice(3), ...expected.slice(3)];
      for (const r of [et.softmaxGradGrad(rows(Y), rows(G), rows(O)), et.softmaxGradGrad(rows(Y), rows(G), rows(O), -1)]) {
        expect(r.shape).toEqual([2, 2, 3]);
        Array.from(r.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(both[i]!, 12));
      }
      // the same lines as columns: axis −2 of a [3, 2]
      const cols = (v: number[]) => t(v.flatMap((x) => [x, x]), [3, 2]);
      const c = Array.from(et.softmaxGradGrad(cols(Y), cols(G), cols(O), -2).dataSync());
      expected.flatMap((v) => [v, v]).forEach((v, i) => expect(c[i]).toBeCloseTo(v, 12));
    });
  });

  it('refuses operands of different shapes, an axis outside [−rank, rank), integer and mixed dtypes', () => {
    const z = (shape: number[], dtype: et.DType = 'f32') => et.zeros(shape, { dtype });
    const shapes = caught(() => et.softmaxGradGrad(z([2, 3]), z([2, 3]), z([3, 2])));
    expect(shapes).toBeInstanceOf(et.ShapeError);
    expect((shapes as Error).message).toMatch(/softmaxGradGrad.*\[2, 3\].*\[3, 2\]/);
    for (const axis of [2, -3, 1.5]) {
      const e = caught(() => et.softmaxGradGrad(z([2, 3]), z([2, 3]), z([2, 3]), axis));
      expect(e).toBeInstanceOf(et.AxisError);
      expect((e as Error).message).toContain(`got ${axis}`);
    }
    expect(caught(() => et.softmaxGradGrad(z([3], 'i32'), z([3], 'i32'), z([3], 'i32')))).toBeInstanceOf(et.DTypeError);
    expect(caught(() => et.softmaxGradGrad(z([3], 'f64'), z([3]), z([3])))).toBeInstanceOf(et.DTypeError);
  });
});

describe('et.layerNormGradGrad: bad input', () => {
  it('refuses u or o not shaped like x, a scalar x, integer and mixed dtypes', () => {
    const z = (shape: number[], dtype: et.DType = 'f32') => et.zeros(shape, { dtype });
    for (const [u, o] of [[[2, 3], [3, 2]], [[2, 4], [2, 3]], [[6], [2, 3]]]) {
      const e = caught(() => et.layerNormGradGrad(z([2, 3]), z(u!), z(o!), 1e-5));
      expect(e).toBeInstanceOf(et.ShapeError);
      expect((e as Error).message).toMatch(/layerNormGradGrad.*u and o shaped like x/);
    }
    expect(caught(() => et.layerNormGradGrad(z([]), z([]), z([]), 1e-5))).toBeInstanceOf(et.ShapeError);
    expect(caught(() => et.layerNormGradGrad(z([2, 3], 'i32'), z([2, 3], 'i32'), z([2, 3], 'i32'), 1e-5))).toBeInstanceOf(et.DTypeError);
    expect(caught(() => et.layerNormGradGrad(z([2, 3], 'f64'), z([2, 3]), z([2, 3]), 1e-5))).toBeInstanceOf(et.DTypeError);
  });
});

describe("geluGrad's order: bad input", () => {
  it('an order other than 1 or 2 is an ArgumentError naming it', () => {
    for (const order of [0, 3, 1.5]) {
      const e = caught(() => et.geluGrad(et.zeros([3]), et.zeros([3]), 'tanh', order as never));
      expect(e).toBeInstanceOf(et.ArgumentError);
      expect((e as Error).message).toContain(`order must be 1 or 2, got ${order}`);
    }
  });
});
