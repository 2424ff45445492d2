/**
 * The distillation loss α·T²·KL(softmax(z_t/T) ‖ softmax(z_s/T)) + (1 − α)·CE(z_s, y) against values computed by
 * hand (f64, in this file), its gradient against the closed form (α·T·(p_s − p_t) + (1 − α)·(q − onehot(y)))/rows
 * and against central finite differences, and its argument checks. In f64, so on the cpu backend whatever the default.
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { distillationLoss } from '../src/compress/distill.js';

function softmax(z: readonly number[], T = 1): number[] {
  const m = Math.max(...z.map((v) => v / T));
  const e = z.map((v) => Math.exp(v / T - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** The loss computed directly from its definition, row by row, in f64. */
function reference(zs: number[][], zt: number[][], y: number[], T: number, alpha: number): number {
  let kl = 0;
  let ce = 0;
  zs.forEach((row, r) => {
    const ps = softmax(row, T);
    const pt = softmax(zt[r]!, T);
    kl += pt.reduce((a, p, c) => a + p * Math.log(p / ps[c]!), 0);
    ce += -Math.log(softmax(row)[y[r]!]!);
  });
  return (alpha * T * T * kl + (1 - alpha) * ce) / zs.length;
}

const zs = [
  [1.0, 2.0, 0.5, -1.0],
  [0.0, 0.0, 0.0, 0.0],
  [3.0, -2.0, 0.25, 1.5],
];
const zt = [
  [0.5, 1.0, 2.0, 0.0],
  [1.0, -1.0, 0.0, 2.0],
  [2.5, -1.0, 0.0, 1.0],
];
const y = [1, 3, 0];

const f64 = (rows: number[][]) => et.tensor(rows, { dtype: 'f64', backend: 'cpu' });
const targets = () => et.tensor(y, { dtype: 'i32', backend: 'cpu' });

describe('distillationLoss', () => {
  it('equals the hand-computed value (T = 3, α = 0.7 defaults, and other settings)', () => {
    for (const [T, alpha] of [[3, 0.7], [1, 0.5], [2, 1], [5, 0]] as const) {
      const opts = T === 3 && alpha === 0.7 ? {} : { temperature: T, alpha };
      const got = distillationLoss(f64(zs), f64(zt), targets(), opts).dataSync()[0]!;
      expect(got).toBeCloseTo(reference(zs, zt, y, T, alpha), 12);
    }
  });

  it('special cases: a student equal to its teacher pays only (1 − α)·CE; uniform logits give CE = ln C', () => {
    const got = distillationLoss(f64(zs), f64(zs), targets()).dataSync()[0]!;
    const ce = zs.reduce((a, row, r) => a - Math.log(softmax(row)[y[r]!]!), 0) / zs.length;
    expect(got).toBeCloseTo(0.3 * ce, 12);
    const zeros = [[0, 0, 0, 0]];
    expect(distillationLoss(f64(zeros), f64(zeros), et.tensor([2], { dtype: 'i32', backend: 'cpu' }), { alpha: 0 }).dataSync()[0]!).toBeCloseTo(Math.log(4), 12);
  });

  it('its gradient is (α·T·(p_s − p_t) + (1 − α)·(q − onehot(y)))/rows in closed form; none reaches the teacher', () => {
    const T = 3;
    const alpha = 0.7;
    const s = et.tensor(zs, { dtype: 'f64', backend: 'cpu', requiresGrad: true });
    const t = et.tensor(zt, { dtype: 'f64', backend: 'cpu', requiresGrad: true });
    const loss = distillationLoss(s, t, targets());
    loss.backward();
    const g = s.grad!.dataSync();
    zs.forEach((row, r) => {
      const ps = softmax(row, T);
      const pt = softmax(zt[r]!, T);
      const q = softmax(row);
      row.forEach((_, c) => {
        const want = (alpha * T * (ps[c]! - pt[c]!) + (1 - alpha) * (q[c]! - (c === y[r] ? 1 : 0))) / zs.length;
        expect(g[r * 4 + c]).toBeCloseTo(want, 12);
      });
    });
    expect(t.grad).toBeNull();
  });

  it('its gradient matches central finite differences of the hand-computed loss', () => {
    const s = et.tensor(zs, { dtype: 'f64', backend: 'cpu', requiresGrad: true });
    distillationLoss(s, f64(zt), targets(), { temperature: 2, alpha: 0.4 }).backward();
    const g = s.grad!.dataSync();
    const h = 1e-6;
    zs.forEach((row, r) =>
      row.forEach((_, c) => {
        const plus = zs.map((rw) => [...rw]);
        const minus = zs.map((rw) => [...rw]);
        plus[r]![c]! += h;
        minus[r]![c]! -= h;
        const fd = (reference(plus, zt, y, 2, 0.4) - reference(minus, zt, y, 2, 0.4)) / (2 * h);
        expect(g[r * 4 + c]).toBeCloseTo(fd, 7);
      }),
    );
  });

  it('works on [B, T, C] logits (one target per position)', () => {
    const s3 = et.tensor([zs.slice(0, 2), [zs[2]!, zs[0]!]], { dtype: 'f64', backend: 'cpu' });
    const t3 = et.tensor([zt.slice(0, 2), [zt[2]!, zt[0]!]], { dtype: 'f64', backend: 'cpu' });
    const y3 = et.tensor([[1, 3], [0, 2]], { dtype: 'i32', backend: 'cpu' });
    const want = reference([zs[0]!, zs[1]!, zs[2]!, zs[0]!], [zt[0]!, zt[1]!, zt[2]!, zt[0]!], [1, 3, 0, 2], 3, 0.7);
    expect(distillationLoss(s3, t3, y3).dataSync()[0]!).toBeCloseTo(want, 12);
  });

  it('refuses mismatched shapes and bad T or α', () => {
    expect(() => distillationLoss(f64(zs), f64(zt.slice(0, 2)), targets())).toThrow(et.ShapeError);
    expect(() => distillationLoss(f64(zs), f64(zt), et.tensor([1, 2], { dtype: 'i32', backend: 'cpu' }))).toThrow(/targets must have the logits' leading shape \[3\]/);
    expect(() => distillationLoss(f64(zs), f64(zt), targets(), { temperature: 0 })).toThrow(/temperature must be a finite number > 0/);
    expect(() => distillationLoss(f64(zs), f64(zt), targets(), { alpha: 1.5 })).toThrow(et.ArgumentError);
  });
});
