/**
 * The trainer: minimises the EIT-P total objective (injected, so any objective with the src/eitp contract works),
 * with AdamW, a warmup + cosine schedule, gradient clipping, optional Langevin noise sqrt(2·lr·T)·ξ, evaluation every
 * N steps, JSON-lines metrics (per-term values and gradient norms at log steps), NaN/Inf detection, crash-safe
 * checkpoints and exact resumption.
 *
 * Exactness of --resume: every random stream is either saved (the engine's global RNG) or a pure function of
 * (seed, step) (training batch k = deriveSeed(dataSeed, k); Langevin noise; the FTLE direction inside src/eitp),
 * and the model, optimizer and schedule states are restored bit for bit, so a resumed run repeats the
 * uninterrupted run's arithmetic exactly (same backend).
 */
import { moduleArg, objectArg } from '../args.js';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as et from '../../engine/index.js';
import { weightMatrices } from '../compress/int8-model.js';
import { MagnitudePruner, sparsityAfter } from '../compress/pruning.js';
import type { TaskData } from '../data/task.js';
import { type EitpReport, defaultEitpConfig, disposeEitpState, eitpObjective, readEitpReport, temperature, termGradientNorms } from '../eitp/index.js';
import type { EitpBatch, EitpConfig, EitpObjective, EitpTrainingState, TermName } from '../eitp/objective-api.js';
import type { EitpModel } from '../models/eitp-model.js';
import { buildModel, buildTask } from './build.js';
import { type CheckpointStateBase, type WriteHooks, CheckpointError, MANIFEST, loadCheckpoint, saveCheckpoint, writeFileAtomic } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { type EvalResult, evaluate } from './evaluate.js';
import { MetricsLog, type MetricsRecord } from './metrics.js';
import { Progress } from './progress.js';
import type { HostTensor } from './safetensors.js';

export type ObjectiveFn = (model: EitpModel, batch: EitpBatch, config: EitpConfig, state: EitpTrainingState) => EitpObjective;
export type GradNormFn = (model: EitpModel, objective: EitpObjective) => Partial<Record<TermName, et.Tensor>>;
export type ReportFn = (model: EitpModel, objective: EitpObjective, config: EitpConfig, gradNorms?: Partial<Record<TermName, et.Tensor>>) => Promise<EitpReport>;

