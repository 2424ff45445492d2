/**
 * The training configuration: its schema, its defaults (the main job: a char-GPT with EIT-P on multi-key
 * retrieval), and `resolveConfig`, which merges a user's JSON and flag overrides over the defaults and validates
 * the result field by field.
 */
import { type EitpConfig, defaultEitpConfig } from '../eitp/index.js';
import { ConfigError, type Schema, deepMerge, validate } from './schema.js';

export type TaskConfig =
  | { kind: 'retrieval'; seqLen: number; pairs: number; keys: number; values: number; fillers: number; minDistance: number; buckets: number; evalSize: number }
  | { kind: 'copy'; length: number; symbols: number; evalSize: number }
  | { kind: 'adding'; seqLen: number; evalSize: number }
  | { kind: 'text'; path: string; seqLen: number; heldOut: number; evalSize: number };

export type ModelConfig =
  | { kind: 'gpt'; width: number; depth: number; heads: number; mlpRatio: number; tieWeights: boolean; smearKeys: boolean }
  | { kind: 'rnn'; hidden: number; embed: number };

export interface TrainConfig {
  task: TaskConfig;
  model: ModelConfig;
  steps: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  warmupSteps: number;
  /** The cosine schedule's floor as a fraction of lr. */
  minLr: number;
  /** Max global gradient norm; 0 disables clipping. */
  clip: number;
  seed: number;
  /** Training steps per epoch (the unit of the temperature schedule's t) for generated tasks; text uses its length. */
  stepsPerEpoch: number;
  /** Add sqrt(2·lr·T)·ξ to every parameter after each update (Langevin dynamics at the schedule's temperature T). */
  langevin: boolean;
  eitp: EitpConfig;
  logEvery: number;
  /** 0: only at the end. */
  evalEvery: number;
  /** 0: only at the end (and on Ctrl-C). */
  checkpointEvery: number;
  /** Run directory: checkpoint, metrics.jsonl, config.json. */
  out: string;
  backend: string;
  /** Gradual magnitude pruning of the weight matrices during training (src/compress/pruning.ts); absent: none. */
  compress?: { prune: { finalSparsity: number; startStep: number; endStep: number; every: number } };
}

/** EITP-SPEC defaults (the λ of the total objective, temperature, FTLE, path norm, subsets), from src/eitp. */
export const SPEC_EITP_DEFAULTS: EitpConfig = defaultEitpConfig;

export const TASK_DEFAULTS: { [K in TaskConfig['kind']]: Omit<Extract<TaskConfig, { kind: K }>, 'kind'> } = {
  retrieval: { seqLen: 24, pairs: 3, keys: 8, values: 8, fillers: 4, minDistance: 3, buckets: 4, evalSize: 512 },
  copy: { length: 8, symbols: 8, evalSize: 256 },
  adding: { seqLen: 16, evalSize: 512 },
  text: { path: '', seqLen: 64, heldOut: 0.1, evalSize: 256 },
};

export const MODEL_DEFAULTS: { [K in ModelConfig['kind']]: Omit<Extract<ModelConfig, { kind: K }>, 'kind'> } = {
  gpt: { width: 32, depth: 2, heads: 2, mlpRatio: 4, tieWeights: true, smearKeys: true },
  rnn: { hidden: 64, embed: 16 },
};

/** The main job: `eitp train` with no arguments. */
export const DEFAULT_CONFIG: TrainConfig = {
  task: { kind: 'retrieval', ...TASK_DEFAULTS.retrieval },
  model: { kind: 'gpt', ...MODEL_DEFAULTS.gpt },
  steps: 2400,
  batchSize: 32,
  lr: 1e-2,
  weightDecay: 0.01,
  warmupSteps: 50,
  minLr: 0.1,
  clip: 1,
  seed: 0,
  stepsPerEpoch: 100,
  langevin: false,
  eitp: SPEC_EITP_DEFAULTS,
  logEvery: 50,
  evalEvery: 300,
  checkpointEvery: 300,
  out: 'runs/main',
  backend: 'auto',
};

const posInt: Schema = { type: 'integer', min: 1 };
const nonNegInt: Schema = { type: 'integer', min: 0 };
const nonNeg: Schema = { type: 'number', min: 0 };
const lambda: Schema = { type: 'number', min: 0 };

const eitpSchema: Schema = {
  type: 'object',
  fields: {
    lambdaThermo: lambda,
    lambdaChaos: lambda,
    lambdaCoherence: lambda,
    lambdaPath: lambda,
    betaIem: { type: 'number' },
    temperature: {
      type: 'object',
      fields: { schedule: { type: 'string', enum: ['power', 'exp'] }, t0: nonNeg, beta: nonNeg, gamma: nonNeg },
    },
    chaos: {
      type: 'object',
      fields: { mode: { type: 'string', enum: ['power', 'benettin'] }, target: { type: 'number' }, oneSided: { type: 'boolean' }, subBatch: posInt, seed: nonNegInt },
      optional: ['seed'],
    },
    path: { type: 'object', fields: { mode: { type: 'string', enum: ['l1_path', 'spectral_sum'] } } },
    coherence: { type: 'object', fields: { maxFeatures: posInt, seed: nonNegInt } },
    entropy: { type: 'object', fields: { maxSamples: posInt, seed: nonNegInt } },
    iemAlpha: { type: 'number' },
    kernels: { type: 'string', enum: ['fused', 'composite'] },
    every: posInt,
    emergence: {
      type: 'object',
      fields: { entropy: { type: 'array', items: { type: 'number' }, minItems: 2 }, temperature: { type: 'array', items: { type: 'number' }, minItems: 2 } },
    },
  },
  optional: ['emergence', 'kernels', 'every'],
};

