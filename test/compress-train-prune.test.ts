/**
 * Gradual pruning inside `eitp train` (config block compress.prune): the target sparsity is reached, the masks are
 * part of the checkpoint so an interrupted and resumed run ends bit for bit where the uninterrupted one does, and
 * bad schedules are named by their config field.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { weightMatrices } from '../src/compress/int8-model.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { resolveConfig } from '../src/train/config.js';
import { ConfigError } from '../src/train/schema.js';
import { train } from '../src/train/trainer.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'eitp-train-prune-'));
const base = {
  task: { kind: 'retrieval', seqLen: 10, pairs: 2, keys: 4, values: 4, fillers: 2, minDistance: 3, buckets: 2, evalSize: 32 },
  model: { kind: 'gpt', width: 16, depth: 1, heads: 2 },
  steps: 12,
  batchSize: 8,
  logEvery: 4,
  evalEvery: 0,
  backend: 'cpu',
  compress: { prune: { finalSparsity: 0.6, startStep: 2, endStep: 8, every: 3 } },
};

async function host(model: { namedParameters(): [string, et.Tensor][] }): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [n, t] of model.namedParameters()) out[n] = Array.from(await t.data());
  return out;
}

describe('training with gradual pruning', () => {
  it('reaches the final sparsity over the weight matrices and saves the masks', async () => {
    const out = tmp();
    const r = await train({ config: resolveConfig(base, { out }), progress: null });
    const mats = weightMatrices(r.model).map((w) => w.tensor);
    const n = mats.reduce((a, t) => a + t.size, 0);
    let zeros = 0;
    for (const t of mats) zeros += (await t.data()).filter((v) => v === 0).length;
    expect(zeros).toBe(Math.round(0.6 * n));
    const saved = Object.keys(loadCheckpoint(out).tensors).filter((k) => k.startsWith('prune.'));
    expect(saved.length).toBe(mats.length);
    et.dispose(r.model.parameters());
  });

  it('a run stopped mid-schedule and resumed ends bit for bit like the uninterrupted run', async () => {
    const a = tmp();
    const full = await train({ config: resolveConfig(base, { out: a }), progress: null });
    const want = await host(full.model);
    et.dispose(full.model.parameters());
    const b = tmp();
    const first = await train({ config: resolveConfig(base, { out: b }), progress: null, shouldStop: (s) => s === 5 });
    expect(first.stoppedEarly).toBe(true);
    expect(first.step).toBe(5);
    et.dispose(first.model.parameters());
    const resumed = await train({ config: resolveConfig(base, { out: b }), resume: true, progress: null });
    expect(resumed.step).toBe(12);
    expect(await host(resumed.model)).toEqual(want);
    et.dispose(resumed.model.parameters());
  });

  it('names a bad schedule by its field', () => {
    expect(() => resolveConfig({ ...base, compress: { prune: { ...base.compress.prune, endStep: 20 } } })).toThrow(/compress\.prune\.endStep: must be in \[startStep, steps\] = \[2, 12\], got 20/);
    expect(() => resolveConfig({ ...base, compress: { prune: { ...base.compress.prune, finalSparsity: 1 } } })).toThrow(ConfigError);
    expect(() => resolveConfig({ ...base, compress: { prune: { ...base.compress.prune, every: 0 } } })).toThrow(/compress\.prune\.every/);
    expect(() => resolveConfig({ ...base, compress: { prune: { finalSparsity: 0.5 } } })).toThrow(/compress\.prune\.startStep: missing/);
    // without the block there is no pruning and the config is what it was
    expect(resolveConfig({}).compress).toBeUndefined();
  });
});
