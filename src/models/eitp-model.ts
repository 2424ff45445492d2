/**
 * What an EIT-P regulariser needs to see inside a model. Every model in src/models implements it; src/eitp uses
 * only this interface, never a concrete model class.
 */
import type { Tensor } from '../../engine/index.js';
import type { Module } from '../../engine/nn/index.js';

/** A post-nonlinearity activation a_l and the FLOPs F_l of the matmul that consumes it (EITP-SPEC thermodynamic term). */
export interface ActivationTap {
  readonly name: string;
  readonly activation: Tensor;
  readonly flops: number;
}

export interface ForwardResult {
  /** [..., vocab or classes] */
  readonly logits: Tensor;
  /** Present when forward was called with { taps: true }. */
  readonly taps?: {
    readonly activations: readonly ActivationTap[];
    /** [N, d] activations of the coherence layer (default: the final residual stream before the final norm). */
    readonly features: Tensor;
  };
}

/** The depth (or time) map h_0 -> h_L as a sequence of blocks, for the finite-time Lyapunov exponent. */
export interface Dynamics {
  /** [B, ...] the state entering the first block (B = batch; the FTLE uses a sub-batch). */
  readonly h0: Tensor;
  /** h_l = blocks[l-1](h_{l-1}); residual connections included inside each block. */
  readonly blocks: readonly ((h: Tensor) => Tensor)[];
  /**
   * Set when every block is a tanh layer h ↦ tanh(h Wᵀ + c) with c independent of h (an MLP's hidden layers, a
   * tanh RNN's steps): W of each block, [out, in]. The FTLE then steps tangents with the fused et.tanhJvp.
   */
  readonly tanhWeights?: readonly Tensor[];
}

/** The structure the l1 path norm propagates ones through (EITP-SPEC "Path norm"). Weights are [out, in] like torch. */
export type PathStructure =
  | { readonly kind: 'mlp'; readonly weights: readonly Tensor[] }
  | {
      readonly kind: 'transformer';
      /** [vocab, d] token embedding E */
      readonly embedding: Tensor;
      readonly blocks: readonly {
        readonly wv: Tensor;
        readonly wo: Tensor;
        readonly w1: Tensor;
        readonly w2: Tensor;
        /** LayerNorm gains, applied as diag(|γ|) */
        readonly ln1?: Tensor;
        readonly ln2?: Tensor;
      }[];
      readonly finalNorm?: Tensor;
      /** [vocab, d] unembedding W_U */
      readonly unembed: Tensor;
    }
  | { readonly kind: 'rnn'; readonly input: Tensor; readonly recurrent: Tensor; readonly output: Tensor; readonly steps: number };

export interface EitpModel extends Module<[Tensor, { taps?: boolean }?], ForwardResult> {
  /** x: model input ([B, T] i32 tokens for sequence models, [B, features] f32 for the MLP). */
  forward(x: Tensor, opts?: { taps?: boolean }): ForwardResult;
  /** Weight tensors of rank >= 2 (biases and norm gains excluded; tied weights once), for H(θ). */
  entropyWeights(): Tensor[];
  dynamics(x: Tensor): Dynamics;
  pathStructure(): PathStructure;
  /** Number of blocks L used by the FTLE and path norm normalisations. */
  readonly depth: number;
}
