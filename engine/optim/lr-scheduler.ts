/**
 * LrScheduler: drives an optimizer's lr from a schedule. Like torch's schedulers it sets lr = baseLr * f(0) on
 * construction and lr = baseLr * f(n) after the n-th step() call, so call step() once after each optimizer step.
 */
import * as et from '../core.js';
import { optionsArg } from '../args.js';
import { describeValue } from '../describe-value.js';
import type { Schedule } from './schedules.js';

export interface LrSchedulerOptions {
  /** Defaults to the optimizer's lr at construction. */
  baseLr?: number;
}

export interface LrSchedulerState {
  stepCount: number;
  baseLr: number;
}

export class LrScheduler {
  readonly baseLr: number;
  stepCount = 0;

  constructor(
    readonly optimizer: { lr: number },
    readonly schedule: Schedule,
    options?: LrSchedulerOptions,
  ) {
    if (optimizer === null || typeof optimizer !== 'object' || typeof optimizer.lr !== 'number') {
      throw new et.ArgumentError(`takes an optimizer (an object with a numeric lr), got ${describeValue(optimizer)}`, { op: 'LrScheduler' });
    }
    if (typeof schedule !== 'function') throw new et.ArgumentError(`takes a schedule function (step => multiplier), got ${describeValue(schedule)}`, { op: 'LrScheduler' });
    const { baseLr = optimizer.lr } = optionsArg(options, 'LrScheduler');
    if (!(baseLr >= 0)) throw new et.ArgumentError(`baseLr must be >= 0, got ${baseLr}`, { op: 'LrScheduler' });
    this.baseLr = baseLr;
    this.apply();
  }

  get lr(): number {
    return this.optimizer.lr;
  }

  step(): void {
    this.stepCount++;
    this.apply();
  }

  private apply(): void {
    this.optimizer.lr = this.baseLr * this.schedule(this.stepCount);
  }

  stateDict(): LrSchedulerState {
    return { stepCount: this.stepCount, baseLr: this.baseLr };
  }

  /** Restores the step count (baseLr comes from the constructor) and re-applies the lr. */
  loadStateDict(state: LrSchedulerState): void {
    this.stepCount = state.stepCount;
    this.apply();
  }
}
