/** AdamW: Adam with decoupled weight decay (p *= 1 - lr * weightDecay before the Adam step), torch's default 0.01. */
import type * as et from '../core.js';
import { optionsArg } from '../args.js';
import { Adam, type AdamOptions } from './adam.js';

export class AdamW extends Adam {
  constructor(params: Iterable<et.Tensor>, options?: AdamOptions) {
    const { weightDecay = 0.01, ...rest } = optionsArg(options, 'AdamW');
    super(params, { ...rest, weightDecay });
  }

  protected override get decoupled(): boolean {
    return true;
  }

  override get type(): string {
    return 'AdamW';
  }
}
