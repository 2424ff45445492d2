/**
 * Temperature, the thermodynamic term, fidelity, path norm and IEM against closed forms, hand computations and
 * brute force, and their gradients against f64 finite differences.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import {
  SpectralState,
  activationDensity,
  emergenceConditions,
  emergenceProbability,
  fidelity,
  iem,
  l1PathNorm,
  landauerEnergy,
  landauerEnergyJoules,
  pathMatrices,
  pathRegularizer,
  spectralSum,
  temperature,
  thermoLoss,
} from '../src/eitp/index.js';
import type { PathStructure } from '../src/models/eitp-model.js';
import { finiteDifference, matFrom, scalar, spectralNormJs, worstRatio } from './fixtures/numeric.js';
import { expectNoLeaks } from './fixtures/leaks.js';

beforeAll(() => et.setBackend('cpu'));
expectNoLeaks();
const f64 = { dtype: 'f64' as const };

describe('temperature', () => {
  it('power: T0·(1 + β t)^(−γ), defaults T0 = 1, β = 1, γ = 0.5', () => {
    expect(temperature(0)).toBe(1);
    expect(temperature(3)).toBeCloseTo(0.5, 15);
    expect(temperature(0.5)).toBeCloseTo(1 / Math.sqrt(1.5), 15);
    expect(temperature(2, { schedule: 'power', t0: 2, beta: 0.5, gamma: 2 })).toBeCloseTo(0.5, 15);
  });
  it('exp: T ← γ·T once per epoch', () => {
    const s = { schedule: 'exp' as const, t0: 2, beta: 0, gamma: 0.9 };
    expect(temperature(0.99, s)).toBe(2);
    expect(temperature(2.7, s)).toBeCloseTo(2 * 0.81, 15);
  });
  it('bad schedules are ArgumentErrors', () => {
    expect(() => temperature(-1)).toThrow(et.ArgumentError);
    expect(() => temperature(1, { schedule: 'exp', t0: 1, beta: 0, gamma: 0 })).toThrow(et.ArgumentError);
    expect(() => temperature(1, { schedule: 'cosine' as 'exp', t0: 1, beta: 0, gamma: 1 })).toThrow(/unknown/);
  });
});

describe('thermodynamic term', () => {
  it('Landauer: E_min = k_B·300 K·Σ n_W H_W in joules', () => {
    expect(landauerEnergyJoules(1e6)).toBeCloseTo(1.380649e-23 * 300 * 1e6, 30);
    et.tidy(() => expect(scalar(landauerEnergy(et.tensor(2e6, f64)))).toBeCloseTo(8.283894e-15, 25));
  });

  it.each(['fused', 'composite'] as const)('ρ = mean(a²/(a² + τ²)) with τ = 0.1·RMS(a); Ê is FLOP-weighted; L = |Ê − Ê_min| (%s kernels)', (kernels) => {
    et.tidy(() => {
      const a1 = [0, 0.5, -1, 2];
      const a2 = [3, 0, 0, 0, 0.01, -3];
      const rho = (a: number[]) => {
        const tau = 0.1 * Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
        return a.reduce((s, x) => s + (x * x) / (x * x + tau * tau), 0) / a.length;
      };
      const taps = [
        { name: 'a1', activation: et.tensor(a1, f64), flops: 100 },
        { name: 'a2', activation: et.tensor(a2, f64), flops: 300 },
      ];
      const eMin = et.tensor(4e-10, f64); // a huge E_min^J, so that Ê_min = 4e-10/(1e-12·400) = 1 is visible
      const r = thermoLoss(taps, eMin, kernels);
      const E = (100 * rho(a1) + 300 * rho(a2)) / 400;
      expect(Math.abs(scalar(r.energy) - E)).toBeLessThan(1e-14);
      expect(Math.abs(scalar(r.energyMin!) - 1)).toBeLessThan(1e-12);
      expect(Math.abs(scalar(r.loss) - Math.abs(E - 1))).toBeLessThan(1e-12);
      expect(r.denseFlops).toBe(400);
      // all-zero activations have density 0, not NaN
      expect(scalar(activationDensity(et.zeros([3], f64), undefined, kernels))).toBe(0);
    });
  });

  it('gradient of ρ matches finite differences with τ held fixed (its stop-gradient)', () => {
    et.tidy(() => {
      const a = et.randn([3, 4], { seed: 1, ...f64 });
      const tau = 0.1 * Math.sqrt(Array.from(a.dataSync()).reduce((s, x) => s + x * x, 0) / 12);
      const g = et.grad((x: et.Tensor) => activationDensity(x))(a) as et.Tensor;
      const numeric = finiteDifference((x) => scalar(activationDensity(x, et.tensor(tau, f64))), a);
      expect(worstRatio(g.dataSync(), numeric, 1e-6, 1e-9)).toBeLessThan(1);
    });
  });

  it('bad taps are ArgumentErrors', () => {
    et.tidy(() => {
      expect(() => thermoLoss([], null)).toThrow(et.ArgumentError);
      expect(() => thermoLoss([{ name: 'x', activation: et.ones([2]), flops: 0 }], null)).toThrow(/"x" has FLOPs 0/);
    });
  });
});

describe('fidelity C = p_θ(y|x)', () => {
  it('matches a hand computation: mean of exp(z_y)/Σ exp(z)', () => {
    et.tidy(() => {
      const z = [
        [[1, 2, 0.5], [0, 0, 0]],
        [[-1, 3, 2], [5, 1, 1]],
      ];
      const y = [[1, 2], [0, 0]];
      const p = (row: number[], k: number) => Math.exp(row[k]!) / row.reduce((s, x) => s + Math.exp(x), 0);
      const expected = (p(z[0]![0]!, 1) + p(z[0]![1]!, 2) + p(z[1]![0]!, 0) + p(z[1]![1]!, 0)) / 4;
      const C = fidelity(et.tensor(z, f64), et.tensor(y, { dtype: 'i32' }));
      expect(Math.abs(scalar(C) - expected)).toBeLessThan(1e-15);
    });
  });
  it('gradient matches finite differences (f64)', () => {
    et.tidy(() => {
      const z = et.randn([4, 5], { seed: 2, ...f64 });
      const y = et.tensor([0, 3, 4, 1], { dtype: 'i32' });
      const g = et.grad((x: et.Tensor) => fidelity(x, y))(z) as et.Tensor;
      expect(worstRatio(g.dataSync(), finiteDifference((x) => scalar(fidelity(x, y)), z), 1e-6, 1e-10)).toBeLessThan(1);
    });
  });
});

describe('path norm', () => {
  it('golden: a 2-layer MLP against brute force Σ|W2_kj||W1_ji|', () => {
    et.tidy(() => {
      const w1 = et.randn([4, 3], { seed: 1, ...f64 });
      const w2 = et.randn([2, 4], { seed: 2, ...f64 });
      const [A, B] = [matFrom(w1), matFrom(w2)];
      let brute = 0;
      for (let k = 0; k < 2; k++) for (let j = 0; j < 4; j++) for (let i = 0; i < 3; i++) brute += Math.abs(B[k]![j]!) * Math.abs(A[j]![i]!);
      const P = l1PathNorm({ kind: 'mlp', weights: [w1, w2] });
      expect(Math.abs(scalar(P) - brute)).toBeLessThan(1e-12);
      expect(Math.abs(scalar(pathRegularizer(P, 1)) - Math.log(brute) / 2)).toBeLessThan(1e-14);
    });
  });

  it('a 3-layer MLP against brute force over every path', () => {
    et.tidy(() => {
      const ws = [et.randn([3, 2], { seed: 3, ...f64 }), et.randn([4, 3], { seed: 4, ...f64 }), et.randn([2, 4], { seed: 5, ...f64 })];
      const [A, B, C] = ws.map(matFrom) as [number[][], number[][], number[][]];
      let brute = 0;
      for (let l = 0; l < 2; l++)
        for (let k = 0; k < 4; k++)
          for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) brute += Math.abs(C[l]![k]! * B[k]![j]! * A[j]![i]!);
      expect(Math.abs(scalar(l1PathNorm({ kind: 'mlp', weights: ws })) - brute)).toBeLessThan(1e-11);
    });
  });

  it('rnn: every path of the unrolled network from the T inputs to the final output (brute force)', () => {
    et.tidy(() => {
      const [I, H, O, T] = [2, 3, 2, 3];
      const wi = et.randn([H, I], { seed: 6, ...f64 });
      const wr = et.randn([H, H], { seed: 7, ...f64 });
      const wo = et.randn([O, H], { seed: 8, ...f64 });
      const [Wi, Wr, Wo] = [matFrom(wi), matFrom(wr), matFrom(wo)];
      // a path enters at step t through input i → unit u, hops T − 1 − t times through W_rec, leaves through W_out.
      const hops = (u: number, left: number): number =>
        left === 0 ? Wo.reduce((s, row) => s + Math.abs(row[u]!), 0) : Wr.reduce((s, row, v) => s + Math.abs(row[u]!) * hops(v, left - 1), 0);
      let brute = 0;
      for (let t = 0; t < T; t++) for (let u = 0; u < H; u++) for (let i = 0; i < I; i++) brute += Math.abs(Wi[u]![i]!) * hops(u, T - 1 - t);
      const s: PathStructure = { kind: 'rnn', input: wi, recurrent: wr, output: wo, steps: T };
      expect(Math.abs(scalar(l1PathNorm(s)) - brute)).toBeLessThan(1e-11);
    });
  });

  it('transformer: v0 = mean|E| rows, residual blocks through |W_O||W_V| and |W_2||W_1|, LayerNorm as diag(|γ|)', () => {
    et.tidy(() => {
      const d = 3;
      const r = (shape: number[], seed: number) => et.randn(shape, { seed, ...f64 });
      const E = r([5, d], 1);
      const blk = { wv: r([d, d], 2), wo: r([d, d], 3), w1: r([6, d], 4), w2: r([d, 6], 5), ln1: r([d], 6), ln2: r([d], 7) };
      const fin = r([d], 8);
      const U = r([5, d], 9);
      const abs = (m: number[][]) => m.map((row) => row.map(Math.abs));
      const mv = (m: number[][], v: number[]) => abs(m).map((row) => row.reduce((s, x, j) => s + x * v[j]!, 0));
      const g = (t: et.Tensor, v: number[]) => Array.from(t.dataSync(), (x, i) => Math.abs(x) * v[i]!);
      const Em = matFrom(E);
      let v = Em[0]!.map((_, j) => Em.reduce((s, row) => s + Math.abs(row[j]!), 0) / 5);
      for (let rep = 0; rep < 2; rep++) {
        const a = mv(matFrom(blk.wo), mv(matFrom(blk.wv), g(blk.ln1, v)));
        v = v.map((x, i) => x + a[i]!);
        const m = mv(matFrom(blk.w2), mv(matFrom(blk.w1), g(blk.ln2, v)));
        v = v.map((x, i) => x + m[i]!);
      }
      const expected = mv(matFrom(U), g(fin, v)).reduce((s, x) => s + x, 0);
      const s: PathStructure = { kind: 'transformer', embedding: E, blocks: [blk, blk], finalNorm: fin, unembed: U };
      expect(Math.abs(scalar(l1PathNorm(s)) / expected - 1)).toBeLessThan(1e-13);
      expect(pathMatrices({ ...s, unembed: E }).length).toBe(5); // tied embedding counted once, shared block once
    });
  });

  it('R_path gradient matches finite differences (f64)', () => {
    et.tidy(() => {
      const w1 = et.randn([4, 3], { seed: 11, ...f64 });
      const w2 = et.randn([2, 4], { seed: 12, ...f64 });
      const R = (a: et.Tensor) => pathRegularizer(l1PathNorm({ kind: 'mlp', weights: [a, w2] }), 1);
      const g = et.grad(R)(w1) as et.Tensor;
      expect(worstRatio(g.dataSync(), finiteDifference((x) => scalar(R(x)), w1), 1e-6, 1e-10)).toBeLessThan(1);
    });
  });

  it('spectral_sum: persistent power iteration converges to Σ‖W‖_2, and its gradient to d‖W‖_2/dW', () => {
    et.tidy(() => {
      const w1 = et.tensor(matFrom(et.randn([4, 3], { seed: 13, ...f64 })), { ...f64, requiresGrad: true });
      const w2 = et.randn([3, 4], { seed: 14, ...f64 });
      const s: PathStructure = { kind: 'mlp', weights: [w1, w2] };
      const state = new SpectralState(1);
      let sum = spectralSum(s, state);
      for (let i = 0; i < 100; i++) sum = et.tidy(() => et.noGrad(() => spectralSum(s, state)));
      sum = spectralSum(s, state);
      const ref = spectralNormJs(matFrom(w1)) + spectralNormJs(matFrom(w2));
      expect(Math.abs(scalar(sum) / ref - 1)).toBeLessThan(1e-10);
      sum.backward();
      const numeric = finiteDifference((x) => spectralNormJs(matFrom(x)), w1.stopGradient());
      expect(worstRatio(w1.grad!.dataSync(), numeric, 1e-5, 1e-8)).toBeLessThan(1);
      state.dispose();
    });
  });

  it('bad structures are typed errors', () => {
    et.tidy(() => {
      expect(() => l1PathNorm({ kind: 'mlp', weights: [] })).toThrow(et.ArgumentError);
      expect(() => l1PathNorm({ kind: 'mlp', weights: [et.ones([3, 2]), et.ones([2, 4])] })).toThrow(/takes 4 inputs but the previous layer gives 3/);
    });
  });
});

describe('IEM and emergence', () => {
  it('IEM = α·Ĥ·T·C, P_emerge = σ(10(Ĥ − 0.5)), the four conditions', () => {
    et.tidy(() => {
      const H = et.tensor(0.8, f64);
      const C = et.tensor(0.9, f64);
      expect(scalar(iem(H, 0.5, C))).toBeCloseTo(0.1 * 0.8 * 0.5 * 0.9, 15);
      expect(scalar(iem(H, 0.5, C, 2))).toBeCloseTo(2 * 0.8 * 0.5 * 0.9, 15);
      expect(scalar(emergenceProbability(H))).toBeCloseTo(1 / (1 + Math.exp(-3)), 14);
      const g = et.grad((h: et.Tensor) => iem(h, 0.5, C))(H) as et.Tensor;
      expect(scalar(g)).toBeCloseTo(0.1 * 0.5 * 0.9, 14);
    });
    expect(emergenceConditions({ entropy: 0.84, temperature: 0.5, fidelity: 0.85, lyapunov: 0.05 })).toEqual({
      entropyInRange: true,
      temperatureInRange: true,
      strongCoherence: true,
      edgeOfChaos: true,
    });
    expect(emergenceConditions({ entropy: 0.3, temperature: 2, fidelity: 0.8, lyapunov: -0.2 })).toEqual({
      entropyInRange: false,
      temperatureInRange: false,
      strongCoherence: false,
      edgeOfChaos: false,
    });
    expect(emergenceConditions({ entropy: 0.6, temperature: 0.5, fidelity: 0.9 }).edgeOfChaos).toBe(false);
  });
});
