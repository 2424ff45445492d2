/**
 * The coherence factor C of the paper's eq. 9 read as a fidelity (EITP-SPEC): with ψ = √p_θ(·|x) and φ = √q, q the
 * one-hot target, C = (Σ_k √(p_k q_k))² = p_θ(y|x), averaged over positions. "Strong coherence" is C > 0.8.
 */
import { tensorArg } from '../args.js';
import * as et from '../../engine/index.js';

type Tensor = et.Tensor;

export const STRONG_COHERENCE = 0.8;

/** C from the per-position negative log-likelihoods −ln p_θ(y|x) (the unreduced cross-entropy). */
export function fidelityFromNll(nll: Tensor): Tensor {
  tensorArg(nll, 'fidelity', 'nll');
  return nll.neg().exp().mean();
}

/** C = mean over positions of exp(logSoftmax(logits))[y]; logits [..., C], targets [...] i32. */
export function fidelity(logits: Tensor, targets: Tensor): Tensor {
  // crossEntropy with reduction 'none' is exactly −logSoftmax(logits)[y], gathered by the fused kernel
  // instead of a [positions, classes] one-hot product.
  return fidelityFromNll(et.crossEntropy(logits, targets, { reduction: 'none' }));
}
