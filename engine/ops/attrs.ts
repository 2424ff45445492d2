/**
 * The attributes of every op, by name. This interface is the list of ops: the op table, every backend's kernel
 * table and the coverage report are all keyed by `OpName = keyof OpAttrs`, so adding an op here without a
 * definition is a compile error.
 */
import type { DType } from '../dtype.js';

type None = Record<string, never>;

export interface ReduceAttrs {
  /** Sorted, normalised axes to reduce. */
  readonly axes: readonly number[];
  readonly keepdims: boolean;
}

/** The soft histogram of EIT-P's parameter entropy: bin k has centre low + (k + ½)·width; Gaussian bandwidth h. */
export interface HistogramAttrs {
  readonly bins: number;
  readonly low: number;
  readonly width: number;
  readonly bandwidth: number;
}

/** Activations whose derivative follows from the output alone, so a fused epilogue needs to keep only y. */
export type GradActivation = 'relu' | 'tanh' | 'sigmoid';
/** Which derivative of gelu geluGrad scales g by (absent: 1). */
export type GeluGradOrder = 1 | 2;

/**
 * One Adam/AdamW step, torch's single-tensor math with the scalars folded on the host (in doubles):
 * g' = g + weightDecay·p, m' = β1·m + (1 − β1)·g', v' = β2·v + (1 − β2)·g'², p' = decay·p − (m'/(√v'/bias2Sqrt + eps))·stepSize.
 * Adam: weightDecay = λ, decay = 1. AdamW: weightDecay = 0, decay = 1 − lr·λ. stepSize = lr/(1 − β1^t), bias2Sqrt = √(1 − β2^t).
 */
export interface AdamStepAttrs {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decay: number;
  readonly stepSize: number;
  readonly bias2Sqrt: number;
}

/**
 * One SGD step, torch.optim.SGD's math: d = g + weightDecay·p; with momentum μ ≠ 0, buf′ = first ? d : μ·buf +
 * (1 − dampening)·d and d = nesterov ? d + μ·buf′ : buf′; p′ = p − lr·d. With μ = 0 the buffer is neither read nor
 * written (the op's output is [1, ...shape] = [p′]); otherwise [2, ...shape] = [p′; buf′]. `first` skips reading buf.
 */
export interface SgdStepAttrs {
  readonly lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  readonly first: boolean;
}

export interface OpAttrs {
  // elementwise unary
  neg: None;
  exp: None;
  log: None;
  sqrt: None;
  rsqrt: None;
  tanh: None;
  sigmoid: None;
  relu: None;
  gelu: { readonly approximate: 'none' | 'tanh' };
  abs: None;
  square: None;
  erf: None;
  sign: None;
  // elementwise binary (operands already broadcast to the output shape)
  add: None;
  sub: None;
  mul: None;
  div: None;
  pow: None;
  maximum: None;
  minimum: None;
  eq: None;
  ne: None;
  lt: None;
  le: None;
  gt: None;
  ge: None;
  where: None;
  // reductions
  sum: ReduceAttrs;
  mean: ReduceAttrs;
  max: ReduceAttrs;
  logsumexp: ReduceAttrs;
  var: ReduceAttrs & { readonly correction: number };
  norm: ReduceAttrs;
  argmax: { readonly axis: number };
  // linear algebra
  matmul: None;
  // fused neural-network ops
  softmax: { readonly axis: number };
  logSoftmax: { readonly axis: number };
  crossEntropy: { readonly reduction: 'mean' | 'sum' | 'none' };
  layerNorm: { readonly eps: number };
  // fused training kernels: the backward passes of the nn ops, the matmul epilogue and the optimizer update
  crossEntropyGrad: { readonly reduction: 'mean' | 'sum' | 'none' };
  layerNormGrad: { readonly eps: number };
  /** [J o; ∂⟨o, J u⟩/∂x] for J = ∂x̂/∂x of a LayerNorm row: the backward of layerNormGrad's dx rows (x̂'s tangent). */
  layerNormGradGrad: { readonly eps: number };
  /** y ⊙ (g − Σ_axis g ⊙ y): softmax's backward (and tangent) from its output y. */
  softmaxGrad: { readonly axis: number };
  /** [ȳ; ḡ]: both cotangents of softmaxGrad(y, g) for a cotangent o, along the same axis (its backward). */
  softmaxGradGrad: { readonly axis: number };
  activationGrad: { readonly activation: GradActivation };
  /**
   * g·gelu′(x): gelu's backward (and tangent) from its input, in one kernel; with order 2, g·gelu″(x) (the backward
   * in x of geluGrad itself, which the FTLE's reverse-over-forward pass takes through every GELU).
   */
  geluGrad: { readonly approximate: 'none' | 'tanh'; readonly order?: GeluGradOrder };
  linear: { readonly activation: 'none' | GradActivation };
  adamStep: AdamStepAttrs;
  sgdStep: SgdStepAttrs;
  // fused EIT-P terms (their backward passes are ops too, so every backend runs them fused)
  softHistogram: HistogramAttrs;
  softHistogramGrad: HistogramAttrs;
  /** R = ẐᵀẐ/N, the correlation matrix of z's columns (exactly symmetric). */
  correlation: { readonly eps: number };
  correlationGrad: { readonly eps: number };
  /** ‖R − I‖_F²/(d(d − 1)) of z's column correlation matrix R, and its backward in z (engine/ops/coherence.ts). */
  coherence: { readonly eps: number };
  coherenceGrad: { readonly eps: number };
  /** J v of a tanh layer h = tanh(x Wᵀ + c): (1 − h²) ⊙ (v Wᵀ), the FTLE's per-layer step. */
  tanhJvp: None;
  /** The fused FTLE step [δ/‖δ‖ | ln‖δ‖] per row (engine/ops/tanh-jvp-step.ts), and its backward [dp, dh]. */
  tanhJvpStep: None;
  tanhJvpStepGrad: None;
  /** mean(a²/(a² + τ² + eps)), the thermodynamic term's smooth activation density, and its backward in a. */
  activationDensity: { readonly eps: number };
  activationDensityGrad: { readonly eps: number };
  // quantised inference: int8 weights with per-output-channel scales
  matmulInt8: { readonly activations: 'f32' | 'int8' };
  // indexing
  embedding: None;
  scatterAdd: { readonly numRows: number };
  oneHot: { readonly numClasses: number; readonly dtype: DType };
  // structure
  concat: { readonly axis: number };
  pad: { readonly widths: readonly (readonly [number, number])[] };
  // views (no kernel: they share storage)
  reshape: { readonly shape: readonly number[] };
  permute: { readonly axes: readonly number[] };
  slice: { readonly starts: readonly number[]; readonly ends: readonly number[] };
  expand: { readonly shape: readonly number[] };
  stopGradient: None;
  // copies
  contiguous: None;
  cast: { readonly dtype: DType };
}

export type OpName = keyof OpAttrs;
