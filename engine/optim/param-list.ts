/** The parameters an optimizer or clipGradNorm takes: any iterable of Tensors (an array, a Set, a generator). */
import * as et from '../core.js';
import { describeValue } from '../describe-value.js';

/** Checked and listed (possibly empty: the optimizers refuse an empty list after checking lr, clipGradNorm takes it). */
export function paramList(params: Iterable<et.Tensor>, op: string): et.Tensor[] {
  const iterable = params !== null && typeof params === 'object' && typeof (params as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
  if (!iterable) throw new et.ArgumentError(`params must be an iterable of Tensors (model.parameters()), got ${describeValue(params)}`, { op });
  const list = [...params];
  list.forEach((p, i) => {
    if (!(p instanceof et.Tensor)) throw new et.ArgumentError(`params[${i}] is not a Tensor, got ${describeValue(p)}`, { op });
  });
  return list;
}
