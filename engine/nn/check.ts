/** Argument validation shared by the layers, so every constructor error reads the same way. */
import { optionsArg } from '../args.js';
import * as et from '../core.js';
import { describeValue } from '../describe-value.js';

/** A layer's options object: undefined and null mean none given, anything else but an object is an error. */
export function layerOptions<T extends object>(module: string, opts: T | null | undefined): T {
  return optionsArg(opts, module);
}

export function positiveInt(module: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) {
    throw new et.ArgumentError(`${name} must be a positive integer, got ${describeValue(v)}`, { op: module });
  }
}
