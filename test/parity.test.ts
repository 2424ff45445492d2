/**
 * Backend parity: every op case, forward and backward, on every available backend against the cpu oracle.
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { TOLERANCE, acceleratedBackends, compareArrays } from './helpers/backends.js';
import { type InputSpec, OP_CASES } from './parity/op-cases.js';

function hostData(spec: InputSpec, seed: number): { data: Float32Array | Int32Array; dtype: 'f32' | 'i32' } {
  const rng = new et.Rng(seed);
  const n = spec.shape.reduce((a, b) => a * b, 1);
  if (typeof spec.kind === 'object') {
    return { data: Int32Array.from({ length: n }, () => rng.int(0, (spec.kind as { intBelow: number }).intBelow)), dtype: 'i32' };
  }
  const positive = spec.kind === 'positive';
  return { data: Float32Array.from({ length: n }, () => (positive ? 0.5 + rng.next() * 2 : rng.normal())), dtype: 'f32' };
}

/** Output and input gradients (for a fixed random cotangent) of one case on one backend. */
async function run(caseIndex: number, backend: et.BackendName) {
  const c = OP_CASES[caseIndex]!;
  return et.tidy(() => {
    const inputs = c.inputs.map((spec, i) => {
      const { data, dtype } = hostData(spec, 1000 * caseIndex + i);
      return et.tensor(data, { shape: spec.shape, dtype, backend });
    });
    const floatIdx = inputs.flatMap((t, i) => (t.dtype === 'f32' ? [i] : []));
    const f = (...xs: et.Tensor[]) => {
      const all = [...inputs];
      floatIdx.forEach((k, j) => (all[k] = xs[j]!));
      return c.fn(...all);
    };
    const [out, pullback] = et.vjp(f, ...floatIdx.map((k) => inputs[k]!));
    const ct = et.randn(out.shape, { seed: 7 + caseIndex, backend });
    const grads = out.dtype === 'f32' ? pullback(ct) : [];
    return { outTensor: out, grads };
  });
}

async function materialize(caseIndex: number, backend: et.BackendName) {
  const r = await run(caseIndex, backend);
  const out = await r.outTensor.data();
  const grads = await Promise.all(r.grads.map((g) => g.data()));
  et.dispose([r.outTensor, ...r.grads]);
  return { out, grads };
}

describe('parity harness', () => {
  it('covers every op of the table', () => {
    const covered = new Set(OP_CASES.flatMap((c) => c.covers));
    const missing = Object.keys(et.opTable()).filter((op) => !covered.has(op as et.OpName));
    expect(missing).toEqual([]);
  });

  it('detects a mismatch beyond tolerance and accepts one within', () => {
    expect(compareArrays([1, 2, 3.001], [1, 2, 3], TOLERANCE.f32).ok).toBe(false);
    expect(compareArrays([1, 2, 3.0001], [1, 2, 3], TOLERANCE.f32).ok).toBe(true);
    expect(compareArrays([1, NaN], [1, 2], TOLERANCE.f32).ok).toBe(false);
  });
});

describe.each(acceleratedBackends())('parity on %s against cpu', (backend) => {
  it.each(OP_CASES.map((c, i) => [c.name, i] as const))('%s', async (_name, i) => {
    const expected = await materialize(i, 'cpu');
    const actual = await materialize(i, backend);
    const fwd = compareArrays(actual.out, expected.out, TOLERANCE.f32);
    expect(fwd.ok, `forward: ${fwd.message}`).toBe(true);
    expected.grads.forEach((g, k) => {
      const cmp = compareArrays(actual.grads[k]!, g, TOLERANCE.f32);
      expect(cmp.ok, `gradient of input ${k}: ${cmp.message}`).toBe(true);
    });
  });
});

describe('kernel coverage', () => {
  it('cpu, the oracle, has a kernel for every op that needs one', () => {
    const cpu = et.kernelCoverage().find((c) => c.backend === 'cpu')!;
    expect(cpu.missing).toEqual([]);
    expect(cpu.total).toBe(et.kernelOps().length);
  });

  it.each(acceleratedBackends())('%s has a kernel for every op', (backend) => {
    expect(et.kernelCoverage().find((c) => c.backend === backend)!.missing).toEqual([]);
  });
});
