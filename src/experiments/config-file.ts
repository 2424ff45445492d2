/**
 * Experiments defined in a JSON file (`eitp experiment my-sweep.json`):
 *
 *   {
 *     "name": "chaos-grid",                  output directory name (required)
 *     "task": "long-range" | "perplexity",   the shipped setup whose task, model and metrics it starts from (default long-range)
 *     "description": "...", "seeds": 3, "steps": 300,
 *     "base": { "model": { "width": 64 } },  TrainConfig fields over the shipped setup
 *     and at most one of:
 *     "arms": [{ "name": "strong-chaos", "set": { "eitp.lambdaChaos": 1 } }],
 *     "grid": { "eitp.lambdaChaos": [0.01, 0.1, 1], "eitp.lambdaPath": [0, 0.01] },
 *     "random": { "samples": 8, "seed": 0, "space": { "eitp.lambdaChaos": { "min": 0.001, "max": 1, "log": true } } }
 *   }
 *
 * Without arms, grid or random it runs the standard ablation. The λ = 0 baseline is added when no arm is named
 * "baseline". Every field is checked here or by resolveConfig in `plan`: a bad one is a ConfigError naming it.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, type Schema, deepMerge, validate } from '../train/schema.js';
import { type ArmSettings, BASELINE_ARM, ablationArms } from './ablation.js';
import { checkSettings } from './config-paths.js';
import { LONG_RANGE_DEFAULTS, distanceFigure, longRangeBase, longRangeMetrics } from './long-range.js';
import { PERPLEXITY_DEFAULTS, PERPLEXITY_METRICS, perplexityBase } from './perplexity.js';
import { type SweepSpec, sweepArms } from './sweep-experiment.js';
import { trainingExperiment } from './training-experiment.js';
import type { Experiment, Json, JsonObject } from './types.js';
import { filePathArg } from '../args.js';

const posInt: Schema = { type: 'integer', min: 1 };
const FIELDS = ['name', 'task', 'description', 'seeds', 'steps', 'base', 'arms', 'grid', 'random'];

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function requireObject(v: unknown, field: string): Record<string, unknown> {
  if (!isObject(v)) throw new ConfigError(field, `config field ${field}: expected an object, got ${Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v}`);
  return v;
}

/** Parses and checks an experiment config object (already read from JSON). */
export function experimentFromConfig(raw: unknown): Experiment {
  const c = requireObject(raw, '(root)');
  for (const k of Object.keys(c)) if (!FIELDS.includes(k)) throw new ConfigError(k, `config field ${k}: unknown field (expected one of ${FIELDS.join(', ')})`);
  const head = validate<{ name: string; task?: 'long-range' | 'perplexity'; description?: string; seeds?: number; steps?: number }>(
    Object.fromEntries(Object.entries(c).filter(([k]) => ['name', 'task', 'description', 'seeds', 'steps'].includes(k))),
    {
      type: 'object',
      fields: { name: { type: 'string' }, task: { type: 'string', enum: ['long-range', 'perplexity'] }, description: { type: 'string' }, seeds: posInt, steps: posInt },
      optional: ['task', 'description', 'seeds', 'steps'],
    },
  );
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(head.name)) throw new ConfigError('name', `config field name: must be a directory name (letters, digits, '.', '_', '-'), got ${JSON.stringify(head.name)}`);
  const userBase = c.base === undefined ? {} : (requireObject(c.base, 'base') as JsonObject);
  const given = ['arms', 'grid', 'random'].filter((k) => c[k] !== undefined);
  if (given.length > 1) throw new ConfigError(given[1]!, `config field ${given[1]}: give at most one of arms, grid, random (got ${given.join(', ')})`);

  let arms: ArmSettings[];
  if (c.arms !== undefined) {
    if (!Array.isArray(c.arms) || c.arms.length === 0) throw new ConfigError('arms', 'config field arms: expected a non-empty array of { "name": ..., "set": { ... } }');
    arms = c.arms.map((a, i) => {
      const arm = requireObject(a, `arms[${i}]`);
      for (const k of Object.keys(arm)) if (!['name', 'description', 'set'].includes(k)) throw new ConfigError(`arms[${i}].${k}`, `config field arms[${i}].${k}: unknown field (expected name, description, set)`);
      if (typeof arm.name !== 'string' || arm.name === '') throw new ConfigError(`arms[${i}].name`, `config field arms[${i}].name: expected a non-empty string`);
      if (arm.description !== undefined && typeof arm.description !== 'string') throw new ConfigError(`arms[${i}].description`, `config field arms[${i}].description: expected a string`);
      const settings = arm.set === undefined ? {} : (requireObject(arm.set, `arms[${i}].set`) as Record<string, Json>);
      checkSettings(settings, `arms[${i}].set`);
      return { name: arm.name, ...(arm.description ? { description: arm.description as string } : {}), settings };
    });
    if (!arms.some((a) => a.name === 'baseline')) arms.unshift(BASELINE_ARM);
  } else if (c.grid !== undefined) {
    arms = sweepArms({ kind: 'grid', space: requireObject(c.grid, 'grid') as Record<string, Json[]> });
  } else if (c.random !== undefined) {
    const r = requireObject(c.random, 'random');
    for (const k of Object.keys(r)) if (!['samples', 'seed', 'space'].includes(k)) throw new ConfigError(`random.${k}`, `config field random.${k}: unknown field (expected samples, seed, space)`);
    const v = validate<{ samples: number; seed?: number }>({ samples: r.samples, ...(r.seed !== undefined ? { seed: r.seed } : {}) }, { type: 'object', fields: { samples: posInt, seed: { type: 'integer', min: 0 } }, optional: ['seed'] }, 'random');
    const sweep: SweepSpec = { kind: 'random', samples: v.samples, seed: v.seed ?? 0, space: requireObject(r.space, 'random.space') };
    arms = sweepArms(sweep);
  } else {
    arms = ablationArms();
  }

  const perplexity = head.task === 'perplexity';
  const defaults = perplexity ? PERPLEXITY_DEFAULTS : LONG_RANGE_DEFAULTS;
  return trainingExperiment({
    name: head.name,
    title: `${head.name}: ${perplexity ? 'perplexity (char-level language model)' : 'long-range retrieval'} experiment`,
    description: head.description ?? `Defined in an experiment config file: ${arms.length} arms against the λ = 0 baseline on the ${perplexity ? 'perplexity' : 'long-range'} setup.`,
    defaults: { seeds: head.seeds ?? defaults.seeds, steps: head.steps ?? defaults.steps },
    base: (options) => deepMerge(perplexity ? perplexityBase(options) : longRangeBase(), userBase) as JsonObject,
    arms: () => arms,
    metrics: perplexity ? () => [...PERPLEXITY_METRICS] : longRangeMetrics,
    ...(perplexity ? {} : { figures: distanceFigure }),
  });
}

/** Reads an experiment config file; ConfigError (with the file named) when it is not JSON. */
export function loadExperimentConfig(path: string): Experiment {
  filePathArg(path, 'loadExperimentConfig');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('(file)', `cannot read experiment config '${path}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('(file)', `experiment config '${path}' is not valid JSON: ${(e as Error).message}`);
  }
  return experimentFromConfig(raw);
}
