/** Statistics of the experiment reports against closed forms and published t tables. */
import { describe, expect, it } from 'vitest';
import { logGamma, mean, pairedDifference, regularizedBeta, sampleStd, studentTCdf, studentTQuantile, summarize } from '../src/experiments/stats.js';

describe('experiment statistics', () => {
  it('Student-t 0.975 quantiles match the published table', () => {
    // e.g. NIST/SEMATECH e-Handbook table of t critical values (two-sided 95 %)
    const table: [number, number][] = [
      [1, 12.706],
      [2, 4.303],
      [3, 3.182],
      [4, 2.776],
      [5, 2.571],
      [10, 2.228],
      [30, 2.042],
      [100, 1.984],
    ];
    for (const [df, t] of table) expect(studentTQuantile(0.975, df)).toBeCloseTo(t, 3);
    expect(studentTQuantile(0.995, 1)).toBeCloseTo(63.657, 3);
    expect(studentTQuantile(0.995, 4)).toBeCloseTo(4.604, 3);
  });

  it('t quantiles and CDF agree with the closed forms for df = 1 and 2', () => {
    for (const p of [0.6, 0.9, 0.975, 0.999]) {
      expect(studentTQuantile(p, 1)).toBeCloseTo(Math.tan(Math.PI * (p - 0.5)), 8); // Cauchy
      expect(studentTQuantile(p, 2)).toBeCloseTo((2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 8);
      expect(studentTQuantile(1 - p, 2)).toBeCloseTo(-studentTQuantile(p, 2), 10);
    }
    expect(studentTCdf(1, 1)).toBeCloseTo(0.75, 12);
    expect(studentTCdf(0, 7)).toBe(0.5);
    expect(studentTCdf(-1, 1)).toBeCloseTo(0.25, 12);
  });

  it('incomplete beta and log-gamma match closed forms', () => {
    expect(regularizedBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(regularizedBeta(0.3, 3, 1)).toBeCloseTo(0.027, 12); // x^a
    expect(regularizedBeta(0.5, 2, 3)).toBeCloseTo(11 / 16, 12); // 1 − Σ_{j<2} C(4, j)/16
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(() => regularizedBeta(1.5, 1, 1)).toThrow(RangeError);
    expect(() => studentTQuantile(1, 3)).toThrow(RangeError);
  });

  it('mean and sample std by hand', () => {
    expect(mean([2, 4, 4, 4, 5, 5, 7, 9])).toBe(5);
    expect(sampleStd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(sampleStd([3])).toBeNaN();
    const s = summarize([1, 2, 3]);
    // mean 2, std 1, half-width t_{0.975,2}·1/√3 = 4.302653/1.732051
    expect(s.ciLow).toBeCloseTo(2 - 2.484138, 5);
    expect(s.ciHigh).toBeCloseTo(2 + 2.484138, 5);
  });

  it('paired differences use matching seeds only, with a t interval', () => {
    const arm = new Map([
      [0, 2],
      [1, 4],
      [2, 3],
      [7, 100], // no baseline run for seed 7: not a pair
    ]);
    const base = new Map([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    const d = pairedDifference(arm, base);
    // differences 1, 2, 0: mean 1, std 1, half-width 4.302653/√3 = 2.484138
    expect(d.seeds).toEqual([0, 1, 2]);
    expect(d.n).toBe(3);
    expect(d.mean).toBeCloseTo(1, 12);
    expect(d.std).toBeCloseTo(1, 12);
    expect(d.ciLow).toBeCloseTo(1 - 2.484138, 5);
    expect(d.ciHigh).toBeCloseTo(1 + 2.484138, 5);
    // relative: 2/1 − 1 = 1, 4/2 − 1 = 1, 3/3 − 1 = 0: mean 2/3, std √(1/3), half-width 4.302653·√(1/3)/√3 = 1.434218
    expect(d.relative!.mean).toBeCloseTo(2 / 3, 12);
    expect(d.relative!.std).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(d.relative!.ciHigh - d.relative!.mean).toBeCloseTo(1.434218, 5);
  });

  it('one pair has no interval; a zero baseline has no relative change', () => {
    const one = pairedDifference(new Map([[0, 3]]), new Map([[0, 1]]));
    expect(one.mean).toBe(2);
    expect(one.ciLow).toBeNaN();
    const zero = pairedDifference(new Map([[0, 1], [1, 2]]), new Map([[0, 0], [1, 1]]));
    expect(zero.relative).toBeUndefined();
    expect(zero.mean).toBe(1);
  });
});
