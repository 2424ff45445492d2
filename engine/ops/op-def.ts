/**
 * The shape of one op definition. An op is one entry: how its output shape/dtype follows from its inputs, how
 * it is differentiated in reverse (VJP) and forward (JVP) mode, and, for fused ops, a composite reference made
 * of primitive ops that tests compare the fused kernels against.
 */
import type { DType } from '../dtype.js';
import type { Layout, Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import type { OpAttrs, OpName } from './attrs.js';

export interface TensorMeta {
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface OpCtx<K extends OpName> {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: OpAttrs[K];
  /**
   * Per input, whether its cotangent is wanted. Backward sets it when only some tensors' gradients are asked for
   * (vjp, linearize's pullback: the FTLE's power iterations): an input that requires grad but does not lead to them
   * (a layer's weight) then costs no kernels. Absent: every input that requires grad.
   */
  readonly wanted?: readonly boolean[];
}

/** Whether a VJP must compute the cotangent of input k (see OpCtx.wanted). */
export function wantsCotangent(c: { readonly inputs: readonly Tensor[]; readonly wanted?: readonly boolean[] }, k: number): boolean {
  return c.wanted ? c.wanted[k] === true : c.inputs[k]!.requiresGrad;
}

export interface OpDef<K extends OpName> {
  /** Number of tensor inputs, or 'variadic' (concat). */
  readonly arity: number | 'variadic';
  /** Output shape and dtype; throws a typed error for invalid inputs. */
  infer(inputs: readonly Tensor[], attrs: OpAttrs[K]): TensorMeta;
  /** View ops: the output's layout over the input's storage. No kernel runs. */
  view?(input: Tensor, attrs: OpAttrs[K]): Layout;
  /**
   * Cotangents for each input, as differentiable tensor expressions, or 'composite' to differentiate the reference
   * (the backward pass records it and runs reverse mode through it). Absent: the output carries no gradient.
   */
  vjp?: ((g: Tensor, ctx: OpCtx<K>) => (Tensor | null)[]) | 'composite';
  /**
   * The VJP for a cotangent that is `g` inside the slice [starts, ends) of the output and zero elsewhere (the output
   * was used only through that one slice), or null where the rule does not cover that region. Saves padding g to
   * the output's shape only for the VJP to slice it again (layerNormGrad's packed output, of which layerNorm's
   * tangent rule reads the dx rows).
   */
  vjpOfSlice?(piece: { readonly g: Tensor; readonly starts: readonly number[]; readonly ends: readonly number[] }, ctx: OpCtx<K>): (Tensor | null)[] | null;
  /** Output tangent from input tangents (null = zero), or 'composite' to differentiate the reference. */
  jvp?: ((tangents: readonly (Tensor | null)[], ctx: OpCtx<K>) => Tensor) | 'composite';
  /** Fused ops: the same result built from primitive ops. */
  composite?(inputs: readonly Tensor[], attrs: OpAttrs[K]): Tensor;
}

export type OpTable = { readonly [K in OpName]: OpDef<K> };
