/**
 * Int8 symmetric per-output-channel weight quantisation on the host (EITP-SPEC "Compression"):
 *   s_j = max_i |W_ji| / 127,   W_q = clamp(round(W / s_j), −127, 127),   W ≈ s_j·W_q
 * for W [out, in] (rows are output channels). round is round-half-to-even, the rounding of the int8 kernels
 * (rintf / nearbyint), so host and kernel quantisers agree on ties. A row of zeros gets s_j = 0 and W_q = 0.
 */
import { objectArg } from '../args.js';
import * as et from '../../engine/index.js';

/** W [rows, cols] as int8 values and one f32 scale per row. */
export interface QuantizedMatrix {
  readonly rows: number;
  readonly cols: number;
  /** [rows·cols] row-major */
  readonly wq: Int8Array;
  /** [rows] */
  readonly scales: Float32Array;
}

/** Round half to even (banker's rounding), as C's rint in the default rounding mode. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const frac = x - f;
  if (frac < 0.5) return f;
  if (frac > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

function requireMatrix(op: string, data: ArrayLike<number>, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new et.ArgumentError(`${op}: rows and cols must be positive integers, got ${rows} x ${cols}`, { op });
  }
  if (data.length !== rows * cols) {
    throw new et.ShapeError(`${op}: ${data.length} values do not fill [${rows}, ${cols}]`, { op, shapes: [[rows, cols]] });
  }
}

/** Quantises W [rows, cols] (row-major) per row. Non-finite weights are refused: they have no int8 value. */
export function quantizePerChannel(w: ArrayLike<number>, rows: number, cols: number): QuantizedMatrix {
  requireMatrix('quantizePerChannel', w, rows, cols);
  const wq = new Int8Array(rows * cols);
  const scales = new Float32Array(rows);
  for (let j = 0; j < rows; j++) {
    const base = j * cols;
    let amax = 0;
    for (let i = 0; i < cols; i++) {
      const v = w[base + i]!;
      if (!Number.isFinite(v)) {
        throw new et.ArgumentError(`quantizePerChannel: weight [${j}, ${i}] is ${v}; only finite weights can be quantised`, { op: 'quantizePerChannel' });
      }
      amax = Math.max(amax, Math.abs(v));
    }
    const s = Math.fround(amax / 127);
    scales[j] = s;
    if (s === 0) continue; // an all-zero row (or one below f32's range once divided): W_q = 0 represents it exactly
    for (let i = 0; i < cols; i++) wq[base + i] = Math.max(-127, Math.min(127, roundHalfEven(w[base + i]! / s)));
  }
  return { rows, cols, wq, scales };
}

/** s_j·W_q rounded to f32: the weight the int8 kernels multiply by. */
export function dequantize(q: QuantizedMatrix): Float32Array {
  objectArg(q, 'dequantize', 'the quantized matrix');
  requireMatrix('dequantize', q.wq, q.rows, q.cols);
  if (q.scales.length !== q.rows) {
    throw new et.ShapeError(`dequantize: ${q.scales.length} scales for ${q.rows} rows`, { op: 'dequantize', shapes: [[q.scales.length]] });
  }
  const out = new Float32Array(q.rows * q.cols);
  for (let j = 0; j < q.rows; j++) {
    const s = q.scales[j]!;
    for (let i = 0, k = j * q.cols; i < q.cols; i++, k++) out[k] = q.wq[k]! * s;
  }
  return out;
}
