/**
 * `eitp compress` end to end on a run written by the trainer (cpu backend): pruning reaches its target, the
 * reported sizes are the files' sizes, the ratio is against the run's f32 parameters written as safetensors, the
 * reported metric is the reloaded checkpoint's, and the command's own CLI (the compiled one `npm test` builds)
 * prints the table.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { compress } from '../src/compress/compress.js';
import { loadCompressed } from '../src/compress/compressed-checkpoint.js';
import { buildTask } from '../src/train/build.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { resolveConfig } from '../src/train/config.js';
import { evaluate } from '../src/train/evaluate.js';
import { encodeSafetensors, type HostTensor } from '../src/train/safetensors.js';
import { train } from '../src/train/trainer.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'eitp-compress-run-'));
let run = '';

beforeAll(async () => {
  run = tmp();
  const config = resolveConfig({
    task: { kind: 'retrieval', seqLen: 10, pairs: 2, keys: 4, values: 4, fillers: 2, minDistance: 3, buckets: 2, evalSize: 64 },
    model: { kind: 'gpt', width: 16, depth: 1, heads: 2 },
    steps: 20,
    batchSize: 8,
    logEvery: 10,
    evalEvery: 0,
    out: run,
    backend: 'cpu',
  });
  const r = await train({ config, progress: null });
  et.dispose(r.model.parameters());
});

describe('compress', () => {
  it('prunes, fine-tunes with distillation, quantises and reports what is on disk', async () => {
    const out = join(tmp(), 'c');
    const lines: string[] = [];
    const r = await compress({ checkpoint: run, out, prune: 0.5, finetuneSteps: 8, latencyBatch: 4, latencyIters: 3, backend: 'cpu', onMessage: (l) => lines.push(l) });
    expect(r.backend).toBe('cpu');
    expect(lines.some((l) => /distilling \(T = 3, α = 0.7\)/.test(l))).toBe(true);
    // sizes: the compressed file as written, the f32 size from the run's own parameters
    const manifest = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { tensors: string };
    expect(r.compressed.bytes).toBe(statSync(join(out, manifest.tensors)).size);
    const src = loadCheckpoint(run).tensors;
    const params: Record<string, HostTensor> = Object.fromEntries(Object.entries(src).filter(([k]) => k.startsWith('model.')));
    expect(r.fp32.bytes).toBe(encodeSafetensors(params).length);
    expect(r.ratio).toBeCloseTo(r.fp32.bytes / r.compressed.bytes, 12);
    // pruning reached its target over the weight matrices
    const n = r.model.quantizedParameters;
    expect(r.pruning!.measured).toBe(Math.round(0.5 * n) / n);
    expect(r.model.int8ZeroFraction).toBeGreaterThanOrEqual(r.pruning!.measured);
    expect(r.finetune).toMatchObject({ steps: 8, distill: true });
    // the metric is the reloaded checkpoint's
    const loaded = loadCompressed(out);
    const data = buildTask(loaded.state.config.task, loaded.state.config.seed, loaded.state.vocab);
    const ev = await evaluate(loaded.model, data);
    expect(ev.accuracy).toBe(r.compressed.accuracy);
    expect(r.accuracyDropPoints).toBeCloseTo(100 * (r.fp32.accuracy - r.compressed.accuracy), 12);
    expect(r.compressed.latency.samples).toBe(3);
    expect(r.compressed.latency.p95Ms).toBeGreaterThanOrEqual(r.compressed.latency.p50Ms);
    expect(JSON.parse(readFileSync(join(out, 'compression.json'), 'utf8'))).toMatchObject({ ratio: r.ratio, activations: 'int8' });
    loaded.forms.dispose();
    et.dispose(loaded.model.parameters());
  });

  it('refuses to write into the source run, to compress a compressed checkpoint, and bad options', async () => {
    await expect(compress({ checkpoint: run, out: run, backend: 'cpu' })).rejects.toThrow(/is the source run's directory/);
    const out = join(tmp(), 'c');
    await compress({ checkpoint: run, out, activations: 'f32', latencyBatch: 2, latencyIters: 1, backend: 'cpu' });
    await expect(compress({ checkpoint: out, out: join(tmp(), 'd'), backend: 'cpu' })).rejects.toThrow(/not a training checkpoint/);
    await expect(compress({ checkpoint: run, out: join(tmp(), 'e'), prune: 1, backend: 'cpu' })).rejects.toThrow(/sparsity in \[0, 1\)/);
    await expect(compress({ checkpoint: join(tmp(), 'none'), out: join(tmp(), 'f'), backend: 'cpu' })).rejects.toThrow(/refusing checkpoint/);
  });

  it('eitp compress prints the table (compiled CLI)', async () => {
    const out = join(tmp(), 'c');
    const { stdout } = await promisify(execFile)(process.execPath, ['bin/eitp.js', 'compress', run, '--out', out, '--prune', '0.3', '--finetune-steps', '4', '--latency-batch', '2', '--latency-iters', '2'], {
      env: { ...process.env, EITP_BACKEND: 'cpu' },
    });
    expect(stdout).toMatch(/^size \(bytes\) +\d+ +\d+ +\d+\.\d\dx smaller$/m);
    expect(stdout).toMatch(/^accuracy +\d+\.\d % +\d+\.\d % +[−+]?\d+\.\d points$/m);
    expect(stdout).toMatch(/^latency p50 \(batch 2\) .* \d+\.\d\dx (faster|slower)$/m);
    expect(stdout).toMatch(/pruning: target 30\.0 %, reached 30\.0 %/);
    expect(existsSync(join(out, 'checkpoint.json'))).toBe(true);
    // eitp eval opens the compressed checkpoint and measures the accuracy the table reported for it
    const reported = /^accuracy +\d+\.\d % +(\d+\.\d) %/m.exec(stdout)![1];
    const evaluated = await promisify(execFile)(process.execPath, ['bin/eitp.js', 'eval', out], { env: { ...process.env, EITP_BACKEND: 'cpu' } });
    expect(evaluated.stdout).toMatch(/compressed \(int8, \w+ activations, \d+ bytes\)/);
    expect(evaluated.stdout).toContain(`accuracy ${reported} %`);
    const bad = await promisify(execFile)(process.execPath, ['bin/eitp.js', 'compress', run, '--out', out, '--prune', '2']).then(
      () => '',
      (e: { stderr: string }) => e.stderr,
    );
    expect(bad).toMatch(/--prune must be a sparsity in \[0, 1\)/);
  });
});
