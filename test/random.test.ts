/** The seeded generator's normals: Box-Muller from its own uniforms, and the bulk fill that randn uses. */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';

describe('Rng normals', () => {
  it('normal() is Box-Muller on the generator’s uniforms: z = √(−2 ln u)·cos 2πv, then √(−2 ln u)·sin 2πv', () => {
    const uniforms = new et.Rng(42);
    const [u, v] = [uniforms.next(), uniforms.next()];
    const normals = new et.Rng(42);
    expect(normals.normal()).toBe(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
    expect(normals.normal()).toBe(Math.sqrt(-2 * Math.log(u)) * Math.sin(2 * Math.PI * v));
  });

  it('fillNormal gives the values of as many normal() calls, across odd lengths and calls in between', () => {
    for (const seed of [0, 7, 12345]) {
      const bulk = new et.Rng(seed);
      const single = new et.Rng(seed);
      for (const n of [1, 2, 3, 5, 0, 8, 1001]) {
        const filled = new Float64Array(n);
        bulk.fillNormal(filled, 0.5, 2);
        expect(Array.from(filled)).toEqual(Array.from({ length: n }, () => 0.5 + 2 * single.normal()));
        expect(bulk.normal()).toBe(single.normal());
      }
      expect(bulk.getState()).toEqual(single.getState());
    }
  });

  it('randn has mean 0 and variance 1 (100,000 draws, within 4 standard errors)', async () => {
    const x = et.randn([100_000], { seed: 3, backend: 'cpu', dtype: 'f64' });
    const d = Array.from(await x.data());
    x.dispose();
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const variance = d.reduce((a, b) => a + (b - mean) ** 2, 0) / (d.length - 1);
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(d.length));
    expect(Math.abs(variance - 1)).toBeLessThan(4 * Math.sqrt(2 / d.length));
  });
});
