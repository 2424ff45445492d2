/**
 * Perplexity (EITP-SPEC "Evaluation"): a char-level GPT language model on a text corpus (--data), held-out
 * perplexity exp(mean NLL) over fixed, non-overlapping windows of the corpus's last 10 %, for the standard ablation.
 * The papers claim −15 % perplexity for EIT-P; the claims row is full EIT-P against the λ = 0 baseline.
 */
import { compareArms, formatRelative, setupLine } from './compare.js';
import { trainingExperiment } from './training-experiment.js';
import type { ClaimRow, ExperimentOptions, JsonObject, MetricSpec, RunRecord } from './types.js';

export const PERPLEXITY_DEFAULTS = { seeds: 3, steps: 200 };

/** A 2-block, width-32 char-GPT over 64-character windows, batch 16: ~20 s per baseline run on 2 cores (native). */
export function perplexityBase(options: ExperimentOptions): JsonObject {
  return {
    // an empty path makes resolveConfig name task.path and the --data flag
    task: { kind: 'text', path: options.data ?? '', seqLen: 64, heldOut: 0.1, evalSize: 256 },
    model: { kind: 'gpt', width: 32, depth: 2, heads: 2, mlpRatio: 4, tieWeights: true, smearKeys: true },
    batchSize: 16,
    warmupSteps: 20,
  };
}

export const PERPLEXITY_METRICS: readonly MetricSpec[] = [
  { key: 'perplexity', label: 'held-out perplexity', better: 'lower', digits: 3 },
  { key: 'evalLoss', label: 'held-out loss (nats per character)', better: 'lower', digits: 4 },
  { key: 'accuracy', label: 'held-out next-character accuracy', better: 'higher', percent: true, digits: 3 },
  { key: 'trainSeconds', label: 'training time (s)', better: 'lower', digits: 1 },
  { key: 'trainTokensPerSec', label: 'training throughput (tokens/s)', better: 'higher', digits: 0 },
];

export function perplexityClaims(records: readonly RunRecord[]): ClaimRow[] {
  const d = compareArms(records, 'full', 'baseline', 'perplexity');
  return [
    {
      claim: '-15 % perplexity',
      comparison: `full EIT-P vs λ = 0 baseline: held-out perplexity, ${d.n} paired seeds`,
      measured: d.n ? formatRelative(d.relative) : 'not run',
      setup: setupLine(records.filter((r) => r.arm === 'full' || r.arm === 'baseline')),
    },
  ];
}

export const perplexityExperiment = trainingExperiment({
  name: 'perplexity',
  title: 'Perplexity: EIT-P terms against the λ = 0 baseline (char-level language model)',
  description:
    'A char-level GPT is trained on a text corpus (the last 10 % held out) once per arm and seed: the λ = 0 baseline, each EIT-P term alone, and full EIT-P, ' +
    'with the same architecture, steps, tokens and seeds. Held-out perplexity is exp(mean NLL) over non-overlapping 64-character windows. ' +
    'The papers claim −15 % perplexity.',
  defaults: PERPLEXITY_DEFAULTS,
  base: perplexityBase,
  metrics: () => [...PERPLEXITY_METRICS],
  claims: perplexityClaims,
});
