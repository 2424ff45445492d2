/** Creating tensors from data, constants and seeded random numbers. */
import type { BackendName } from './backend.js';
import { backendByName, currentBackend } from './device.js';
import { type DType, type TypedArray, allocTyped, dtypeOfTyped, isDType, toTyped } from './dtype.js';
import { optionsArg, tensorArg } from './args.js';
import { ArgumentError, BackendError, DTypeError, ShapeError } from './errors.js';
import { describeValue } from './describe-value.js';
import { rngFor } from './random.js';
import { type Shape, assertValidShape, numel } from './shape.js';
import { Tensor } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  backend?: BackendName;
}

export type NestedArray = number | boolean | readonly NestedArray[];

function resolveBackend(name: BackendName | undefined) {
  return name ? backendByName(name) : currentBackend();
}

/**
 * A host array for values of dtype d, filled by the creation functions below and converted by fromTyped. f16 values
 * are staged as doubles (a Uint16Array would hold bit patterns) and rounded to f16 once, when uploaded.
 */
function hostValues(d: DType, n: number, op: string, shape: Shape): TypedArray {
  try {
    return allocTyped(d === 'f16' ? 'f64' : d, n);
  } catch (e) {
    // past the host's typed-array length limit, or out of memory
    throw new ArgumentError(`cannot stage ${n} values in host memory (${e instanceof Error ? e.message : String(e)})`, { op, shapes: [shape], dtypes: [d] });
  }
}

