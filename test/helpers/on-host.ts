import * as et from '../../engine/index.js';

/** Runs f in a tidy scope and returns its host-side result (tidy itself only passes tensors and plain values). */
export function onHost<T>(f: () => T): T {
  let result: T | undefined;
  et.tidy(() => {
    result = f();
  });
  return result as T;
}
