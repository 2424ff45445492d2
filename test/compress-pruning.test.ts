/**
 * Gradual magnitude pruning: the cubic schedule at hand-computed points, exact global masks (ties included), the
 * target sparsity reached by a real fine-tune with masks applied after every optimizer step, masks that survive a
 * save/restore, and the refusal of bad schedules.
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { defaultPruneSchedule, finetune } from '../src/compress/finetune.js';
import { weightMatrices } from '../src/compress/int8-model.js';
import { MagnitudePruner, type PruneSchedule, cubicSparsity, globalMagnitudeMasks, isPruneStep, measuredSparsity, validatePruneSchedule } from '../src/compress/pruning.js';
import { buildModel, buildTask } from '../src/train/build.js';
import { resolveConfig } from '../src/train/config.js';

const sched: PruneSchedule = { finalSparsity: 0.8, startStep: 10, endStep: 20, every: 4 };

describe('cubic schedule', () => {
  it('s_t = s_f(1 − (1 − t/T)³) at hand-computed points', () => {
    expect(cubicSparsity(0, sched)).toBe(0);
    expect(cubicSparsity(10, sched)).toBe(0);
    expect(cubicSparsity(15, sched)).toBeCloseTo(0.8 * (1 - 0.125), 12); // t/T = 1/2
    expect(cubicSparsity(12, sched)).toBeCloseTo(0.8 * (1 - 0.512), 12); // t/T = 1/5: (4/5)³ = 0.512
    expect(cubicSparsity(20, sched)).toBe(0.8);
    expect(cubicSparsity(99, sched)).toBe(0.8);
    // one-shot: start == end
    expect(cubicSparsity(4, { ...sched, startStep: 5, endStep: 5 })).toBe(0);
    expect(cubicSparsity(5, { ...sched, startStep: 5, endStep: 5 })).toBe(0.8);
  });

  it('masks are recomputed every `every` steps from start, and at the end', () => {
    const steps = Array.from({ length: 30 }, (_, i) => i).filter((s) => isPruneStep(s, sched));
    expect(steps).toEqual([10, 14, 18, 20]);
  });

  it('refuses bad schedules', () => {
    expect(() => validatePruneSchedule({ ...sched, finalSparsity: 1 })).toThrow(/finalSparsity must be in \[0, 1\)/);
    expect(() => validatePruneSchedule({ ...sched, endStep: 9 })).toThrow(/endStep must be an integer >= startStep/);
    expect(() => validatePruneSchedule({ ...sched, every: 0 })).toThrow(et.ArgumentError);
    expect(() => validatePruneSchedule({ ...sched, startStep: -1 })).toThrow(et.ArgumentError);
  });
});

describe('global magnitude masks', () => {
  it('prunes the smallest magnitudes over all tensors together, by hand', () => {
    const a = [0.5, -0.1, 0.3, 0.05];
    const b = [2, -0.2, 0.01];
    // 7 weights, sparsity 3/7: the three smallest |w| are 0.01 (b), 0.05 (a), 0.1 (a)
    const [ma, mb] = globalMagnitudeMasks([a, b], 3 / 7);
    expect(Array.from(ma!)).toEqual([1, 0, 1, 0]);
    expect(Array.from(mb!)).toEqual([1, 1, 0]);
  });

  it('prunes exactly round(s·n) weights when magnitudes tie, the earliest first', () => {
    const w = [1, -1, 1, 1, 2, 0.5];
    const [m] = globalMagnitudeMasks([w], 0.5); // 3 of 6: 0.5, then two of the four ±1 (the first two)
    expect(Array.from(m!)).toEqual([0, 0, 1, 1, 1, 0]);
    for (const s of [0, 0.1, 0.33, 0.5, 0.9, 1]) {
      const n = 1001;
      const x = Array.from({ length: n }, (_, i) => Math.round(Math.sin(i) * 4) / 4); // heavy ties
      const zeros = globalMagnitudeMasks([x.slice(0, 400), x.slice(400)], s).reduce((acc, mk) => acc + mk.filter((v) => v === 0).length, 0);
      expect(zeros).toBe(Math.round(s * n));
    }
  });

  it('refuses NaN weights and sparsities outside [0, 1]', () => {
    expect(() => globalMagnitudeMasks([[1, NaN]], 0.5)).toThrow(/NaN/);
    expect(() => globalMagnitudeMasks([[1, 2]], 1.5)).toThrow(et.ArgumentError);
  });
});

describe('pruning while training', () => {
  const config = resolveConfig({
    task: { kind: 'retrieval', seqLen: 12, pairs: 2, keys: 4, values: 4, fillers: 2, minDistance: 3, buckets: 2, evalSize: 32 },
    model: { kind: 'gpt', width: 16, depth: 1, heads: 2 },
    batchSize: 8,
  });

  it('a fine-tune reaches the target sparsity exactly, pruned weights stay zero through the optimizer steps', async () => {
    const data = buildTask(config.task, 1);
    const model = buildModel(config.model, data, 1);
    const mats = weightMatrices(model).map((w) => w.tensor);
    const n = mats.reduce((a, t) => a + t.size, 0);
    const seen: number[] = [];
    const r = await finetune(model, data, {
      steps: 12,
      lr: 1e-2,
      batchSize: 8,
      weightDecay: 0.01,
      clip: 1,
      dataPosition: 0,
      prune: { finalSparsity: 0.6, startStep: 0, endStep: 8, every: 2 },
      reportEvery: 1,
      onProgress: (step) => seen.push(step),
    });
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(r.sparsity).toBe(Math.round(0.6 * n) / n);
    expect(await measuredSparsity(mats)).toBe(r.sparsity);
    // the other parameters (biases, norms) are not pruned
    const others = model.parameters().filter((p) => !mats.includes(p));
    expect(await measuredSparsity(others)).toBeLessThan(0.5);
    et.dispose(model.parameters());
  });

  it('one-shot pruning with no fine-tune steps', async () => {
    const data = buildTask(config.task, 2);
    const model = buildModel(config.model, data, 2);
    const mats = weightMatrices(model).map((w) => w.tensor);
    const n = mats.reduce((a, t) => a + t.size, 0);
    const r = await finetune(model, data, { steps: 0, lr: 1e-3, batchSize: 8, weightDecay: 0, clip: 0, dataPosition: 0, prune: defaultPruneSchedule(0.3, 0) });
    expect(r.sparsity).toBe(Math.round(0.3 * n) / n);
    expect(() => defaultPruneSchedule(0.3, 0)).not.toThrow();
    await expect(finetune(model, data, { steps: 5, lr: 1e-3, batchSize: 8, weightDecay: 0, clip: 0, dataPosition: 0, prune: { ...sched, endStep: 20 } })).rejects.toThrow(/ends at step 20, after the last step 5/);
    et.dispose(model.parameters());
  });

  it('masks saved with hostMasks and restored with loadMasks prune the same weights', async () => {
    const w = et.tensor(Float32Array.from([0.3, -0.01, 0.2, 0.02, -0.5, 0.04]), { shape: [2, 3] });
    const p = new MagnitudePruner([w], { finalSparsity: 0.5, startStep: 0, endStep: 0, every: 1 });
    await p.afterStep(0);
    expect(Array.from(w.dataSync())).toEqual(Array.from(Float32Array.from([0.3, 0, 0.2, 0, -0.5, 0])));
    const saved = await p.hostMasks('prune.');
    expect(Object.keys(saved)).toEqual(['prune.0']);
    const w2 = et.tensor(Float32Array.from([1, 1, 1, 1, 1, 1]), { shape: [2, 3] });
    const q = new MagnitudePruner([w2], p.schedule);
    q.loadMasks(saved, 'prune.', 0.5);
    q.apply();
    expect(Array.from(w2.dataSync())).toEqual([1, 0, 1, 0, 1, 0]);
    expect(() => q.loadMasks({ 'prune.0': { dtype: 'u8', shape: [2], data: new Uint8Array(2) } }, 'prune.', 0.5)).toThrow(et.ShapeError);
    p.dispose();
    q.dispose();
  });
});
