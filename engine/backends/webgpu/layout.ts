/**
 * Strided layouts as the kernels read them (kernels/common.wgsl `Layout`: 8 shape words, 8 stride words, 8 f32
 * reciprocals of the sizes, offset, rank, dense flag, fast-division flag = 28 u32). Axes that every operand walks the
 * same way are merged first, so most operands become rank 1 and the index math is a multiply, not a div/mod chain.
 */
import { BackendError } from '../../errors.js';

export const MAX_RANK = 8;
export const LAYOUT_WORDS = 28;
/** Below this many elements the kernels divide through f32 reciprocals (exact after one correction). */
const FAST_DIV_LIMIT = 1 << 22;

export interface FlatLayout {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** Merges axes jointly for operands that share `shape`; drops size-1 axes. */
export function collapse(shape: readonly number[], operands: readonly { strides: readonly number[]; offset: number }[]): { shape: number[]; strides: number[][] } {
  const dims: number[] = [];
  const strides: number[][] = operands.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const last = dims.length - 1;
    // axis d merges into the previous kept axis when every operand steps over it contiguously
    if (last >= 0 && operands.every((op, k) => strides[k]![last] === op.strides[d]! * n)) {
      dims[last]! *= n;
      operands.forEach((op, k) => (strides[k]![last] = op.strides[d]!));
    } else {
      dims.push(n);
      operands.forEach((op, k) => strides[k]!.push(op.strides[d]!));
    }
  }
  return { shape: dims, strides };
}

export function isDense(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
const f32Bits = (v: number): number => ((f32Scratch[0] = v), u32Scratch[0]!);

/** Writes one layout (28 words) at `at`. */
export function writeLayout(words: Uint32Array, at: number, layout: FlatLayout): void {
  const rank = layout.shape.length;
  if (rank > MAX_RANK) {
    throw new BackendError(`a strided operand of rank ${rank} (after merging axes) exceeds the kernels' ${MAX_RANK}`, { backend: 'webgpu', shapes: [layout.shape] });
  }
  let numel = 1;
  for (let d = 0; d < MAX_RANK; d++) {
    const n = d < rank ? layout.shape[d]! : 1;
    numel *= n;
    words[at + d] = n;
    words[at + 8 + d] = d < rank ? layout.strides[d]! : 0;
    words[at + 16 + d] = f32Bits(1 / Math.max(n, 1));
  }
  words[at + 24] = layout.offset;
  words[at + 25] = rank;
  words[at + 26] = isDense(layout.shape, layout.strides) ? 1 : 0;
  words[at + 27] = numel < FAST_DIV_LIMIT ? 1 : 0;
}

/** The layouts of operands of one shape, merged jointly. */
export function jointLayouts(shape: readonly number[], operands: readonly FlatLayout[]): FlatLayout[] {
  const c = collapse(shape, operands);
  return operands.map((op, k) => ({ shape: c.shape, strides: c.strides[k]!, offset: op.offset }));
}

/** Whether a (merged) layout reads elements offset + i. */
export const isDenseLayout = (l: FlatLayout): boolean => isDense(l.shape, l.strides);

/** Builds the little-endian u32 words of a uniform block; floats are stored by their bits. */
export class Params {
  private words: Uint32Array;
  private floats: Float32Array;
  private n = 0;
  constructor(capacity = 96) {
    this.words = new Uint32Array(capacity);
    this.floats = new Float32Array(this.words.buffer);
  }
  u32(...vs: number[]): this {
    for (const v of vs) this.words[this.n++] = v >>> 0;
    return this;
  }
  f32(v: number): this {
    this.floats[this.n++] = v;
    return this;
  }
  layout(l: FlatLayout): this {
    writeLayout(this.words, this.n, l);
    this.n += LAYOUT_WORDS;
    return this;
  }
  /** Pads to a 16-byte boundary, as uniform structs end. */
  done(): Uint32Array {
    while (this.n % 4 !== 0) this.words[this.n++] = 0;
    return this.words.subarray(0, this.n);
  }
}
