/**
 * IEEE 754 binary16 ("f16") on the host. Node 20 has no Float16Array, so f16 tensors are stored as the raw bit
 * patterns in a Uint16Array; these two conversions are the only place the bits are made or read.
 * Encoding rounds to nearest, ties to even, from the full double (so f64 -> f16 rounds once, not via f32);
 * |x| >= 65520 (halfway between the largest finite half, 65504, and 2^16) becomes ±Inf, values below 2^-14 become
 * subnormals (multiples of 2^-24), NaN becomes the quiet NaN 0x7e00 and the sign of zero is kept.
 */

/** v >= 0 rounded to an integer, ties to even. v - floor(v) is exact for the magnitudes used here (< 2^12). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/** The binary16 bit pattern nearest to x. */
export function f16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // the tie at 65520 goes to the even neighbour 2^16, which does not fit: Inf (as IEEE overflow under round-to-nearest)
  if (a >= 65520) return sign | 0x7c00;
  // subnormal range: a count of 2^-24 steps; a count of 1024 is the smallest normal 0x0400, so the bits still fit
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24);
  let e = Math.floor(Math.log2(a));
  // log2 of a double can be off by one next to a power of two: fix e so that 2^e <= a < 2^(e+1)
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  // 11 significant bits; scaling by a power of two is exact. m = 2048 carries into the exponent field by the addition.
  const m = roundHalfEven(a * 2 ** (10 - e));
  return sign | (((e + 15) << 10) + m - 1024);
}

let table: Float32Array | null = null;

/** The value of every pattern, built once (decoding is then one lookup per element). */
function decodeTable(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const exp = (h >> 10) & 0x1f;
    const man = h & 0x3ff;
    const mag = exp === 0 ? man * 2 ** -24 : exp === 31 ? (man === 0 ? Infinity : NaN) : 2 ** (exp - 15) * (1 + man / 1024);
    table[h] = h & 0x8000 ? -mag : mag;
  }
  return table;
}

/** The value of one bit pattern. */
export function f16Value(bits: number): number {
  return decodeTable()[bits & 0xffff]!;
}

/** Numbers to binary16 bit patterns. */
export function encodeF16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16Bits(values[i]!);
  return out;
}

/** Binary16 bit patterns to their values (every half is exactly an f32). */
export function decodeF16(bits: Uint16Array): Float32Array {
  const t = decodeTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]!]!;
  return out;
}
