/**
 * Learning-rate schedules as pure functions of the step: each returns a multiplier of the base lr, so the same
 * schedule serves any optimizer and any base lr (LrScheduler does lr = baseLr * f(step)). Steps count from 0.
 */
import { optionsArg } from '../args.js';
import * as et from '../core.js';

export type Schedule = (step: number) => number;

function check(name: string, cond: boolean, what: string): void {
  if (!cond) throw new et.ArgumentError(what, { op: name });
}

export function constant(): Schedule {
  return () => 1;
}

/**
 * Ramps linearly to 1 over warmupSteps: f(step) = min(1, (step + 1) / warmupSteps). The +1 makes the first
 * update use a non-zero lr (step 0 gives 1/warmupSteps); f reaches 1 at step warmupSteps - 1.
 */
export function linearWarmup(warmupSteps: number): Schedule {
  check('linearWarmup', Number.isInteger(warmupSteps) && warmupSteps >= 0, `warmupSteps must be an integer >= 0, got ${warmupSteps}`);
  return (step) => (warmupSteps === 0 ? 1 : Math.min(1, (step + 1) / warmupSteps));
}

export interface CosineOptions {
  warmupSteps?: number;
  /** The floor the schedule decays to, as a multiplier of the base lr (0.1 = 10% of base). Default 0. */
  minLr?: number;
}

/**
 * Linear warmup (as linearWarmup) then half-cosine decay from 1 to minLr, reached at totalSteps and held after.
 */
export function cosine(totalSteps: number, options?: CosineOptions): Schedule {
  const { warmupSteps = 0, minLr = 0 } = optionsArg(options, 'cosine');
  check('cosine', Number.isInteger(totalSteps) && totalSteps > 0, `totalSteps must be a positive integer, got ${totalSteps}`);
  check('cosine', Number.isInteger(warmupSteps) && warmupSteps >= 0 && warmupSteps <= totalSteps, `warmupSteps must be an integer in [0, totalSteps], got ${warmupSteps}`);
  check('cosine', minLr >= 0 && minLr <= 1, `minLr is a multiplier of the base lr in [0, 1], got ${minLr}`);
  const warm = linearWarmup(warmupSteps);
  return (step) => {
    if (step < warmupSteps) return warm(step);
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return minLr + (1 - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/** torch.optim.lr_scheduler.StepLR: multiplies by gamma every stepSize steps. */
export function stepDecay(stepSize: number, gamma: number): Schedule {
  check('stepDecay', Number.isInteger(stepSize) && stepSize > 0, `stepSize must be a positive integer, got ${stepSize}`);
  check('stepDecay', gamma >= 0, `gamma must be >= 0, got ${gamma}`);
  return (step) => gamma ** Math.floor(step / stepSize);
}
