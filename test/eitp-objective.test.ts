/**
 * The total objective on small EitpModel fixtures: the spec's defaults, L = L_task + Σ λ·term − β·IEM, switching
 * terms off, per-term gradient norms, the gradient of the total against f64 finite differences, memory, the
 * log-step report and the bad-input errors.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as et from '../engine/index.js';
import {
  METRICS,
  assertFiniteWeights,
  chaosLoss,
  coherenceLoss,
  defaultEitpConfig,
  disposeEitpState,
  eitpConfig,
  eitpObjective,
  l1PathNorm,
  lyapunovExponent,
  readEitpReport,
  termGradientNorms,
  type EitpConfig,
} from '../src/eitp/index.js';
import type { EitpModel } from '../src/models/eitp-model.js';
import { TinyTanhMlp, TinyTanhRnn } from './fixtures/tiny-models.js';
import { scalar } from './fixtures/numeric.js';
import { expectNoLeaks } from './fixtures/leaks.js';

beforeAll(() => et.setBackend('cpu'));
expectNoLeaks();

const f64 = { dtype: 'f64' as const };
/** Every model a test builds: their EIT-P state (cached E_min^J, spectral vectors) is freed after each test. */
const models: EitpModel[] = [];
const track = <M extends EitpModel>(m: M): M => (models.push(m), m);
afterEach(() => models.splice(0).forEach(disposeEitpState));
const mlp = (seed = 1) => track(new TinyTanhMlp({ inputs: 4, hidden: 6, classes: 3, blocks: 2 }, { seed, ...f64 }));
const batchFor = (n = 32, seed = 2) => ({ inputs: et.randn([n, 4], { seed, ...f64 }), targets: et.randint([n], 0, 3, { seed: seed + 1 }) });
const off: Partial<EitpConfig> = { lambdaThermo: 0, lambdaChaos: 0, lambdaCoherence: 0, lambdaPath: 0, betaIem: 0 };

/** Cross-entropy of the fixture's logits in plain JS. */
function referenceTask(model: TinyTanhMlp, x: et.Tensor, y: et.Tensor): number {
  const logits = et.noGrad(() => model.forward(x).logits);
  const [n, c] = logits.shape as [number, number];
  const z = logits.dataSync();
  const t = y.dataSync();
  let s = 0;
  for (let i = 0; i < n; i++) {
    const row = Array.from(z.subarray(i * c, (i + 1) * c));
    const m = Math.max(...row);
    s += m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) - row[t[i]!]!;
  }
  return s / n;
}

describe('defaults', () => {
  it('are the spec defaults', () => {
    expect(defaultEitpConfig).toMatchObject({
      lambdaThermo: 0.01,
      lambdaChaos: 0.1,
      lambdaCoherence: 0.1,
      lambdaPath: 0.01,
      betaIem: 0,
      temperature: { schedule: 'power', t0: 1, beta: 1, gamma: 0.5 },
      chaos: { mode: 'power', target: 0, oneSided: false, subBatch: 4 },
      path: { mode: 'l1_path' },
      coherence: { maxFeatures: 256 },
      entropy: { maxSamples: 65536 },
      iemAlpha: 0.1,
    });
    expect(Object.isFrozen(defaultEitpConfig.chaos)).toBe(true);
    expect(eitpConfig({ chaos: { mode: 'benettin' } }).chaos).toEqual({ ...defaultEitpConfig.chaos, mode: 'benettin' });
  });
});

