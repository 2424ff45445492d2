/**
 * An experiment whose runs are training runs: a base config (the user layer over the trainer's defaults), the
 * run-length fields set from the options, --set overrides, then each arm's settings; every arm's config is resolved
 * and validated (resolveConfig: a bad field is a ConfigError naming it) in `plan`, before any run starts.
 */
import { statSync } from 'node:fs';
import type { TrainResult } from '../train/trainer.js';
import { DataFileError } from '../data/text.js';
import { type TrainConfig, resolveConfig } from '../train/config.js';
import { deepMerge } from '../train/schema.js';
import { type ArmSettings, ablationArms } from './ablation.js';
import { checkSettings, nestSettings } from './config-paths.js';
import { type AfterTraining, TRAINING_CURVES, trainRun } from './train-run.js';
import type { Arm, ClaimRow, Experiment, ExperimentContext, ExperimentOptions, Figure, JsonObject, MetricSpec, RunOutcome, RunRecord } from './types.js';

export interface TrainingExperimentSpec {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly defaults: { readonly seeds: number; readonly steps: number };
  /** TrainConfig fields every arm starts from (task, model, batch size, ...). */
  base(options: ExperimentOptions): JsonObject;
  /** Default: the standard ablation (baseline, each term alone, full). */
  arms?(options: ExperimentOptions): ArmSettings[];
  /** Default "baseline". */
  readonly baseline?: string;
  metrics(records: readonly RunRecord[]): MetricSpec[];
  claims?(records: readonly RunRecord[]): ClaimRow[];
  sections?(records: readonly RunRecord[], ctx: ExperimentContext): string[];
  figures?(records: readonly RunRecord[]): Figure[];
  /** Measures the trained model (speed, energy) before it is freed. */
  after?(result: TrainResult): Promise<AfterTraining>;
}

/** 'auto' resolves through EITP_BACKEND as the trainer does, so the run id records the backend actually asked for. */
export function requestedBackend(backend: string): string {
  return backend === 'auto' && process.env.EITP_BACKEND ? process.env.EITP_BACKEND : backend;
}

/** The resolved TrainConfig of one arm (seed and out are set per run). */
export function armConfig(spec: Pick<TrainingExperimentSpec, 'base' | 'defaults'>, options: ExperimentOptions, arm: ArmSettings): TrainConfig {
  checkSettings(options.overrides, 'set');
  checkSettings(arm.settings, `arms.${arm.name}`);
  const steps = options.steps ?? spec.defaults.steps;
  // ~25 log records per run: the curves' resolution; logging every step would cost the baseline every term's forward
  const runLayer = { steps, logEvery: Math.max(1, Math.floor(steps / 25)), evalEvery: 0, checkpointEvery: 0, backend: requestedBackend(options.backend), seed: 0, out: '' };
  const user = deepMerge(deepMerge(spec.base(options) as Record<string, unknown>, runLayer), nestSettings(options.overrides));
  return resolveConfig(user, arm.settings);
}

function withoutRunFields(c: TrainConfig): JsonObject {
  const { seed: _seed, out: _out, ...rest } = c;
  return JSON.parse(JSON.stringify(rest)) as JsonObject;
}

export function trainingExperiment(spec: TrainingExperimentSpec): Experiment {
  return {
    name: spec.name,
    title: spec.title,
    description: spec.description,
    defaults: spec.defaults,
    baseline: spec.baseline ?? 'baseline',
    curves: TRAINING_CURVES,
    plan(options: ExperimentOptions): Arm[] {
      const arms = (spec.arms ?? ablationArms)(options);
      return arms.map((a) => {
        const config = armConfig(spec, options, a);
        if (config.task.kind === 'text') checkReadable(config.task.path);
        return { name: a.name, config: withoutRunFields(config), ...(a.description ? { description: a.description } : {}) };
      });
    },
    metrics: (records) => spec.metrics(records),
    run(arm: Arm, seed: number, ctx: ExperimentContext): Promise<RunOutcome> {
      const config = { ...(arm.config as unknown as TrainConfig), seed, out: ctx.runDir };
      return trainRun(config, seed, ctx.runDir, spec.after);
    },
    ...(spec.claims ? { claims: spec.claims } : {}),
    ...(spec.sections ? { sections: spec.sections } : {}),
    ...(spec.figures ? { figures: spec.figures } : {}),
  };
}

function checkReadable(path: string): void {
  try {
    if (!statSync(path).isFile()) throw new DataFileError(path, 'it is not a file');
  } catch (e) {
    if (e instanceof DataFileError) throw e;
    throw new DataFileError(path, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message);
  }
}
