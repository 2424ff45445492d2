/**
 * A small schema validator for JSON configs: every error names the field by its dotted path, the expected type and
 * what was found ("config field model.width: expected a positive integer, got "64" (string)"). Unknown fields are
 * errors too, so a typo never silently falls back to a default.
 */
import { objectArg } from '../args.js';

export type Schema =
  | { readonly type: 'number'; readonly min?: number; readonly max?: number; readonly exclusiveMin?: boolean }
  | { readonly type: 'integer'; readonly min?: number; readonly max?: number }
  | { readonly type: 'boolean' }
  | { readonly type: 'string'; readonly enum?: readonly string[] }
  | { readonly type: 'object'; readonly fields: Readonly<Record<string, Schema>>; readonly optional?: readonly string[] }
  | { readonly type: 'array'; readonly items: Schema; readonly minItems?: number }
  /** One of several object schemas, chosen by the string field `by` (e.g. "kind"). */
  | { readonly type: 'union'; readonly by: string; readonly variants: Readonly<Record<string, Schema & { type: 'object' }>> };

export class ConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

function describe(v: unknown): string {
  const kind = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
  const shown = JSON.stringify(v);
  return shown === undefined || kind === 'object' || kind === 'array' ? kind : `${shown.length > 40 ? shown.slice(0, 37) + '...' : shown} (${kind})`;
}

function expected(s: Schema): string {
  switch (s.type) {
    case 'number': {
      const lo = s.min === undefined ? '' : s.exclusiveMin ? ` > ${s.min}` : ` >= ${s.min}`;
      const hi = s.max === undefined ? '' : ` <= ${s.max}`;
      return `a number${lo}${lo && hi ? ' and' : ''}${hi}`;
    }
    case 'integer': {
      if (s.min === 1 && s.max === undefined) return 'a positive integer';
      const lo = s.min === undefined ? '' : ` >= ${s.min}`;
      const hi = s.max === undefined ? '' : ` <= ${s.max}`;
      return `an integer${lo}${lo && hi ? ' and' : ''}${hi}`;
    }
    case 'boolean':
      return 'a boolean';
    case 'string':
      return s.enum ? `one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}` : 'a string';
    case 'object':
    case 'union':
      return 'an object';
    case 'array':
      return 'an array';
  }
}

/** Throws a ConfigError naming the first field that does not match; returns the value typed as T. */
export function validate<T>(value: unknown, schema: Schema, path = 'config'): T {
  objectArg(schema, 'validate', 'schema');
  const at = (p: string) => (path === 'config' ? p : `${path}.${p}`);
  const fail = (why?: string): never => {
    const field = path === 'config' ? '(root)' : path;
    throw new ConfigError(field, `config field ${field}: ${why ?? `expected ${expected(schema)}, got ${describe(value)}`}`);
  };
  switch (schema.type) {
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail();
      if (schema.min !== undefined && (schema.exclusiveMin ? (value as number) <= schema.min : (value as number) < schema.min)) fail();
      if (schema.max !== undefined && (value as number) > schema.max) fail();
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) fail();
      if (schema.min !== undefined && (value as number) < schema.min) fail();
      if (schema.max !== undefined && (value as number) > schema.max) fail();
      break;
    case 'boolean':
      if (typeof value !== 'boolean') fail();
      break;
    case 'string':
      if (typeof value !== 'string') fail();
      if (schema.enum && !schema.enum.includes(value as string)) fail();
      break;
    case 'array':
      if (!Array.isArray(value)) fail();
      if (schema.minItems !== undefined && (value as unknown[]).length < schema.minItems) fail(`expected at least ${schema.minItems} items, got ${(value as unknown[]).length}`);
      (value as unknown[]).forEach((v, i) => validate(v, schema.items, `${path}[${i}]`));
      break;
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) fail();
      const obj = value as Record<string, unknown>;
      for (const k of Object.keys(obj)) {
        if (!(k in schema.fields)) {
          const field = path === 'config' ? k : `${path}.${k}`;
          throw new ConfigError(field, `config field ${field}: unknown field (expected one of ${Object.keys(schema.fields).join(', ')})`);
        }
      }
      for (const [k, s] of Object.entries(schema.fields)) {
        if (obj[k] === undefined) {
          if (schema.optional?.includes(k)) continue;
          const field = at(k);
          throw new ConfigError(field, `config field ${field}: missing, expected ${expected(s)}`);
        }
        validate(obj[k], s, at(k));
      }
      break;
    }
    case 'union': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) fail();
      const tag = (value as Record<string, unknown>)[schema.by];
      const variant = typeof tag === 'string' ? schema.variants[tag] : undefined;
      if (!variant) {
        const field = at(schema.by);
        throw new ConfigError(field, `config field ${field}: expected one of ${Object.keys(schema.variants).map((v) => JSON.stringify(v)).join(', ')}, got ${describe(tag)}`);
      }
      validate(value, variant, path);
      break;
    }
  }
  return value as T;
}

/** Deep merge of plain objects (arrays and scalars in `over` replace those in `base`). */
export function deepMerge<T>(base: T, over: unknown): T {
  if (over === undefined) return base;
  if (!isPlain(base) || !isPlain(over)) return over as T;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out as T;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Sets a dotted path ("model.width") in a plain object, creating objects on the way. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isPlain(o[k])) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]!] = value;
}
