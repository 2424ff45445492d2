/**
 * Matmul FLOPs of one forward pass (a multiply-add counts 2), from the model config alone: what the energy
 * estimate multiplies by an assumed joules-per-FLOP when no energy counter is readable. Element-wise work
 * (LayerNorm, softmax, GELU) is left out: it is a few percent at these sizes and the estimate is labelled as such.
 */
import type { ModelConfig } from '../train/config.js';

export interface ForwardShape {
  readonly batch: number;
  readonly seqLen: number;
  readonly vocab: number;
  /** 'last': only the last position is unembedded (retrieval); 'all': every position (language modelling). */
  readonly readout: 'all' | 'last';
}

export function forwardFlops(model: ModelConfig, s: ForwardShape): number {
  const { batch: B, seqLen: T, vocab: V } = s;
  const outPositions = s.readout === 'last' ? 1 : T;
  if (model.kind === 'gpt') {
    const d = model.width;
    const f = model.mlpRatio * d;
    // per block: qkv (d → 3d), scores QKᵀ and probs·V (T² · d each over all heads), proj (d → d), MLP (d → f → d)
    const block = 2 * B * T * d * 3 * d + 2 * 2 * B * T * T * d + 2 * B * T * d * d + 2 * 2 * B * T * d * f;
    return model.depth * block + 2 * B * outPositions * d * V;
  }
  const H = model.hidden;
  const E = model.embed;
  return 2 * B * T * E * H + 2 * B * T * H * H + 2 * B * outPositions * H * V;
}