describe('the total objective', () => {
  it('L = L_task + Σ λ·term − β·IEM, a scalar, each term equal to its standalone definition', () => {
    et.tidy(() => {
      const model = mlp();
      const b = batchFor();
      const config = eitpConfig({ betaIem: 0.5 });
      const o = eitpObjective(model, b, config, { epoch: 3, step: 7 });
      expect(o.total.shape).toEqual([]);
      expect(Object.keys(o.terms).sort()).toEqual(['chaos', 'coherence', 'iem', 'path', 'task', 'thermo']);
      const v = Object.fromEntries(Object.entries(o.terms).map(([k, t]) => [k, scalar(t)])) as Record<string, number>;
      const expected = v.task! + 0.01 * v.thermo! + 0.1 * v.chaos! + 0.1 * v.coherence! + 0.01 * v.path! - 0.5 * v.iem!;
      expect(Math.abs(scalar(o.total) - expected)).toBeLessThan(1e-12);
      expect(o.weights).toEqual({ task: 1, thermo: 0.01, chaos: 0.1, coherence: 0.1, path: 0.01, iem: -0.5 });
      expect(Math.abs(v.task! - referenceTask(model, b.inputs, b.targets))).toBeLessThan(1e-12);
      // standalone definitions on the same pieces
      const taps = model.forward(b.inputs, { taps: true }).taps!;
      expect(Math.abs(v.coherence! - scalar(coherenceLoss(taps.features).loss))).toBeLessThan(1e-12);
      expect(Math.abs(v.path! - Math.log(scalar(l1PathNorm(model.pathStructure()))) / 3)).toBeLessThan(1e-12);
      const lam = lyapunovExponent(model.dynamics(b.inputs.slice([0], [4])), { seed: et.nn.deriveSeed(0, 7) });
      expect(Math.abs(v.chaos! - scalar(chaosLoss(lam)))).toBeLessThan(1e-12);
      // IEM = α·Ĥ·T·C with T(3) = 0.5
      const m = o.metrics;
      expect(m[METRICS.temperature]).toBeCloseTo(0.5, 15);
      expect(Math.abs(v.iem! - 0.1 * scalar(m[METRICS.entropy] as et.Tensor) * 0.5 * scalar(m[METRICS.fidelity] as et.Tensor))).toBeLessThan(1e-12);
      for (const t of Object.values(o.terms)) expect(t.requiresGrad).toBe(true);
    });
  });

  it('L_chaos follows config.chaos: the estimator (mode), Λ*, one-sided and the sub-batch', () => {
    et.tidy(() => {
      const model = mlp();
      const b = batchFor();
      const dyn = () => model.dynamics(b.inputs.slice([0], [2]));
      const seed = et.nn.deriveSeed(5, 7);
      const chaosOf = (chaos: Partial<EitpConfig['chaos']>) =>
        scalar(eitpObjective(model, b, eitpConfig({ ...off, lambdaChaos: 0.1, chaos: { ...chaos, subBatch: 2, seed: 5 } } as never), { epoch: 0, step: 7 }).terms.chaos!);
      const benettin = scalar(lyapunovExponent(dyn(), { mode: 'benettin', seed }));
      const power = scalar(lyapunovExponent(dyn(), { mode: 'power', seed }));
      // the two estimators differ on this model, so the comparisons below tell them apart
      expect(Math.abs(benettin - power)).toBeGreaterThan(1e-3);
      expect(Math.abs(chaosOf({ mode: 'benettin' }) - (benettin - 0) ** 2)).toBeLessThan(1e-12);
      expect(Math.abs(chaosOf({ mode: 'power', target: -0.25 }) - (power + 0.25) ** 2)).toBeLessThan(1e-12);
      // one-sided: (Λ̂ − Λ*)² above the target, 0 below it
      expect(Math.abs(chaosOf({ mode: 'benettin', target: benettin - 0.5, oneSided: true }) - 0.25)).toBeLessThan(1e-12);
      expect(chaosOf({ mode: 'benettin', target: benettin + 0.5, oneSided: true })).toBe(0);
    });
  });

  it('λ = 0 switches a term off: not in terms, not computed (off report steps)', () => {
    et.tidy(() => {
      const model = mlp();
      const dyn = vi.spyOn(model, 'dynamics');
      const path = vi.spyOn(model, 'pathStructure');
      const ew = vi.spyOn(model, 'entropyWeights');
      const config = eitpConfig(off);
      const o = eitpObjective(model, batchFor(), config, { epoch: 0, step: 0, report: false });
      expect(Object.keys(o.terms)).toEqual(['task']);
      expect(dyn).not.toHaveBeenCalled();
      expect(path).not.toHaveBeenCalled();
      expect(ew).not.toHaveBeenCalled();
      // off report steps nothing is measured for the logs: not even C (the task loss is the fused mean)
      expect(Object.keys(o.metrics)).toEqual([METRICS.temperature]);
      expect(scalar(o.total)).toBe(scalar(o.terms.task!));
      // on a report step the quantities are measured for the logs, without gradient, and still not added
      const r = eitpObjective(model, batchFor(), config, { epoch: 0, step: 0, report: true });
      expect(Object.keys(r.terms)).toEqual(['task']);
      expect(dyn).toHaveBeenCalledTimes(1);
      for (const k of [METRICS.entropy, METRICS.lyapunov, METRICS.coherenceFrobenius, METRICS.coherenceSpectral, METRICS.pathNorm, METRICS.iem, METRICS.pEmerge, METRICS.energyProxy, METRICS.landauerJoules]) {
        expect(r.metrics[k], k).toBeInstanceOf(et.Tensor);
        expect((r.metrics[k] as et.Tensor).requiresGrad, k).toBe(false);
      }
      expect(scalar(r.total)).toBe(scalar(r.terms.task!));
    });
  });

  it('L_thermo reuses E_min^J between report steps instead of rebuilding every histogram', () => {
    et.tidy(() => {
      const model = mlp(8);
      const ew = vi.spyOn(model, 'entropyWeights');
      const config = eitpConfig({ ...off, lambdaThermo: 1 });
      const b = batchFor();
      const first = eitpObjective(model, b, config, { epoch: 0, step: 0, report: false });
      const second = eitpObjective(model, b, config, { epoch: 0, step: 1, report: false });
      expect(ew).toHaveBeenCalledTimes(1);
      expect(scalar(second.terms.thermo!)).toBe(scalar(first.terms.thermo!));
      const third = eitpObjective(model, b, config, { epoch: 0, step: 2, report: true });
      expect(ew).toHaveBeenCalledTimes(2);
      // Ê_min = E_min^J/(1e-12·F_dense) is ~1e-9: L_thermo = |Ê − Ê_min| is Ê to 1e-8
      const e = scalar(third.metrics[METRICS.energyProxy] as et.Tensor);
      const eMin = scalar(third.metrics[METRICS.energyProxyMin] as et.Tensor);
      expect(eMin).toBeGreaterThan(0);
      expect(eMin).toBeLessThan(1e-8);
      expect(Math.abs(scalar(third.terms.thermo!) - (e - eMin))).toBeLessThan(1e-15);
      disposeEitpState(model);
    });
  });

  it('gradient of the total matches f64 finite differences (task + coherence + l1 path, terms without stop-gradients)', () => {
    et.tidy(() => {
      const model = track(new TinyTanhMlp({ inputs: 3, hidden: 4, classes: 2, blocks: 1 }, { seed: 4, ...f64 }));
      const b = { inputs: et.randn([16, 3], { seed: 5, ...f64 }), targets: et.randint([16], 0, 2, { seed: 6 }) };
      const config = eitpConfig({ ...off, lambdaCoherence: 0.7, lambdaPath: 0.3 });
      const state = { epoch: 0, step: 0, report: false };
      eitpObjective(model, b, config, state).total.backward();
      for (const [name, p] of model.namedParameters()) {
        const base = Float64Array.from(p.dataSync() as Float64Array);
        const set = (v: Float64Array) => et.noGrad(() => p.assign(et.tensor(v, { shape: [...p.shape], ...f64 })));
        const g = p.grad!.dataSync();
        for (let j = 0; j < base.length; j++) {
          const at = (d: number) => {
            const m = base.slice();
            m[j] += d;
            set(m);
            return et.tidy(() => scalar(eitpObjective(model, b, config, state).total));
          };
          const numeric = (at(1e-6) - at(-1e-6)) / 2e-6;
          expect(Math.abs(g[j]! - numeric), `${name}[${j}]`).toBeLessThan(1e-7 + 1e-6 * Math.abs(numeric));
        }
        set(base);
      }
    });
  });

  it('runs on a tanh RNN (FTLE over time, rnn path norm) in both chaos modes and with spectral_sum', () => {
    et.tidy(() => {
      const model = track(new TinyTanhRnn({ inputs: 3, hidden: 5, outputs: 4, steps: 6 }, { seed: 2, ...f64 }));
      const b = { inputs: et.randn([8, 6, 3], { seed: 3, ...f64 }), targets: et.randint([8, 6], 0, 4, { seed: 4 }) };
      for (const cfg of [eitpConfig({ chaos: { mode: 'benettin' } }), eitpConfig({ path: { mode: 'spectral_sum' }, betaIem: 0.1 })]) {
        const o = eitpObjective(model, b, cfg, { epoch: 0.5, step: 1 });
        expect(Number.isFinite(scalar(o.total))).toBe(true);
        expect(Object.keys(o.terms).length).toBe(cfg.betaIem ? 6 : 5);
        o.total.backward();
        for (const p of model.parameters()) expect(p.grad, 'every parameter gets a gradient').not.toBeNull();
        for (const p of model.parameters()) p.zeroGrad();
      }
      disposeEitpState(model);
    });
  });
});