/** @internal uploads a typed array as a new tensor. */
export function fromTyped(data: TypedArray, shape: Shape, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? dtypeOfTyped(data);
  if (!isDType(dtype)) throw new DTypeError(`unknown dtype '${String(dtype)}'`, { op: 'tensor' });
  assertValidShape(shape, 'tensor');
  if (numel(shape) !== data.length) {
    throw new ShapeError(`${data.length} values do not fill shape [${shape.join(', ')}]`, { op: 'tensor', shapes: [shape] });
  }
  const backend = resolveBackend(opts.backend);
  if (!backend.dtypes.includes(dtype)) {
    const where = dtype === 'f16' ? " (f16 lives on cpu, and on webgpu where the adapter has 'shader-f16')" : '';
    throw new BackendError(`backend '${backend.name}' does not support dtype ${dtype}${where}`, { op: 'tensor', dtypes: [dtype], backend: backend.name });
  }
  const t = Tensor.allocate(backend, shape, dtype);
  backend.write(t.storage.buffer, dtypeOfTyped(data) === dtype ? data : toTyped(dtype, data));
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function flatten(data: NestedArray, shape: number[], out: number[], depth: number): void {
  if (Array.isArray(data)) {
    if (shape.length === depth) shape.push(data.length);
    else if (shape[depth] !== data.length) {
      throw new ShapeError(`ragged nested array: expected length ${shape[depth]} at depth ${depth}, got ${data.length}`, { op: 'tensor' });
    }
    for (const v of data) flatten(v as NestedArray, shape, out, depth + 1);
  } else {
    if (shape.length !== depth) throw new ShapeError(`ragged nested array: a number where an array of length ${shape[depth]} was expected`, { op: 'tensor' });
    if (typeof data !== 'number' && typeof data !== 'boolean') throw new ArgumentError(`tensor data must be numbers, got ${typeof data}`, { op: 'tensor' });
    out.push(Number(data));
  }
}

/**
 * A tensor from a number, nested arrays or a typed array (then `shape` defaults to 1-D). Numbers are values in every
 * dtype (f16 rounds them to nearest even); a Uint16Array is always f16 bit patterns: it makes an f16 tensor of those
 * exact bits, or, with another dtype, a tensor of the values they encode.
 */
export function tensor(data: NestedArray | TypedArray, options?: CreateOptions & { shape?: Shape }): Tensor {
  const opts = optionsArg(options, 'tensor');
  if (ArrayBuffer.isView(data)) {
    const typed = data as TypedArray;
    return fromTyped(typed, opts.shape ?? [typed.length], { ...opts, dtype: opts.dtype ?? dtypeOfTyped(typed) });
  }
  const shape: number[] = [];
  const flat: number[] = [];
  flatten(data, shape, flat, 0);
  const dtype = opts.dtype ?? 'f32';
  if (!isDType(dtype)) throw new DTypeError(`unknown dtype '${String(dtype)}'`, { op: 'tensor' });
  const finalShape = opts.shape ?? shape;
  return fromTyped(toTyped(dtype, flat), finalShape, { ...opts, dtype });
}

export function full(shape: Shape, value: number, options?: CreateOptions): Tensor {
  return fill(shape, value, options, 'full');
}

/** full's body, with the name of the function the caller called (zeros, onesLike, ...) for its errors. */
function fill(shape: Shape, value: number, options: CreateOptions | undefined, op: string): Tensor {
  const opts = optionsArg(options, op);
  assertValidShape(shape, op);
  if (typeof value !== 'number' && typeof value !== 'boolean') throw new ArgumentError(`the fill value must be a number, got ${describeValue(value)}`, { op });
  const dtype = opts.dtype ?? 'f32';
  const data = hostValues(dtype, numel(shape), op, shape);
  data.fill(Number(value));
  return fromTyped(data, shape, { ...opts, dtype });
}

export const zeros = (shape: Shape, opts?: CreateOptions): Tensor => fill(shape, 0, opts, 'zeros');
export const ones = (shape: Shape, opts?: CreateOptions): Tensor => fill(shape, 1, opts, 'ones');

function filledLike(t: Tensor, value: number, opts: CreateOptions | undefined, op: string): Tensor {
  const like = tensorArg(t, op, 't');
  // only its shape and dtype are read, but using a disposed tensor is a bug everywhere else too
  like.assertLive(op);
  return fill(like.shape, value, { dtype: like.dtype, backend: like.backend as BackendName, ...optionsArg(opts, op) }, op);
}
export const zerosLike = (t: Tensor, opts?: CreateOptions): Tensor => filledLike(t, 0, opts, 'zerosLike');
export const onesLike = (t: Tensor, opts?: CreateOptions): Tensor => filledLike(t, 1, opts, 'onesLike');
export const fullLike = (t: Tensor, value: number, opts?: CreateOptions): Tensor => filledLike(t, value, opts, 'fullLike');

/** arange(stop) or arange(start, stop, step = 1), like numpy. */
export function arange(a: number, b?: number, step = 1, options?: CreateOptions): Tensor {
  const opts = optionsArg(options, 'arange');
  for (const [name, v] of [['start or stop', a], ['stop', b === undefined ? 0 : b], ['step', step]] as const) {
    if (typeof v !== 'number' || Number.isNaN(v)) throw new ArgumentError(`${name} must be a number, got ${describeValue(v)}`, { op: 'arange' });
  }
  const [start, stop] = b === undefined ? [0, a] : [a, b];
  if (step === 0 || !Number.isFinite(step)) throw new ArgumentError(`step must be a finite non-zero number, got ${step}`, { op: 'arange' });
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = opts.dtype ?? 'f32';
  const data = hostValues(dtype, n, 'arange', [n]);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return fromTyped(data, [n], { ...opts, dtype });
}

export function eye(n: number, m = n, options?: CreateOptions): Tensor {
  const opts = optionsArg(options, 'eye');
  const dtype = opts.dtype ?? 'f32';
  assertValidShape([n, m], 'eye');
  const data = hostValues(dtype, n * m, 'eye', [n, m]);
  for (let i = 0; i < Math.min(n, m); i++) data[i * m + i] = 1;
  return fromTyped(data, [n, m], { ...opts, dtype });
}

export interface RandomOptions extends CreateOptions {
  seed?: number;
}

/** Random values are drawn in doubles; f16 rounds them once on upload. */
function floatDtype(opts: CreateOptions, op: string): DType {
  const dtype = opts.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f64' && dtype !== 'f16') throw new DTypeError(`needs a float dtype (f32, f64 or f16), got ${dtype}`, { op, dtypes: [dtype] });
  return dtype;
}

/** Uniform in [low, high). */
export function rand(shape: Shape, options?: RandomOptions & { low?: number; high?: number }): Tensor {
  const opts = optionsArg(options, 'rand');
  const dtype = floatDtype(opts, 'rand');
  assertValidShape(shape, 'rand');
  const rng = rngFor(opts.seed);
  const low = opts.low ?? 0;
  const high = opts.high ?? 1;
  const data = hostValues(dtype, numel(shape), 'rand', shape);
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * rng.next();
  return fromTyped(data, shape, { ...opts, dtype });
}

export function randn(shape: Shape, options?: RandomOptions & { mean?: number; std?: number }): Tensor {
  const opts = optionsArg(options, 'randn');
  const dtype = floatDtype(opts, 'randn');
  assertValidShape(shape, 'randn');
  const rng = rngFor(opts.seed);
  const mean = opts.mean ?? 0;
  const std = opts.std ?? 1;
  const data = hostValues(dtype, numel(shape), 'randn', shape);
  rng.fillNormal(data, mean, std);
  return fromTyped(data, shape, { ...opts, dtype });
}

/** Integers uniform in [low, high). */
export function randint(shape: Shape, low: number, high: number, options?: RandomOptions): Tensor {
  const opts = optionsArg(options, 'randint');
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new ArgumentError(`needs integers low < high, got ${low}, ${high}`, { op: 'randint' });
  }
  assertValidShape(shape, 'randint');
  const rng = rngFor(opts.seed);
  const data = hostValues('i32', numel(shape), 'randint', shape);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(low, high);
  return fromTyped(data, shape, { ...opts, dtype: opts.dtype ?? 'i32' });
}

/** @internal a 0-d tensor with t's dtype and backend, for number operands. */
export function scalarLike(value: number, like: Tensor): Tensor {
  const data = hostValues(like.dtype, 1, 'scalar', []);
  data[0] = value;
  return fromTyped(data, [], { dtype: like.dtype, backend: like.backend as BackendName });
}

/** A copy of t on another backend (async: reading a device buffer is). Autodiff does not cross backends. */
export async function toBackend(t: Tensor, backend: BackendName): Promise<Tensor> {
  tensorArg(t, 'toBackend', 't').assertLive('toBackend');
  const data = await t.data();
  return fromTyped(data, t.shape, { dtype: t.dtype, backend });
}
