/**
 * The safetensors format, written and read here without dependencies
 * (https://huggingface.co/docs/safetensors: "8 bytes: N, an unsigned little-endian 64-bit integer, containing the
 * size of the header; N bytes: a JSON UTF-8 string representing the header; rest of the file: byte-buffer").
 * The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the start of
 * the byte buffer) plus an optional "__metadata__" string-to-string map. We pad the header with spaces to a
 * multiple of 8 bytes (as the reference writer does), lay tensors out in name order with no holes, and refuse any
 * file that breaks these rules.
 */
import { describeArg, objectArg } from '../args.js';
import { endianness } from 'node:os';
import * as et from '../../engine/index.js';

export type SafeDType = 'F32' | 'F64' | 'I32' | 'I8' | 'U8' | 'F16';

const TO_SAFE: Record<et.DType, SafeDType> = { f32: 'F32', f64: 'F64', i32: 'I32', i8: 'I8', u8: 'U8', f16: 'F16' };
const FROM_SAFE: Record<SafeDType, et.DType> = { F32: 'f32', F64: 'f64', I32: 'i32', I8: 'i8', U8: 'u8', F16: 'f16' };
const BYTES: Record<et.DType, number> = { f32: 4, f64: 8, i32: 4, i8: 1, u8: 1, f16: 2 };
const MAX_HEADER = 100 * 1024 * 1024;

/** A tensor's values on the host. */
export interface HostTensor {
  readonly dtype: et.DType;
  readonly shape: readonly number[];
  readonly data: et.TypedArray;
}

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function requireLittleEndian(): void {
  // Typed arrays use the host's byte order; every platform Node supports today is little-endian.
  if (endianness() !== 'LE') throw new SafetensorsError('safetensors I/O needs a little-endian host');
}

/** Serialises tensors (in name order) and string metadata into one safetensors buffer. */
export function encodeSafetensors(tensors: Readonly<Record<string, HostTensor>>, metadata?: Readonly<Record<string, string>>): Buffer {
  objectArg(tensors, 'encodeSafetensors', 'tensors');
  if (metadata !== undefined) objectArg(metadata, 'encodeSafetensors', 'metadata');
  requireLittleEndian();
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new SafetensorsError('"__metadata__" cannot be a tensor name');
    const t = tensors[name]!;
    const bytes = numel(t.shape) * BYTES[t.dtype];
    if (t.data.byteLength !== bytes) {
      throw new SafetensorsError(`tensor "${name}": ${t.data.length} values do not fill shape [${t.shape.join(', ')}]`);
    }
    header[name] = { dtype: TO_SAFE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.allocUnsafe(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name]!.data;
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, at);
    at += d.byteLength;
  }
  return out;
}

export interface DecodedSafetensors {
  readonly tensors: Record<string, HostTensor>;
  readonly metadata: Record<string, string>;
}

/** Parses and validates a safetensors buffer; every violation of the format is a SafetensorsError. */
export function decodeSafetensors(buf: Uint8Array, source = 'buffer'): DecodedSafetensors {
  if (!(buf instanceof Uint8Array)) throw new et.ArgumentError(`buf must be a Uint8Array (or a Buffer), got ${describeArg(buf)}`, { op: 'decodeSafetensors' });
  requireLittleEndian();
  const fail = (why: string): never => {
    throw new SafetensorsError(`${source} is not a valid safetensors file: ${why}`);
  };
  if (buf.length < 8) fail(`${buf.length} bytes is shorter than the 8-byte header length`);
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = view.readBigUInt64LE(0);
  if (n > BigInt(Math.min(MAX_HEADER, buf.length - 8))) fail(`header length ${n} exceeds the file (${buf.length} bytes)`);
  const headerLen = Number(n);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(view.toString('utf8', 8, 8 + headerLen)) as Record<string, unknown>;
  } catch (e) {
    return fail(`header is not JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: [string, et.DType, number[], number, number][] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!v || typeof v !== 'object') fail('__metadata__ is not an object');
      for (const [k, s] of Object.entries(v as object)) {
        if (typeof s !== 'string') fail(`__metadata__["${k}"] is not a string`);
        metadata[k] = s as string;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = FROM_SAFE[e?.dtype as SafeDType];
    if (!dtype) fail(`tensor "${name}" has unsupported dtype ${JSON.stringify(e?.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor "${name}" has an invalid shape`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0)) fail(`tensor "${name}" has invalid data_offsets`);
    const [b, end] = off as [number, number];
    if (end < b || end > dataLen) fail(`tensor "${name}" data_offsets [${b}, ${end}] fall outside the ${dataLen}-byte buffer`);
    if (end - b !== numel(shape as number[]) * BYTES[dtype]) fail(`tensor "${name}" has ${end - b} bytes for shape [${(shape as number[]).join(', ')}] ${e.dtype}`);
    entries.push([name, dtype, shape as number[], b, end]);
  }
  // The byte buffer must be covered exactly, without holes or overlaps.
  const sorted = [...entries].sort((a, b) => a[3] - b[3]);
  let expect = 0;
  for (const [name, , , b, end] of sorted) {
    if (b !== expect) fail(`tensor "${name}" starts at byte ${b}, expected ${expect} (holes or overlaps)`);
    expect = end;
  }
  if (expect !== dataLen) fail(`the byte buffer has ${dataLen} bytes but the tensors cover ${expect}`);
  const tensors: Record<string, HostTensor> = {};
  for (const [name, dtype, shape, b, end] of entries) {
    const bytes = buf.slice(dataStart + b, dataStart + end); // a copy, aligned at 0
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const data =
      dtype === 'f32'
        ? new Float32Array(ab)
        : dtype === 'f64'
          ? new Float64Array(ab)
          : dtype === 'i32'
            ? new Int32Array(ab)
            : dtype === 'i8'
              ? new Int8Array(ab)
              : dtype === 'f16'
                ? new Uint16Array(ab) // binary16 bit patterns, the engine's f16 host form
                : new Uint8Array(ab);
    tensors[name] = { dtype, shape, data };
  }
  return { tensors, metadata };
}
