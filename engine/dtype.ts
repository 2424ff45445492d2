/** Element types. f64 exists for gradient checks on the cpu backend; i8/u8 are storage types (int8 weights, masks). */
export type DType = 'f32' | 'f64' | 'i32' | 'i8' | 'u8';

export type TypedArray = Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array;

export const DTYPES: readonly DType[] = ['f32', 'f64', 'i32', 'i8', 'u8'];

const CTORS = {
  f32: Float32Array,
  f64: Float64Array,
  i32: Int32Array,
  i8: Int8Array,
  u8: Uint8Array,
} as const;

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function isFloat(d: DType): boolean {
  return d === 'f32' || d === 'f64';
}

export function itemSize(d: DType): number {
  return CTORS[d].BYTES_PER_ELEMENT;
}

export function allocTyped(d: DType, n: number): TypedArray {
  return new CTORS[d](n);
}

/** Converts any array-like into the typed array of dtype d (copying). */
export function toTyped(d: DType, src: ArrayLike<number>): TypedArray {
  const out = allocTyped(d, src.length);
  if (d === 'f32' || d === 'f64') {
    out.set(src as ArrayLike<number>);
  } else {
    // integer stores truncate toward zero like a C cast; round so that 2.9999999 from f32 math becomes 3
    for (let i = 0; i < src.length; i++) out[i] = Math.round(src[i]!);
  }
  return out;
}

export function dtypeOfTyped(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Float64Array) return 'f64';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Int8Array) return 'i8';
  return 'u8';
}
