/**
 * The log-step readback: every term, metric and (optionally) gradient norm as numbers, the emergence conditions
 * and the edge-of-chaos flag. A non-finite value triggers the weight check, which names a NaN/Inf parameter.
 */
import { moduleArg, objectArg } from '../args.js';
import type * as et from '../../engine/index.js';
import type { EitpModel } from '../models/eitp-model.js';
import { isEdgeOfChaos } from './chaos.js';
import { defaultEitpConfig } from './config.js';
import { assertFiniteWeights } from './finite.js';
import { type EmergenceConditions, emergenceConditions, DEFAULT_EMERGENCE_RANGES } from './iem.js';
import type { EitpConfig, EitpObjective, TermName } from './objective-api.js';

export interface EitpReport {
  readonly total: number;
  readonly terms: Partial<Record<TermName, number>>;
  readonly metrics: Record<string, number>;
  readonly gradientNorms?: Partial<Record<TermName, number>>;
  /** Present when Ĥ and C were measured (report steps). */
  readonly emergence?: EmergenceConditions;
  /** |Λ̂ − Λ*| < 0.1; absent when Λ̂ was not measured. */
  readonly edgeOfChaos?: boolean;
}

async function numbers<K extends string>(rec: Partial<Record<K, number | et.Tensor>>): Promise<Partial<Record<K, number>>> {
  const out: Partial<Record<K, number>> = {};
  for (const [k, v] of Object.entries(rec) as [K, number | et.Tensor][]) out[k] = typeof v === 'number' ? v : await v.item();
  return out;
}

export async function readEitpReport(
  model: EitpModel,
  objective: EitpObjective,
  config: EitpConfig = defaultEitpConfig,
  gradientNorms?: Partial<Record<TermName, et.Tensor>>,
): Promise<EitpReport> {
  moduleArg(model, 'readEitpReport');
  objectArg(objective, 'readEitpReport', 'the objective (eitpObjective(...))');
  objectArg(config, 'readEitpReport', 'config');
  const total = await objective.total.item();
  const terms = await numbers(objective.terms);
  const metrics = (await numbers(objective.metrics)) as Record<string, number>;
  const grads = gradientNorms ? await numbers(gradientNorms) : undefined;
  const all = [total, ...Object.values(terms), ...Object.values(metrics), ...Object.values(grads ?? {})] as number[];
  if (all.some((v) => !Number.isFinite(v))) await assertFiniteWeights(model); // throws naming the tensor, if that is the cause
  const { entropy, temperature: T, fidelity, lyapunov } = metrics;
  const report: EitpReport = {
    total,
    terms,
    metrics,
    ...(grads ? { gradientNorms: grads } : {}),
    ...(entropy !== undefined && T !== undefined && fidelity !== undefined
      ? { emergence: emergenceConditions({ entropy, temperature: T, fidelity, lyapunov }, config.emergence ?? DEFAULT_EMERGENCE_RANGES) }
      : {}),
    ...(lyapunov !== undefined ? { edgeOfChaos: isEdgeOfChaos(lyapunov, config.chaos.target) } : {}),
  };
  return report;
}
