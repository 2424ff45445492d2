/**
 * T(t): the annealed temperature of EITP-SPEC. It enters IEM and the Landauer bound only (and, optionally, the
 * Langevin noise of the trainer), so it is a plain number of the training time, not a tensor.
 */
import { objectArg } from '../args.js';
import * as et from '../../engine/index.js';

export interface TemperatureSchedule {
  /** 'power': T0·(1 + β·t)^(−γ). 'exp': T ← γ·T once per completed epoch, i.e. T0·γ^⌊t⌋. */
  readonly schedule: 'power' | 'exp';
  readonly t0: number;
  readonly beta: number;
  readonly gamma: number;
}

export const DEFAULT_TEMPERATURE: TemperatureSchedule = { schedule: 'power', t0: 1, beta: 1, gamma: 0.5 };

/** T at t fractional epochs. */
export function temperature(epoch: number, schedule?: TemperatureSchedule): number {
  const op = 'temperature';
  const s = schedule === undefined || schedule === null ? DEFAULT_TEMPERATURE : objectArg(schedule, op, 'schedule');
  if (!Number.isFinite(epoch) || epoch < 0) throw new et.ArgumentError(`epoch must be a finite number >= 0, got ${epoch}`, { op });
  if (!Number.isFinite(s.t0) || s.t0 <= 0) throw new et.ArgumentError(`t0 must be > 0, got ${s.t0}`, { op });
  if (s.schedule === 'power') {
    if (!Number.isFinite(s.beta) || s.beta < 0 || !Number.isFinite(s.gamma)) {
      throw new et.ArgumentError(`power schedule needs beta >= 0 and a finite gamma, got beta = ${s.beta}, gamma = ${s.gamma}`, { op });
    }
    return s.t0 * Math.pow(1 + s.beta * epoch, -s.gamma);
  }
  if (s.schedule === 'exp') {
    if (!Number.isFinite(s.gamma) || s.gamma <= 0) throw new et.ArgumentError(`exp schedule needs gamma > 0, got ${s.gamma}`, { op });
    // The spec's rule is a per-epoch update, so T is constant within an epoch.
    return s.t0 * Math.pow(s.gamma, Math.floor(epoch));
  }
  throw new et.ArgumentError(`unknown temperature schedule '${String((s as { schedule: unknown }).schedule)}' (power | exp)`, { op });
}
