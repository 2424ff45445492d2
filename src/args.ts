/**
 * Checks of the framework's public functions' arguments where TypeScript's types do not reach (a JavaScript caller
 * passing undefined for a model, null for the options, a number for a path): each throws the engine's ArgumentError
 * naming the function and the argument, where the first property access inside threw a bare TypeError.
 */
import * as et from '../engine/index.js';

/** A short description of a bad value: `undefined`, `null`, `a number (4)`, `a string ("x")`, `an array`, `an object`. */
export function describeArg(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)})`;
  if (typeof v === 'number' || typeof v === 'boolean') return `a ${typeof v} (${String(v)})`;
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof et.Tensor) return `a Tensor [${v.shape.join(', ')}]`;
  return 'an object';
}

/** x itself when it is a Tensor. */
export function tensorArg(x: unknown, op: string, name: string): et.Tensor {
  if (x instanceof et.Tensor) return x;
  throw new et.ArgumentError(`${name} must be a Tensor, got ${describeArg(x)}`, { op });
}

/** An array of Tensors. */
export function tensorListArg(xs: unknown, op: string, name: string): readonly et.Tensor[] {
  if (!Array.isArray(xs)) throw new et.ArgumentError(`${name} must be an array of Tensors, got ${describeArg(xs)}`, { op });
  xs.forEach((x, i) => tensorArg(x, op, `${name}[${i}]`));
  return xs as readonly et.Tensor[];
}

/**
 * A model: an et.nn.Module (every model of src/models is one), checked by the methods the caller uses, since the
 * types ask for those (termGradientNorms takes anything with parameters()).
 */
export function moduleArg<M>(m: M, op: string, name = 'model', methods: readonly string[] = ['parameters', 'namedParameters']): M {
  const ok = m !== null && typeof m === 'object' && methods.every((k) => typeof (m as Record<string, unknown>)[k] === 'function');
  if (ok) return m;
  throw new et.ArgumentError(`${name} must be a model (an et.nn.Module), got ${describeArg(m)}`, { op });
}

/** A required object argument (a config, a data source, a batch). */
export function objectArg<T>(v: T, op: string, name: string): T {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof et.Tensor)) return v;
  throw new et.ArgumentError(`${name} must be an object, got ${describeArg(v)}`, { op });
}

/** An options object; undefined and null mean none given. */
export function optionsArg<T extends object>(opts: T | null | undefined, op: string, name = 'options'): T {
  if (opts === undefined || opts === null) return {} as T;
  return objectArg(opts, op, name);
}

/**
 * A file or directory path, checked before it reaches node:fs: fs takes a number as a file descriptor, so
 * `loadCheckpoint(4)` from untyped code read descriptor 4 (and blocked forever where that was a pipe).
 */
export function filePathArg(path: unknown, op: string, what = 'path'): string {
  if (typeof path === 'string' && path.length > 0) return path;
  const got = typeof path === 'string' ? 'an empty string' : describeArg(path);
  throw new et.ArgumentError(`${what} must be a non-empty string (a file or directory path), got ${got}`, { op });
}