/** Training stopped because a loss, gradient or weight became NaN or infinite. */
export class TrainingDivergedError extends Error {
  constructor(
    message: string,
    readonly step: number,
    readonly checkpoint: string | null,
  ) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

export interface TrainState extends CheckpointStateBase {
  format: 'eitp-train/1';
  config: TrainConfig;
  /** The next training batch's index. */
  dataPosition: number;
  vocab: string[];
  optimizer: et.optim.OptimizerStateDict['meta'];
  scheduler: et.optim.LrSchedulerState;
  rng: { global: number[] };
  backend: string;
  elapsedSeconds: number;
  tokens: number;
}

export interface TrainOptions {
  config: TrainConfig;
  /** Continue from the checkpoint in config.out (its config governs; only config.out is taken from the caller). */
  resume?: boolean;
  objective?: ObjectiveFn;
  gradientNorms?: GradNormFn;
  report?: ReportFn;
  /** Checked after every step (Ctrl-C sets it): true saves a checkpoint and returns early. */
  shouldStop?: (step: number) => boolean;
  /** Called with each metrics record as it is written. */
  onRecord?: (rec: MetricsRecord) => void;
  /** Progress bar and messages (stderr by default); pass null for silence. */
  progress?: Progress | null;
  checkpointHooks?: WriteHooks;
}

export interface TrainResult {
  step: number;
  stoppedEarly: boolean;
  seconds: number;
  tokensPerSec: number;
  lastReport: EitpReport | null;
  finalEval: EvalResult | null;
  checkpoint: string;
  metrics: string;
  config: TrainConfig;
  model: EitpModel;
  data: TaskData;
  backend: string;
}

export function stateOf(config: TrainConfig): { dir: string; manifest: string; metrics: string; configFile: string } {
  const dir = resolve(config.out);
  return { dir, manifest: join(dir, MANIFEST), metrics: join(dir, 'metrics.jsonl'), configFile: join(dir, 'config.json') };
}

async function hostTensors(prefix: string, rec: Record<string, et.Tensor>): Promise<Record<string, HostTensor>> {
  const out: Record<string, HostTensor> = {};
  for (const [k, t] of Object.entries(rec)) out[prefix + k] = { dtype: t.dtype, shape: [...t.shape], data: await t.data() };
  return out;
}

function deviceTensors(prefix: string, host: Record<string, HostTensor>): Record<string, et.Tensor> {
  const out: Record<string, et.Tensor> = {};
  for (const [k, t] of Object.entries(host)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = et.tensor(t.data, { shape: t.shape, dtype: t.dtype });
  return out;
}

/** Loads a checkpoint's parameters into a model; a tensor that does not fit names itself and both shapes. */
export function loadModelTensors(model: EitpModel, host: Record<string, HostTensor>, source: string): void {
  moduleArg(model, 'loadModelTensors');
  objectArg(host, 'loadModelTensors', 'the tensors');
  const dict = deviceTensors('model.', host);
  try {
    model.loadStateDict(dict);
  } catch (e) {
    throw new CheckpointError(`checkpoint ${source} does not fit the model: ${(e as Error).message}`);
  } finally {
    et.dispose(Object.values(dict));
  }
}

/** The fraction of an epoch per step: text counts tokens over the training split; generated tasks use stepsPerEpoch. */
function epochAt(config: TrainConfig, data: TaskData, step: number): number {
  return data.trainTokens ? (step * config.batchSize * data.seqLen) / data.trainTokens : step / config.stepsPerEpoch;
}

/** T(t) of EITP-SPEC (src/eitp's schedule), for the Langevin noise. */
export function temperatureAt(cfg: EitpConfig, epoch: number): number {
  objectArg(cfg, 'temperature', 'config');
  return temperature(epoch, cfg.temperature);
}

function allFinite(r: EitpReport): boolean {
  return [r.total, ...Object.values(r.terms), ...Object.values(r.gradientNorms ?? {})].every((v) => Number.isFinite(v));
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  objectArg(opts, 'train', 'options');
  objectArg(opts.config, 'train', 'options.config');
  const objectiveFn = opts.objective ?? eitpObjective;
  const gradNormFn = opts.gradientNorms ?? termGradientNorms;
  const reportFn = opts.report ?? readEitpReport;
  const progress = opts.progress === undefined ? new Progress() : opts.progress;
  let config = opts.config;
  const paths = stateOf(config);

  // Verify a checkpoint completely before anything is created, truncated or overwritten.
  const ckpt = opts.resume ? loadCheckpoint<TrainState>(paths.dir) : null;
  if (ckpt) {
    if (ckpt.state.format !== 'eitp-train/1') throw new CheckpointError(`refusing checkpoint ${ckpt.path}: not a training checkpoint`);
    // The checkpoint's config governs (the schedule depends on it); only the run directory comes from the caller.
    config = { ...ckpt.state.config, out: config.out };
  }
  // 'auto' honours EITP_BACKEND (how CI or a user pins the default backend without editing configs)
  const wanted = config.backend === 'auto' && process.env.EITP_BACKEND ? process.env.EITP_BACKEND : config.backend;
  if (wanted === 'webgpu') await et.initWebGPU();
  et.setBackend(wanted as et.BackendName | 'auto');
  const backend = et.getBackend();
  const data = buildTask(config.task, config.seed, ckpt?.state.vocab);
  const model = buildModel(config.model, data, config.seed);
  const params = model.parameters();
  const optimizer = new et.optim.AdamW(params, { lr: config.lr, weightDecay: config.weightDecay });
  const warmup = Math.min(config.warmupSteps, config.steps);
  const scheduler = new et.optim.LrScheduler(optimizer, et.optim.cosine(config.steps, { warmupSteps: warmup, minLr: config.minLr }));
  const eitpCfg: EitpConfig = config.eitp ?? defaultEitpConfig;
  // gradual magnitude pruning: masks recomputed on schedule, applied after every update, saved as "prune.<i>"
  const pruneCfg = config.compress?.prune;
  const pruner = pruneCfg ? new MagnitudePruner(weightMatrices(model).map((w) => w.tensor), pruneCfg) : null;
  const metrics = new MetricsLog(paths.metrics);

  let step = 0;
  let tokens = 0;
  let priorSeconds = 0;
  if (ckpt) {
    loadModelTensors(model, ckpt.tensors, ckpt.path);
    const optTensors = deviceTensors('optim.', ckpt.tensors);
    try {
      optimizer.loadStateDict({ meta: ckpt.state.optimizer, tensors: optTensors });
    } finally {
      et.dispose(Object.values(optTensors));
    }
    scheduler.loadStateDict(ckpt.state.scheduler);
    if (pruner) pruner.loadMasks(ckpt.tensors, 'prune.', sparsityAfter(ckpt.state.step, pruner.schedule));
    et.setRngState(ckpt.state.rng.global);
    step = ckpt.state.step;
    tokens = ckpt.state.tokens;
    priorSeconds = ckpt.state.elapsedSeconds;
    metrics.truncateAfter(step);
    progress?.message(`resuming ${paths.dir} at step ${step}/${config.steps}`);
  } else {
    mkdirSync(paths.dir, { recursive: true });
    metrics.reset();
    writeFileAtomic(paths.configFile, JSON.stringify(config, null, 2) + '\n');
  }
  const startStep = step;
  const tokensPerStep = config.batchSize * data.seqLen;
  let lastCheckpoint: string | null = ckpt ? ckpt.path : null;
  let lastCheckpointStep = ckpt ? step : -1;
  let lastReport: EitpReport | null = null;
  let lastLoss: number | undefined;
  let finalEval: EvalResult | null = null;
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const checkFiniteOnCpu = backend === 'cpu'; // reading one number back is free on the host backend

  const saveNow = async (): Promise<string> => {
    if (lastCheckpointStep === step && lastCheckpoint) return lastCheckpoint;
    await assertFiniteParameters(model, step, lastCheckpoint);
    const opt = optimizer.stateDict();
    const tensors = { ...(await hostTensors('model.', model.stateDict())), ...(await hostTensors('optim.', opt.tensors)), ...(await pruner?.hostMasks('prune.')) };
    const state: TrainState = {
      format: 'eitp-train/1',
      step,
      dataPosition: step,
      config,
      vocab: [...data.vocab.chars],
      optimizer: opt.meta,
      scheduler: scheduler.stateDict(),
      rng: { global: et.getRngState() },
      backend,
      elapsedSeconds: priorSeconds + elapsed(),
      tokens,
    };
    lastCheckpoint = saveCheckpoint(paths.dir, tensors, state, opts.checkpointHooks);
    lastCheckpointStep = step;
    return lastCheckpoint;
  };

  const diverged = (what: string): never => {
    const where = lastCheckpoint ? `the last good checkpoint is ${lastCheckpoint} (step ${lastCheckpointStep})` : 'no checkpoint was written yet';
    throw new TrainingDivergedError(`training diverged at step ${step}: ${what}; stopped, ${where}`, step, lastCheckpoint);
  };

  let stoppedEarly = false;
  try {
    while (step < config.steps) {
      const batchIndex = step; // the data position: batch k is regenerated from (seed, k) on resume
      step++;
      const isLog = step % config.logEvery === 0 || step === config.steps || step === 1;
      const hb = data.trainBatch(batchIndex, config.batchSize);
      const state: EitpTrainingState = { epoch: epochAt(config, data, step - 1), step, report: isLog };
      const lr = optimizer.lr;
      const out = et.tidy(() => {
        const inputs = et.tensor(hb.inputs, { shape: [hb.batch, hb.seqLen] });
        const targets = et.tensor(hb.targets, { shape: data.readout === 'last' ? [hb.batch] : [hb.batch, hb.seqLen] });
        const obj = objectiveFn(model, { inputs, targets }, eitpCfg, state);
        const norms = isLog ? gradNormFn(model, obj) : undefined;
        obj.total.backward();
        const gradNorm = config.clip > 0 ? et.optim.clipGradNorm(params, config.clip) : isLog ? et.optim.clipGradNorm(params, Infinity) : null;
        optimizer.step();
        if (config.langevin) addLangevinNoise(params, config.seed, step, Math.sqrt(2 * lr * temperatureAt(eitpCfg, state.epoch)));
        optimizer.zeroGrad();
        scheduler.step();
        return { obj: { total: obj.total, terms: obj.terms, metrics: obj.metrics, ...(obj.weights ? { weights: obj.weights } : {}) }, norms, gradNorm };
      });
      tokens += tokensPerStep;
      try {
        await pruner?.afterStep(step);
        if (checkFiniteOnCpu && !isLog) {
          const v = out.obj.total.dataSync()[0]!;
          if (!Number.isFinite(v)) diverged(`the total loss is ${v}`);
          lastLoss = v;
        }
        if (isLog) {
          let report: EitpReport;
          try {
            report = await reportFn(model, out.obj, eitpCfg, out.norms);
          } catch (e) {
            // name the loss first: non-finite weights are usually its consequence (the update already ran)
            const v = await out.obj.total.item();
            return diverged(`${Number.isFinite(v) ? '' : `the total loss is ${v}; `}${(e as Error).message}`);
          }
          const gradNorm = out.gradNorm ? await out.gradNorm.item() : undefined;
          if (!allFinite(report) || (gradNorm !== undefined && !Number.isFinite(gradNorm))) {
            const bad = Object.entries({ total: report.total, ...report.terms, gradNorm })
              .filter(([, v]) => v !== undefined && !Number.isFinite(v))
              .map(([k, v]) => `${k} = ${v}`);
            diverged(`non-finite values (${bad.join(', ')})`);
          }
          lastReport = report;
          lastLoss = report.total;
          const secs = elapsed();
          const rec: MetricsRecord = {
            step,
            epoch: state.epoch,
            lr,
            tokens,
            seconds: +(priorSeconds + secs).toFixed(3),
            tokensPerSec: ((step - startStep) * tokensPerStep) / Math.max(secs, 1e-9),
            total: report.total,
            terms: report.terms,
            gradientNorms: report.gradientNorms ?? {},
            gradNorm,
            metrics: report.metrics,
            ...(report.emergence ? { emergence: report.emergence } : {}),
            ...(report.edgeOfChaos !== undefined ? { edgeOfChaos: report.edgeOfChaos } : {}),
          };
          if ((config.evalEvery > 0 && step % config.evalEvery === 0) || step === config.steps) {
            finalEval = await evaluate(model, data);
            rec.eval = finalEval;
          }
          metrics.write(rec);
          opts.onRecord?.(rec);
        } else if (config.evalEvery > 0 && step % config.evalEvery === 0) {
          finalEval = await evaluate(model, data);
          const rec: MetricsRecord = { step, eval: finalEval };
          metrics.write(rec);
          opts.onRecord?.(rec);
        }
      } finally {
        et.dispose(out as unknown as Parameters<typeof et.dispose>[0]);
      }
      const secs = elapsed();
      progress?.update({ step, total: config.steps, loss: lastLoss, tokensPerSec: ((step - startStep) * tokensPerStep) / Math.max(secs, 1e-9), elapsed: secs, startStep }, isLog);
      if (config.checkpointEvery > 0 && step % config.checkpointEvery === 0 && step < config.steps) await saveNow();
      // let signal handlers (Ctrl-C) run: a cpu step never awaits otherwise
      if (opts.shouldStop) await new Promise<void>((r) => setImmediate(r));
      if (step < config.steps && opts.shouldStop?.(step)) {
        stoppedEarly = true;
        break;
      }
    }
    await saveNow();
  } catch (e) {
    // the caller never gets the model: free it with the rest
    et.dispose(model.parameters());
    throw e;
  } finally {
    progress?.clear();
    optimizer.dispose();
    pruner?.dispose();
    disposeEitpState(model);
  }
  const seconds = elapsed();
  return {
    step,
    stoppedEarly,
    seconds,
    tokensPerSec: ((step - startStep) * tokensPerStep) / Math.max(seconds, 1e-9),
    lastReport,
    finalEval,
    checkpoint: lastCheckpoint!,
    metrics: paths.metrics,
    config,
    model,
    data,
    backend,
  };
}

/** θ ← θ + σ·ξ, ξ ~ N(0, I) from a stream that is a pure function of (seed, step, parameter index). */
function addLangevinNoise(params: readonly et.Tensor[], seed: number, step: number, sigma: number): void {
  if (!(sigma > 0)) return;
  const base = et.nn.deriveSeed(et.nn.deriveSeed(seed, 0x1a9e), step);
  et.noGrad(() =>
    params.forEach((p, i) => {
      p.assign(p.add(et.randn(p.shape, { seed: et.nn.deriveSeed(base, i), dtype: p.dtype, std: sigma })));
    }),
  );
}

/** A checkpoint never stores NaN/Inf: names the offending parameters otherwise. */
async function assertFiniteParameters(model: EitpModel, step: number, lastCheckpoint: string | null): Promise<void> {
  const bad: string[] = [];
  for (const [name, p] of model.namedParameters()) {
    const t = et.tidy(() => et.noGrad(() => p.sub(p).sum()));
    const v = await t.item();
    t.dispose();
    if (!Number.isFinite(v)) bad.push(`"${name}" [${p.shape.join(', ')}]`);
  }
  if (bad.length) {
    const where = lastCheckpoint ? `the last good checkpoint is ${lastCheckpoint}` : 'no checkpoint was written yet';
    throw new TrainingDivergedError(`training diverged at step ${step}: non-finite weights in ${bad.join(', ')}; not saved, ${where}`, step, lastCheckpoint);
  }
}
