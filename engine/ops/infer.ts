/** Validation helpers used by op definitions' infer functions; each throws a typed error with full context. */
import { type DType, isFloat } from '../dtype.js';
import { DTypeError, ShapeError } from '../errors.js';
import { type Shape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import type { TensorMeta } from './op-def.js';

export function ctx(op: string, inputs: readonly Tensor[]) {
  return { op, shapes: inputs.map((t) => t.shape), dtypes: inputs.map((t) => t.dtype), backend: inputs[0]?.backend };
}

export function requireFloat(op: string, inputs: readonly Tensor[], ...which: number[]): void {
  requireArithmetic(op, inputs);
  for (const i of which.length ? which : inputs.map((_, k) => k)) {
    if (!isFloat(inputs[i]!.dtype)) throw new DTypeError(`needs float inputs (f32 or f64)`, ctx(op, inputs));
  }
}

/** The message of every op that refuses f16 (so a user learns once what f16 is for). */
export const F16_STORAGE_ONLY = 'f16 is a storage dtype (cast, copies, views, concat, pad and f16 x f16 matmul only); cast to f32 first';

/** Rejects f16 operands: ops that compute on values (elementwise, reductions, nn, indexing) take no f16. */
export function requireArithmetic(op: string, inputs: readonly Tensor[]): void {
  if (inputs.some((t) => t.dtype === 'f16')) throw new DTypeError(F16_STORAGE_ONLY, ctx(op, inputs));
}

export function requireInt(op: string, inputs: readonly Tensor[], i: number): void {
  const d = inputs[i]!.dtype;
  if (d !== 'i32' && d !== 'i8' && d !== 'u8') throw new DTypeError(`input ${i} must be an integer tensor`, ctx(op, inputs));
}

export function requireSameDtype(op: string, inputs: readonly Tensor[]): DType {
  const d = inputs[0]!.dtype;
  if (inputs.some((t) => t.dtype !== d)) throw new DTypeError(`inputs must have the same dtype; cast one of them`, ctx(op, inputs));
  return d;
}

export function requireSameShape(op: string, inputs: readonly Tensor[]): Shape {
  const s = inputs[0]!.shape;
  if (inputs.some((t) => !shapesEqual(t.shape, s))) throw new ShapeError(`inputs must have the same shape`, ctx(op, inputs));
  return s;
}

export function requireRank(op: string, inputs: readonly Tensor[], i: number, min: number): void {
  if (inputs[i]!.rank < min) throw new ShapeError(`input ${i} needs rank >= ${min}`, ctx(op, inputs));
}

export const meta = (shape: Shape, dtype: DType): TensorMeta => ({ shape, dtype });
