/**
 * IEM and emergence (EITP-SPEC "IEM and emergence"): reported every log step, optimised only when β_IEM ≠ 0.
 * IEM = α·Ĥ·T·C (the papers' mc² is a constant factor and is never reported). P_emerge = σ(10·(Ĥ − 0.5)) and four
 * boolean "emergence conditions".
 */
import { describeArg, objectArg, tensorArg } from '../args.js';
import * as et from '../../engine/index.js';
import { STRONG_COHERENCE } from './fidelity.js';

type Tensor = et.Tensor;

export const DEFAULT_IEM_ALPHA = 0.1;

/** IEM = α·Ĥ·T·C (Ĥ and C tensors, T a number of the schedule). */
export function iem(entropy: Tensor, temperature: number, fidelity: Tensor, alpha = DEFAULT_IEM_ALPHA): Tensor {
  tensorArg(entropy, 'iem', 'entropy');
  tensorArg(fidelity, 'iem', 'fidelity');
  for (const [name, v] of [['temperature', temperature], ['alpha', alpha]] as const) {
    if (typeof v !== 'number' || Number.isNaN(v)) throw new et.ArgumentError(`${name} must be a number, got ${describeArg(v)}`, { op: 'iem' });
  }
  return entropy.mul(fidelity).mul(alpha * temperature);
}

/** P_emerge = σ(10·(Ĥ − 0.5)). */
export function emergenceProbability(entropy: Tensor): Tensor {
  tensorArg(entropy, 'emergenceProbability', 'entropy');
  return entropy.sub(0.5).mul(10).sigmoid();
}

/**
 * The ranges of the "Ĥ in range" and "T in range" conditions. The spec leaves them open; ours: Ĥ ∈ [0.5, 0.95]
 * (above P_emerge's midpoint, below a flat histogram over ±4σ; Gaussian weights give 0.84) and T ∈ [0.05, 1]
 * (from T0 down to where the default schedule is after ~400 epochs).
 */
export interface EmergenceRanges {
  readonly entropy: readonly [number, number];
  readonly temperature: readonly [number, number];
}

export const DEFAULT_EMERGENCE_RANGES: EmergenceRanges = { entropy: [0.5, 0.95], temperature: [0.05, 1] };

export interface EmergenceConditions {
  readonly entropyInRange: boolean;
  readonly temperatureInRange: boolean;
  /** C > 0.8 */
  readonly strongCoherence: boolean;
  /** |Λ̂| < 0.1; false when Λ̂ was not measured */
  readonly edgeOfChaos: boolean;
}

export function emergenceConditions(
  v: { entropy: number; temperature: number; fidelity: number; lyapunov?: number | undefined },
  ranges: EmergenceRanges = DEFAULT_EMERGENCE_RANGES,
): EmergenceConditions {
  objectArg(v, 'emergenceConditions', 'the values ({ entropy, temperature, fidelity, lyapunov? })');
  objectArg(ranges, 'emergenceConditions', 'ranges');
  for (const k of ['entropy', 'temperature'] as const) {
    const r: unknown = ranges[k];
    if (!Array.isArray(r) || r.length !== 2 || r.some((x) => typeof x !== 'number')) {
      throw new et.ArgumentError(`ranges.${k} must be a [low, high] pair of numbers, got ${describeArg(r)}`, { op: 'emergenceConditions' });
    }
  }
  const within = (x: number, [lo, hi]: readonly [number, number]) => x >= lo && x <= hi;
  return {
    entropyInRange: within(v.entropy, ranges.entropy),
    temperatureInRange: within(v.temperature, ranges.temperature),
    strongCoherence: v.fidelity > STRONG_COHERENCE,
    edgeOfChaos: v.lyapunov !== undefined && Math.abs(v.lyapunov) < 0.1,
  };
}
