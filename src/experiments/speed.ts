/**
 * Inference speed (EITP-SPEC "Evaluation"): p50/p95 latency of one sequence (batch 1) and throughput in tokens/s
 * (batch 32) of the trained baseline and full EIT-P models, after warm-up, on the same backend and machine. The
 * regularisers change weights, not the architecture or the operations run, so equal speed is the expectation; the
 * papers' 4-11x would have to come from quantisation, pruning or distillation (the compression experiment).
 */
import { quantile } from '../bench/stats.js';
import { baselineAndFull } from './ablation.js';
import { seedValues, setupLine } from './compare.js';
import { evalInputs, timeForward } from './inference.js';
import { longRangeBase } from './long-range.js';
import { summarize } from './stats.js';
import { trainingExperiment } from './training-experiment.js';
import type { ClaimRow, MetricSpec, RunRecord } from './types.js';

export const THROUGHPUT_BATCH = 32;

/**
 * The speed ratio full / baseline as a geometric mean over paired seeds, with the t interval taken on the log
 * ratios and exponentiated: a ratio's interval then stays positive and treats 2x and 0.5x symmetrically.
 */
export function speedClaims(records: readonly RunRecord[]): ClaimRow[] {
  const full = seedValues(records, 'full', 'tokensPerSec');
  const base = seedValues(records, 'baseline', 'tokensPerSec');
  const seeds = [...full.keys()].filter((s) => base.has(s));
  const logs = summarize(seeds.map((s) => Math.log(full.get(s)! / base.get(s)!)));
  const x = (v: number) => `${Math.exp(v).toFixed(2)}x`;
  const measured = seeds.length === 0 ? 'not run' : Number.isFinite(logs.ciLow) ? `${x(logs.mean)} [${x(logs.ciLow)}, ${x(logs.ciHigh)}]` : `${x(logs.mean)} (n = ${seeds.length}, no CI)`;
  return [
    {
      claim: '4-11x inference speed',
      comparison: `full EIT-P vs λ = 0 baseline: inference tokens/s (batch ${THROUGHPUT_BATCH}) ratio, geometric mean over ${seeds.length} paired seeds`,
      measured,
      setup: setupLine(records),
    },
  ];
}

export const SPEED_METRICS: readonly MetricSpec[] = [
  { key: 'latencyP50Ms', label: 'latency per sequence, batch 1, p50 (ms)', better: 'lower', digits: 3 },
  { key: 'latencyP95Ms', label: 'latency per sequence, batch 1, p95 (ms)', better: 'lower', digits: 3 },
  { key: 'tokensPerSec', label: `inference throughput, batch ${THROUGHPUT_BATCH} (tokens/s, from the p50 time)`, better: 'higher', digits: 0 },
  { key: 'trainTokensPerSec', label: 'training throughput (tokens/s)', better: 'higher', digits: 0 },
];

export const speedExperiment = trainingExperiment({
  name: 'speed',
  title: 'Inference speed: latency and throughput of EIT-P-trained and baseline models',
  description:
    'The λ = 0 baseline and full EIT-P are trained on multi-key retrieval (same architecture, steps and seeds), then timed on the same backend: ' +
    `p50/p95 latency of one forward pass over one sequence (batch 1, logits read back) and throughput of batch ${THROUGHPUT_BATCH} in tokens/s, after warm-up. ` +
    'Training throughput is reported too (the EIT-P terms cost extra forward and backward work while training). The papers claim 4-11x inference speed.',
  defaults: { seeds: 3, steps: 100 },
  base: longRangeBase,
  arms: baselineAndFull,
  metrics: () => [...SPEED_METRICS],
  claims: speedClaims,
  async after(result) {
    const one = await timeForward(result.model, evalInputs(result.data, 1));
    const many = await timeForward(result.model, evalInputs(result.data, THROUGHPUT_BATCH));
    const p50 = quantile(many, 0.5);
    return {
      metrics: {
        latencyP50Ms: quantile(one, 0.5),
        latencyP95Ms: quantile(one, 0.95),
        tokensPerSec: (THROUGHPUT_BATCH * result.data.seqLen) / (p50 / 1000),
      },
      notes: { latencySamples: one.length, throughputSamples: many.length },
    };
  },
});
