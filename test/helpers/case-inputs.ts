/** Deterministic host inputs for an op case, in f32 or f64. */
import * as et from '../../engine/index.js';
import type { InputSpec } from '../parity/op-cases.js';

export function caseInputs(specs: readonly InputSpec[], seed: number, dtype: 'f32' | 'f64', backend: et.BackendName = 'cpu'): et.Tensor[] {
  return specs.map((spec, i) => {
    const rng = new et.Rng(seed * 1000 + i);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (typeof spec.kind === 'object') {
      const below = spec.kind.intBelow;
      return et.tensor(Int32Array.from({ length: n }, () => rng.int(0, below)), { shape: spec.shape, backend });
    }
    const positive = spec.kind === 'positive';
    const data = Float64Array.from({ length: n }, () => (positive ? 0.5 + rng.next() * 2 : rng.normal()));
    return et.tensor(data, { shape: spec.shape, dtype, backend });
  });
}

/** The indices of the float inputs (the ones gradients are taken with respect to). */
export const floatIndices = (xs: readonly et.Tensor[]): number[] => xs.flatMap((t, i) => (t.dtype === 'f32' || t.dtype === 'f64' ? [i] : []));

/** Wraps a case function so it takes only its float inputs (integer inputs are held fixed). */
export function overFloats(fn: (...xs: et.Tensor[]) => et.Tensor, all: readonly et.Tensor[]) {
  const idx = floatIndices(all);
  return (...floats: et.Tensor[]) => {
    const args = [...all];
    idx.forEach((k, j) => (args[k] = floats[j]!));
    return fn(...args);
  };
}

/** A case in f64 on cpu as a function of its float inputs alone: those inputs and the function. */
export function floatCase(c: { inputs: readonly InputSpec[]; fn: (...xs: et.Tensor[]) => et.Tensor }, seed: number) {
  const all = caseInputs(c.inputs, seed, 'f64');
  return { floats: floatIndices(all).map((k) => all[k]!), f: overFloats(c.fn, all) };
}
