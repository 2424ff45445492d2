/**
 * Every fused op against its composite reference of primitive ops, forward and backward, on every backend.
 */
import { describe, expect, it } from 'vitest';
import { apply as applyOp } from '../engine/dispatch.js';
import * as et from '../engine/index.js';
import { TOLERANCE, availableBackends, compareArrays } from './helpers/backends.js';

interface FusedCase {
  op: et.OpName;
  attrs: object;
  inputs: (backend: et.BackendName) => et.Tensor[];
}

const N = (shape: number[], seed: number, backend: et.BackendName) => et.randn(shape, { seed, backend });
const CASES: FusedCase[] = [
  { op: 'mean', attrs: { axes: [0, 2], keepdims: false }, inputs: (b) => [N([3, 7, 33], 1, b)] },
  { op: 'logsumexp', attrs: { axes: [1], keepdims: true }, inputs: (b) => [N([5, 257], 2, b)] },
  { op: 'var', attrs: { axes: [1], keepdims: false, correction: 1 }, inputs: (b) => [N([7, 33], 3, b)] },
  { op: 'var', attrs: { axes: [0, 1], keepdims: true, correction: 0 }, inputs: (b) => [N([7, 33], 4, b)] },
  { op: 'norm', attrs: { axes: [1], keepdims: false }, inputs: (b) => [N([7, 33], 5, b)] },
  { op: 'gelu', attrs: { approximate: 'none' }, inputs: (b) => [N([7, 33], 6, b)] },
  { op: 'gelu', attrs: { approximate: 'tanh' }, inputs: (b) => [N([7, 33], 7, b)] },
  { op: 'softmax', attrs: { axis: 1 }, inputs: (b) => [N([3, 33, 7], 8, b)] },
  { op: 'logSoftmax', attrs: { axis: 2 }, inputs: (b) => [N([3, 5, 33], 9, b)] },
  { op: 'crossEntropy', attrs: { reduction: 'mean' }, inputs: (b) => [N([33, 7], 10, b), et.randint([33], 0, 7, { seed: 11, backend: b })] },
  { op: 'crossEntropy', attrs: { reduction: 'none' }, inputs: (b) => [N([3, 5, 7], 12, b), et.randint([3, 5], 0, 7, { seed: 13, backend: b })] },
  { op: 'layerNorm', attrs: { eps: 1e-5 }, inputs: (b) => [N([7, 33], 14, b), N([33], 15, b), N([33], 16, b)] },
  { op: 'layerNormGradGrad', attrs: { eps: 1e-5 }, inputs: (b) => [N([7, 33], 100, b).mul(2).add(1), N([7, 33], 101, b), N([7, 33], 102, b)] },
  { op: 'layerNormGradGrad', attrs: { eps: 0.5 }, inputs: (b) => [N([2, 3, 17], 103, b), N([2, 3, 17], 104, b), N([2, 3, 17], 105, b)] },
  { op: 'softHistogram', attrs: et.EITP_HISTOGRAM, inputs: (b) => [N([1031], 17, b).mul(2.5)] },
  { op: 'softHistogramGrad', attrs: et.EITP_HISTOGRAM, inputs: (b) => [N([257], 18, b).mul(2), N([64], 19, b)] },
  { op: 'correlation', attrs: { eps: 1e-5 }, inputs: (b) => [N([67, 9], 20, b)] },
  { op: 'correlationGrad', attrs: { eps: 1e-5 }, inputs: (b) => [N([67, 9], 21, b), N([9, 9], 22, b)] },
  { op: 'coherence', attrs: { eps: 1e-5 }, inputs: (b) => [N([67, 9], 92, b)] },
  { op: 'coherence', attrs: { eps: 0.5 }, inputs: (b) => [N([5, 17], 93, b)] },
  { op: 'coherenceGrad', attrs: { eps: 1e-5 }, inputs: (b) => [N([67, 9], 94, b), N([], 95, b)] },
  { op: 'tanhJvp', attrs: {}, inputs: (b) => [N([7, 33], 23, b).tanh(), N([7, 5], 24, b), N([33, 5], 25, b)] },
  { op: 'tanhJvpStep', attrs: {}, inputs: (b) => [N([7, 33], 70, b).tanh(), N([7, 5], 71, b), N([33, 5], 72, b)] },
  { op: 'tanhJvpStepGrad', attrs: {}, inputs: (b) => [N([7, 33], 73, b).tanh(), N([7, 5], 74, b), N([33, 5], 75, b), N([7, 34], 76, b)] },
  { op: 'softmaxGrad', attrs: { axis: 1 }, inputs: (b) => [N([7, 33], 88, b).softmax(1), N([7, 33], 89, b)] },
  { op: 'softmaxGrad', attrs: { axis: 0 }, inputs: (b) => [N([33, 5], 90, b).softmax(0), N([33, 5], 91, b)] },
  { op: 'softmaxGradGrad', attrs: { axis: 1 }, inputs: (b) => [N([7, 33], 106, b).softmax(1), N([7, 33], 107, b), N([7, 33], 108, b)] },
  { op: 'softmaxGradGrad', attrs: { axis: 0 }, inputs: (b) => [N([33, 5], 109, b).softmax(0), N([33, 5], 110, b), N([33, 5], 111, b)] },
  { op: 'activationDensity', attrs: { eps: 1e-30 }, inputs: (b) => [N([7, 33], 81, b), N([], 82, b).mul(0.2)] },
  { op: 'activationDensity', attrs: { eps: 0.5 }, inputs: (b) => [N([4099], 83, b).mul(3), N([1], 84, b)] },
  { op: 'activationDensityGrad', attrs: { eps: 1e-30 }, inputs: (b) => [N([7, 33], 85, b), N([], 86, b).mul(0.2), N([], 87, b)] },
  { op: 'crossEntropyGrad', attrs: { reduction: 'mean' }, inputs: (b) => [N([33, 7], 26, b), et.randint([33], 0, 7, { seed: 27, backend: b }), N([], 28, b)] },
  { op: 'crossEntropyGrad', attrs: { reduction: 'none' }, inputs: (b) => [N([3, 5, 7], 29, b), et.randint([3, 5], 0, 7, { seed: 30, backend: b }), N([3, 5], 31, b)] },
  { op: 'layerNormGrad', attrs: { eps: 1e-5 }, inputs: (b) => [N([7, 33], 32, b), N([33], 33, b), N([7, 33], 34, b)] },
  { op: 'geluGrad', attrs: { approximate: 'none' }, inputs: (b) => [N([7, 33], 77, b).mul(3), N([7, 33], 78, b)] },
  { op: 'geluGrad', attrs: { approximate: 'tanh' }, inputs: (b) => [N([7, 33], 79, b).mul(3), N([7, 33], 80, b)] },
  { op: 'geluGrad', attrs: { approximate: 'none', order: 2 }, inputs: (b) => [N([7, 33], 96, b).mul(3), N([7, 33], 97, b)] },
  { op: 'geluGrad', attrs: { approximate: 'tanh', order: 2 }, inputs: (b) => [N([7, 33], 98, b).mul(3), N([7, 33], 99, b)] },
  { op: 'activationGrad', attrs: { activation: 'relu' }, inputs: (b) => [N([7, 33], 35, b).relu(), N([7, 33], 36, b)] },
  { op: 'activationGrad', attrs: { activation: 'tanh' }, inputs: (b) => [N([7, 33], 37, b).tanh(), N([7, 33], 38, b)] },
  { op: 'activationGrad', attrs: { activation: 'sigmoid' }, inputs: (b) => [N([7, 33], 39, b).sigmoid(), N([7, 33], 40, b)] },
  { op: 'linear', attrs: { activation: 'relu' }, inputs: (b) => [N([7, 33], 41, b), N([5, 33], 42, b).transpose(), N([5], 43, b)] },
  { op: 'linear', attrs: { activation: 'none' }, inputs: (b) => [N([33, 7], 44, b), N([7, 65], 45, b), N([65], 46, b)] },
  { op: 'linear', attrs: { activation: 'tanh' }, inputs: (b) => [N([5, 17], 47, b), N([17, 9], 48, b), N([9], 49, b)] },
  { op: 'linear', attrs: { activation: 'sigmoid' }, inputs: (b) => [N([5, 17], 50, b), N([9, 17], 51, b).transpose(), N([9], 52, b)] },
  { op: 'sgdStep', attrs: { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: false, weightDecay: 0.01, first: false }, inputs: (b) => [N([7, 33], 61, b), N([7, 33], 62, b), N([7, 33], 63, b)] },
  { op: 'sgdStep', attrs: { lr: 0.1, momentum: 0.5, dampening: 0, nesterov: true, weightDecay: 0, first: true }, inputs: (b) => [N([1031], 64, b), N([1031], 65, b), N([1031], 66, b)] },
  { op: 'sgdStep', attrs: { lr: 0.3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0.1, first: false }, inputs: (b) => [N([33], 67, b), N([33], 68, b), N([33], 69, b)] },
  {
    op: 'adamStep',
    attrs: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decay: 1, stepSize: 0.01, bias2Sqrt: 0.05 },
    inputs: (b) => [N([7, 33], 53, b), N([7, 33], 54, b), N([7, 33], 55, b), N([7, 33], 56, b).square()],
  },
  {
    op: 'adamStep',
    attrs: { beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0, decay: 0.999, stepSize: 0.1, bias2Sqrt: 0.3 },
    inputs: (b) => [N([1031], 57, b), N([1031], 58, b), N([1031], 59, b), N([1031], 60, b).abs()],
  },
];

