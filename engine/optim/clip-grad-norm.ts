/**
 * clipGradNorm: torch.nn.utils.clip_grad_norm_ with the L2 norm. The scaling is a tensor op
 * (coef = min(maxNorm / (norm + 1e-6), 1)) applied to every grad, never a branch on a read-back value, so it
 * never forces a device-to-host sync; multiplying by exactly 1 leaves small grads unchanged.
 */
import * as et from '../core.js';
import { paramList } from './param-list.js';

/** Returns the total norm of all grads (before clipping) as a scalar tensor owned by the caller. */
export function clipGradNorm(params: Iterable<et.Tensor>, maxNorm: number): et.Tensor {
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) {
    throw new et.ArgumentError(`maxNorm must be a number >= 0, got ${maxNorm}`, { op: 'clipGradNorm' });
  }
  const grads = paramList(params, 'clipGradNorm').map((p) => p.grad).filter((g): g is et.Tensor => g !== null);
  if (grads.length === 0) return et.tensor(0);
  const dtype = grads[0]!.dtype;
  return et.tidy(() =>
    et.noGrad(() => {
      let sumSq: et.Tensor | null = null;
      for (const g of grads) {
        let s = g.square().sum();
        if (s.dtype !== dtype) s = s.cast(dtype);
        sumSq = sumSq ? sumSq.add(s) : s;
      }
      const total = sumSq!.sqrt();
      const coef = et.minimum(et.tensor(maxNorm, { dtype }).div(total.add(1e-6)), 1);
      for (const g of grads) g.assign(g.mul(g.dtype === dtype ? coef : coef.cast(g.dtype)));
      return total;
    }),
  );
}
