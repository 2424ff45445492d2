/**
 * The native GEMM's batched small-product path (native/gemm-batched*.{h,cc}: per product, B copied into a zero-padded
 * n-contiguous panel, A read in place by broadcasts) against float64 references: m, n and k of 1, ragged sizes
 * around the vector widths (n = 3, 7, 8, 9, 15, 16, 17, 24, 31, 33, 48, 63, 64), k = 0, batches of 1, 2, 3, 64 and
 * 200, A and B dense, transposed views, padded rows, neither stride 1, B shared by every batch (batch stride 0), the
 * GPT's head-split views ([B, H, T, hd] permuted out of [B, T, d], and their transposes) and shapes past the path's
 * limits (n = 65, a B of more than 8192 floats), which take the per-product path. On every instruction set
 * (EITP_SIMD=generic, avx2, best) and 1, 2 and 3 threads, each in a fresh process calling the addon directly; the
 * outputs of one ISA must also be bit-identical across the thread counts. Skipped when the addon is not built.
 */
import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';
import { ADDON_SCRIPT_PRELUDE, type IsaRun, describeIsaRuns } from './helpers/addon-script.js';
import { availableBackends } from './helpers/backends.js';

const hasNative = availableBackends().includes('native');

/**
 * The script each process runs. An operand is [data, shape, strides, offset] of rank 3 or 4; at(X, b, i, j) reads
 * matrix b (batch index over the leading axes, row-major) of X in float64. Each case's worst excess over the
 * tolerance 1e-5·Σ|a·b| + 1e-6 (f32 sums over k, as the GEMM tests allow) is printed with its name, and a checksum
 * of every output's bits.
 */
const script = `
  ${ADDON_SCRIPT_PRELUDE}
  let seed = 7;
  const vec = (n) => Float32Array.from({ length: n }, () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 1073741824 - 1; });
  const at = ([data, shape, strides, offset], b, i, j) => {
    let off = offset, rest = b;
    for (let d = shape.length - 3; d >= 0; d--) { off += (rest % shape[d]) * strides[d]; rest = Math.floor(rest / shape[d]); }
    return data[off + i * strides[shape.length - 2] + j * strides[shape.length - 1]];
  };
  // [batch, r, c] operands: row-major; each matrix transposed in place (data [batch, c, r]); rows padded to c + 5 at
  // offset 3; every other column of [batch, r, 2c] at offset 1; one [r, c] matrix shared by every batch (stride 0),
  // transposed.
  const layouts = {
    dense: (nb, r, c) => [vec(nb * r * c), [nb, r, c], [r * c, c, 1], 0],
    transposed: (nb, r, c) => [vec(nb * r * c), [nb, r, c], [r * c, 1, r], 0],
    padded: (nb, r, c) => [vec(3 + nb * r * (c + 5)), [nb, r, c], [r * (c + 5), c + 5, 1], 3],
    everyOther: (nb, r, c) => [vec(1 + nb * r * 2 * c), [nb, r, c], [r * 2 * c, 2 * c, 2], 1],
    shared: (nb, r, c) => [vec(r * c), [nb, r, c], [0, 1, r], 0],
  };
  const worst = {};
  let checksum = 0;
  const bits = new Uint32Array(1);
  const bitsOf = new Float32Array(bits.buffer);
  const check = (name, nb, m, n, k, A, B) => {
    const C = run('matmul', [A, B], [...A[1].slice(0, -2), m, n], []);
    let w = 0;
    for (let b = 0; b < nb; b++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0, bound = 0;
      for (let p = 0; p < k; p++) { const t = at(A, b, i, p) * at(B, b, p, j); s += t; bound += Math.abs(t); }
      const got = C[(b * m + i) * n + j];
      const excess = Math.abs(got - s) - (1e-5 * bound + 1e-6);
      if (!(excess <= 0)) w = Math.max(w, Number.isNaN(excess) ? Infinity : excess);
      bitsOf[0] = got;
      checksum = (checksum * 31 + bits[0]) % 2147483647;
    }
    worst[name] = Math.max(worst[name] ?? 0, w);
  };
  // [nb, m, k] x [nb, k, n]
  const shapes = [
    [2, 1, 1, 1], [3, 1, 17, 5], [2, 7, 1, 9], [64, 24, 24, 16], [64, 24, 16, 24], [64, 16, 24, 24], [8, 24, 24, 16],
    [200, 24, 24, 16], [3, 9, 3, 7], [2, 8, 7, 8], [2, 33, 8, 9], [2, 5, 9, 31], [3, 17, 15, 4], [2, 13, 16, 100],
    [2, 4, 17, 2], [2, 6, 31, 33], [2, 3, 33, 12], [2, 20, 48, 5], [2, 2, 63, 64], [3, 40, 64, 128], [2, 3, 5, 0],
    [1, 24, 24, 16], [1, 7, 9, 5], [2, 5, 65, 8], [2, 6, 40, 250],
  ];
  const pairs = [['dense', 'dense'], ['dense', 'transposed'], ['transposed', 'dense'], ['transposed', 'transposed'],
    ['padded', 'padded'], ['everyOther', 'everyOther'], ['dense', 'shared'], ['everyOther', 'transposed']];
  for (const [nb, m, n, k] of shapes) {
    for (const [la, lb] of pairs) check('A ' + la + ', B ' + lb, nb, m, n, k, layouts[la](nb, m, k), layouts[lb](nb, k, n));
  }
  // The GPT's attention: q, k, v, dO as [b, H, T, hd] views of [b, T, H·hd] (head stride hd, row stride H·hd).
  for (const [nb, T, H, hd] of [[32, 24, 2, 16], [4, 24, 2, 16], [3, 5, 3, 7]]) {
    const d = H * hd;
    const heads = () => [vec(nb * T * d), [nb, H, T, hd], [T * d, hd, d, 1], 0];
    const headsT = () => { const x = heads(); return [x[0], [nb, H, hd, T], [T * d, hd, 1, d], 0]; };
    const probs = () => [vec(nb * H * T * T), [nb, H, T, T], [H * T * T, T * T, T, 1], 0];
    const probsT = () => { const x = probs(); return [x[0], x[1], [H * T * T, T * T, 1, T], 0]; };
    check('attention q·kᵀ', nb * H, T, T, hd, heads(), headsT());
    check('attention p·v', nb * H, T, hd, T, probs(), heads());
    check('attention qᵀ·dS', nb * H, hd, T, T, headsT(), probs());
    check('attention pᵀ·dO', nb * H, T, hd, T, probsT(), heads());
  }
  console.log(JSON.stringify({ kernel: a.info().gemmKernel, threads: a.info().threads, worst, checksum }));`;

describe.skipIf(!hasNative)('native batched small GEMM (B panel per product, A in place)', () => {
  describeIsaRuns(
    (env) => {
      const r = JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })) as Omit<IsaRun, 'isa'> & { kernel: string };
      return { ...r, isa: r.kernel };
    },
    { cases: 8 + 4, identical: 'across threads', verb: 'is' },
  );
});
