/**
 * The total EIT-P objective (EITP-SPEC "Total objective"):
 *   L = L_task + λ1·L_thermo + λ2·L_chaos + λ3·L_coh + λ4·R_path − β_IEM·IEM
 * The trainer calls eitpObjective(model, batch, config, state) every step and minimises `total`. A zero λ switches
 * its term off: it is not computed (and on report steps only measured, without gradient, for the logs).
 * Nothing here reads back from the device; readEitpReport (report.ts) does that at log steps.
 */
import { moduleArg, objectArg, tensorArg } from '../args.js';
import * as et from '../../engine/index.js';
import type { EitpModel } from '../models/eitp-model.js';
import { chaosLoss, lyapunovExponent } from './chaos.js';
import { checkConfig, defaultEitpConfig } from './config.js';
import { coherenceLoss, coherenceNorms } from './coherence.js';
import { parameterEntropy } from './entropy.js';
import { fidelityFromNll } from './fidelity.js';
import { emergenceProbability, iem } from './iem.js';
import type { EitpBatch, EitpConfig, EitpObjective, EitpTrainingState, TermName } from './objective-api.js';
import { SpectralState, l1PathNorm, pathRegularizer, spectralSum } from './path-norm.js';
import { mixSeed } from './subset.js';
import { temperature } from './temperature.js';
import { landauerEnergy, thermoLoss } from './thermo.js';
import { weightedSum } from './weighted-sum.js';

export { defaultEitpConfig, eitpConfig } from './config.js';
export { termGradientNorms } from './gradient-norms.js';

type Tensor = et.Tensor;

/** Names of the reported quantities in EitpObjective.metrics. */
export const METRICS = {
  entropy: 'entropy', // Ĥ ∈ [0, 1]
  entropyNats: 'entropyNats', // Σ n_W H_W / Σ n_W
  temperature: 'temperature', // T(t)
  fidelity: 'fidelity', // C
  lyapunov: 'lyapunov', // Λ̂
  coherenceFrobenius: 'coherenceFrobenius', // ‖R − I‖_F / d
  coherenceSpectral: 'coherenceSpectral', // ‖R − I‖_2
  landauerJoules: 'landauerJoules', // E_min^J
  energyProxy: 'energyProxy', // Ê
  energyProxyMin: 'energyProxyMin', // Ê_min
  pathNorm: 'pathNorm', // P (l1_path) or Σ‖W‖_2 (spectral_sum)
  iem: 'iem',
  pEmerge: 'pEmerge',
} as const;

/**
 * Per-model state that lives across steps: spectral_sum's power-iteration vectors, and the last E_min^J (see
 * below). Its tensors are kept out of tidy scopes; disposeEitpState(model) frees them.
 */
interface ModelState {
  spectral?: SpectralState;
  eMinJoules?: Tensor;
}
const states = new WeakMap<EitpModel, ModelState>();

function stateFor(model: EitpModel): ModelState {
  let s = states.get(model);
  if (!s) states.set(model, (s = {}));
  return s;
}

/** Frees the tensors EIT-P keeps for a model between steps (spectral_sum vectors, the cached E_min^J). */
export function disposeEitpState(model: EitpModel): void {
  const s = states.get(model);
  s?.spectral?.dispose();
  s?.eMinJoules?.dispose();
  states.delete(model);
}

