/**
 * The native GEMM's small-m path (native/gemm-small*.{h,cc}: m ≤ 16 rows computed straight from the operands, no
 * packing, in row blocks of at most 8) against float64 references: m = 1..8 (one block), 9, 13 and 16 (two) with B
 * row-major (axpy) and B a transposed view (dot), strided and offset A and B, B strided both ways (the packed path),
 * odd k and n (1, 3, 17, 255, 257, 1031), linear's epilogue
 * (bias with none/relu/tanh/sigmoid), batched matmul (B's batch stride 0 too) and tanhJvp; tall narrow products
 * (m = 17..257 rows, n ≤ 8 columns: the transposed small path, and n = 9 packed), and products split between
 * threads into column chunks narrower than C, on every instruction set
 * (EITP_SIMD=generic, avx2, best) and 1, 2 and 3 threads. Kernels are chosen once, at load, so each (ISA, threads)
 * runs in a fresh process calling the addon directly; with more than one thread EITP_GEMM_SMALL_SPLIT_MFLOP=0 makes
 * every product split its columns between the threads. Skipped when the addon is not built.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ADDON_SCRIPT_PRELUDE, PRODUCT_CHECK } from './helpers/addon-script.js';
import { availableBackends } from './helpers/backends.js';

const hasNative = availableBackends().includes('native');

/**
 * The script each process runs. A view is [data, shape, strides, offset]; ref(i, j) reads A and B through the same
 * strides in float64 and returns the exact sum and Σ|a·b|. Each case's worst excess over the tolerance
 * 1e-5·Σ|a·b| + 1e-6 (f32 sums over k, as the native backend's GEMM tests allow) is printed, with its name.
 */
