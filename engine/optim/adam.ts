/**
 * Adam, exactly torch.optim.Adam's single-tensor update (L2 weight decay added to the gradient, bias correction
 * folded into the step size and the denominator). AdamW reuses it with decoupled weight decay.
 * By default one fused et.adamStep kernel per parameter updates p and both moments (`fused: false` runs the
 * same math as a chain of elementwise ops, the reference the fused kernels are tested against).
 */
import * as et from '../core.js';
import { optionsArg } from '../args.js';
import { describeValue } from '../describe-value.js';
import { Optimizer } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  /** One fused kernel per parameter (default) or a chain of elementwise ops. */
  fused?: boolean;
}

export class Adam extends Optimizer {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly fused: boolean;
  /** AdamW: decay the parameter directly instead of adding weightDecay * p to the gradient. */
  protected get decoupled(): boolean {
    return false;
  }

  constructor(params: Iterable<et.Tensor>, options?: AdamOptions) {
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0, fused = true } = optionsArg(options, new.target.name);
    super(params, lr);
    const op = new.target.name;
    if (!Array.isArray(betas) || betas.length !== 2) throw new et.ArgumentError(`betas must be a pair [beta1, beta2], got ${describeValue(betas)}`, { op });
    betas.forEach((b, i) => {
      if (!(b >= 0 && b < 1)) throw new et.ArgumentError(`betas[${i}] must be in [0, 1), got ${b}`, { op });
    });
    if (!(eps >= 0)) throw new et.ArgumentError(`eps must be >= 0, got ${eps}`, { op });
    if (!(weightDecay >= 0)) throw new et.ArgumentError(`weightDecay must be >= 0, got ${weightDecay}`, { op });
    this.betas = [betas[0], betas[1]];
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.fused = fused;
  }

  get type(): string {
    return 'Adam';
  }

  protected hyper(): Record<string, number | boolean | number[]> {
    return { betas: [...this.betas], eps: this.eps, weightDecay: this.weightDecay, fused: this.fused };
  }

  protected update(i: number, p: et.Tensor, grad: et.Tensor, step: number): void {
    const [beta1, beta2] = this.betas;
    const expAvg = this.stateTensor(i, 'expAvg');
    const expAvgSq = this.stateTensor(i, 'expAvgSq');
    // Scalars in JS doubles, as torch computes them in Python floats.
    const biasCorrection1 = 1 - beta1 ** step;
    const biasCorrection2 = 1 - beta2 ** step;
    const stepSize = this.lr / biasCorrection1;
    const decay = this.decoupled && this.weightDecay !== 0 ? 1 - this.lr * this.weightDecay : 1;
    if (this.fused) {
      const packed = et.adamStep(p, grad, expAvg, expAvgSq, {
        beta1,
        beta2,
        eps: this.eps,
        weightDecay: this.decoupled ? 0 : this.weightDecay,
        decay,
        stepSize,
        bias2Sqrt: Math.sqrt(biasCorrection2),
      });
      this.adoptPacked(packed, [p, expAvg, expAvgSq]);
      return;
    }
    let g = grad;
    if (this.weightDecay !== 0) {
      if (this.decoupled) p.assign(p.mul(decay));
      else g = g.add(p.mul(this.weightDecay));
    }
    expAvg.assign(expAvg.mul(beta1).add(g.mul(1 - beta1)));
    expAvgSq.assign(expAvgSq.mul(beta2).add(g.mul(g).mul(1 - beta2)));
    const denom = expAvgSq.sqrt().div(Math.sqrt(biasCorrection2)).add(this.eps);
    p.assign(p.sub(expAvg.div(denom).mul(stepSize)));
  }
}
