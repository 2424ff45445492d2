/**
 * The standard ablation of EITP-SPEC: the λ = 0 baseline (every term off, β_IEM = 0), each of the four terms alone
 * at its configured λ, and full EIT-P (all four). Arms are settings over the base config, so a λ changed with --set
 * moves the "alone" and "full" arms with it while the baseline stays at zero.
 */
import type { Json } from './types.js';

export interface ArmSettings {
  readonly name: string;
  readonly description?: string;
  /** Dotted TrainConfig paths → values, applied over the experiment's base config. */
  readonly settings: Readonly<Record<string, Json>>;
}

export const LAMBDAS = {
  thermo: 'eitp.lambdaThermo',
  chaos: 'eitp.lambdaChaos',
  coherence: 'eitp.lambdaCoherence',
  path: 'eitp.lambdaPath',
} as const;

const SYMBOL: Record<keyof typeof LAMBDAS, string> = { thermo: 'λ1 (Landauer)', chaos: 'λ2 (edge of chaos)', coherence: 'λ3 (coherence)', path: 'λ4 (path norm)' };

/** Every λ and β_IEM at 0. */
export const BASELINE_SETTINGS: Readonly<Record<string, Json>> = { ...Object.fromEntries(Object.values(LAMBDAS).map((p) => [p, 0])), 'eitp.betaIem': 0 };

export const BASELINE_ARM: ArmSettings = { name: 'baseline', description: 'λ = 0 (every EIT-P term off)', settings: BASELINE_SETTINGS };

export function ablationArms(): ArmSettings[] {
  const terms = Object.keys(LAMBDAS) as (keyof typeof LAMBDAS)[];
  return [
    BASELINE_ARM,
    ...terms.map((t) => ({
      name: t,
      description: `${SYMBOL[t]} only`,
      settings: { ...Object.fromEntries(terms.filter((o) => o !== t).map((o) => [LAMBDAS[o], 0])), 'eitp.betaIem': 0 },
    })),
    { name: 'full', description: 'full EIT-P (λ1-λ4 at their configured values)', settings: {} },
  ];
}

/** The baseline and full EIT-P only (speed and energy, where the λs cannot matter term by term). */
export function baselineAndFull(): ArmSettings[] {
  const arms = ablationArms();
  return [arms[0]!, arms[arms.length - 1]!];
}
