/**
 * Loading and comparing the PyTorch golden cases in test/golden/ops.json (written by test/golden/generate.py).
 * Kept free of engine imports: the engine-facing part (op name -> engine call) lives in test/golden.test.ts.
 */
import { readFileSync } from 'node:fs';

/** 'float' = the floating dtype the case is run in (f64 or f32); the data are float64 values from torch. */
export type GoldenDType = 'float' | 'f32' | 'f64' | 'i32' | 'u8';

export interface GoldenTensor {
  readonly shape: number[];
  readonly dtype: GoldenDType;
  readonly data: number[];
}

export type GoldenAttrs = Record<string, unknown>;

/** A view the test applies to a stored input before the op (non-contiguous / offset / stride-0 inputs). */
export type GoldenPre =
  | { readonly op: 'transpose'; readonly a0: number; readonly a1: number }
  | { readonly op: 'permute'; readonly axes: number[] }
  | { readonly op: 'slice'; readonly starts: number[]; readonly ends: number[] }
  | { readonly op: 'expand'; readonly shape: number[] };

export interface GoldenCase {
  readonly name: string;
  readonly op: string;
  readonly attrs: GoldenAttrs;
  readonly inputs: GoldenTensor[];
  readonly outputs: GoldenTensor[];
  /** null: forward-only case. */
  readonly cotangents: GoldenTensor[] | null;
  /** Gradients of sum_i sum(outputs[i] * cotangents[i]) for each input; null for integer / mask inputs. */
  readonly grads: (GoldenTensor | null)[] | null;
  /** Per input: a view applied before the op; gradients are with respect to the stored input. */
  readonly pre?: (GoldenPre | null)[];
  /** Multiplies the f32 tolerances (inputs whose large common offset f32 arithmetic cannot resolve better). */
  readonly f32TolScale?: number;
}

export interface GoldenFile {
  readonly generator: Record<string, unknown>;
  readonly cases: GoldenCase[];
}

export function loadGolden(): GoldenFile {
  const url = new URL('../golden/ops.json', import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as GoldenFile;
}

export type RunDType = 'f64' | 'f32';

/** The concrete dtype of a golden tensor when the case runs in `run`. */
export function concreteDType(d: GoldenDType, run: RunDType): 'f32' | 'f64' | 'i32' | 'u8' {
  return d === 'float' ? run : d;
}

export function typedData(t: GoldenTensor, run: RunDType): Float64Array | Float32Array | Int32Array | Uint8Array {
  switch (concreteDType(t.dtype, run)) {
    case 'f64':
      return Float64Array.from(t.data);
    case 'f32':
      return Float32Array.from(t.data);
    case 'i32':
      return Int32Array.from(t.data);
    case 'u8':
      return Uint8Array.from(t.data);
  }
}

export interface Tolerance {
  readonly rtol: number;
  /** Absolute tolerance relative to max(1, max |expected|) of the whole tensor. */
  readonly atolScale: number;
}

/** Tight in f64 (the engine and torch differ only by summation order); f32 runs are compared with the f64 truth. */
export function toleranceFor(dtype: string, f32Scale = 1): Tolerance | null {
  if (dtype === 'f64') return { rtol: 1e-9, atolScale: 1e-10 };
  if (dtype === 'f32') return { rtol: 1e-4 * f32Scale, atolScale: 2e-5 * f32Scale };
  return null; // integers and masks: exact
}

function multiIndex(flat: number, shape: readonly number[]): number[] {
  const idx: number[] = new Array<number>(shape.length).fill(0);
  for (let k = shape.length - 1; k >= 0; k--) {
    const n = shape[k]!;
    idx[k] = flat % n;
    flat = Math.floor(flat / n);
  }
  return idx;
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/**
 * Compares one engine result with a golden tensor. Returns a list of human-readable problems (empty = match).
 * `what` names the compared thing, e.g. "output 0" or "grad of input 1".
 */
export function compareTensor(
  what: string,
  expected: GoldenTensor,
  expectedDType: string,
  got: { shape: readonly number[]; dtype: string; data: ArrayLike<number> },
  f32Scale = 1,
): string[] {
  const problems: string[] = [];
  if (fmt(got.shape) !== fmt(expected.shape)) {
    problems.push(`${what}: shape expected ${fmt(expected.shape)}, got ${fmt(got.shape)}`);
    return problems;
  }
  if (got.dtype !== expectedDType) problems.push(`${what}: dtype expected ${expectedDType}, got ${got.dtype}`);
  if (got.data.length !== expected.data.length) {
    problems.push(`${what}: ${expected.data.length} values expected, got ${got.data.length}`);
    return problems;
  }
  const tol = toleranceFor(expectedDType, f32Scale);
  let maxAbs = 0;
  for (const v of expected.data) maxAbs = Math.max(maxAbs, Math.abs(v));
  const atol = tol ? tol.atolScale * Math.max(1, maxAbs) : 0;
  let bad = 0;
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i]!;
    const g = got.data[i]!;
    const allowed = tol ? atol + tol.rtol * Math.abs(e) : 0;
    const diff = Math.abs(g - e);
    if (!(diff <= allowed)) {
      // NaN lands here too
      bad++;
      const excess = Number.isNaN(diff) ? Infinity : diff - allowed;
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = i;
      }
    }
  }
  if (bad > 0) {
    const e = expected.data[worst]!;
    const g = got.data[worst]!;
    const at = fmt(multiIndex(worst, expected.shape));
    const shown: string[] = [];
    for (let i = 0; i < Math.min(6, expected.data.length); i++) {
      shown.push(`${expected.data[i]} vs ${got.data[i]}`);
    }
    problems.push(
      `${what}: ${bad}/${expected.data.length} values off (rtol ${tol?.rtol ?? 0}, atol ${atol.toExponential(1)}); ` +
        `worst at ${at}: expected ${e}, got ${g} (|diff| ${Math.abs(g - e).toExponential(3)}); ` +
        `first values (expected vs got): ${shown.join('; ')}`,
    );
  }
  return problems;
}

export function isAllZero(t: GoldenTensor): boolean {
  return t.data.every((v) => v === 0);
}
