/** Turning numbers into tensors and broadcasting operands, for the public op functions. */
import { scalarLike } from '../creation.js';
import { ArgumentError } from '../errors.js';
import { broadcastShapes, shapesEqual } from '../shape.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { expand } from './views.js';

/** Converts number operands to 0-d tensors shaped like the first tensor operand. */
export function operands(op: string, xs: readonly TensorLike[]): Tensor[] {
  const like = xs.find((x): x is Tensor => x instanceof Tensor);
  if (!like) throw new ArgumentError('at least one operand must be a Tensor', { op });
  return xs.map((x) => {
    if (x instanceof Tensor) return x;
    if (typeof x !== 'number') throw new ArgumentError(`operands must be Tensors or numbers, got ${typeof x}`, { op });
    return scalarLike(x, like);
  });
}

/** Broadcasts tensors to a common shape with stride-0 views (recorded, so gradients sum back). */
export function broadcastAll(op: string, ts: readonly Tensor[]): Tensor[] {
  // the common case (operands of one shape) without building the broadcast shape
  if (ts.every((t) => shapesEqual(t.shape, ts[0]!.shape))) return [...ts];
  const shape = broadcastShapes(
    ts.map((t) => t.shape),
    op,
  );
  return ts.map((t) => (shapesEqual(t.shape, shape) ? t : expand(t, shape)));
}
