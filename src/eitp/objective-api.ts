/**
 * The contract between the EIT-P terms (src/eitp) and the trainer (src/train): the trainer calls
 * `eitpObjective(model, batch, config, state)` every step and minimises `total`.
 */
import type { Tensor } from '../../engine/index.js';

export type TermName = 'task' | 'thermo' | 'chaos' | 'coherence' | 'path' | 'iem';

export interface EitpConfig {
  /** λ1..λ4 and β_IEM of EITP-SPEC; a zero switches the term off (it is then neither computed nor logged as a loss). */
  readonly lambdaThermo: number; // default 0.01
  readonly lambdaChaos: number; // default 0.1
  readonly lambdaCoherence: number; // default 0.1
  readonly lambdaPath: number; // default 0.01
  readonly betaIem: number; // default 0
  readonly temperature: { readonly schedule: 'power' | 'exp'; readonly t0: number; readonly beta: number; readonly gamma: number };
  readonly chaos: {
    readonly mode: 'power' | 'benettin';
    readonly target: number;
    readonly oneSided: boolean;
    readonly subBatch: number;
    /** Seed of the FTLE's random start direction (mixed with the step, so each step draws a fresh one); default 0. */
    readonly seed?: number;
  };
  readonly path: { readonly mode: 'l1_path' | 'spectral_sum' };
  readonly coherence: { readonly maxFeatures: number; readonly seed: number };
  readonly entropy: { readonly maxSamples: number; readonly seed: number };
  readonly iemAlpha: number; // default 0.1
  /**
   * 'fused' (default): the entropy histogram and the coherence loss run as the engine's fused ops (one kernel
   * forward, one backward). 'composite': the same math from primitive ops — the reference the bench compares with.
   */
  readonly kernels?: 'fused' | 'composite';
  /**
   * Lazy regularisation (as StyleGAN2 does for its R1 penalty): apply the λ terms only on steps where
   * step % every == 0, weighted by λ·every so their expected contribution per step is unchanged. Default 1 (every
   * step, the spec). On report steps the reported quantities are still measured, without gradient when skipped.
   */
  readonly every?: number;
  /** The "Ĥ in range" and "T in range" emergence conditions (the spec leaves the ranges open); defaults in src/eitp/iem.ts. */
  readonly emergence?: { readonly entropy: readonly [number, number]; readonly temperature: readonly [number, number] };
}

export interface EitpBatch {
  readonly inputs: Tensor;
  /** Integer targets, shaped like the logits without their last axis. */
  readonly targets: Tensor;
}

export interface EitpTrainingState {
  /** Fractional epochs t of T(t). */
  readonly epoch: number;
  readonly step: number;
  /**
   * Measure the reported quantities (Ĥ, C, Λ̂, ‖R−I‖, Ê, P, IEM) this step, for every term whether switched on or not
   * (without gradient when off), so a λ = 0 baseline logs the same quantities. Pass true on log steps only: on other
   * steps a switched-off term then costs nothing. Default true.
   */
  readonly report?: boolean;
}

export interface EitpObjective {
  /** The scalar to minimise: L_task + Σ λ·term − β·IEM. */
  readonly total: Tensor;
  /** Each computed term's scalar value (task, thermo, chaos, coherence, path, iem), before weighting. */
  readonly terms: Partial<Record<TermName, Tensor>>;
  /** Reported quantities (no gradient): entropy Ĥ, temperature T, fidelity C, Λ̂, ‖R−I‖_F/d, ‖R−I‖_2, E_min in J, P_emerge. */
  readonly metrics: Record<string, number | Tensor>;
  /** The factor of each computed term in `total` (task 1, λ_i, −β_IEM for iem): what termGradientNorms scales by. */
  readonly weights?: Partial<Record<TermName, number>>;
}
