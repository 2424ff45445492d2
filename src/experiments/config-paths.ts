/**
 * Dotted TrainConfig paths ("eitp.lambdaChaos", "model.width") as the keys of arm settings, grids, random-search
 * spaces and --set: a path that names no config field is refused up front with a ConfigError, before any run, so a
 * typo never becomes a sweep over nothing. Values are checked later, field by field, by resolveConfig.
 */
import type { Schema } from '../train/schema.js';
import { CONFIG_SCHEMA } from '../train/config.js';
import { ConfigError } from '../train/schema.js';
import type { Json } from './types.js';

/** The schema of a dotted path, or null when no field has that path (a union accepts a field of any variant). */
function schemaAt(path: string): Schema | null {
  let s: Schema = CONFIG_SCHEMA;
  for (const key of path.split('.')) {
    if (s.type === 'object') {
      const next: Schema | undefined = s.fields[key];
      if (!next) return null;
      s = next;
    } else if (s.type === 'union') {
      const variant = Object.values(s.variants).find((v) => key in v.fields);
      if (!variant) return null;
      s = variant.fields[key]!;
    } else {
      return null;
    }
  }
  return s;
}

/** Throws a ConfigError naming `where` (e.g. "grid.eitp.lambdaChos") when `path` is not a config field. */
export function checkConfigPath(path: string, where: string): void {
  if (path === '' || schemaAt(path) === null) {
    throw new ConfigError(where, `config field ${where}: '${path}' is not a training config field (dotted paths like eitp.lambdaChaos, model.width, steps)`);
  }
}

/** Checks every key of a settings object (dotted path → value). */
export function checkSettings(settings: Readonly<Record<string, Json>>, where: string): void {
  for (const path of Object.keys(settings)) checkConfigPath(path, `${where}.${path}`);
}

/** "eitp.lambdaChaos" = 0.1 → { eitp: { lambdaChaos: 0.1 } } */
export function nestSettings(settings: Readonly<Record<string, Json>>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [path, v] of Object.entries(settings)) {
    const keys = path.split('.');
    let cur = out;
    for (const k of keys.slice(0, -1)) {
      const next = cur[k];
      cur = (next !== null && typeof next === 'object' && !Array.isArray(next) ? next : (cur[k] = {})) as Record<string, Json>;
    }
    cur[keys[keys.length - 1]!] = v;
  }
  return out;
}
