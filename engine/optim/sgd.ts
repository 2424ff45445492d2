/**
 * SGD with momentum, dampening, Nesterov and L2 weight decay: torch.optim.SGD's update rule, step for step. By
 * default one fused et.sgdStep kernel per parameter updates p (and the momentum buffer); `fused: false` runs the
 * same math as elementwise ops, the reference the fused kernels are tested against.
 */
import * as et from '../core.js';
import { describeValue } from '../describe-value.js';
import { Optimizer } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
  /** One fused kernel per parameter (default) or a chain of elementwise ops. */
  fused?: boolean;
}

export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  readonly fused: boolean;

  constructor(params: Iterable<et.Tensor>, options: SGDOptions) {
    if (options === null || typeof options !== 'object') {
      throw new et.ArgumentError(`takes its options with the learning rate, { lr }, got ${describeValue(options)}`, { op: 'SGD' });
    }
    const { lr, momentum = 0, dampening = 0, nesterov = false, weightDecay = 0, fused = true } = options;
    super(params, lr);
    const op = 'SGD';
    if (!(momentum >= 0)) throw new et.ArgumentError(`momentum must be >= 0, got ${momentum}`, { op });
    if (!(weightDecay >= 0)) throw new et.ArgumentError(`weightDecay must be >= 0, got ${weightDecay}`, { op });
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new et.ArgumentError(`nesterov needs momentum > 0 and dampening 0 (got momentum ${momentum}, dampening ${dampening})`, { op });
    }
    this.momentum = momentum;
    this.dampening = dampening;
    this.nesterov = nesterov;
    this.weightDecay = weightDecay;
    this.fused = fused;
  }

  get type(): string {
    return 'SGD';
  }

  protected hyper(): Record<string, number | boolean> {
    return { momentum: this.momentum, dampening: this.dampening, nesterov: this.nesterov, weightDecay: this.weightDecay, fused: this.fused };
  }

  protected update(i: number, p: et.Tensor, grad: et.Tensor): void {
    if (this.fused) {
      const first = this.momentum !== 0 && !this.hasState(i, 'momentumBuffer');
      const buf = this.momentum !== 0 ? this.stateTensor(i, 'momentumBuffer') : grad;
      const { momentum, dampening, nesterov, weightDecay, lr } = this;
      const packed = et.sgdStep(p, grad, buf, { lr, momentum, dampening, nesterov, weightDecay, first });
      this.adoptPacked(packed, this.momentum !== 0 ? [p, buf] : [p]);
      return;
    }
    let d = this.weightDecay !== 0 ? grad.add(p.mul(this.weightDecay)) : grad;
    if (this.momentum !== 0) {
      const fresh = !this.hasState(i, 'momentumBuffer');
      const buf = this.stateTensor(i, 'momentumBuffer');
      // torch starts the buffer at the first gradient itself (no dampening on step 1).
      buf.assign(fresh ? d : buf.mul(this.momentum).add(d.mul(1 - this.dampening)));
      d = this.nesterov ? d.add(buf.mul(this.momentum)) : buf;
    }
    p.assign(p.sub(d.mul(this.lr)));
  }
}