describe('per-term gradient norms', () => {
  it('‖∂(λ·term)/∂θ‖ for each computed term, leaving the parameters’ .grad untouched', () => {
    et.tidy(() => {
      const model = track(new TinyTanhMlp({ inputs: 3, hidden: 4, classes: 2, blocks: 1 }, { seed: 7, ...f64 }));
      const b = { inputs: et.randn([16, 3], { seed: 8, ...f64 }), targets: et.randint([16], 0, 2, { seed: 9 }) };
      const config = eitpConfig({ betaIem: 0.2 });
      const state = { epoch: 1, step: 3 };
      const sentinel = model.parameters().map((p) => (p.grad = et.keep(et.fullLike(p, 7))));
      const o = eitpObjective(model, b, config, state);
      const norms = termGradientNorms(model, o);
      expect(Object.keys(norms).sort()).toEqual(Object.keys(o.terms).sort());
      model.parameters().forEach((p, i) => {
        expect(p.grad).toBe(sentinel[i]);
        expect(Array.from(p.grad!.dataSync()).every((x) => x === 7)).toBe(true);
      });
      // independent check for the terms without stop-gradients: finite differences over every parameter value
      for (const [name, lambda] of [['coherence', 0.1], ['path', 0.01], ['task', 1]] as const) {
        // the same term, with the others switched off so that each finite-difference evaluation stays cheap
        const only = eitpConfig({ ...off, ...(name === 'coherence' ? { lambdaCoherence: 1 } : name === 'path' ? { lambdaPath: 1 } : {}) });
        let sq = 0;
        for (const p of model.parameters()) {
          const base = Float64Array.from(p.dataSync() as Float64Array);
          const set = (v: Float64Array) => et.noGrad(() => p.assign(et.tensor(v, { shape: [...p.shape], ...f64 })));
          for (let j = 0; j < base.length; j++) {
            const at = (d: number) => {
              const m = base.slice();
              m[j] += d;
              set(m);
              return et.tidy(() => scalar(eitpObjective(model, b, only, { ...state, report: false }).terms[name]!));
            };
            sq += ((at(1e-6) - at(-1e-6)) / 2e-6) ** 2;
          }
          set(base);
        }
        expect(Math.abs(scalar(norms[name]!) - lambda * Math.sqrt(sq)), name).toBeLessThan(1e-6 * lambda * Math.sqrt(sq) + 1e-9);
      }
      for (const k of ['thermo', 'chaos', 'iem'] as const) expect(scalar(norms[k]!)).toBeGreaterThan(0);
      for (const p of model.parameters()) p.zeroGrad();
    });
  });
});

