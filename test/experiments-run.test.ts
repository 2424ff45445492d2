/**
 * A tiny experiment end to end (2 arms × 2 seeds × 3 steps on the default test backend): results.jsonl, report.md
 * with its tables and CI column checked against statistics computed by hand from the records, non-empty SVG plots,
 * resumption; then the claims table from hand-made records, and the energy and speed experiments at toy size.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { claimsExperiment } from '../src/experiments/claims.js';
import { experimentFromConfig } from '../src/experiments/config-file.js';
import { probeRapl } from '../src/experiments/rapl.js';
import { experiments, getExperiment } from '../src/experiments/registry.js';
import { formatNumber } from '../src/experiments/report.js';
import { runExperiment } from '../src/experiments/runner.js';
import type { ExperimentOptions, RunRecord } from '../src/experiments/types.js';
import { MetricsLog } from '../src/train/metrics.js';

const T975_DF1 = 12.706204736; // t_{0.975, 1}
const tmp = () => mkdtempSync(join(tmpdir(), 'eitp-exp-run-'));
const options = (root: string, extra: Partial<ExperimentOptions> = {}): ExperimentOptions => ({ seeds: 2, backend: 'auto', overrides: {}, resultsRoot: root, ...extra });

const TINY_TASK = { kind: 'retrieval', seqLen: 8, pairs: 1, keys: 4, values: 4, fillers: 2, minDistance: 3, buckets: 2, evalSize: 16 };
const TINY_MODEL = { kind: 'gpt', width: 8, depth: 1, heads: 2, mlpRatio: 4 };
const tiny = () =>
  experimentFromConfig({ name: 'tiny', steps: 3, seeds: 2, base: { task: TINY_TASK, model: TINY_MODEL, batchSize: 4 }, arms: [{ name: 'full', description: 'every term on', set: {} }] });

const readRecords = (dir: string) =>
  readFileSync(join(dir, 'results.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RunRecord);

describe('a tiny experiment end to end', () => {
  const root = tmp();
  const out = join(root, 'tiny');

  it('runs 2 arms × 2 seeds and reports mean ± std and the paired CI computed by hand', async () => {
    const res = await runExperiment(tiny(), options(root), { out, experiments });
    expect(res.ran).toBe(4);
    const recs = readRecords(out);
    expect(recs.map((r) => `${r.arm}/${r.seed}`).sort()).toEqual(['baseline/0', 'baseline/1', 'full/0', 'full/1']);
    for (const r of recs) {
      expect(r.info).toMatchObject({ steps: 3, tokens: 3 * 4 * 8, backend: process.env.EITP_BACKEND });
      expect(r.info.params).toBeGreaterThan(0);
      expect(r.curves.loss!.map((p) => p.step)).toEqual([1, 2, 3]);
      for (const k of ['entropy', 'lyapunov', 'coherence', 'fidelity', 'temperature']) expect(r.curves[k]).toHaveLength(3);
    }
    const report = readFileSync(res.reportPath, 'utf8');
    expect(report).toContain('| arm | n | mean ± std | paired Δ vs baseline | 95 % CI of Δ | relative Δ [95 % CI] | verdict |');
    expect(report).toMatch(/### retrieval accuracy, all distances \(higher is better\)/);
    expect(report).toMatch(/### retrieval accuracy, key-query distance 3-4 \(higher is better\)/);

    // held-out loss by hand: mean ± sample std per arm, paired differences with t_{0.975,1}
    const v = (arm: string, seed: number) => recs.find((r) => r.arm === arm && r.seed === seed)!.metrics.evalLoss!;
    const [b0, b1, f0, f1] = [v('baseline', 0), v('baseline', 1), v('full', 0), v('full', 1)];
    const bMean = (b0 + b1) / 2;
    const bStd = Math.abs(b0 - b1) / Math.SQRT2;
    const d = [f0 - b0, f1 - b1];
    const dMean = (d[0]! + d[1]!) / 2;
    const half = (T975_DF1 * (Math.abs(d[0]! - d[1]!) / Math.SQRT2)) / Math.SQRT2;
    const signed = (x: number) => (x >= 0 ? '+' : '') + formatNumber(x, 4);
    const section = report.slice(report.indexOf('### held-out loss'));
    const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| arm')));
    expect(table).toContain(`| baseline | 2 | ${formatNumber(bMean, 4)} ± ${formatNumber(bStd, 4)} | — | — | — | baseline |`);
    expect(table).toContain(`| full | 2 | ${formatNumber((f0 + f1) / 2, 4)} ± ${formatNumber(Math.abs(f0 - f1) / Math.SQRT2, 4)} | ${signed(dMean)} | [${signed(dMean - half)}, ${signed(dMean + half)}] |`);

    // setup: sizes, steps, tokens, seeds, backend
    expect(report).toMatch(new RegExp(`\\| full \\| every term on \\| ${recs[0]!.info.params} \\| 3 \\| 96 \\| 0, 1 \\| ${process.env.EITP_BACKEND} \\|`));

    // plots: training curves and Ĥ, Λ̂, L_coh, C, T, plus accuracy by distance, each a non-empty SVG with its marks
    for (const name of ['loss', 'total', 'entropy', 'lyapunov', 'coherence', 'fidelity', 'temperature', 'accuracy-by-distance']) {
      const path = join(out, 'plots', `${name}.svg`);
      const svg = readFileSync(path, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toMatch(/class="mark-line role-mark/);
      expect(svg).toContain('baseline');
      expect(report).toContain(`](plots/${name}.svg)`);
    }
  });

  it('L_coh from ‖R − I‖_F/d (how λ3 = 0 runs get their curve) equals the logged term where both are logged', () => {
    const full = readRecords(out).find((r) => r.arm === 'full')!;
    const log = MetricsLog.read(join(out, 'runs', full.id, 'metrics.jsonl')).filter((r) => r.total !== undefined);
    for (const rec of log) {
      const f = (rec.metrics as Record<string, number>).coherenceFrobenius!;
      const term = (rec.terms as Record<string, number>).coherence!;
      expect(term).toBeCloseTo((f * f * 8) / 7, 5); // d = width 8
    }
    expect(full.curves.coherence!.map((p) => p.value)).toEqual(log.map((r) => (r.terms as Record<string, number>).coherence));
  });

  it('resumes: finished runs are skipped, an interrupted one is run again', async () => {
    const again = await runExperiment(tiny(), options(root), { out, experiments });
    expect([again.ran, again.skipped]).toEqual([0, 4]);
    const lines = readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n');
    const lost = JSON.parse(lines[3]!) as RunRecord;
    // the last run was killed while its record was being appended
    writeFileSync(join(out, 'results.jsonl'), lines.slice(0, 3).join('\n') + '\n' + lines[3]!.slice(0, 40));
    const resumed = await runExperiment(tiny(), options(root), { out, experiments });
    expect([resumed.ran, resumed.skipped]).toEqual([1, 3]);
    const redone = readRecords(out).find((r) => r.id === lost.id)!;
    expect(redone.metrics.evalLoss).toBe(lost.metrics.evalLoss); // same seed, same backend: the same run
    // more steps is another configuration: new runs, not reused ones
    const longer = await runExperiment(tiny(), options(root, { steps: 4 }), { out, experiments });
    expect(longer.ran).toBe(4);
  });
});

describe('a run that diverges', () => {
  it('is recorded without metrics, listed in the report and not repeated', async () => {
    const root = tmp();
    const exp = experimentFromConfig({ name: 'div', steps: 4, base: { task: TINY_TASK, model: TINY_MODEL, batchSize: 4, lr: 1e30, clip: 0, warmupSteps: 0 }, arms: [{ name: 'full', set: {} }] });
    const res = await runExperiment(exp, options(root, { seeds: 1 }), { out: join(root, 'div'), experiments });
    expect(res.records).toHaveLength(2);
    for (const r of res.records) {
      expect(r.metrics).toEqual({});
      expect(String(r.notes?.diverged)).toMatch(/^training diverged at step \d+/);
      expect(r.info.params).toBeGreaterThan(0);
    }
    const report = readFileSync(res.reportPath, 'utf8');
    expect(report).toMatch(/## Diverged runs\n\n.*\n\n- baseline, seed 0: training diverged at step/);
    expect(report).toContain('| full | 0 | not measured |');
    const again = await runExperiment(exp, options(root, { seeds: 1 }), { out: join(root, 'div'), experiments });
    expect(again.ran).toBe(0);
  });
});

function fakeRecord(experiment: string, arm: string, seed: number, metrics: Record<string, number>): RunRecord {
  return {
    id: `${arm}-${seed}`,
    experiment,
    arm,
    config: {},
    seed,
    metrics,
    curves: {},
    info: { params: 1000, steps: 10, tokens: 100, backend: 'cpu', seconds: 1, model: 'toy model' },
    finishedAt: '',
  };
}

describe('the claims table', () => {
  it('puts each claim beside the measured relative change, computed by hand, and says what was not run', async () => {
    const root = tmp();
    mkdirSync(join(root, 'perplexity'));
    const ppl = [
      ['baseline', 0, 10],
      ['baseline', 1, 20],
      ['baseline', 2, 30],
      ['full', 0, 9],
      ['full', 1, 18],
      ['full', 2, 30],
    ] as const;
    writeFileSync(join(root, 'perplexity', 'results.jsonl'), ppl.map(([a, s, p]) => JSON.stringify(fakeRecord('perplexity', a, s, { perplexity: p })) + '\n').join(''));
    mkdirSync(join(root, 'speed'));
    const speed = [
      ['baseline', 0, 100],
      ['baseline', 1, 200],
      ['baseline', 2, 100],
      ['full', 0, 200],
      ['full', 1, 200],
      ['full', 2, 100],
    ] as const;
    writeFileSync(join(root, 'speed', 'results.jsonl'), speed.map(([a, s, t]) => JSON.stringify(fakeRecord('speed', a, s, { tokensPerSec: t })) + '\n').join(''));
    const res = await runExperiment(claimsExperiment, options(root, { seeds: 1 }), { out: join(root, 'claims'), experiments });
    const report = readFileSync(res.reportPath, 'utf8');
    // per-seed ratios −0.1, −0.1, 0: mean −0.0667, std 0.057735, half-width 4.302653·0.057735/√3 = 0.143422
    expect(report).toContain('| -15 % perplexity | -6.7 % [-21.0 %, +7.7 %] | full EIT-P vs λ = 0 baseline: held-out perplexity, 3 paired seeds | toy model; 10 steps, 100 tokens per run; seeds 0, 1, 2; backend cpu | perplexity/results.jsonl |');
    // speed ratios 2, 1, 1: log ratios ln 2, 0, 0, mean ln 2/3, std ln 2·√(1/3) = 0.400189, half-width 4.302653·0.400189/√3 = 0.994124;
    // exp(0.231049) = 1.2599, exp(0.231049 − 0.994124) = 0.4662, exp(0.231049 + 0.994124) = 3.4048
    expect(report).toContain('| 4-11x inference speed | 1.26x [0.47x, 3.40x] | full EIT-P vs λ = 0 baseline: inference tokens/s (batch 32) ratio, geometric mean over 3 paired seeds |');
    expect(report).toMatch(/\| -25 % energy \| not run \(`eitp experiment energy` has not written .*energy\/results\.jsonl\)/);
    expect(report).toMatch(/\| 4\.2x compression at 3 % accuracy loss \| not run/);
    expect(report).toMatch(/\| \+42 % long-range dependency handling \| not run/);
  });
});

describe('energy and speed at toy size', () => {
  const flat = { 'task.seqLen': 8, 'task.pairs': 1, 'task.keys': 4, 'task.values': 4, 'task.fillers': 2, 'task.buckets': 2, 'task.evalSize': 16, 'model.width': 8, 'model.depth': 1, 'batchSize': 4 };

  it('energy: RAPL where readable, otherwise the FLOP estimate, labelled', async () => {
    const root = tmp();
    const res = await runExperiment(getExperiment('energy'), options(root, { seeds: 1, steps: 2, overrides: flat }), { out: join(root, 'energy'), experiments });
    const r = res.records[0]!;
    const report = readFileSync(res.reportPath, 'utf8');
    if (probeRapl().ok) {
      expect(r.notes?.energySource).toBe('rapl');
      expect(r.metrics.inferenceUjPerToken).toBeGreaterThan(0);
    } else {
      // per sequence of 8: block 2·8·8·24 + 2·2·8·8·8 + 2·8·8·8 + 2·2·8·8·32 = 14336, unembedding of the last position 2·8·11 = 176
      expect(r.metrics.flopsPerToken).toBe((14336 + 176) / 8);
      expect(r.metrics.inferenceUjPerToken).toBeCloseTo(((14336 + 176) / 8) * 1e-10 * 1e6, 12);
      expect(r.notes?.energySource).toBe('estimate');
      expect(report).toContain('inference energy per token (µJ, ESTIMATE');
      expect(report).toMatch(/## How energy was obtained\n\n- estimate: no RAPL counter readable/);
    }
  });

  it('chaos-estimator: full EIT-P and the chaos term alone with each FTLE estimator, against the baseline', async () => {
    const root = tmp();
    const res = await runExperiment(getExperiment('chaos-estimator'), options(root, { seeds: 1, steps: 2, overrides: flat }), { out: join(root, 'chaos'), experiments });
    type Eitp = { lambdaThermo: number; lambdaChaos: number; lambdaCoherence: number; lambdaPath: number; betaIem: number; chaos: { mode: string } };
    const eitpOf = (arm: string) => res.records.find((r) => r.arm === arm)!.config.eitp as unknown as Eitp;
    expect(res.records.map((r) => r.arm)).toEqual(['baseline', 'full-power', 'full-benettin', 'chaos-power', 'chaos-benettin']);
    const lambdas = (e: Eitp) => [e.lambdaThermo, e.lambdaChaos, e.lambdaCoherence, e.lambdaPath, e.betaIem];
    expect(lambdas(eitpOf('baseline'))).toEqual([0, 0, 0, 0, 0]);
    for (const mode of ['power', 'benettin']) {
      expect(eitpOf(`full-${mode}`).chaos.mode).toBe(mode);
      expect(lambdas(eitpOf(`full-${mode}`))).toEqual([0.01, 0.1, 0.1, 0.01, 0]);
      expect(eitpOf(`chaos-${mode}`).chaos.mode).toBe(mode);
      expect(lambdas(eitpOf(`chaos-${mode}`))).toEqual([0, 0.1, 0, 0, 0]);
    }
    // 2 steps learn nothing; what is checked is that every arm trained and was evaluated (an accuracy is a fraction)
    for (const r of res.records) {
      expect(r.metrics.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.metrics.accuracy).toBeLessThanOrEqual(1);
    }
    expect(readFileSync(res.reportPath, 'utf8')).toContain('| full-power | full EIT-P, power FTLE (the spec\'s default) |');
  });

  it('speed: p50 <= p95 latency and throughput per arm', async () => {
    const root = tmp();
    const res = await runExperiment(getExperiment('speed'), options(root, { seeds: 1, steps: 2, overrides: flat }), { out: join(root, 'speed'), experiments });
    expect(res.records.map((r) => r.arm)).toEqual(['baseline', 'full']);
    for (const r of res.records) {
      expect(r.metrics.latencyP50Ms).toBeGreaterThan(0);
      expect(r.metrics.latencyP95Ms).toBeGreaterThanOrEqual(r.metrics.latencyP50Ms!);
      expect(r.metrics.tokensPerSec).toBeGreaterThan(0);
    }
    expect(readFileSync(res.reportPath, 'utf8')).toContain('### latency per sequence, batch 1, p50 (ms) (lower is better)');
  });
});

describe('number formatting of the tables', () => {
  it('fixed decimals, exponents only where decimals would show nothing', () => {
    expect(formatNumber(3.14159, 2)).toBe('3.14');
    expect(formatNumber(0.0998, 1)).toBe('0.1');
    expect(formatNumber(-4.6e-5, 4)).toBe('-4.60e-5');
    expect(formatNumber(0, 4)).toBe('0.0000');
    expect(formatNumber(2.5e7, 0)).toBe('2.50e+7');
    expect(formatNumber(NaN)).toBe('n/a');
  });
});

describe('eitp experiment (CLI)', () => {
  const run = promisify(execFile);
  const eitp = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'experiment', ...args], { env: { ...process.env } }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('lists the experiments and names an unknown one', async () => {
    const [list, bad, badSet] = await Promise.all([eitp('--list'), eitp('perplexty'), eitp('long-range', '--set', 'model.widht=3', '--out', tmp())]);
    for (const name of ['perplexity', 'long-range', 'chaos-estimator', 'speed', 'energy', 'sweep', 'claims']) expect(list.stdout).toMatch(new RegExp(`^${name} `, 'm'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown experiment 'perplexty': expected one of perplexity, long-range/);
    expect(badSet.code).toBe(1);
    expect(badSet.stderr).toMatch(/--set model\.widht: 'model\.widht' is not a training config field/);
    expect(existsSync('runs/experiments/perplexty')).toBe(false);
  });
});
