/**
 * Dropout with reproducible masks. The k-th training call of a Dropout built with seed s always draws its
 * mask from the stream deriveSeed(s, k) (counter-based, like JAX's fold_in), so a rerun with the same seed
 * drops the same units no matter what else used the global RNG in between. Without a seed the global RNG is
 * used (reproducible through et.seed).
 */
import { optionsArg } from '../args.js';
import * as et from '../core.js';
import { Module } from './module.js';
import { seedOpt } from './seed.js';

export interface DropoutOptions {
  seed?: number;
}

export class Dropout extends Module {
  readonly seed: number | undefined;
  /** Training-mode calls so far; the next mask is number `calls`. Settable to replay a run from a step. */
  calls = 0;

  constructor(
    readonly p: number,
    options?: DropoutOptions,
  ) {
    super();
    const { seed } = optionsArg(options, 'Dropout');
    if (!(p >= 0 && p <= 1)) throw new et.ArgumentError(`p must be in [0, 1], got ${p}`, { op: 'Dropout' });
    this.seed = seed;
  }

  forward(x: et.Tensor): et.Tensor {
    if (!this.training || this.p === 0) return x;
    const k = this.calls++;
    if (this.p === 1) return x.mul(0);
    const scale = 1 / (1 - this.p);
    // Inverted dropout: kept units are scaled by 1/(1-p) so eval mode needs no rescaling.
    // U[0,1) >= p keeps each unit with probability 1-p.
    const mask = et.tidy(() =>
      et.noGrad(() =>
        et
          .rand(x.shape, { dtype: x.dtype, ...seedOpt(this.seed, k) })
          .ge(this.p)
          .cast(x.dtype)
          .mul(scale),
      ),
    );
    return x.mul(mask);
  }
}
