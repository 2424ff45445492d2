/**
 * The tensors of a compressed model as safetensors entries, so that the file's size is the compressed size:
 *   f32          N                 F32 [shape]
 *   f32-sparse   N.mask  U8 [⌈n/8⌉]  + N.values F32 [nnz]
 *   int8         N.q     I8 [shape]  + N.scale  F32 [rows]
 *   int8-sparse  N.mask  U8 [⌈n/8⌉]  + N.q      I8 [nnz]   + N.scale F32 [rows]
 * The mask is a bitmap of the nonzero values in row-major order, least significant bit first (bit i of the tensor
 * is bit i % 8 of byte ⌊i/8⌋); the packed values are the nonzero ones in the same order. A tensor is stored sparse
 * exactly when that is smaller than storing it dense, so pruned tensors cost ⌈n/8⌉ + nnz·bytes. "Nonzero" is
 * decided on the bit pattern, so −0.0 is kept and every tensor round-trips bit for bit.
 */
import * as et from '../../engine/index.js';
import { describeArg, objectArg } from '../args.js';
import { CheckpointError } from '../train/checkpoint.js';
import type { HostTensor } from '../train/safetensors.js';
import type { QuantizedMatrix } from './quantize.js';

export type TensorEncoding = 'f32' | 'f32-sparse' | 'int8' | 'int8-sparse';

export interface TensorLayout {
  readonly encoding: TensorEncoding;
  readonly shape: readonly number[];
}

/** A tensor to store: f32 values, or an int8 matrix [rows, cols] with per-row scales. */
export type CompressedEntry =
  | { readonly kind: 'f32'; readonly shape: readonly number[]; readonly data: Float32Array }
  | { readonly kind: 'int8'; readonly shape: readonly [number, number]; readonly q: QuantizedMatrix };

