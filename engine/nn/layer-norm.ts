/** LayerNorm over the last axis, with an optional learned scale (ones) and shift (zeros) like torch.nn.LayerNorm. */
import { optionsArg } from '../args.js';
import * as et from '../core.js';
import { positiveInt } from './check.js';
import { Module } from './module.js';

export interface LayerNormOptions {
  eps?: number;
  elementwiseAffine?: boolean;
  dtype?: et.DType;
}

export class LayerNorm extends Module {
  weight: et.Tensor | null;
  bias: et.Tensor | null;
  readonly eps: number;

  constructor(
    readonly dim: number,
    options?: LayerNormOptions,
  ) {
    super();
    const { eps = 1e-5, elementwiseAffine = true, dtype = 'f32' } = optionsArg(options, 'LayerNorm');
    positiveInt('LayerNorm', 'dim', dim);
    if (!(eps >= 0)) throw new et.ArgumentError(`eps must be >= 0, got ${eps}`, { op: 'LayerNorm' });
    this.eps = eps;
    this.weight = elementwiseAffine ? et.ones([dim], { dtype, requiresGrad: true }) : null;
    this.bias = elementwiseAffine ? et.zeros([dim], { dtype, requiresGrad: true }) : null;
  }

  forward(x: et.Tensor): et.Tensor {
    if (x.rank === 0 || x.shape[x.shape.length - 1] !== this.dim) {
      throw new et.ShapeError(`LayerNorm(${this.dim}): the input's last axis must be ${this.dim}`, {
        op: 'LayerNorm',
        shapes: [x.shape],
        dtypes: [x.dtype],
      });
    }
    return et.layerNorm(x, this.weight, this.bias, this.eps);
  }
}
