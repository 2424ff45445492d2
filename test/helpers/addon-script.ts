/**
 * The start of a script that a test runs in a fresh process to call the native addon directly (kernels are chosen
 * once, at load, so each EITP_SIMD / EITP_THREADS setting needs its own process): it loads the addon as `a` and
 * defines run(op, inputs, outShape, attrs), where each input is [typed array, shape, strides = dense, offset = 0,
 * dtype code = 0 (0 f32, 1 i32, 2 i8, 3 u8)] and the result is the output's values, of the first input's dtype.
 */
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { ADDON_FILE } from '../../engine/backends/native/native-addon.js';

/**
 * The addon the fresh processes load: EITP_NATIVE_ADDON when set (as the engine's loader takes it; scripts/native-asan.sh
 * points it at the sanitized build, so these processes test that build too), else the build's.
 */
export const ADDON_PATH = resolve(process.env.EITP_NATIVE_ADDON || `${process.cwd()}/${ADDON_FILE}`);

export const ADDON_SCRIPT_PRELUDE = `
  const a = require(${JSON.stringify(ADDON_PATH)});
  const BYTES = [4, 4, 1, 1];
  const ARRAYS = [Float32Array, Int32Array, Int8Array, Uint8Array];
  const denseStrides = (shape) => shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
  const put = (data) => { const h = a.alloc(Math.max(4, data.byteLength)); a.write(h, data); return h; };
  const run = (op, inputs, outShape, attrs) => {
    const meta = [inputs.length];
    for (const [, shape, strides = denseStrides(shape), offset = 0, dtype = 0] of inputs) meta.push(dtype, shape.length, offset, ...shape, ...strides);
    const outType = inputs[0][4] ?? 0;
    meta.push(outType, outShape.length, ...outShape);
    const handles = inputs.map(([data]) => put(data));
    const numel = outShape.reduce((p, d) => p * d, 1);
    const bytes = Math.max(4, BYTES[outType] * numel);
    const out = a.alloc(bytes);
    a.run(op, [...handles, out], new Float64Array(meta), new Float64Array(attrs));
    const r = new ARRAYS[outType](a.readSync(out, bytes)).slice(0, numel);
    for (const h of [...handles, out]) a.free(h);
    return r;
  };
`;

/**
 * A script fragment for product tests: check(name, m, n, C, ref) records, per case name in `worst`, the largest excess
 * of |C[i, j] − v| over the tolerance 1e-5·Σ|a·b| + 1e-6 (f32 sums over k), where ref(i, j) returns [v, Σ|a·b|] in
 * float64; it also folds C into `checksum` (for bit-identity across thread counts).
 */
export const PRODUCT_CHECK = `
  const worst = {};
  let checksum = 0;
  const check = (name, m, n, C, ref) => {
    let w = 0;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      const [v, bound] = ref(i, j);
      const excess = Math.abs(C[i * n + j] - v) - (1e-5 * bound + 1e-6);
      if (!(excess <= 0)) w = Math.max(w, Number.isNaN(excess) ? Infinity : excess);
      checksum = (checksum + C[i * n + j] * (1 + ((i * 7 + j) % 13))) % 1e9;
    }
    worst[name] = Math.max(worst[name] ?? 0, w);
  };
`;

/** What a per-ISA script prints: the kernel it ran, its pool size, the worst excess error per case, a checksum. */
export interface IsaRun {
  /** The instruction set of the kernels under test ('generic', 'avx2', 'avx512-…'). */
  isa: string;
  threads: number;
  worst: Record<string, number>;
  checksum: number;
}

/**
 * Registers one test per instruction set (EITP_SIMD=generic, avx2, the best) and pool size (1, 2, 3), each running
 * `script` in a fresh process: every case's worst excess error must be 0 and there must be `cases` of them. Then the
 * checksums must agree: per ISA across thread counts, or (`identical: 'everywhere'`) across all nine runs.
 */
export function describeIsaRuns(
  run: (env: NodeJS.ProcessEnv) => IsaRun,
  opts: { cases: number; identical: 'across threads' | 'everywhere'; verb?: string },
): void {
  const all: IsaRun[] = [];
  for (const simd of ['generic', 'avx2', '']) {
    const runs: IsaRun[] = [];
    for (const threads of ['1', '2', '3']) {
      it(`${opts.verb ?? 'is'} right on ${simd || 'the best ISA'} with ${threads} thread(s)`, () => {
        const r = run({ ...process.env, EITP_SIMD: simd, EITP_THREADS: threads });
        if (simd) expect(r.isa.startsWith(simd) || r.isa.startsWith('generic'), r.isa).toBe(true);
        expect(r.threads).toBe(Number(threads));
        expect(Object.keys(r.worst).length).toBe(opts.cases);
        const failing = Object.entries(r.worst).filter(([, worst]) => worst !== 0);
        expect(failing, `${r.isa}, ${threads} thread(s)`).toEqual([]);
        runs.push(r);
        all.push(r);
      }, 120_000);
    }
    if (opts.identical === 'across threads') {
      it(`gives bit-identical results on 1, 2 and 3 threads (${simd || 'the best ISA'})`, () => {
        expect(runs.length).toBe(3);
        expect(new Set(runs.map((r) => r.checksum)).size).toBe(1);
      });
    }
  }
  if (opts.identical === 'everywhere') {
    it('gives bit-identical results on every instruction set and thread count', () => {
      expect(all.length).toBe(9);
      expect(new Set(all.map((r) => r.checksum)).size).toBe(1);
    });
  }
}