describe('lazy regularisation (every)', () => {
  it('every = 3: off-steps minimise the task alone; on-steps add 3·λ·term; reports are still measured', () => {
    et.tidy(() => {
      const model = mlp(4);
      const b = batchFor(32, 5);
      const config = eitpConfig({ every: 3, betaIem: 0 });
      const off1 = eitpObjective(model, b, config, { epoch: 0, step: 1, report: true });
      expect(Object.keys(off1.terms)).toEqual(['task']);
      expect(scalar(off1.total)).toBe(scalar(off1.terms.task!));
      expect(Object.keys(off1.metrics)).toEqual(Object.keys(eitpObjective(model, b, eitpConfig({}), { epoch: 0, step: 1 }).metrics));
      const on3 = eitpObjective(model, b, config, { epoch: 0, step: 3 });
      const plain = eitpObjective(model, b, eitpConfig({}), { epoch: 0, step: 3 });
      const lambdas = { thermo: 0.01, chaos: 0.1, coherence: 0.1, path: 0.01 } as const;
      let expected = scalar(on3.terms.task!);
      for (const [k, lambda] of Object.entries(lambdas)) {
        expect(scalar(on3.terms[k as keyof typeof lambdas]!)).toBeCloseTo(scalar(plain.terms[k as keyof typeof lambdas]!), 12);
        expected += 3 * lambda * scalar(on3.terms[k as keyof typeof lambdas]!);
      }
      expect(Math.abs(scalar(on3.total) - expected)).toBeLessThan(1e-12);
      expect(on3.weights).toMatchObject({ thermo: 0.03, chaos: 0.30000000000000004, coherence: 0.30000000000000004, path: 0.03 });
    });
  });

  it('rejects every that is not a positive integer', () => {
    expect(() => eitpConfig({ every: 0 })).toThrow(/every must be a positive integer/);
    expect(() => eitpConfig({ every: 1.5 })).toThrow(et.ArgumentError);
  });
});

