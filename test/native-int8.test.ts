/**
 * matmulInt8 on the native backend, beyond the parity suite: exact results on inputs whose products and sums are
 * exactly representable (integer activations with row max 127, so quantisation is the identity, and power-of-two
 * scales), round-half-to-even quantisation, K past the 2^16 slice of the integer tiles, NaN/Inf/zero rows, ragged
 * and strided shapes — on every instruction-set path (EITP_INT8_KERNEL picks one in a fresh process) and for 1, 2
 * and 3 threads. References are hand-computed integer dot products in JS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { nativeInfo, setNativeThreads } from '../engine/backends/native/index.js';
import { availableBackends } from './helpers/backends.js';
import { onHost } from './helpers/on-host.js';

const hasNative = availableBackends().includes('native');
const backend = 'native' as const;

interface Case {
  name: string;
  m: number;
  k: number;
  n: number;
  x: number[];
  w: number[];
  s: number[];
  activations: 'f32' | 'int8';
}

/** A small deterministic generator (independent of the engine's Rng). */
function lcg(seed: number) {
  let state = seed >>> 0;
  return (below: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % below;
  };
}

/** Integer activations in [−127, 127] with |x| = 127 somewhere in each row (quantisation is then exact: inv = 1). */
function integerCase(name: string, m: number, k: number, n: number, activations: 'f32' | 'int8', seed: number): Case {
  const r = lcg(seed);
  const x = Array.from({ length: m * k }, () => r(255) - 127);
  for (let i = 0; i < m; i++) x[i * k + r(k)] = r(2) ? 127 : -127;
  // the full int8 range, −128 included
  const w = Array.from({ length: n * k }, () => r(256) - 128);
  const s = Array.from({ length: n }, () => 2 ** (r(7) - 3));
  return { name, m, k, n, x, w, s, activations };
}

/** out[i, j] = s[j]·Σ x·w, exact in a double (integers), rounded once to f32. */
function exactReference(c: Case): Float32Array {
  const out = new Float32Array(c.m * c.n);
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n; j++) {
      let acc = 0;
      for (let p = 0; p < c.k; p++) acc += c.x[i * c.k + p]! * c.w[j * c.k + p]!;
      out[i * c.n + j] = c.s[j]! * acc;
    }
  }
  return out;
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 1000, 1],
  [5, 17, 1],
  [3, 63, 5],
  [2, 65, 9],
  [4, 64, 4],
  [17, 129, 33],
  [33, 1000, 7],
  [130, 300, 70], // 'f32' activations: dequantise + SGEMM from 128 rows on
  // 'int8' activations on VNNI take the packed-weight path from 16 rows (K <= 512) or 64: ragged K groups and panels
  [16, 5, 3],
  [70, 2, 130],
  [64, 1001, 19],
];

function exactCases(): Case[] {
  const cases: Case[] = [];
  SHAPES.forEach(([m, k, n], i) => {
    for (const a of ['f32', 'int8'] as const) cases.push(integerCase(`${a} ${m}x${k}x${n}`, m, k, n, a, 100 + i));
  });
  // K past one 2^16 slice of the integer tiles: |Σ| reaches ~1e9, beyond f32's integers but exact in the tiles.
  cases.push(integerCase('int8 K = 70001 (two slices)', 2, 70001, 3, 'int8', 7));
  return cases;
}

/**
 * Round half to even: row max 254 makes inv = 0.5 and the scale 2, so x·inv hits every .5 case; identity weights
 * expose each code: out[0, j] = 2·xq[j].
 */
function roundingCase(): { c: Case; expected: number[] } {
  const x = [254, 1, 3, 5, 7, -1, -3, -5, 2, -2, 0, 253];
  const xq = [127, 0, 2, 2, 4, -0, -2, -2, 1, -1, 0, 126]; // 253·0.5 = 126.5 → 126
  const k = x.length;
  const w = Array.from({ length: k * k }, (_, i) => (Math.floor(i / k) === i % k ? 1 : 0));
  return { c: { name: 'round half to even', m: 1, k, n: k, x, w, s: Array(k).fill(1), activations: 'int8' }, expected: xq.map((q) => 2 * q) };
}

/** Rows: all zero → 0; a NaN → NaN; an Inf → NaN (its scale is Inf, every code 0: Inf·0); a normal row. */
function specialCase(): Case {
  const k = 5;
  const x = [0, 0, 0, 0, 0, 1, NaN, 2, 3, 4, 1, -Infinity, 2, 3, 4, 127, -1, 0, 2, -127];
  return { name: 'zero, NaN and Inf rows', m: 4, k, n: 2, x, w: [1, 2, 3, 4, 5, -1, 0, 1, 0, -1], s: [1, 0.5], activations: 'int8' };
}
const SPECIAL_EXPECTED = [0, 0, NaN, NaN, NaN, NaN, 127 - 2 + 0 + 8 - 635, 0.5 * (-127 + 0 + 0 + 0 + 127)];

