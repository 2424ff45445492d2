/** MLP: Linear layers of the given sizes with an activation between them (none after the last layer). */
import { optionsArg } from '../args.js';
import * as et from '../core.js';
import { describeValue } from '../describe-value.js';
import { type Activation, activate } from './activation.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { deriveSeed } from './seed.js';

export { type Activation, activate };

export interface MLPOptions {
  activation?: Activation;
  seed?: number;
  bias?: boolean;
  dtype?: et.DType;
}

export class MLP extends Module {
  readonly layers: Linear[];
  readonly activation: Activation;

  constructor(
    readonly sizes: readonly number[],
    options?: MLPOptions,
  ) {
    super();
    const { activation = 'relu', seed, bias = true, dtype = 'f32' } = optionsArg(options, 'MLP');
    if (!Array.isArray(sizes)) throw new et.ArgumentError(`sizes must be an array of layer widths, got ${describeValue(sizes)}`, { op: 'MLP' });
    if (sizes.length < 2) {
      throw new et.ArgumentError(`sizes needs at least [in, out], got [${sizes.join(', ')}]`, { op: 'MLP' });
    }
    if (!['relu', 'tanh', 'gelu'].includes(activation)) {
      throw new et.ArgumentError(`unknown activation "${activation}" (relu | tanh | gelu)`, { op: 'MLP' });
    }
    this.activation = activation;
    this.layers = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      const layerSeed = seed === undefined ? undefined : deriveSeed(seed, i);
      this.layers.push(new Linear(sizes[i]!, sizes[i + 1]!, { bias, dtype, ...(layerSeed === undefined ? {} : { seed: layerSeed }) }));
    }
  }

  forward(x: et.Tensor): et.Tensor {
    let h = x;
    // relu and tanh run in the matmul's epilogue; gelu's backward needs its input, so it stays a separate op.
    const fused = this.activation === 'gelu' ? null : this.activation;
    this.layers.forEach((layer, i) => {
      const hidden = i < this.layers.length - 1;
      h = layer.forward(h, hidden && fused ? fused : 'none');
      if (hidden && !fused) h = activate(h, this.activation);
    });
    return h;
  }
}
