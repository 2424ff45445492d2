/** AdamW: Adam with decoupled weight decay (p *= 1 - lr * weightDecay before the Adam step), torch's default 0.01. */
import type * as et from '../core.js';
import { Adam, type AdamOptions } from './adam.js';

export class AdamW extends Adam {
  constructor(params: Iterable<et.Tensor>, { weightDecay = 0.01, ...rest }: AdamOptions = {}) {
    super(params, { ...rest, weightDecay });
  }

  protected override get decoupled(): boolean {
    return true;
  }

  override get type(): string {
    return 'AdamW';
  }
}
