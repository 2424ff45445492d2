/**
 * Experiment name → experiment. One line per experiment in EXPERIMENTS; `eitp experiment <name>` looks names up here
 * and the claims table asks every experiment listed here for its rows.
 */
import { chaosEstimatorExperiment } from './chaos-estimator.js';
import { claimsExperiment } from './claims.js';
import { compressionExperiment } from './compression.js';
import { energyExperiment } from './energy.js';
import { UnknownExperimentError } from './errors.js';
import { longRangeExperiment } from './long-range.js';
import { perplexityExperiment } from './perplexity.js';
import { speedExperiment } from './speed.js';
import { sweepExperiment } from './sweep-experiment.js';
import type { Experiment } from './types.js';

const EXPERIMENTS: readonly Experiment[] = [
  perplexityExperiment,
  longRangeExperiment,
  speedExperiment,
  energyExperiment,
  compressionExperiment,
  sweepExperiment,
  chaosEstimatorExperiment,
  claimsExperiment,
];

export function experiments(): readonly Experiment[] {
  return EXPERIMENTS;
}

export function experimentNames(): string[] {
  return EXPERIMENTS.map((e) => e.name);
}

/** The registered experiment of this name; UnknownExperimentError lists the known ones otherwise. */
export function getExperiment(name: string): Experiment {
  const e = EXPERIMENTS.find((x) => x.name === name);
  if (!e) throw new UnknownExperimentError(name, experimentNames());
  return e;
}