describe('memory', () => {
  it('an objective, its backward and its gradient norms inside tidy leave no tensors behind', () => {
    const model = mlp(3);
    const b = et.tidy(() => batchFor());
    const step = (i: number) =>
      et.tidy(() => {
        const o = eitpObjective(model, b, eitpConfig({ betaIem: 0.1, path: { mode: i % 2 ? 'spectral_sum' : 'l1_path' } }), { epoch: 0, step: i });
        termGradientNorms(model, o);
        o.total.backward();
        for (const p of model.parameters()) p.zeroGrad();
      });
    step(0);
    step(1); // caches (index subsets, spectral vectors) are now populated
    const before = et.memory().liveTensors;
    step(2);
    step(3);
    expect(et.memory().liveTensors).toBe(before);
    disposeEitpState(model);
    et.dispose([b, model.parameters()]);
  });
});

describe('log-step report', () => {
  it('reads every value back, with the emergence conditions and the edge-of-chaos flag', async () => {
    const model = mlp(5);
    // the graph must be alive for the gradient norms: build both in one scope, keep only what the report reads
    const { o, norms } = et.tidy(() => {
      const full = eitpObjective(model, batchFor(), defaultEitpConfig, { epoch: 0, step: 0 });
      return { o: { total: full.total, terms: full.terms, metrics: full.metrics, weights: full.weights }, norms: termGradientNorms(model, full) };
    });
    const r = await readEitpReport(model, o, defaultEitpConfig, norms);
    et.dispose([o.total, o.terms, o.metrics, norms, model.parameters()]);
    expect(Object.keys(r.terms).sort()).toEqual(['chaos', 'coherence', 'path', 'task', 'thermo']);
    expect(r.metrics[METRICS.entropy]!).toBeGreaterThan(0);
    expect(r.metrics[METRICS.entropy]!).toBeLessThan(1);
    // E_min^J = k_B·300 K·Σ n_W H_W: 108 weights here, ~1e-18 J (~1e-12 J for real networks)
    const n = model.entropyWeights().reduce((s, w) => s + w.size, 0);
    expect(Math.abs(r.metrics[METRICS.landauerJoules]! / (1.380649e-23 * 300 * n * r.metrics[METRICS.entropyNats]!) - 1)).toBeLessThan(1e-12);
    expect(r.emergence).toBeDefined();
    expect(typeof r.edgeOfChaos).toBe('boolean');
    expect(r.edgeOfChaos).toBe(Math.abs(r.metrics[METRICS.lyapunov]!) < 0.1);
    expect(Object.keys(r.gradientNorms!).sort()).toEqual(Object.keys(r.terms).sort());
  });
});

describe('bad input', () => {
  it('a model without parameters is an ArgumentError', () => {
    et.tidy(() => {
      const model = mlp();
      vi.spyOn(model, 'parameters').mockReturnValue([]);
      expect(() => eitpObjective(model, batchFor())).toThrow(/no parameters/);
    });
  });

  it('NaN weights: the report names the tensor', async () => {
    const model = mlp(6);
    et.noGrad(() => {
      const w = model.wHidden[1]!;
      const vals = Float64Array.from(w.dataSync() as Float64Array);
      vals[4] = NaN;
      et.tidy(() => {
        w.assign(et.tensor(vals, { shape: [...w.shape], ...f64 }));
      });
    });
    await expect(assertFiniteWeights(model)).rejects.toThrow(/"wHidden\.1" \[6, 6\] has 1 non-finite of 36/);
    const o = et.tidy(() => {
      const full = eitpObjective(model, batchFor(), defaultEitpConfig, { epoch: 0, step: 0 });
      return { total: full.total, terms: full.terms, metrics: full.metrics };
    });
    await expect(readEitpReport(model, o)).rejects.toThrow(/non-finite weights: "wHidden\.1"/);
    et.dispose([o.total, o.terms, o.metrics, model.parameters()]);
  });

  it('a bad config is an ArgumentError naming the field', () => {
    expect(() => eitpConfig({ lambdaChaos: -1 })).toThrow(/lambdaChaos/);
    et.tidy(() => {
      expect(() => eitpObjective(mlp(), batchFor(), { ...defaultEitpConfig, path: { mode: 'l2' as 'l1_path' } })).toThrow(/path.mode/);
    });
  });

  it('too few samples for the coherence loss warns once with the numbers', () => {
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    et.tidy(() => {
      eitpObjective(mlp(), batchFor(8), defaultEitpConfig, { epoch: 0, step: 0 });
      eitpObjective(mlp(), batchFor(8), defaultEitpConfig, { epoch: 0, step: 1 });
    });
    const calls = spy.mock.calls.filter((c) => (c[1] as unknown) === 'EitpCoherenceWarning');
    expect(calls.length).toBe(1);
    expect(String(calls[0]![0])).toMatch(/N = 8 samples for d = 6 features \(N < 4d = 24\)/);
    spy.mockRestore();
  });
});
