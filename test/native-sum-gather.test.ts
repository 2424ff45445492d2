/**
 * Two native layout paths against references computed here, on every instruction set (EITP_SIMD=generic, avx2, best)
 * and 1, 2 and 3 threads, each in a fresh process calling the addon directly:
 * - sum and mean of f32 over leading axes (bias gradients; native/reduce.cc reduceLeading → rowsVec().sumColumns):
 *   widths hitting the 4-vector column blocks, single vectors and scalar columns of every ISA (1 to 41, 64, 100, 300
 *   and 1000, the last two split between threads), 1 to 777 rows, values of mixed magnitude (so the order of the
 *   additions shows in the bits), NaN and ±∞ columns. The reference adds each column in double in row order, as the
 *   cpu backend does, so the result must be bit-identical, not only close.
 * - contiguous copies of strided views (native/strided.cc gatherRows): permutations of rank 1 to 5 with short
 *   contiguous rows (the inline copy), long ones (memcpy), strided rows, stride-0 (broadcast) axes, offsets, runs along
 *   the second-to-last axis that the thread split cuts in the middle, and i8/u8 elements. Copies must be exact.
 * Skipped when the addon is not built.
 */
import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';
import { ADDON_SCRIPT_PRELUDE, type IsaRun, describeIsaRuns } from './helpers/addon-script.js';
import { availableBackends } from './helpers/backends.js';

const hasNative = availableBackends().includes('native');

const script = `
  ${ADDON_SCRIPT_PRELUDE}
  let seed = 11;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 1073741824 - 1; };
  const worst = {};
  let checksum = 0;
  const bits = new Uint32Array(1), asFloat = new Float32Array(bits.buffer);
  // counts the elements whose bits differ (NaN matches NaN)
  const mismatches = (got, want) => {
    let bad = 0;
    for (let i = 0; i < want.length; i++) {
      asFloat[0] = got[i];
      checksum = (checksum * 31 + bits[0]) % 2147483647;
      if (!(Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])))) bad++;
    }
    return bad;
  };

  // ---- sum / mean over leading axes ----
  const widths = [];
  for (let c = 2; c <= 41; c++) widths.push(c);
  widths.push(64, 100, 300, 1000);
  for (const cols of widths) {
    for (const rows of [1, 3, 64, 777]) {
      if (rows * cols > 300000) continue;
      const x = new Float32Array(rows * cols);
      for (let i = 0; i < x.length; i++) x[i] = rnd() * Math.pow(10, Math.floor(6 * rnd()));
      if (cols > 5) { x[1] = NaN; x[cols + 2] = Infinity; x[3] = -Infinity; x[(rows - 1) * cols + 4] = Infinity; }
      const sums = new Float64Array(cols);
      for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) sums[j] += x[r * cols + j];
      const dense = [x, [rows, cols], [cols, 1]];
      worst['sum ' + rows + 'x' + cols] = mismatches(run('sum', [dense], [cols], [1, 0, 0]), Float32Array.from(sums));
      worst['mean ' + rows + 'x' + cols] = mismatches(run('mean', [dense], [cols], [1, 0, 0]), Float32Array.from(sums, (s) => s / rows));
      // the same rows as [2, rows / 2, cols] reduced over both leading axes, from an offset
      if (rows % 2 === 0) {
        const padded = new Float32Array(x.length + 5);
        padded.set(x, 5);
        worst['sum01 ' + rows + 'x' + cols] = mismatches(run('sum', [[padded, [2, rows / 2, cols], [rows / 2 * cols, cols, 1], 5]], [cols], [2, 0, 1, 0]), Float32Array.from(sums));
      }
    }
  }

  // ---- contiguous copies of strided views ----
  const views = [
    // [source size, shape, strides, offset]
    ['3bhtd>bt3hd', 3 * 32 * 2 * 24 * 16, [32, 24, 3, 2, 16], [768, 16, 24576, 384, 1], 0],
    ['bthd>bhtd', 32 * 24 * 2 * 16, [32, 2, 24, 16], [768, 16, 32, 1], 0],
    ['odd runs', 7 * 11 * 5 * 9 + 3, [7, 5, 11, 9], [495, 9, 45, 1], 3],
    ['long rows', 5 * 3 * 100, [3, 5, 100], [100, 300, 1], 0],
    ['strided rows', 40 * 30, [30, 40], [1, 30], 0],
    ['every other', 2 * 6000 + 1, [6000], [2], 1],
    ['broadcast', 17 * 5, [4, 17, 5], [0, 5, 1], 0],
    ['rank 5 mixed', 4 * 3 * 5 * 2 * 7, [2, 4, 7, 3, 5], [7, 210, 1, 70, 14], 0],
    ['big split', 41 * 9 * 10 * 12, [9, 41, 10, 12], [120, 1080, 12, 1], 0],
    // a stride-1 axis before a strided last one with an axis between (attention's dk layout), first of four, and a
    // stride-1 axis of 8 first of three
    ['bhdt>bthd', 32 * 2 * 16 * 24, [32, 24, 2, 16], [768, 1, 384, 24], 0],
    ['stride-1 first', 3 * 9 * 11 * 40 + 2, [40, 3, 9, 11], [1, 3960, 440, 40], 2],
    ['tiles of 8', 5 * 8 * 8, [8, 5, 8], [1, 64, 8], 0],
  ];
  for (const [name, size, shape, strides, offset] of views) {
    const n = shape.reduce((p, d) => p * d, 1);
    // the elements the view addresses, in row-major order
    const positions = new Int32Array(n);
    const idx = shape.map(() => 0);
    for (let i = 0; i < n; i++) {
      positions[i] = offset + idx.reduce((p, v, d) => p + v * strides[d], 0);
      for (let d = shape.length - 1; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
    }
    for (const [dtype, Arr] of [[0, Float32Array], [2, Int8Array], [3, Uint8Array]]) {
      const src = new Arr(size);
      for (let i = 0; i < size; i++) src[i] = dtype === 0 ? rnd() * 1000 : (i * 37 + 11) % 251;
      const want = Arr.from(positions, (p) => src[p]);
      const got = run('contiguous', [[src, shape, strides, offset, dtype]], shape, []);
      let bad = 0;
      for (let i = 0; i < n; i++) {
        checksum = (checksum * 31 + (dtype === 0 ? Math.round(got[i] * 64) : got[i])) % 2147483647;
        if (!Object.is(got[i], want[i])) bad++;
      }
      worst['contiguous ' + name + ' dtype ' + dtype] = bad;
    }
  }
  console.log(JSON.stringify({ isa: a.info().vmath, threads: a.info().threads, worst, checksum }));`;

describe.skipIf(!hasNative)('native sum over leading axes and strided copies against references', () => {
  describeIsaRuns((env) => JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })) as IsaRun, {
    cases: 430,
    identical: 'everywhere',
  });
});
