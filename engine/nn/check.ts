/** Argument validation shared by the layers, so every constructor error reads the same way. */
import * as et from '../core.js';
import { describeValue } from '../describe-value.js';

export function positiveInt(module: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) {
    throw new et.ArgumentError(`${name} must be a positive integer, got ${describeValue(v)}`, { op: module });
  }
}