/** The same rows four times over: 16 rows, enough for the packed-weight path. */
function specialCaseTall(): Case {
  const c = specialCase();
  return { ...c, name: 'zero, NaN and Inf rows (16 rows)', m: 16, x: [...c.x, ...c.x, ...c.x, ...c.x] };
}
const SPECIAL_TALL_EXPECTED = [...SPECIAL_EXPECTED, ...SPECIAL_EXPECTED, ...SPECIAL_EXPECTED, ...SPECIAL_EXPECTED];

function runCase(c: Case): Float32Array {
  return onHost(() => {
    const x = et.tensor(Float32Array.from(c.x), { shape: [c.m, c.k], backend });
    const w = et.tensor(Int8Array.from(c.w), { shape: [c.n, c.k], backend });
    const s = et.tensor(Float32Array.from(c.s), { backend });
    return et.matmulInt8(x, w, s, { activations: c.activations }).dataSync() as Float32Array;
  });
}

/** Runs every case in a fresh process whose native int8 kernel is `kernel`; returns its name and the outputs. */
function runInChild(kernel: string, cases: Case[]): { kernel: string; outputs: number[][] } {
  const dir = mkdtempSync(join(tmpdir(), 'eitp-int8-'));
  try {
    const input = join(dir, 'cases.json');
    const output = join(dir, 'out.json');
    // NaN and ±Inf as strings (JSON has no such numbers); Number() reads them back
    writeFileSync(input, JSON.stringify(cases, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
    const root = process.cwd();
    const script = `
      import { readFileSync, writeFileSync } from 'node:fs';
      import * as et from ${JSON.stringify(`${root}/engine/index.js`)};
      import { nativeInfo } from ${JSON.stringify(`${root}/engine/backends/native/index.js`)};
      const cases = JSON.parse(readFileSync(${JSON.stringify(input)}, 'utf8'));
      const outputs = cases.map((c) => et.tidy(() => {
        const x = et.tensor(Float32Array.from(c.x.map(Number)), { shape: [c.m, c.k], backend: 'native' });
        const w = et.tensor(Int8Array.from(c.w), { shape: [c.n, c.k], backend: 'native' });
        const s = et.tensor(Float32Array.from(c.s), { backend: 'native' });
        return Array.from(et.matmulInt8(x, w, s, { activations: c.activations }).dataSync(), (v) => (Number.isNaN(v) ? 'NaN' : v));
      }));
      writeFileSync(${JSON.stringify(output)}, JSON.stringify({ kernel: nativeInfo().int8Kernel, outputs }));`;
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, EITP_INT8_KERNEL: kernel, EITP_QUIET_LEAKS: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const r = JSON.parse(readFileSync(output, 'utf8')) as { kernel: string; outputs: (number | 'NaN')[][] };
    return { kernel: r.kernel, outputs: r.outputs.map((o) => o.map((v) => (v === 'NaN' ? NaN : v))) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU flags from /proc/cpuinfo (Linux), to know which paths must be the ones requested. */
function cpuFlags(): Set<string> {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    return new Set(line ? line.split(':')[1]!.trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

function expectSame(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string) {
  expect(actual.length, label).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i]) && !(actual[i] === 0 && expected[i] === 0)) {
      expect.fail(`${label}: index ${i}: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

describe.skipIf(!hasNative)('native matmulInt8', () => {
  const initialThreads = hasNative ? nativeInfo().threads : 1;
  afterAll(() => {
    if (hasNative) setNativeThreads(initialThreads);
  });

  it.each(exactCases().map((c) => [c.name, c] as const))('is exact on representable inputs: %s', (_name, c) => {
    expectSame(runCase(c), exactReference(c), c.name);
  });

  it.each([
    [3, 67, 9],
    [1, 1000, 33],
    [100, 130, 200],
    [64, 1001, 19],
  ])('int8 activations match the cpu reference bit for bit on random inputs (%i x %i x %i)', (m, k, n) => {
    const [native, cpu] = (['native', 'cpu'] as const).map((b) =>
      onHost(() => {
        const x = et.randn([m, k], { seed: m + k, backend: b });
        const w = et.cast(et.sub(et.randint([n, k], 0, 255, { seed: n, backend: b }), 127), 'i8');
        const s = et.mul(et.rand([n], { seed: 3, backend: b }), 0.01);
        return et.matmulInt8(x, w, s, { activations: 'int8' }).dataSync();
      }),
    );
    expectSame(native!, cpu!, `${m}x${k}x${n}`);
  });

  it('quantises with round half to even', () => {
    const { c, expected } = roundingCase();
    expectSame(runCase(c), expected, c.name);
  });

  it('gives 0 for an all-zero row and NaN for rows holding NaN or Inf, like the cpu reference', () => {
    expectSame(runCase(specialCase()), SPECIAL_EXPECTED, 'special rows');
    expectSame(runCase(specialCaseTall()), SPECIAL_TALL_EXPECTED, 'special rows, 16 of them');
    const cpu = onHost(() => {
      const c = specialCase();
      const x = et.tensor(Float32Array.from(c.x), { shape: [c.m, c.k], backend: 'cpu' });
      const w = et.tensor(Int8Array.from(c.w), { shape: [c.n, c.k], backend: 'cpu' });
      return et.matmulInt8(x, w, et.tensor(Float32Array.from(c.s), { backend: 'cpu' }), { activations: 'int8' }).dataSync();
    });
    expectSame(cpu, SPECIAL_EXPECTED, 'special rows on cpu');
  });

  it('reads strided and batched activations (a transposed view, leading axes)', () => {
    const c = integerCase('strided', 6, 37, 5, 'int8', 9);
    const expected = exactReference(c);
    for (const activations of ['f32', 'int8'] as const) {
      const out = onHost(() => {
        // x stored transposed [k, m], viewed as [m, k]; then reshaped to [2, 3, k]
        const xt = new Float32Array(c.k * c.m);
        for (let i = 0; i < c.m; i++) for (let p = 0; p < c.k; p++) xt[p * c.m + i] = c.x[i * c.k + p]!;
        const x = et.transpose(et.tensor(xt, { shape: [c.k, c.m], backend }));
        const w = et.tensor(Int8Array.from(c.w), { shape: [c.n, c.k], backend });
        const s = et.tensor(Float32Array.from(c.s), { backend });
        const y = et.matmulInt8(et.reshape(et.contiguous(x), [2, 3, c.k]), w, s, { activations });
        const yStrided = et.matmulInt8(x, w, s, { activations });
        expect(y.shape).toEqual([2, 3, c.n]);
        return [y.dataSync(), yStrided.dataSync()];
      });
      expectSame(out[0]!, expected, `${activations} batched`);
      expectSame(out[1]!, expected, `${activations} strided`);
    }
  });

  it('gives identical results on 1, 2 and 3 threads (inexact inputs too)', () => {
    const results = [1, 2, 3].map((t) => {
      expect(setNativeThreads(t)).toBe(t);
      return onHost(() => {
        const x = et.randn([70, 515], { seed: 3, backend });
        const w = et.cast(et.sub(et.randint([131, 515], 0, 255, { seed: 4, backend }), 127), 'i8');
        const s = et.mul(et.rand([131], { seed: 5, backend }), 0.01);
        return (['f32', 'int8'] as const).map((a) => Array.from(et.matmulInt8(x, w, s, { activations: a }).dataSync()));
      });
    });
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it('a K of 0 gives zeros; non-i8 weights are a DTypeError before any kernel runs', () => {
    const y = onHost(() => et.matmulInt8(et.zeros([3, 0], { backend }), et.cast(et.zeros([4, 0], { backend }), 'i8'), et.ones([4], { backend })).dataSync());
    expect(Array.from(y)).toEqual(Array(12).fill(0));
    expect(() => onHost(() => et.matmulInt8(et.ones([2, 3], { backend }), et.ones([4, 3], { backend }), et.ones([4], { backend })))).toThrow(et.DTypeError);
  });

  // Each instruction-set path in a fresh process (the choice is made once, at load). Where the CPU lacks one, the
  // addon falls back to the best it has, which is then what gets tested.
  const flags = cpuFlags();
  const supported: Record<string, boolean> = {
    generic: true,
    avx2: flags.has('avx2') && flags.has('fma'),
    avxvnni: flags.has('avx2') && flags.has('avx_vnni'),
    avx512vnni: flags.has('avx512_vnni') && flags.has('avx512bw') && flags.has('avx512vl'),
  };
  it.each(Object.keys(supported))('the %s path is exact on representable inputs, rounds half to even and handles special rows', (kernel) => {
    const { c: rounding, expected: roundingExpected } = roundingCase();
    const special = specialCase();
    const tall = specialCaseTall();
    const cases = [...exactCases(), rounding, special, tall];
    const r = runInChild(kernel, cases);
    if (supported[kernel]) expect(r.kernel.startsWith(kernel)).toBe(true);
    cases.forEach((c, i) => {
      const expected = c === rounding ? roundingExpected : c === special ? SPECIAL_EXPECTED : c === tall ? SPECIAL_TALL_EXPECTED : exactReference(c);
      expectSame(r.outputs[i]!, expected, `${r.kernel}: ${c.name}`);
    });
  });
});
