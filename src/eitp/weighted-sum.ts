/**
 * Σ_i c_i·t_i over scalar terms with constant weights c_i (the objective's λ-weighted total, L_thermo's FLOP-weighted
 * densities). Term by term it is a product per term and a sum per extra term forward, and a product per term
 * backward (the cotangent times c_i): 3n − 1 engine calls for n terms. As one dot product of the stacked terms with
 * the weights it is 3 whatever n (a stack and a product forward; one product backward, whose [n] result the stack's
 * VJP hands out as views). The same sum; only the order of the floating-point additions may differ.
 */
import * as et from '../../engine/index.js';

type Tensor = et.Tensor;

/** Σ c_i·t_i for scalar tensors t_i of one dtype and backend; a single term is t·c as before (no cheaper dot). */
export function weightedSum(terms: readonly Tensor[], weights: readonly number[]): Tensor {
  const op = 'weightedSum';
  if (terms.length === 0 || terms.length !== weights.length) {
    throw new et.ArgumentError(`needs one weight per term and at least one term, got ${terms.length} terms and ${weights.length} weights`, { op });
  }
  for (const t of terms) {
    if (t.rank !== 0) throw new et.ShapeError('every term must be a scalar', { op, shapes: terms.map((x) => x.shape) });
  }
  if (!weights.every(Number.isFinite)) throw new et.ArgumentError(`weights must be finite, got ${weights.join(', ')}`, { op });
  const first = terms[0]!;
  if (terms.length === 1) return weights[0] === 1 ? first : first.mul(weights[0]!);
  // two terms: c_0·t_0 + c_1·t_1 is 5 calls term by term (4 with c_0 = 1), the dot 3
  const c = et.tensor(weights as number[], { shape: [weights.length], dtype: first.dtype, backend: first.backend as et.BackendName });
  return et.stack(terms as Tensor[], 0).matmul(c);
}
