/**
 * The packed GEMM's last, partial row panel (native/gemm.cc macroKernel): when m is not a multiple of the
 * micro-kernel's rows (12 on AVX-512, 6 on AVX2, 4 generic), the remaining rows go to the same kernel compiled for
 * fewer rows (MicroKernel::rows), straight into C. Against float64 references: every remainder of every kernel
 * (m = 17..40 and 61..67), one and two K blocks (k = 7, 300, 900: two blocks accumulate into C on every ISA),
 * column edges too (n = 45: a partial column panel), and linear's epilogue (bias with none/relu/tanh/sigmoid).
 * Then bit-identity: a row computed in a partial panel equals the same row computed in a full one (the product
 * of the same A with more rows appended), since both run the same arithmetic per row. On every instruction set
 * (EITP_SIMD=generic, avx2, best) and 1, 2 and 3 threads, each in a fresh process. Skipped without the addon.
 */
import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';
import { ADDON_SCRIPT_PRELUDE, type IsaRun, PRODUCT_CHECK, describeIsaRuns } from './helpers/addon-script.js';
import { availableBackends } from './helpers/backends.js';

const hasNative = availableBackends().includes('native');

const script = `
  ${ADDON_SCRIPT_PRELUDE}
  let seed = 3;
  const vec = (n) => Float32Array.from({ length: n }, () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 1073741824 - 1; });
  const acts = [(z) => z, (z) => (z > 0 ? z : 0), Math.tanh, (z) => 1 / (1 + Math.exp(-z))];
  ${PRODUCT_CHECK}
  const dot = (A, B, k, n) => (i, j) => {
    let s = 0, bound = 0;
    for (let p = 0; p < k; p++) { const t = A[i * k + p] * B[p * n + j]; s += t; bound += Math.abs(t); }
    return [s, bound];
  };
  const ms = [...Array.from({ length: 24 }, (_, i) => 17 + i), 61, 62, 63, 64, 65, 66, 67];
  for (const k of [7, 300, 900]) {
    for (const n of [32, 45]) {
      // 12 rows more than the largest m: every m's rows are also rows of a product where they sit in full panels
      const A = vec((67 + 12) * k), B = vec(k * n), bias = vec(n);
      const all = run('matmul', [[A, [79, k]], [B, [k, n]]], [79, n], []);
      for (const m of ms) {
        const C = run('matmul', [[A, [m, k]], [B, [k, n]]], [m, n], []);
        check('matmul', m, n, C, dot(A, B, k, n));
        let same = true;
        for (let e = 0; e < m * n; e++) same = same && Object.is(C[e], all[e]);
        worst['rows in a partial panel equal them in a full one'] = Math.max(worst['rows in a partial panel equal them in a full one'] ?? 0, same ? 0 : 1);
        if (m % 6 !== 1) continue;  // the epilogue on a few remainders of each kernel
        const ref = dot(A, B, k, n);
        acts.forEach((f, code) => {
          check('linear, activation ' + code, m, n, run('linear', [[A, [m, k]], [B, [k, n]], [bias, [n]]], [m, n], [code]), (i, j) => {
            const [s, bound] = ref(i, j);
            return [f(s + bias[j]), bound + Math.abs(bias[j])];
          });
        });
      }
    }
  }
  console.log(JSON.stringify({ isa: a.info().gemmKernel, threads: a.info().threads, worst, checksum }));`;

describe.skipIf(!hasNative)('native packed GEMM: the partial row panel', () => {
  describeIsaRuns(
    (env) => JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })) as IsaRun,
    { cases: 6, identical: 'across threads' },
  );
});
