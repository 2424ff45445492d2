/**
 * One training run of an experiment: the trainer (src/train) called programmatically with the arm's resolved
 * config, the run's seed and a scratch directory; the log records become curves, the final held-out evaluation and
 * the last log step become metrics. An optional `after` callback measures the trained model (speed, energy) before
 * its tensors are freed.
 */
import * as et from '../../engine/index.js';
import type { TrainConfig } from '../train/config.js';
import type { MetricsRecord } from '../train/metrics.js';
import { buildModel, buildTask } from '../train/build.js';
import { type TrainResult, TrainingDivergedError, train } from '../train/trainer.js';
import { probeRapl, startRapl } from './rapl.js';
import type { CurvePoint, CurveSpec, JsonObject, RunOutcome } from './types.js';

/** The quantities every training experiment plots over training. */
export const TRAINING_CURVES: readonly CurveSpec[] = [
  { key: 'loss', label: 'training loss L_task (nats)' },
  { key: 'total', label: 'total objective L' },
  { key: 'entropy', label: 'Ĥ (normalised parameter entropy)' },
  { key: 'lyapunov', label: 'Λ̂ (finite-time Lyapunov exponent)' },
  { key: 'coherence', label: 'L_coh = ‖R − I‖²_F / (d(d − 1))' },
  { key: 'fidelity', label: 'C (coherence factor, p(y|x))' },
  { key: 'temperature', label: 'T (temperature schedule)' },
];

/** "char-GPT (2 blocks, width 32, 2 heads), 29.6k parameters" */
export function modelLine(config: TrainConfig, params: number): string {
  const m = config.model;
  const size = params >= 1e6 ? `${(params / 1e6).toFixed(2)}M` : `${(params / 1e3).toFixed(1)}k`;
  return m.kind === 'gpt' ? `char-GPT (${m.depth} blocks, width ${m.width}, ${m.heads} heads), ${size} parameters` : `tanh RNN (hidden ${m.hidden}, embedding ${m.embed}), ${size} parameters`;
}

/**
 * L_coh at a log step. With λ3 > 0 the trainer logs the term itself; with λ3 = 0 it logs ‖R − I‖_F/d only, and
 * L_coh = ‖R − I‖²_F/(d(d − 1)) = (‖R − I‖_F/d)²·d/(d − 1), d the coherence layer's features after the subset.
 */
export function coherenceLossAt(rec: MetricsRecord, config: TrainConfig): number | undefined {
  const terms = rec.terms as Record<string, number> | undefined;
  if (terms?.coherence !== undefined) return terms.coherence;
  const f = (rec.metrics as Record<string, number> | undefined)?.coherenceFrobenius;
  if (f === undefined) return undefined;
  const width = config.model.kind === 'gpt' ? config.model.width : config.model.hidden;
  const d = Math.min(width, config.eitp.coherence.maxFeatures);
  return (f * f * d) / (d - 1);
}

function curvesOf(records: readonly MetricsRecord[], config: TrainConfig): Record<string, CurvePoint[]> {
  const curves: Record<string, CurvePoint[]> = {};
  const push = (key: string, step: number, v: unknown) => {
    if (typeof v === 'number' && Number.isFinite(v)) (curves[key] ??= []).push({ step, value: v });
  };
  for (const r of records) {
    if (r.total === undefined) continue; // an evaluation-only record
    const terms = r.terms as Record<string, number>;
    const m = r.metrics as Record<string, number>;
    push('loss', r.step, terms.task);
    push('total', r.step, r.total);
    push('entropy', r.step, m.entropy);
    push('lyapunov', r.step, m.lyapunov);
    push('coherence', r.step, coherenceLossAt(r, config));
    push('fidelity', r.step, m.fidelity);
    push('temperature', r.step, m.temperature);
  }
  return curves;
}

function finalMetrics(result: TrainResult, seconds: number): Record<string, number> {
  const out: Record<string, number> = {};
  const set = (k: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) out[k] = v;
  };
  const ev = result.finalEval;
  if (ev) {
    set('evalLoss', ev.loss);
    set('accuracy', ev.accuracy);
    set('perplexity', ev.perplexity);
    for (const b of ev.byDistance ?? []) set(`acc:${b.lo}-${b.hi}`, b.accuracy);
  }
  const rep = result.lastReport;
  if (rep) {
    set('trainLoss', rep.terms.task);
    for (const k of ['entropy', 'lyapunov', 'fidelity', 'energyProxy', 'pathNorm'] as const) set(k, rep.metrics[k]);
  }
  set('trainSeconds', seconds);
  set('trainTokensPerSec', result.tokensPerSec);
  return out;
}

export interface AfterTraining {
  readonly metrics?: Record<string, number>;
  readonly notes?: JsonObject;
}

let raplCache: ReturnType<typeof probeRapl> | undefined;

/** Trains `config` with `seed` in `runDir`; `after` sees the trained model (its tensors are freed afterwards). */
export async function trainRun(config: TrainConfig, seed: number, runDir: string, after?: (r: TrainResult) => Promise<AfterTraining>): Promise<RunOutcome> {
  const records: MetricsRecord[] = [];
  raplCache ??= probeRapl();
  const energy = raplCache.ok ? startRapl(raplCache.domains) : null;
  const t0 = performance.now();
  let result: TrainResult;
  try {
    result = await train({ config: { ...config, seed, out: runDir }, progress: null, onRecord: (r) => records.push(r) });
  } catch (e) {
    if (!(e instanceof TrainingDivergedError)) throw e;
    return divergedOutcome(config, seed, records, e, (performance.now() - t0) / 1000);
  }
  const seconds = (performance.now() - t0) / 1000;
  const joules = energy?.();
  try {
    const metrics = finalMetrics(result, seconds);
    if (joules !== undefined) metrics.trainEnergyJ = joules;
    const extra = after ? await after(result) : {};
    const params = result.model.numParameters();
    return {
      metrics: { ...metrics, ...extra.metrics },
      curves: curvesOf(records, result.config),
      info: {
        params,
        steps: result.step,
        tokens: result.step * result.config.batchSize * result.data.seqLen,
        backend: result.backend,
        seconds,
        model: modelLine(result.config, params),
        task: result.data.describe(),
      },
      notes: { trainEnergy: raplCache.ok ? 'rapl' : `not measured: ${raplCache.reason}`, ...extra.notes },
    };
  } finally {
    et.dispose(result.model.parameters());
  }
}

/**
 * A run that diverged (NaN/Inf) is a result too (a large λ can do that): it is recorded with its curves up to the
 * divergence and no metrics, so tables count it out, the report lists it, and a rerun does not repeat it.
 */
function divergedOutcome(config: TrainConfig, seed: number, records: readonly MetricsRecord[], e: TrainingDivergedError, seconds: number): RunOutcome {
  const data = buildTask(config.task, seed);
  const model = buildModel(config.model, data, seed);
  const params = model.numParameters();
  et.dispose(model.parameters());
  return {
    metrics: {},
    curves: curvesOf(records, config),
    info: { params, steps: e.step, tokens: e.step * config.batchSize * data.seqLen, backend: et.getBackend(), seconds, model: modelLine(config, params), task: data.describe() },
    notes: { diverged: e.message },
  };
}