const script = `
  ${ADDON_SCRIPT_PRELUDE}
  let seed = 1;
  const vec = (n) => Float32Array.from({ length: n }, () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 1073741824 - 1; });
  const at = ([data, , strides, offset], i, j) => data[offset + i * strides[0] + j * strides[1]];
  // Row-major [r, c] (strides [c, 1]), its transposed layout (data [c, r], strides [1, r]), rows padded to c + 5 at
  // offset 3, and every other column of [r, 2c] at offset 1 (neither stride 1).
  const layouts = {
    dense: (r, c) => [vec(r * c), [r, c], [c, 1], 0],
    transposed: (r, c) => [vec(r * c), [r, c], [1, r], 0],
    padded: (r, c) => [vec(3 + r * (c + 5)), [r, c], [c + 5, 1], 3],
    everyOther: (r, c) => [vec(1 + r * 2 * c), [r, c], [2 * c, 2], 1],
  };
  const acts = [['none', (z) => z], ['relu', (z) => (z > 0 ? z : 0)], ['tanh', Math.tanh], ['sigmoid', (z) => 1 / (1 + Math.exp(-z))]];
  ${PRODUCT_CHECK}
  const dotRef = (A, B, k) => (i, j) => {
    let s = 0, bound = 0;
    for (let p = 0; p < k; p++) { const t = at(A, i, p) * at(B, p, j); s += t; bound += Math.abs(t); }
    return [s, bound];
  };
  const sizes = [[1, 1031], [3, 17], [17, 3], [255, 257], [257, 255], [1031, 1], [1031, 17], [17, 1031], [64, 96]];
  for (const m of [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16]) {
    for (const [k, n] of sizes) {
      for (const [la, lb] of [['dense', 'dense'], ['dense', 'transposed'], ['transposed', 'dense'], ['transposed', 'transposed'],
        ['padded', 'padded'], ['everyOther', 'transposed'], ['dense', 'everyOther']]) {
        const A = layouts[la](m, k), B = layouts[lb](k, n);
        check('matmul A ' + la + ', B ' + lb, m, n, run('matmul', [A, B], [m, n], []), dotRef(A, B, k));
      }
      const X = layouts.dense(m, k), bias = [vec(n), [n], [1], 0];
      for (const lw of ['dense', 'transposed']) {
        const W = layouts[lw](k, n);
        for (const [code, [act, f]] of acts.entries()) {
          const ref = dotRef(X, W, k);
          check('linear ' + act + ', w ' + lw, m, n, run('linear', [X, W, bias], [m, n], [code]), (i, j) => {
            const [s, bound] = ref(i, j);
            return [f(s + bias[0][j]), bound + Math.abs(bias[0][j])];
          });
        }
      }
      // tanhJvp: (1 − h²) ⊙ (v Wᵀ) with h [m, n], v [m, k], w [n, k] (B = wᵀ is k-contiguous).
      const H = layouts.dense(m, n), V = layouts.dense(m, k), Wn = layouts.dense(n, k);
      const Wt = [Wn[0], [k, n], [1, k], 0];
      const pr = dotRef(V, Wt, k);
      check('tanhJvp', m, n, run('tanhJvp', [H, V, Wn], [m, n], []), (i, j) => {
        const [s, bound] = pr(i, j);
        const d = 1 - at(H, i, j) ** 2;
        return [d * s, Math.abs(d) * bound];
      });
    }
    // Batched: [2, m, 17] x [2, 17, 255], and B shared by both batches (batch stride 0), transposed.
    for (const shared of [false, true]) {
      const k = 17, n = 255;
      const Ad = vec(2 * m * k), Bd = vec((shared ? 1 : 2) * k * n);
      const bStrides = shared ? [0, 1, k] : [k * n, n, 1];
      const C = run('matmul', [[Ad, [2, m, k], [m * k, k, 1], 0], [Bd, [2, k, n], bStrides, 0]], [2, m, n], []);
      for (let t = 0; t < 2; t++) {
        const A = [Ad, [m, k], [k, 1], t * m * k], B = [Bd, [k, n], bStrides.slice(1), t * bStrides[0]];
        check('batched matmul' + (shared ? ', B shared and transposed' : ''), m, n, C.subarray(t * m * n, (t + 1) * m * n), dotRef(A, B, k));
      }
    }
  }
  // Tall and narrow (m > 16, n <= 8): Cᵀ = Bᵀ·Aᵀ on the same kernels, straight into C when n = 1, else through a
  // scratch block; n = 9, B strided both ways and linear's epilogue stay on the packed path.
  for (const m of [17, 64, 257]) {
    for (const n of [1, 2, 3, 5, 8, 9]) {
      for (const k of [1, 3, 17, 255]) {
        for (const [la, lb] of [['dense', 'dense'], ['dense', 'transposed'], ['transposed', 'dense'], ['padded', 'padded'], ['everyOther', 'dense'], ['dense', 'everyOther']]) {
          const A = layouts[la](m, k), B = layouts[lb](k, n);
          check('tall matmul A ' + la + ', B ' + lb, m, n, run('matmul', [A, B], [m, n], []), dotRef(A, B, k));
        }
        const X = layouts.dense(m, k), W = layouts.transposed(k, n), bias = [vec(n), [n], [1], 0];
        const ref = dotRef(X, W, k);
        check('tall linear relu', m, n, run('linear', [X, W, bias], [m, n], [1]), (i, j) => {
          const [s, bound] = ref(i, j);
          return [Math.max(s + bias[0][j], 0), bound + Math.abs(bias[0][j])];
        });
      }
    }
  }
  // Products that 2 or 3 threads cut into column chunks (18 rows: 3 micro-panels, too few to share): with 16-wide
  // panels (AVX2) n = 20 and 17 leave a last chunk of 4 or 1 columns, with 32-wide ones (AVX-512) n = 40 and 33 one
  // of 8 or 1; such a chunk's row stride in C is n, not its width, so it goes through the scratch block.
  for (const [m, k, n] of [[18, 11700, 20], [18, 14000, 17], [18, 6000, 40], [18, 7200, 33]]) {
    const A = layouts.dense(m, k), B = layouts.dense(k, n);
    check('split product', m, n, run('matmul', [A, B], [m, n], []), dotRef(A, B, k));
  }
  console.log(JSON.stringify({ kernel: a.info().gemmKernel, threads: a.info().threads, worst }));`;

describe.skipIf(!hasNative)('native small-m GEMM (m ≤ 16, no packing)', () => {
  for (const simd of ['generic', 'avx2', '']) {
    for (const threads of ['1', '2', '3']) {
      it(`is right on ${simd || 'the best ISA'} with ${threads} thread(s)`, () => {
        const env = { ...process.env, EITP_SIMD: simd, EITP_THREADS: threads, ...(threads === '1' ? {} : { EITP_GEMM_SMALL_SPLIT_MFLOP: '0' }) };
        const r = JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })) as {
          kernel: string;
          threads: number;
          worst: Record<string, number>;
        };
        if (simd) expect(r.kernel.startsWith(simd) || r.kernel.startsWith('generic'), r.kernel).toBe(true);
        expect(r.threads).toBe(Number(threads));
        expect(Object.keys(r.worst).length).toBe(7 + 8 + 1 + 2 + 6 + 1 + 1);
        const failing = Object.entries(r.worst).filter(([, worst]) => worst !== 0);
        expect(failing, `${r.kernel}, ${threads} thread(s)`).toEqual([]);
      }, 60_000);
    }
  }
});
