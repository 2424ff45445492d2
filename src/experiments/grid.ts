/**
 * Grid search: the Cartesian product of a value list per dotted config path. Order is deterministic: the first
 * path varies slowest, the last fastest, values in the order given.
 */
import { ConfigError } from '../train/schema.js';
import { checkSettings } from './config-paths.js';
import type { Json } from './types.js';

export type Settings = Record<string, Json>;

export function gridSettings(space: Readonly<Record<string, readonly Json[]>>, where = 'grid'): Settings[] {
  checkSettings(space as Record<string, Json>, where);
  const keys = Object.keys(space);
  if (keys.length === 0) throw new ConfigError(where, `config field ${where}: a grid needs at least one config path with a list of values`);
  for (const k of keys) {
    const values = space[k];
    if (!Array.isArray(values) || values.length === 0) throw new ConfigError(`${where}.${k}`, `config field ${where}.${k}: expected a non-empty array of values`);
  }
  let out: Settings[] = [{}];
  for (const k of keys) out = out.flatMap((s) => space[k]!.map((v) => ({ ...s, [k]: v })));
  return out;
}

/** A readable arm name from its settings: the last segment of each path and the value ("lambdaChaos=0.1 gamma=0.5"). */
export function settingsName(settings: Readonly<Settings>): string {
  const fmt = (v: Json): string => (typeof v === 'number' ? String(Number(v.toPrecision(3))) : typeof v === 'string' ? v : JSON.stringify(v));
  return Object.entries(settings)
    .map(([k, v]) => `${k.split('.').pop()}=${fmt(v)}`)
    .join(' ');
}
