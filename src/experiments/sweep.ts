/**
 * Seeded random search: each sample draws every dotted config path from its distribution (a list: uniform choice;
 * { min, max }: uniform; { min, max, log: true }: log-uniform; integer: true rounds down to an integer in
 * [min, max]). The same seed gives the same samples, so a random sweep is resumable like a grid.
 */
import * as et from '../../engine/index.js';
import { ConfigError } from '../train/schema.js';
import { checkSettings } from './config-paths.js';
import type { Settings } from './grid.js';
import type { Json } from './types.js';

export interface Range {
  readonly min: number;
  readonly max: number;
  readonly log?: boolean;
  readonly integer?: boolean;
}
export type Distribution = readonly Json[] | Range;

function checkDistribution(d: unknown, where: string): asserts d is Distribution {
  if (Array.isArray(d)) {
    if (d.length === 0) throw new ConfigError(where, `config field ${where}: expected a non-empty list of choices`);
    return;
  }
  const r = d as Partial<Range> | null;
  const bad = (why: string): never => {
    throw new ConfigError(where, `config field ${where}: ${why}`);
  };
  if (r === null || typeof r !== 'object') bad('expected a list of choices or { "min": a, "max": b, "log"?: true, "integer"?: true }');
  for (const k of Object.keys(r!)) if (!['min', 'max', 'log', 'integer'].includes(k)) bad(`unknown field '${k}' (expected min, max, log, integer)`);
  if (typeof r!.min !== 'number' || typeof r!.max !== 'number' || !Number.isFinite(r!.min) || !Number.isFinite(r!.max)) bad('min and max must be finite numbers');
  if (r!.min! > r!.max!) bad(`min (${r!.min}) is above max (${r!.max})`);
  if (r!.log && !(r!.min! > 0)) bad(`a log-uniform range needs min > 0, got ${r!.min}`);
  if (r!.log !== undefined && typeof r!.log !== 'boolean') bad('log must be a boolean');
  if (r!.integer !== undefined && typeof r!.integer !== 'boolean') bad('integer must be a boolean');
}

function draw(rng: et.Rng, d: Distribution): Json {
  if (Array.isArray(d)) return d[Math.min(d.length - 1, Math.floor(rng.next() * d.length))]!;
  const r = d as Range;
  const u = rng.next();
  if (r.integer) {
    const lo = Math.ceil(r.min);
    const hi = Math.floor(r.max);
    const v = r.log ? Math.floor(Math.exp(Math.log(lo) + u * (Math.log(hi + 1) - Math.log(lo)))) : lo + Math.floor(u * (hi - lo + 1));
    return Math.min(hi, Math.max(lo, v));
  }
  return r.log ? Math.exp(Math.log(r.min) + u * (Math.log(r.max) - Math.log(r.min))) : r.min + u * (r.max - r.min);
}

export function randomSettings(space: Readonly<Record<string, unknown>>, samples: number, seed: number, where = 'random.space'): Settings[] {
  checkSettings(space as Record<string, Json>, where);
  const keys = Object.keys(space);
  if (keys.length === 0) throw new ConfigError(where, `config field ${where}: a random search needs at least one config path`);
  for (const k of keys) checkDistribution(space[k], `${where}.${k}`);
  if (!Number.isInteger(samples) || samples < 1) throw new ConfigError('random.samples', `config field random.samples: expected a positive integer, got ${samples}`);
  const rng = new et.Rng(seed);
  return Array.from({ length: samples }, () => Object.fromEntries(keys.map((k) => [k, draw(rng, space[k] as Distribution)])));
}
