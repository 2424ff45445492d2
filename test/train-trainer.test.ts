/**
 * The trainer: exact resumption (bit for bit on cpu), the NaN guard keeping the last good checkpoint, a resume that
 * refuses a corrupted checkpoint without touching the run directory, config validation, and the main job learning
 * its task (a smaller configuration of it, so the test stays under a minute).
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { eitpObjective } from '../src/eitp/index.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { type TrainConfig, resolveConfig } from '../src/train/config.js';
import { MetricsLog, type MetricsRecord } from '../src/train/metrics.js';
import { type ObjectiveFn, TrainingDivergedError, train } from '../src/train/trainer.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'eitp-train-'));

/** A tiny run with every EIT-P term on (spec λ) and Langevin noise, so every random stream is exercised. */
function tiny(out: string, over: Record<string, unknown> = {}): TrainConfig {
  return resolveConfig(
    { task: { kind: 'retrieval', seqLen: 12, pairs: 2, evalSize: 32 }, model: { kind: 'gpt', width: 16, depth: 2, heads: 2 } },
    { steps: 8, batchSize: 8, logEvery: 2, evalEvery: 5, checkpointEvery: 0, backend: 'cpu', langevin: true, out, ...over },
  );
}

function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));
}

const losses = (recs: MetricsRecord[]) => recs.filter((r) => 'total' in r).map((r) => ({ step: r.step, total: r.total, terms: r.terms, gradientNorms: r.gradientNorms }));

describe('resume', () => {
  it('a run stopped at step 3 and resumed produces the same losses as an uninterrupted run, bit for bit (cpu)', async () => {
    const a = fresh();
    const full = await train({ config: tiny(a), progress: null });
    const b = fresh();
    const first = await train({ config: tiny(b), progress: null, shouldStop: (s) => s === 3 });
    expect(first.stoppedEarly).toBe(true);
    expect(first.step).toBe(3);
    expect(loadCheckpoint(b).state.step).toBe(3);
    const second = await train({ config: tiny(b, { steps: 999 }), resume: true, progress: null });
    expect(second.step).toBe(8);
    expect(second.config.steps).toBe(8); // the checkpoint's config governs
    const [la, lb] = [losses(MetricsLog.read(full.metrics)), losses(MetricsLog.read(second.metrics))];
    expect(la.map((r) => r.step)).toEqual([1, 2, 4, 6, 8]);
    expect(lb).toEqual(la);
    const [pa, pb] = [full.model.parameters(), second.model.parameters()];
    for (let i = 0; i < pa.length; i++) expect(Array.from(await pb[i]!.data())).toEqual(Array.from(await pa[i]!.data()));
    expect(second.finalEval).toEqual(full.finalEval);
  });

  it('refuses a corrupted checkpoint and leaves the run directory untouched', async () => {
    const dir = fresh();
    await train({ config: tiny(dir, { steps: 3, langevin: false }), progress: null });
    const tensorFile = readdirSync(dir).find((f) => f.endsWith('.safetensors'))!;
    const bytes = readFileSync(join(dir, tensorFile));
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(join(dir, tensorFile), bytes);
    const before = snapshot(dir);
    await expect(train({ config: tiny(dir), resume: true, progress: null })).rejects.toThrow(/refusing checkpoint .* does not match its sha256/);
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('NaN guard', () => {
  it('stops at the first non-finite loss with a clear message and keeps the last good checkpoint', async () => {
    const dir = fresh();
    const poisoned: ObjectiveFn = (m, b, c, s) => {
      const o = eitpObjective(m, b, c, s);
      return s.step >= 6 ? { ...o, total: o.total.mul(NaN) } : o;
    };
    const err = await train({ config: tiny(dir, { checkpointEvery: 2, logEvery: 3, langevin: false }), objective: poisoned, progress: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect((err as Error).message).toMatch(/training diverged at step 6: the total loss is NaN; .*stopped, the last good checkpoint is .*checkpoint.json \(step 4\)/);
    const ckpt = loadCheckpoint(dir);
    expect(ckpt.state.step).toBe(4);
    for (const t of Object.values(ckpt.tensors)) expect(Array.from(t.data).every(Number.isFinite)).toBe(true);
  });
});

describe('every task and model', () => {
  it('trains end to end (copy, adding, retrieval with the RNN) and evaluates', async () => {
    for (const [task, model] of [
      [{ kind: 'copy', length: 3, evalSize: 16 }, { kind: 'gpt', width: 8, depth: 1, heads: 2 }],
      [{ kind: 'adding', seqLen: 6, evalSize: 16 }, { kind: 'rnn', hidden: 8, embed: 4 }],
      [{ kind: 'retrieval', seqLen: 8, pairs: 2, evalSize: 16 }, { kind: 'rnn', hidden: 8, embed: 4 }],
    ]) {
      const r = await train({ config: resolveConfig({ task, model }, { steps: 2, batchSize: 8, logEvery: 1, backend: 'cpu', out: fresh() }), progress: null });
      expect(r.lastReport!.terms.chaos).toBeGreaterThanOrEqual(0);
      expect(r.finalEval!.accuracy).toBeGreaterThanOrEqual(0);
      et.dispose(r.model.parameters());
    }
  });
});

describe('config', () => {
  it('names the field and the expected type', () => {
    expect(() => resolveConfig({ model: { width: '64' } })).toThrow('config field model.width: expected a positive integer, got "64" (string)');
    expect(() => resolveConfig({ eitp: { lambdaChaos: -1 } })).toThrow(/config field eitp.lambdaChaos: expected a number >= 0, got -1/);
    expect(() => resolveConfig({ task: { kind: 'retreival' } })).toThrow(/config field task.kind: expected one of "retrieval", "copy", "adding", "text", got "retreival"/);
    expect(() => resolveConfig({ stepz: 3 })).toThrow(/config field stepz: unknown field/);
    expect(() => resolveConfig({ task: { kind: 'text' } })).toThrow(/task.path: a text task needs the path/);
    expect(resolveConfig({ model: { kind: 'rnn' } }, { steps: 7 }).model).toEqual({ kind: 'rnn', hidden: 64, embed: 16 });
    expect(resolveConfig({ eitp: { kernels: 'composite' } }).eitp.kernels).toBe('composite');
    expect(() => resolveConfig({ eitp: { kernels: 'fast' } })).toThrow(/config field eitp.kernels: expected one of "fused", "composite", got "fast"/);
  });
});

describe('the main job', () => {
  // the best available backend, as `eitp train` picks it (the test setup pins EITP_BACKEND=cpu for the other suites)
  const best = (['cuda', 'native', 'cpu'] as const).find((n) => et.backendInfo().some((b) => b.name === n && b.available))!;
  it('a char-GPT with EIT-P (spec λ) learns multi-key retrieval: > 80 % held-out accuracy within 300 steps', async () => {
    const dir = fresh();
    const config = resolveConfig(
      { task: { kind: 'retrieval', seqLen: 12, pairs: 2, evalSize: 256 } },
      { steps: 300, logEvery: 100, evalEvery: 0, checkpointEvery: 0, out: dir, backend: best },
    );
    expect(config.eitp).toEqual(resolveConfig().eitp);
    const r = await train({ config, progress: null });
    expect(r.finalEval!.accuracy).toBeGreaterThan(0.8);
    for (const b of r.finalEval!.byDistance!) expect(b.accuracy).toBeGreaterThan(0.6);
    et.dispose(r.model.parameters());
  }, 120_000);
});
