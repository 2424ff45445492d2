/**
 * Element types. f64 exists for gradient checks on the cpu backend; i8/u8 are storage types (int8 weights, masks);
 * f16 is a storage type too (IEEE binary16: halves the bytes of a matmul operand, which multiplies in f32).
 */
import { decodeF16, encodeF16 } from './half.js';

export type DType = 'f32' | 'f64' | 'i32' | 'i8' | 'u8' | 'f16';

/** Host arrays of each dtype; an f16 array is a Uint16Array of binary16 bit patterns (Node 20 has no Float16Array). */
export type TypedArray = Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

export const DTYPES: readonly DType[] = ['f32', 'f64', 'i32', 'i8', 'u8', 'f16'];

const CTORS = {
  f32: Float32Array,
  f64: Float64Array,
  i32: Int32Array,
  i8: Int8Array,
  u8: Uint8Array,
  f16: Uint16Array,
} as const;

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

/** The arithmetic float dtypes. f16 is not one: it is cast, copied, viewed and multiplied (matmul), nothing else. */
export function isFloat(d: DType): boolean {
  return d === 'f32' || d === 'f64';
}

/** Dtypes a gradient can flow through: the float dtypes and f16 (a cast to f16 or an f16 matmul operand). */
export function carriesGradient(d: DType): boolean {
  return isFloat(d) || d === 'f16';
}

export function itemSize(d: DType): number {
  return CTORS[d].BYTES_PER_ELEMENT;
}

/** A zeroed host array of dtype d (for f16: the bit patterns, where 0 is +0). */
export function allocTyped(d: DType, n: number): TypedArray {
  return new CTORS[d](n);
}

/**
 * Converts an array into the typed array of dtype d (copying). Numbers are values; a Uint16Array always holds
 * f16 bit patterns, so it is decoded first unless d is f16 (then the bits are copied as they are).
 */
export function toTyped(d: DType, src: ArrayLike<number>): TypedArray {
  let values = src;
  if (src instanceof Uint16Array) {
    if (d === 'f16') return src.slice();
    values = decodeF16(src);
  }
  if (d === 'f16') return encodeF16(values);
  const out = allocTyped(d, values.length);
  if (d === 'f32' || d === 'f64') {
    out.set(values);
  } else {
    // integer stores truncate toward zero like a C cast; round so that 2.9999999 from f32 math becomes 3
    for (let i = 0; i < values.length; i++) out[i] = Math.round(values[i]!);
  }
  return out;
}

export function dtypeOfTyped(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Float64Array) return 'f64';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Int8Array) return 'i8';
  if (a instanceof Uint16Array) return 'f16';
  return 'u8';
}