export interface EncodedTensors {
  readonly tensors: Record<string, HostTensor>;
  readonly layout: Record<string, TensorLayout>;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The raw integer view whose zero is exactly the all-zero bit pattern. */
function bitsOf(data: Float32Array | Int8Array): Uint32Array | Int8Array {
  return data instanceof Float32Array ? new Uint32Array(data.buffer, data.byteOffset, data.length) : data;
}

/** A Float32Array or Int8Array of weights or their int8 codes. */
function typedArrayArg(data: unknown, op: string, name = 'data'): void {
  if (!(data instanceof Float32Array) && !(data instanceof Int8Array)) throw new et.ArgumentError(`${name} must be a Float32Array or an Int8Array, got ${describeArg(data)}`, { op });
}

export function countNonzero(data: Float32Array | Int8Array): number {
  typedArrayArg(data, 'countNonzero');
  const bits = bitsOf(data);
  let nnz = 0;
  for (let i = 0; i < bits.length; i++) if (bits[i] !== 0) nnz++;
  return nnz;
}

/** The bitmap of nonzero values and the nonzero values, packed. */
export function packSparse<A extends Float32Array | Int8Array>(data: A): { mask: Uint8Array; values: A } {
  typedArrayArg(data, 'packSparse');
  const bits = bitsOf(data);
  const mask = new Uint8Array(Math.ceil(data.length / 8));
  const values = new (data.constructor as new (n: number) => A)(countNonzero(data));
  let at = 0;
  for (let i = 0; i < bits.length; i++) {
    if (bits[i] === 0) continue;
    mask[i >> 3]! |= 1 << (i & 7);
    values[at++] = data[i]!;
  }
  return { mask, values };
}

/** The inverse of packSparse: n values with zeros where the mask bit is 0. */
export function unpackSparse<A extends Float32Array | Int8Array>(mask: Uint8Array, values: A, n: number, source: string): A {
  if (!(mask instanceof Uint8Array)) throw new et.ArgumentError(`mask must be a Uint8Array, got ${describeArg(mask)}`, { op: 'unpackSparse' });
  typedArrayArg(values, 'unpackSparse', 'values');
  if (mask.length !== Math.ceil(n / 8)) throw new CheckpointError(`${source}: the mask has ${mask.length} bytes for ${n} values (expected ${Math.ceil(n / 8)})`);
  const out = new (values.constructor as new (n: number) => A)(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    if (!(mask[i >> 3]! & (1 << (i & 7)))) continue;
    if (at === values.length) throw new CheckpointError(`${source}: the mask marks more values than the ${values.length} stored`);
    out[i] = values[at++]!;
  }
  if (at !== values.length) throw new CheckpointError(`${source}: the mask marks ${at} values but ${values.length} are stored`);
  // bits past n in the last byte must be clear, so that one tensor has exactly one encoding
  if (n % 8 !== 0 && mask[mask.length - 1]! >> (n % 8) !== 0) throw new CheckpointError(`${source}: the mask has bits set past its ${n} values`);
  return out;
}

/** Sparse storage is chosen when ⌈n/8⌉ + nnz·bytes < n·bytes. */
function sparseIsSmaller(n: number, nnz: number, bytes: number): boolean {
  return Math.ceil(n / 8) + nnz * bytes < n * bytes;
}

export function encodeTensors(entries: Readonly<Record<string, CompressedEntry>>): EncodedTensors {
  objectArg(entries, 'encodeTensors', 'entries');
  const tensors: Record<string, HostTensor> = {};
  const layout: Record<string, TensorLayout> = {};
  for (const [name, e] of Object.entries(entries)) {
    const shape = [...e.shape];
    const n = numel(shape);
    if (e.kind === 'f32') {
      if (e.data.length !== n) throw new CheckpointError(`encodeTensors: "${name}" has ${e.data.length} values for shape [${shape.join(', ')}]`);
      if (sparseIsSmaller(n, countNonzero(e.data), 4)) {
        const { mask, values } = packSparse(e.data);
        tensors[`${name}.mask`] = { dtype: 'u8', shape: [mask.length], data: mask };
        tensors[`${name}.values`] = { dtype: 'f32', shape: [values.length], data: values };
        layout[name] = { encoding: 'f32-sparse', shape };
      } else {
        tensors[name] = { dtype: 'f32', shape, data: e.data };
        layout[name] = { encoding: 'f32', shape };
      }
      continue;
    }
    const { q } = e;
    if (q.rows !== shape[0] || q.cols !== shape[1] || q.wq.length !== n || q.scales.length !== q.rows) {
      throw new CheckpointError(`encodeTensors: the int8 matrix of "${name}" does not fit its shape [${shape.join(', ')}]`);
    }
    tensors[`${name}.scale`] = { dtype: 'f32', shape: [q.rows], data: q.scales };
    if (sparseIsSmaller(n, countNonzero(q.wq), 1)) {
      const { mask, values } = packSparse(q.wq);
      tensors[`${name}.mask`] = { dtype: 'u8', shape: [mask.length], data: mask };
      tensors[`${name}.q`] = { dtype: 'i8', shape: [values.length], data: values };
      layout[name] = { encoding: 'int8-sparse', shape };
    } else {
      tensors[`${name}.q`] = { dtype: 'i8', shape, data: q.wq };
      layout[name] = { encoding: 'int8', shape };
    }
  }
  return { tensors, layout };
}

export function decodeTensors(tensors: Readonly<Record<string, HostTensor>>, layout: Readonly<Record<string, TensorLayout>>, source: string): Record<string, CompressedEntry> {
  objectArg(tensors, 'decodeTensors', 'tensors');
  objectArg(layout, 'decodeTensors', 'layout');
  const used = new Set<string>();
  const get = (key: string, dtype: HostTensor['dtype']): HostTensor => {
    const t = tensors[key];
    if (!t) throw new CheckpointError(`${source}: tensor "${key}" is missing`);
    if (t.dtype !== dtype) throw new CheckpointError(`${source}: tensor "${key}" is ${t.dtype}, expected ${dtype}`);
    used.add(key);
    return t;
  };
  const out: Record<string, CompressedEntry> = {};
  for (const [name, { encoding, shape }] of Object.entries(layout)) {
    const n = numel(shape);
    const where = `${source}: "${name}"`;
    switch (encoding) {
      case 'f32': {
        const t = get(name, 'f32');
        if (t.data.length !== n) throw new CheckpointError(`${where} has ${t.data.length} values for shape [${shape.join(', ')}]`);
        out[name] = { kind: 'f32', shape, data: t.data as Float32Array };
        break;
      }
      case 'f32-sparse': {
        const data = unpackSparse(get(`${name}.mask`, 'u8').data as Uint8Array, get(`${name}.values`, 'f32').data as Float32Array, n, where);
        out[name] = { kind: 'f32', shape, data };
        break;
      }
      case 'int8':
      case 'int8-sparse': {
        if (shape.length !== 2) throw new CheckpointError(`${where} is int8 but not a matrix (shape [${shape.join(', ')}])`);
        const [rows, cols] = shape as [number, number];
        const scales = get(`${name}.scale`, 'f32').data as Float32Array;
        if (scales.length !== rows) throw new CheckpointError(`${where} has ${scales.length} scales for ${rows} rows`);
        const stored = get(`${name}.q`, 'i8').data as Int8Array;
        const wq = encoding === 'int8' ? stored : unpackSparse(get(`${name}.mask`, 'u8').data as Uint8Array, stored, n, where);
        if (wq.length !== n) throw new CheckpointError(`${where} has ${wq.length} int8 values for shape [${rows}, ${cols}]`);
        out[name] = { kind: 'int8', shape: [rows, cols], q: { rows, cols, wq, scales } };
        break;
      }
      default:
        throw new CheckpointError(`${where} has unknown encoding ${JSON.stringify(encoding)}`);
    }
  }
  const extra = Object.keys(tensors).filter((k) => !used.has(k));
  if (extra.length) throw new CheckpointError(`${source}: tensors not described by the layout: ${extra.join(', ')}`);
  return out;
}
