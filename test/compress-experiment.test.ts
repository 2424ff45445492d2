/**
 * The compression experiment's reading of its records (hand-made records, so the expected rows are known), its
 * plan, and one real run of a tiny configuration on the cpu backend through the experiment's own `run`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signedPoints } from '../src/compress/table.js';
import { COMPRESSION_SETTINGS, bestWithin, compressionClaims, compressionExperiment, compressionFigure } from '../src/experiments/compression.js';
import type { ExperimentContext, ExperimentOptions, RunRecord } from '../src/experiments/types.js';

function record(arm: string, seed: number, metrics: Record<string, number>): RunRecord {
  return {
    id: `${arm}-${seed}`,
    experiment: 'compression',
    arm,
    config: {},
    seed,
    finishedAt: '2026-01-01T00:00:00Z',
    metrics,
    curves: {},
    info: { params: 26916, steps: 1200, tokens: 921600, backend: 'native', seconds: 120, model: 'char-GPT (2 blocks, width 32, 2 heads), 26.9k parameters' },
  };
}

const m = (int8: [number, number], p50: [number, number], p75: [number, number], p90: [number, number]) => ({
  'ratio:int8': int8[0], 'accuracyDrop:int8': int8[1],
  'ratio:p50': p50[0], 'accuracyDrop:p50': p50[1],
  'ratio:p75': p75[0], 'accuracyDrop:p75': p75[1],
  'ratio:p90': p90[0], 'accuracyDrop:p90': p90[1],
});

const records: RunRecord[] = [
  // full: p90 loses 10 points on average -> p75 (mean 6.0x, mean drop 2.5) is the best within 3 points
  record('full', 0, m([3.2, 0], [4.2, 0.2], [6.0, 2.0], [9.0, 12])),
  record('full', 1, m([3.2, 0.2], [4.2, 0.4], [6.0, 3.0], [9.0, 8])),
  // baseline: p75 loses 4 points on average -> p50
  record('baseline', 0, m([3.2, 0], [4.2, 1.0], [6.0, 4.0], [9.0, 20])),
  record('baseline', 1, m([3.2, 0], [4.2, 2.0], [6.0, 4.0], [9.0, 20])),
];

describe('compression experiment', () => {
  it('picks the largest mean ratio whose mean accuracy drop is within the allowed points', () => {
    expect(bestWithin(records, 'full', 3)).toMatchObject({ setting: { key: 'p75' }, ratio: 6, drop: 2.5, n: 2 });
    expect(bestWithin(records, 'baseline', 3)).toMatchObject({ setting: { key: 'p50' }, ratio: 4.2, drop: 1.5 });
    expect(bestWithin(records, 'baseline', 0.5)).toMatchObject({ setting: { key: 'int8' } });
    expect(bestWithin(records, 'baseline', -1)).toBeNull();
    const [row] = compressionClaims(records);
    expect(row!.claim).toBe('4.2x compression at 3 % accuracy loss');
    expect(row!.measured).toBe('full EIT-P: 6.00x at −2.50 points of accuracy (int8 + 75 % pruned, n = 2); λ = 0: 4.20x at −1.50 points of accuracy (int8 + 50 % pruned, n = 2)');
    expect(compressionClaims([])[0]!.measured).toBe('not run');
    expect([signedPoints(-0.01, 1), signedPoints(-0.4, 1), signedPoints(1.26, 1), signedPoints(0, 2)]).toEqual(['0.0', '−0.4', '+1.3', '0.00']);
  });

  it('plots one point per arm and setting at the seed means', () => {
    const [fig] = compressionFigure(records);
    const values = (fig!.spec.data as { values: { arm: string; setting: string; ratio: number; drop: number }[] }).values;
    expect(values.length).toBe(2 * COMPRESSION_SETTINGS.length);
    expect(values.find((v) => v.arm === 'full' && v.setting === 'int8 + 90 % pruned')).toMatchObject({ ratio: 9, drop: 10 });
    expect(compressionFigure([])).toEqual([]);
  });

  it('plans the baseline and full arms and runs one (tiny, cpu) end to end', async () => {
    const options: ExperimentOptions = {
      seeds: 1,
      steps: 6,
      backend: 'cpu',
      resultsRoot: tmpdir(),
      overrides: { 'task.seqLen': 10, 'task.evalSize': 32, 'model.width': 16, 'model.depth': 1, batchSize: 8 },
    };
    const arms = compressionExperiment.plan(options);
    expect(arms.map((a) => a.name)).toEqual(['baseline', 'full']);
    const runDir = mkdtempSync(join(tmpdir(), 'eitp-compress-exp-'));
    const ctx: ExperimentContext = { options, outDir: runDir, runDir, experiments: () => [compressionExperiment], log: () => {} };
    const out = await compressionExperiment.run(arms[0]!, 0, ctx);
    for (const s of COMPRESSION_SETTINGS) {
      expect(out.metrics[`ratio:${s.key}`]).toBeGreaterThan(1);
      expect(Number.isFinite(out.metrics[`accuracyDrop:${s.key}`])).toBe(true);
      expect(out.metrics[`speedup:${s.key}`]).toBeGreaterThan(0);
    }
    // more pruning, smaller file
    expect(out.metrics['ratio:p90']).toBeGreaterThan(out.metrics['ratio:p50']!);
    expect(out.notes?.p90).toMatchObject({ sparsity: expect.closeTo(0.9, 3) });
  }, 300_000);
});
