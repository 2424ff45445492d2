/** Linear: y = x W^T + b over the last axis, with PyTorch's weight layout [out, in] and default init. */
import { optionsArg } from '../args.js';
import * as et from '../core.js';
import { activate } from './activation.js';
import { positiveInt } from './check.js';
import { Module } from './module.js';
import { seedOpt } from './seed.js';

export interface LinearOptions {
  bias?: boolean;
  /** Seeds the init; without it the global RNG (et.seed) is used. */
  seed?: number;
  dtype?: et.DType;
}

export class Linear extends Module {
  /** [outFeatures, inFeatures], as in torch.nn.Linear, so state dicts map one to one. Not readonly: weight tying. */
  weight: et.Tensor;
  bias: et.Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options?: LinearOptions,
  ) {
    super();
    const { bias = true, seed, dtype = 'f32' } = optionsArg(options, 'Linear');
    positiveInt('Linear', 'inFeatures', inFeatures);
    positiveInt('Linear', 'outFeatures', outFeatures);
    // torch's kaiming_uniform_(a=sqrt(5)) for the weight reduces to U(-1/sqrt(in), 1/sqrt(in)); the bias uses the same bound.
    const k = 1 / Math.sqrt(inFeatures);
    const init = { low: -k, high: k, dtype, requiresGrad: true };
    this.weight = et.rand([outFeatures, inFeatures], { ...init, ...seedOpt(seed, 0) });
    this.bias = bias ? et.rand([outFeatures], { ...init, ...seedOpt(seed, 1) }) : null;
  }

  /** y = act(x Wᵀ + b); with a bias the bias and activation run in the matmul's epilogue (one et.linear kernel). */
  forward(x: et.Tensor, activation: 'none' | et.GradActivation = 'none'): et.Tensor {
    const last = x.shape[x.shape.length - 1];
    if (x.rank === 0 || last !== this.inFeatures) {
      throw new et.ShapeError(`Linear(${this.inFeatures}, ${this.outFeatures}): the input's last axis must be ${this.inFeatures}`, {
        op: 'Linear',
        shapes: [x.shape, this.weight.shape],
        dtypes: [x.dtype, this.weight.dtype],
      });
    }
    const wt = this.weight.transpose();
    if (this.bias) return x.rank === 1 ? et.linear(x.unsqueeze(0), wt, this.bias, activation).squeeze(0) : et.linear(x, wt, this.bias, activation);
    // matmul broadcasts over any leading axes of x against the 2-D W^T.
    const y = x.matmul(wt);
    return activate(y, activation);
  }
}
