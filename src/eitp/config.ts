/** The spec's defaults for every EIT-P setting, and the checks that turn a bad config into a clear error. */
import { objectArg, optionsArg } from '../args.js';
import * as et from '../../engine/index.js';
import type { EitpConfig } from './objective-api.js';

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    Object.values(o).forEach(deepFreeze);
    Object.freeze(o);
  }
  return o;
}

/** EITP-SPEC defaults: λ1 = 0.01, λ2 = 0.1, λ3 = 0.1, λ4 = 0.01, β_IEM = 0, T0 = 1, β_T = 1, γ_T = 0.5, α = 0.1. */
export const defaultEitpConfig: EitpConfig = deepFreeze({
  lambdaThermo: 0.01,
  lambdaChaos: 0.1,
  lambdaCoherence: 0.1,
  lambdaPath: 0.01,
  betaIem: 0,
  temperature: { schedule: 'power', t0: 1, beta: 1, gamma: 0.5 },
  chaos: { mode: 'power', target: 0, oneSided: false, subBatch: 4 },
  path: { mode: 'l1_path' },
  coherence: { maxFeatures: 256, seed: 0 },
  entropy: { maxSamples: 65536, seed: 0 },
  iemAlpha: 0.1,
} satisfies EitpConfig);

/** The defaults with some fields replaced (one level deep for the nested groups). */
export function eitpConfig(given?: Partial<{ [K in keyof EitpConfig]: Partial<EitpConfig[K]> }>): EitpConfig {
  const overrides = optionsArg(given, 'eitpConfig', 'overrides');
  const d = defaultEitpConfig as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { ...d };
  for (const [k, v] of Object.entries(overrides)) {
    const base = d[k];
    out[k] = base && typeof base === 'object' && v && typeof v === 'object' && !Array.isArray(v) ? { ...base, ...v } : v;
  }
  checkConfig(out as unknown as EitpConfig);
  return out as unknown as EitpConfig;
}

export function checkConfig(c: EitpConfig): void {
  const op = 'eitpConfig';
  objectArg(c, op, 'config');
  for (const k of ['lambdaThermo', 'lambdaChaos', 'lambdaCoherence', 'lambdaPath'] as const) {
    if (!Number.isFinite(c[k]) || c[k] < 0) throw new et.ArgumentError(`${k} must be a finite number >= 0 (0 switches the term off), got ${c[k]}`, { op });
  }
  if (!Number.isFinite(c.betaIem)) throw new et.ArgumentError(`betaIem must be a finite number, got ${c.betaIem}`, { op });
  if (!Number.isFinite(c.iemAlpha)) throw new et.ArgumentError(`iemAlpha must be a finite number, got ${c.iemAlpha}`, { op });
  if (c.chaos.mode !== 'power' && c.chaos.mode !== 'benettin') throw new et.ArgumentError(`chaos.mode must be 'power' or 'benettin', got '${String(c.chaos.mode)}'`, { op });
  if (!Number.isInteger(c.chaos.subBatch) || c.chaos.subBatch < 1) throw new et.ArgumentError(`chaos.subBatch must be a positive integer, got ${c.chaos.subBatch}`, { op });
  if (!Number.isFinite(c.chaos.target)) throw new et.ArgumentError(`chaos.target must be finite, got ${c.chaos.target}`, { op });
  if (c.path.mode !== 'l1_path' && c.path.mode !== 'spectral_sum') throw new et.ArgumentError(`path.mode must be 'l1_path' or 'spectral_sum', got '${String(c.path.mode)}'`, { op });
  if (!Number.isInteger(c.coherence.maxFeatures) || c.coherence.maxFeatures < 2) throw new et.ArgumentError(`coherence.maxFeatures must be an integer >= 2, got ${c.coherence.maxFeatures}`, { op });
  if (!Number.isInteger(c.entropy.maxSamples) || c.entropy.maxSamples < 1) throw new et.ArgumentError(`entropy.maxSamples must be a positive integer, got ${c.entropy.maxSamples}`, { op });
  if (c.every !== undefined && !(Number.isInteger(c.every) && c.every >= 1)) throw new et.ArgumentError(`every must be a positive integer (1 = every step), got ${c.every}`, { op });
}
