/** Embedding: a lookup table [numEmbeddings, dim] indexed by i32 ids, initialised N(0, 1) like torch.nn.Embedding. */
import { optionsArg } from '../args.js';
import * as et from '../core.js';
import { positiveInt } from './check.js';
import { Module } from './module.js';
import { seedOpt } from './seed.js';

export interface EmbeddingOptions {
  seed?: number;
  dtype?: et.DType;
}

export class Embedding extends Module {
  weight: et.Tensor;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options?: EmbeddingOptions,
  ) {
    super();
    const { seed, dtype = 'f32' } = optionsArg(options, 'Embedding');
    positiveInt('Embedding', 'numEmbeddings', numEmbeddings);
    positiveInt('Embedding', 'embeddingDim', embeddingDim);
    this.weight = et.randn([numEmbeddings, embeddingDim], { dtype, requiresGrad: true, ...seedOpt(seed, 0) });
  }

  /** indices: i32 of any shape -> [...indices.shape, embeddingDim]. */
  forward(indices: et.Tensor): et.Tensor {
    if (indices.dtype !== 'i32') {
      throw new et.DTypeError(`Embedding(${this.numEmbeddings}, ${this.embeddingDim}): indices must be i32`, {
        op: 'Embedding',
        shapes: [indices.shape],
        dtypes: [indices.dtype],
      });
    }
    return et.embedding(this.weight, indices);
  }
}
