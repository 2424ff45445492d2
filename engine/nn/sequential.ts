/** Sequential: applies its modules in order. Children are named by index ("0.weight"), as in torch.nn.Sequential. */
import type * as et from '../core.js';
import { Module } from './module.js';

export class Sequential extends Module {
  readonly modules: Module<[et.Tensor], et.Tensor>[];

  constructor(...modules: Module<[et.Tensor], et.Tensor>[]) {
    super();
    this.modules = modules;
  }

  protected override members(): [string, unknown][] {
    return this.modules.map((m, i) => [String(i), m]);
  }

  forward(x: et.Tensor): et.Tensor {
    return this.modules.reduce((h, m) => m.forward(h), x);
  }
}
