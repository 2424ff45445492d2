/**
 * Sweeps as experiments: arms from a grid or a seeded random search over dotted config paths (the λs, β_IEM, the
 * temperature schedule), always beside the λ = 0 baseline, reported like any ablation. The shipped `sweep` is a
 * random search over all of them on the long-range task. Note that T(t) reaches training only through IEM
 * (β_IEM > 0) or Langevin noise: with β_IEM = 0 and no Langevin, a temperature setting changes nothing but the logs.
 */
import { type ArmSettings, BASELINE_ARM } from './ablation.js';
import { type Settings, gridSettings, settingsName } from './grid.js';
import { LONG_RANGE_DEFAULTS, distanceFigure, longRangeBase, longRangeMetrics } from './long-range.js';
import { randomSettings } from './sweep.js';
import { trainingExperiment } from './training-experiment.js';
import type { Json } from './types.js';

export type SweepSpec =
  | { readonly kind: 'grid'; readonly space: Readonly<Record<string, readonly Json[]>> }
  | { readonly kind: 'random'; readonly space: Readonly<Record<string, unknown>>; readonly samples: number; readonly seed: number };

/** The baseline, then one arm per grid point or random sample. */
export function sweepArms(sweep: SweepSpec): ArmSettings[] {
  const points: Settings[] = sweep.kind === 'grid' ? gridSettings(sweep.space) : randomSettings(sweep.space, sweep.samples, sweep.seed);
  const arms: ArmSettings[] = [BASELINE_ARM];
  const used = new Set(['baseline']);
  points.forEach((settings, i) => {
    let name = sweep.kind === 'grid' ? settingsName(settings) : `r${i + 1}`;
    while (used.has(name)) name = `${name}#${i + 1}`;
    used.add(name);
    arms.push({ name, description: settingsName(settings), settings });
  });
  return arms;
}

const LAMBDA_RANGE = { min: 1e-3, max: 1, log: true };

/** The shipped random search: every λ log-uniform in [1e-3, 1], β_IEM ∈ {0, 0.1}, T0 and γ_T of the schedule. */
export const DEFAULT_SWEEP: SweepSpec = {
  kind: 'random',
  samples: 8,
  seed: 0,
  space: {
    'eitp.lambdaThermo': LAMBDA_RANGE,
    'eitp.lambdaChaos': LAMBDA_RANGE,
    'eitp.lambdaCoherence': LAMBDA_RANGE,
    'eitp.lambdaPath': LAMBDA_RANGE,
    'eitp.betaIem': [0, 0.1],
    'eitp.temperature.t0': { min: 0.1, max: 10, log: true },
    'eitp.temperature.gamma': { min: 0.25, max: 1 },
  },
};

export const sweepExperiment = trainingExperiment({
  name: 'sweep',
  title: 'Random search over the EIT-P λs, β_IEM and the temperature schedule (long-range retrieval)',
  description:
    'Eight random configurations (each λ log-uniform in [1e-3, 1], β_IEM ∈ {0, 0.1}, T0 log-uniform in [0.1, 10], γ_T uniform in [0.25, 1]; sampler seed 0) ' +
    'and the λ = 0 baseline, trained on multi-key retrieval with the same architecture, steps and seeds. T(t) affects training only through IEM (β_IEM > 0). ' +
    'Does any setting of the terms beat the baseline?',
  defaults: { seeds: 2, steps: LONG_RANGE_DEFAULTS.steps },
  base: longRangeBase,
  arms: () => sweepArms(DEFAULT_SWEEP),
  metrics: longRangeMetrics,
  figures: distanceFigure,
});
