/**
 * Which FTLE estimator L_chaos pulls on (EITP-SPEC "Chaos"): the spec's default `power` (the growth along J's most
 * stretched direction, by power iteration on JᵀJ) against `benettin` (the growth along a random direction carried
 * through the blocks), on the long-range task and model, with full EIT-P and with the chaos term alone, against the
 * λ = 0 baseline. On the main job, full EIT-P with power iteration stops most seeds from learning; this experiment
 * measures whether the estimator is the reason.
 */
import { BASELINE_ARM, type ArmSettings, ablationArms } from './ablation.js';
import { LONG_RANGE_DEFAULTS, distanceFigure, longRangeBase, longRangeMetrics } from './long-range.js';
import { trainingExperiment } from './training-experiment.js';
import type { Json } from './types.js';

const MODES = ['power', 'benettin'] as const;

/** λ_chaos alone (the standard ablation's "chaos" arm: every other term at 0) with the given estimator. */
function chaosAlone(mode: string): Readonly<Record<string, Json>> {
  const arm = ablationArms().find((a) => a.name === 'chaos');
  if (!arm) throw new Error('the standard ablation has no "chaos" arm');
  return { ...arm.settings, 'eitp.chaos.mode': mode };
}

export function chaosEstimatorArms(): ArmSettings[] {
  return [
    BASELINE_ARM,
    ...MODES.map((mode) => ({ name: `full-${mode}`, description: `full EIT-P, ${mode} FTLE${mode === 'power' ? " (the spec's default)" : ''}`, settings: { 'eitp.chaos.mode': mode } })),
    ...MODES.map((mode) => ({ name: `chaos-${mode}`, description: `λ2 (edge of chaos) only, ${mode} FTLE`, settings: chaosAlone(mode) })),
  ];
}

export const chaosEstimatorExperiment = trainingExperiment({
  name: 'chaos-estimator',
  title: 'The FTLE estimator of L_chaos: power iteration against benettin',
  description:
    'The long-range retrieval task and char-GPT, trained with full EIT-P and with the chaos term alone at the spec\'s λ, once with each FTLE estimator: ' +
    '`power` (the spec\'s default: the growth along the most stretched direction) and `benettin` (along a random direction carried through the blocks), ' +
    'against the λ = 0 baseline, with the same seeds.',
  defaults: { seeds: 5, steps: 2 * LONG_RANGE_DEFAULTS.steps },
  base: longRangeBase,
  arms: chaosEstimatorArms,
  metrics: longRangeMetrics,
  figures: distanceFigure,
});
