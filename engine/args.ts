/**
 * Checks of the public functions' arguments where TypeScript's types do not reach: a JavaScript caller passing
 * undefined for a tensor, a list of tensors that is not an array, null for the options. Without them the first
 * property access deep inside threw a bare TypeError ("Cannot read properties of undefined (reading 'rank')") that
 * named neither the op nor the argument. Each check throws an ArgumentError naming both, and costs one type test on
 * the happy path. Shapes and axes are checked in shape.ts (assertValidShape, normalizeAxes).
 */
import { ArgumentError } from './errors.js';
import { describeValue } from './describe-value.js';
import { Tensor } from './tensor.js';

/** x itself when it is a Tensor. */
export function tensorArg(x: unknown, op: string, name = 'x'): Tensor {
  if (x instanceof Tensor) return x;
  throw new ArgumentError(`${name} must be a Tensor, got ${describeValue(x)}`, { op });
}

/** An array of Tensors (concat, stack). */
export function tensorListArg(xs: unknown, op: string, name = 'xs'): readonly Tensor[] {
  if (!Array.isArray(xs)) throw new ArgumentError(`${name} must be an array of Tensors, got ${describeValue(xs)}`, { op });
  for (let i = 0; i < xs.length; i++) tensorArg(xs[i], op, `${name}[${i}]`);
  return xs as readonly Tensor[];
}

/** An array of integers (slice bounds, split sizes, pad widths). */
export function intListArg(v: unknown, op: string, name: string): readonly number[] {
  if (!Array.isArray(v)) throw new ArgumentError(`${name} must be an array of integers, got ${describeValue(v)}`, { op });
  for (let i = 0; i < v.length; i++) {
    const d: unknown = v[i];
    if (typeof d !== 'number' || !Number.isInteger(d)) throw new ArgumentError(`${name} must hold integers, got ${describeValue(d)} at index ${i}`, { op });
  }
  return v as readonly number[];
}

/** An options object; undefined and null mean none given. */
export function optionsArg<T extends object>(opts: T | null | undefined, op: string, name = 'options'): T {
  if (opts === undefined || opts === null) return {} as T;
  if (typeof opts !== 'object' || Array.isArray(opts) || opts instanceof Tensor) {
    throw new ArgumentError(`${name} must be an object, got ${describeValue(opts)}`, { op });
  }
  return opts;
}
