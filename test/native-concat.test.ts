/**
 * The native concat kernel (native/indexing.cc kConcat): each input goes straight into its slots of the output,
 * contiguous inputs by runs of their rows, strided ones through gatherBlocks (native/strided.cc) with the output's
 * row as the pitch. A copy, so the result must equal the cpu reference's bit for bit, on layouts that reach every
 * path: the attention cotangents' permuted views (the char-GPT's q, k, v joined along a middle axis, one of them with
 * its last two axes' roles swapped), transposed views whose [rows, cols] matrices lie inside one output slot (the tiled
 * path), a stride-1 axis two before the last (rows), views concatenated along their last axis (rows, not tiles),
 * offsets, empty inputs, each on 1 and 2 threads,
 * for f32, i32 and u8. Skipped when the addon is not built (EITP_REQUIRE_NATIVE=1 fails instead).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { nativeInfo, setNativeThreads } from '../engine/backends/native/index.js';
import { availableBackends } from './helpers/backends.js';

const hasNative = availableBackends().includes('native');

/** Distinct values per element (exact in f32, i32 and wrapped to u8), so a misplaced element shows. */
function values(shape: number[], dtype: et.DType, backend: et.BackendName, seed: number): et.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'f32' ? Float32Array.from({ length: n }, (_, i) => seed * 1e5 + i) : dtype === 'i32' ? Int32Array.from({ length: n }, (_, i) => seed * 1e5 + i) : Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) % 251);
  return et.tensor(data, { shape, dtype, backend });
}

/** Builds the inputs on a backend, concatenates them, and reads the result back. */
type Case = (b: et.BackendName, dtype: et.DType) => { inputs: et.Tensor[]; axis: number };

const cases: Record<string, Case> = {
  // the GPT's dq, dk, dv as [B, T, 1, H, hd] views of [B, H, T, hd] (dk of [B, H, hd, T]) joined along axis 2
  'attention cotangents (permuted views, one with T and hd swapped)': (b, d) => ({
    inputs: [
      values([32, 2, 24, 16], d, b, 1).permute([0, 2, 1, 3]).reshape([32, 24, 1, 2, 16]),
      values([32, 2, 16, 24], d, b, 2).permute([0, 3, 1, 2]).reshape([32, 24, 1, 2, 16]),
      values([32, 2, 24, 16], d, b, 3).permute([0, 2, 1, 3]).reshape([32, 24, 1, 2, 16]),
    ],
    axis: 2,
  }),
  // transposed [rows, cols] matrices inside one slot of each output row (concatenated along an axis before them):
  // the 32 x 32 tiled path, two output rows, with a contiguous input between
  'transposed views along a middle axis (tiled path) and a contiguous input': (b, d) => ({
    inputs: [values([2, 3, 40, 33], d, b, 1).transpose(), values([2, 2, 33, 40], d, b, 2), values([2, 4, 40, 33], d, b, 3).transpose()],
    axis: 1,
  }),
  // a stride-1 axis with another between it and the strided last one (row by row), along axis 0 (whole [40, 3, 11]
  // slots) and along axis 2 (a step along it is a whole output row)
  'a stride-1 axis two before the last, along axis 0': (b, d) => ({
    inputs: [values([2, 3, 11, 40], d, b, 1).permute([0, 3, 1, 2]), values([1, 40, 3, 11], d, b, 2)],
    axis: 0,
  }),
  'a stride-1 axis two before the last, along axis 2': (b, d) => ({
    inputs: [values([2, 3, 11, 40], d, b, 1).permute([0, 3, 1, 2]), values([2, 40, 5, 11], d, b, 2)],
    axis: 2,
  }),
  'transposed views along axis 0': (b, d) => ({ inputs: [values([3, 50, 20], d, b, 1).transpose(), values([4, 50, 20], d, b, 2).transpose()], axis: 0 }),
  // along the last axis a transposed matrix spans many slots: row by row
  'transposed views along the last axis (rows)': (b, d) => ({ inputs: [values([37, 19], d, b, 1).transpose(), values([11, 19], d, b, 2).transpose(), values([19, 5], d, b, 3)], axis: 1 }),
  'strided slices at offsets, and an empty input': (b, d) => ({
    inputs: [values([9, 30], d, b, 1).slice([1, 2], [8, 29]).transpose(), values([27, 0], d, b, 2), values([27, 9], d, b, 3).slice([0, 1], [27, 8])],
    axis: 1,
  }),
  'a broadcast (stride 0) input': (b, d) => ({ inputs: [et.expand(values([1, 6], d, b, 1), [300, 6]), values([300, 4], d, b, 2)], axis: 1 }),
};

describe.skipIf(!hasNative && process.env.EITP_REQUIRE_NATIVE !== '1')('native concat', () => {
  const initialThreads = hasNative ? nativeInfo().threads : 1;
  afterAll(() => {
    if (hasNative) setNativeThreads(initialThreads);
  });

  for (const [name, make] of Object.entries(cases)) {
    it(`${name}: equals the cpu reference bit for bit (f32, i32, u8; 1 and 2 threads)`, async () => {
      for (const threads of [1, 2]) {
        setNativeThreads(threads);
        for (const dtype of ['f32', 'i32', 'u8'] as const) {
          const read = async (b: et.BackendName) => {
            const out = et.tidy(() => {
              const { inputs, axis } = make(b, dtype);
              return et.concat(inputs, axis);
            });
            const data = await out.data();
            const shape = out.shape;
            out.dispose();
            return { data: Array.from(data), shape };
          };
          const [got, want] = [await read('native'), await read('cpu')];
          expect(got.shape).toEqual(want.shape);
          expect(got.data, `${dtype}, ${threads} thread(s)`).toEqual(want.data);
        }
      }
    });
  }
});