export const CONFIG_SCHEMA: Schema = {
  type: 'object',
  fields: {
    task: {
      type: 'union',
      by: 'kind',
      variants: {
        retrieval: {
          type: 'object',
          fields: {
            kind: { type: 'string' },
            seqLen: { type: 'integer', min: 6 },
            pairs: posInt,
            keys: { type: 'integer', min: 1, max: 26 },
            values: { type: 'integer', min: 1, max: 10 },
            fillers: { type: 'integer', min: 1, max: 26 },
            minDistance: { type: 'integer', min: 3 },
            buckets: posInt,
            evalSize: posInt,
          },
        },
        copy: { type: 'object', fields: { kind: { type: 'string' }, length: posInt, symbols: { type: 'integer', min: 2, max: 26 }, evalSize: posInt } },
        adding: { type: 'object', fields: { kind: { type: 'string' }, seqLen: { type: 'integer', min: 2 }, evalSize: posInt } },
        text: {
          type: 'object',
          fields: { kind: { type: 'string' }, path: { type: 'string' }, seqLen: posInt, heldOut: { type: 'number', min: 0, exclusiveMin: true, max: 0.99 }, evalSize: posInt },
        },
      },
    },
    model: {
      type: 'union',
      by: 'kind',
      variants: {
        gpt: {
          type: 'object',
          fields: { kind: { type: 'string' }, width: posInt, depth: posInt, heads: posInt, mlpRatio: posInt, tieWeights: { type: 'boolean' }, smearKeys: { type: 'boolean' } },
        },
        rnn: { type: 'object', fields: { kind: { type: 'string' }, hidden: posInt, embed: posInt } },
      },
    },
    steps: posInt,
    batchSize: posInt,
    lr: { type: 'number', min: 0, exclusiveMin: true },
    weightDecay: nonNeg,
    warmupSteps: nonNegInt,
    minLr: { type: 'number', min: 0, max: 1 },
    clip: nonNeg,
    seed: nonNegInt,
    stepsPerEpoch: posInt,
    langevin: { type: 'boolean' },
    eitp: eitpSchema,
    logEvery: posInt,
    evalEvery: nonNegInt,
    checkpointEvery: nonNegInt,
    out: { type: 'string' },
    backend: { type: 'string', enum: ['auto', 'cpu', 'native', 'webgpu', 'cuda'] },
    compress: {
      type: 'object',
      fields: {
        prune: {
          type: 'object',
          fields: { finalSparsity: { type: 'number', min: 0, max: 1 }, startStep: nonNegInt, endStep: nonNegInt, every: posInt },
        },
      },
    },
  },
  optional: ['compress'],
};

/**
 * Defaults, then the user's config (a parsed JSON object), then overrides (dotted paths from flags). A task or
 * model whose kind differs from the default starts from that kind's defaults, not the main job's fields.
 */
export function resolveConfig(user: unknown = {}, overrides: Record<string, unknown> = {}): TrainConfig {
  const u = (user ?? {}) as Record<string, unknown>;
  if (typeof u !== 'object' || Array.isArray(u)) validate(u, CONFIG_SCHEMA);
  let merged: Record<string, unknown> = structuredClone(DEFAULT_CONFIG) as unknown as Record<string, unknown>;
  for (const layer of [u, nestOverrides(overrides)]) {
    for (const part of ['task', 'model'] as const) {
      const sub = layer[part] as Record<string, unknown> | undefined;
      const kind = sub && typeof sub === 'object' ? sub.kind : undefined;
      const current = merged[part] as { kind: string };
      if (typeof kind === 'string' && kind !== current.kind) {
        const defaults = (part === 'task' ? TASK_DEFAULTS : MODEL_DEFAULTS) as Record<string, object>;
        merged[part] = defaults[kind] ? { kind, ...structuredClone(defaults[kind]) } : { kind };
      }
    }
    merged = deepMerge(merged, layer);
  }
  const cfg = validate<TrainConfig>(merged, CONFIG_SCHEMA);
  if (cfg.task.kind === 'text' && cfg.task.path === '') {
    throw new ConfigError('task.path', 'config field task.path: a text task needs the path of a text file (--data <file>)');
  }
  const prune = cfg.compress?.prune;
  if (prune && prune.finalSparsity >= 1) throw new ConfigError('compress.prune.finalSparsity', `config field compress.prune.finalSparsity: must be below 1, got ${prune.finalSparsity}`);
  if (prune && (prune.endStep < prune.startStep || prune.endStep > cfg.steps)) {
    throw new ConfigError('compress.prune.endStep', `config field compress.prune.endStep: must be in [startStep, steps] = [${prune.startStep}, ${cfg.steps}], got ${prune.endStep}`);
  }
  if (cfg.model.kind === 'gpt' && cfg.model.width % cfg.model.heads !== 0) {
    throw new ConfigError('model.heads', `config field model.heads: must divide model.width (${cfg.model.width}), got ${cfg.model.heads}`);
  }
  return cfg;
}

function nestOverrides(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, v] of Object.entries(o)) {
    if (v === undefined) continue;
    const keys = path.split('.');
    let cur = out;
    for (const k of keys.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
    cur[keys[keys.length - 1]!] = v;
  }
  return out;
}