it('every op with a composite reference has a fused-vs-composite case', () => {
  const withComposite = Object.entries(et.opTable())
    .filter(([, def]) => 'composite' in def && def.composite)
    .map(([name]) => name);
  expect(withComposite.filter((op) => !CASES.some((c) => c.op === op))).toEqual([]);
});

describe.each(availableBackends())('fused ops on %s match their composite reference', (backend) => {
  it.each(CASES.map((c, i) => [`${c.op} ${JSON.stringify(c.attrs)}`, i] as const))('%s', async (_label, i) => {
    const c = CASES[i]!;
    const def = et.opTable()[c.op] as { composite: (xs: et.Tensor[], attrs: object) => et.Tensor };
    const results = await Promise.all(
      (['fused', 'composite'] as const).map(async (mode) => {
        const [out, grads] = et.tidy(() => {
          const inputs = c.inputs(backend);
          const floats = inputs.filter((t) => t.dtype === 'f32');
          const run = (...fs: et.Tensor[]) => {
            const all = inputs.map((t) => (t.dtype === 'f32' ? fs[floats.indexOf(t)]! : t));
            // each case's attrs belong to its op; the op is chosen at run time here, so the attrs type is erased
            return mode === 'fused' ? applyOp(c.op, all, c.attrs as never) : def.composite(all, c.attrs);
          };
          const [o, pullback] = et.vjp(run, ...floats);
          return [o, pullback(et.randn(o.shape, { seed: 77, backend }))] as const;
        });
        const r = { out: await out.data(), grads: await Promise.all(grads.map((g) => g.data())) };
        et.dispose([out, ...grads]);
        return r;
      }),
    );
    const [fused, composite] = results as unknown as [{ out: ArrayLike<number>; grads: ArrayLike<number>[] }, { out: ArrayLike<number>; grads: ArrayLike<number>[] }];
    const fwd = compareArrays(fused.out, composite.out, TOLERANCE.f32);
    expect(fwd.ok, `forward: ${fwd.message}`).toBe(true);
    composite.grads.forEach((g, k) => {
      const cmp = compareArrays(fused.grads[k]!, g, TOLERANCE.f32);
      expect(cmp.ok, `gradient ${k}: ${cmp.message}`).toBe(true);
    });
  });
});
