/** Input and configuration checks shared by the models, so every error names the model, the shape and what was expected. */
import * as et from '../../engine/index.js';

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function requirePositiveInt(model: string, name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new et.ArgumentError(`${model}: ${name} must be a positive integer, got ${JSON.stringify(v)}`, { op: model });
  }
}

/** A [B, T] i32 token tensor with 1 <= T <= maxT. */
export function requireTokens(model: string, x: et.Tensor, maxT: number): void {
  if (x.dtype !== 'i32' || x.rank !== 2 || x.shape[1]! < 1 || x.shape[1]! > maxT) {
    throw new et.ShapeError(
      `${model}: input must be [batch, time] i32 tokens with 1 <= time <= ${maxT}, got ${fmtShape(x.shape)} ${x.dtype}`,
      { op: model, shapes: [x.shape], dtypes: [x.dtype] },
    );
  }
}