export function eitpObjective(
  model: EitpModel,
  batch: EitpBatch,
  config: EitpConfig = defaultEitpConfig,
  state: EitpTrainingState = { epoch: 0, step: 0 },
): EitpObjective {
  const op = 'eitpObjective';
  moduleArg(model, op);
  objectArg(batch, op, 'batch');
  tensorArg(batch.inputs, op, 'batch.inputs');
  objectArg(config, op, 'config');
  objectArg(state, op, 'state');
  checkConfig(config);
  if (model.parameters().length === 0) {
    throw new et.ArgumentError('the model has no parameters (parameters() is empty): there is nothing to regularise or train', { op });
  }
  const report = state.report ?? true;
  // Lazy regularisation: the λ terms take part on every `every`-th step only, with weight λ·every.
  const every = config.every ?? 1;
  const applied = state.step % every === 0;
  const on = {
    thermo: applied && config.lambdaThermo !== 0,
    chaos: applied && config.lambdaChaos !== 0,
    coherence: applied && config.lambdaCoherence !== 0,
    path: applied && config.lambdaPath !== 0,
    iem: applied && config.betaIem !== 0,
  };
  /** A switched-on term is computed with gradient; a switched-off one only on report steps, without. */
  const compute = <T>(enabled: boolean, fn: () => T): T | null => (enabled ? fn() : report ? et.noGrad(fn) : null);
  const terms: Partial<Record<TermName, Tensor>> = {};
  const weights: Partial<Record<TermName, number>> = { task: 1 };
  const metrics: Record<string, number | Tensor> = {};
  const sg = (t: Tensor) => t.stopGradient();

  const needTaps = on.thermo || on.coherence || report;
  const out = model.forward(batch.inputs, needTaps ? { taps: true } : {});
  if (needTaps && !out.taps) throw new et.ArgumentError('model.forward(x, { taps: true }) returned no taps', { op });


  const T = temperature(state.epoch, config.temperature);
  metrics[METRICS.temperature] = T;

  // Ĥ needs a gradient only when IEM is optimised. L_thermo needs it only through Ê_min = E_min^J/(1e-12·F_dense),
  // which is ~1e-9 and inert: rebuilding every weight's histogram each step for it would cost more than all other
  // terms together, so E_min^J is refreshed whenever Ĥ is measured (report steps, or IEM on) and reused between.
  const ms = stateFor(model);
  const cachedEMin = ms.eMinJoules && !ms.eMinJoules.isDisposed ? ms.eMinJoules : undefined;
  const entropyOf = () => parameterEntropy(model.entropyWeights(), { ...config.entropy, kernels: config.kernels ?? 'fused' });
  const entropy = on.iem ? entropyOf() : report || (on.thermo && !cachedEMin) ? et.noGrad(entropyOf) : null;
  if (entropy) {
    metrics[METRICS.entropy] = sg(entropy.normalized);
    metrics[METRICS.entropyNats] = sg(entropy.totalNats.div(entropy.counts.reduce((a, b) => a + b, 0)));
  }
  let eMin: Tensor | null = cachedEMin ?? null;
  if (entropy) {
    eMin = et.noGrad(() => landauerEnergy(entropy.totalNats.stopGradient()));
    metrics[METRICS.landauerJoules] = sg(eMin);
    if (cachedEMin !== eMin) cachedEMin?.dispose(); // only ever used through stop-gradient views: safe to drop now
    ms.eMinJoules = et.keep(eMin);
  }

  // C needs the per-position NLL: on report steps, for IEM, and whenever Ĥ was measured (IEM's metrics). Other steps
  // (the lazy ones off their λ step among them) take the task loss from the fused mean, as a plain training step does.
  const nll = report || on.iem || entropy ? et.crossEntropy(out.logits, batch.targets, { reduction: 'none' }) : null;
  terms.task = nll ? nll.mean() : et.crossEntropy(out.logits, batch.targets);
  const C = nll && (on.iem ? fidelityFromNll(nll) : et.noGrad(() => fidelityFromNll(nll)));
  if (C) metrics[METRICS.fidelity] = sg(C);

  const thermo = compute(on.thermo, () => thermoLoss(out.taps!.activations, eMin, config.kernels ?? 'fused'));
  if (thermo) {
    metrics[METRICS.energyProxy] = sg(thermo.energy);
    if (thermo.energyMin) metrics[METRICS.energyProxyMin] = sg(thermo.energyMin);
    if (on.thermo) terms.thermo = thermo.loss;
  }

  const lyapunov = compute(on.chaos, () => {
    const x = batch.inputs;
    const sub = Math.min(x.shape[0] ?? 1, config.chaos.subBatch);
    const dyn = model.dynamics(sub < (x.shape[0] ?? 1) ? x.slice([0], [sub]) : x);
    return lyapunovExponent(dyn, { mode: config.chaos.mode, seed: mixSeed(config.chaos.seed ?? 0, state.step), kernels: config.kernels ?? 'fused' });
  });
  if (lyapunov) {
    metrics[METRICS.lyapunov] = sg(lyapunov);
    if (on.chaos) terms.chaos = chaosLoss(lyapunov, config.chaos.target, config.chaos.oneSided);
  }

  const coherence = compute(on.coherence, () => coherenceLoss(out.taps!.features, { ...config.coherence, kernels: config.kernels ?? 'fused' }));
  if (coherence) {
    if (on.coherence) terms.coherence = coherence.loss;
    if (report) {
      const norms = coherenceNorms(coherence.residual());
      metrics[METRICS.coherenceFrobenius] = norms.frobeniusPerD;
      metrics[METRICS.coherenceSpectral] = norms.spectral;
    }
  }

  const path = compute(on.path, () => {
    const s = model.pathStructure();
    if (config.path.mode === 'spectral_sum') {
      const sum = spectralSum(s, (ms.spectral ??= new SpectralState()));
      return { value: sum, norm: sum };
    }
    const P = l1PathNorm(s);
    return { value: pathRegularizer(P, model.depth), norm: P };
  });
  if (path) {
    metrics[METRICS.pathNorm] = sg(path.norm);
    if (on.path) terms.path = path.value;
  }

  if (entropy && C) {
    const iemOf = () => iem(entropy.normalized, T, C, config.iemAlpha); // scalars: cheap whenever Ĥ exists
    const value = on.iem ? iemOf() : et.noGrad(iemOf);
    metrics[METRICS.iem] = sg(value);
    metrics[METRICS.pEmerge] = et.noGrad(() => emergenceProbability(sg(entropy.normalized)));
    if (on.iem) terms.iem = value;
  }

  const parts: Tensor[] = [terms.task];
  const factors: number[] = [1];
  const add = (name: TermName, w: number) => {
    const t = terms[name];
    if (!t) return;
    weights[name] = w;
    parts.push(t);
    factors.push(w);
  };
  add('thermo', config.lambdaThermo * every);
  add('chaos', config.lambdaChaos * every);
  add('coherence', config.lambdaCoherence * every);
  add('path', config.lambdaPath * every);
  add('iem', -config.betaIem * every);
  // task alone is the total; with one term, task + c·t (as cheap as the dot); with more, one dot product
  const total = parts.length === 1 ? terms.task : parts.length === 2 ? terms.task.add(parts[1]!.mul(factors[1]!)) : weightedSum(parts, factors);
  if (total.size !== 1 || total.rank !== 0) {
    throw new et.ShapeError('the EIT-P objective must be a scalar; check the model\'s logits and targets', { op, shapes: [total.shape] });
  }
  return { total, terms, metrics, weights };
}
