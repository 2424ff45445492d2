/**
 * `npm run bench -- webgpu-f16-matmul` (and part of `npm run bench -- webgpu`): f16-storage matmul (f16 operands,
 * f32 accumulation, kernels/matmul-f16.wgsl) beside the f32 matmul, GFLOP/s at 256, 1024 and 2048 on the same
 * adapter in the same run, with the ratio. Both tasks are interleaved in one tinybench; medians and spread (MAD).
 * Also prints the accuracy at 256: the f16 product against an f64 reference of its own (rounded) operands, and
 * against the f32 product of the unrounded operands. Options: --quick (256 and 1024 only).
 */
import { Bench } from 'tinybench';
import * as et from '../engine/index.js';
import { destroyWebGPU, initWebGPU, webgpuStats } from '../engine/backends/webgpu/index.js';

const status = await initWebGPU();
if (!status.available) {
  console.error(`webgpu unavailable: ${status.reason}`);
  process.exit(1);
}
if (!webgpuStats().features.includes('shader-f16')) {
  console.error(`the adapter (${webgpuStats().adapter}) lacks 'shader-f16': no f16 storage to measure`);
  process.exit(1);
}
et.setBackend('webgpu');
console.log(`adapter: ${webgpuStats().adapter}`);

interface Stat {
  median: number;
  /** median absolute deviation, relative to the median */
  spread: number;
}

/** Per-iteration latency (ms) of each task, run interleaved. */
async function interleaved(tasks: [string, () => Promise<void>][], time: number): Promise<Stat[]> {
  const bench = new Bench({ time, warmup: true, warmupIterations: 2, iterations: 5 });
  for (const [name, fn] of tasks) bench.add(name, fn);
  await bench.run();
  return bench.tasks.map((t): Stat => {
    const r = t.result as { error?: unknown; latency?: { p50: number; mad: number } } | undefined;
    if (r?.error) console.error(`${t.name} failed:`, r.error);
    const l = r?.latency;
    return l ? { median: l.p50, spread: l.mad / l.p50 } : { median: NaN, spread: NaN };
  });
}

/** Largest |got − want| / max|want| over the matrix. */
function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / scale;
}

/** C = A·B in f64 from the host values of square n×n operands. */
function f64Product(a: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let p = 0; p < n; p++) for (let j = 0; j < n; j++) c[i * n + j]! += a[i * n + p]! * b[p * n + j]!;
  return c;
}

const a32 = et.randn([256, 256], { seed: 1 });
const b32 = et.randn([256, 256], { seed: 2 });
const [a16, b16] = [et.cast(a32, 'f16'), et.cast(b32, 'f16')];
const readProduct = async (x: et.Tensor, y: et.Tensor) => {
  const c = et.matmul(x, y);
  const data = await c.data();
  c.dispose();
  return data;
};
const viaF16 = await readProduct(a16, b16);
const ownRef = f64Product(await a16.data(), await b16.data(), 256);
const f32Ref = f64Product(await a32.data(), await b32.data(), 256);
console.log(`accuracy at 256 (N(0,1) operands): ${relError(viaF16, ownRef).toExponential(1)} against f64 of the f16 operands (f32 accumulation); ` +
  `${relError(viaF16, f32Ref).toExponential(1)} against f64 of the f32 operands (the f16 rounding of the inputs); ` +
  `f32 matmul: ${relError(await readProduct(a32, b32), f32Ref).toExponential(1)}`);
et.dispose([a32, b32, a16, b16]);

const rows: string[] = [];
const f = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(2));
const pm = (s: Stat) => `${f(s.median)} (±${(100 * s.spread).toFixed(0)} %)`;
for (const n of process.argv.includes('--quick') ? [256, 1024] : [256, 1024, 2048]) {
  // several products per timed iteration for small sizes, so the sync (~1 ms) does not dominate
  const reps = Math.max(1, Math.round(64e6 / (2 * n ** 3)));
  const a = et.randn([n, n], { seed: 3 });
  const b = et.randn([n, n], { seed: 4 });
  const [ah, bh] = [et.cast(a, 'f16'), et.cast(b, 'f16')];
  const timed = (x: et.Tensor, y: et.Tensor) => async () => {
    const cs = Array.from({ length: reps }, () => et.matmul(x, y));
    await cs[reps - 1]!.data();
    et.dispose(cs);
  };
  const [half, full] = await interleaved(
    [
      [`f16 storage ${n}`, timed(ah, bh)],
      [`f32 ${n}`, timed(a, b)],
    ],
    n >= 1024 ? 3000 : 1500,
  );
  const gflops = (s: Stat): Stat => ({ median: (2 * n ** 3 * reps) / (s.median / 1000) / 1e9, spread: s.spread });
  const [h, w] = [gflops(half!), gflops(full!)];
  rows.push(`| matmul ${n}² | ${pm(h)} | ${pm(w)} | ${(h.median / w.median).toFixed(2)}x |`);
  et.dispose([a, b, ah, bh]);
}
console.log(`\n| case | f16 storage, f32 accumulation: GFLOP/s median (±MAD) | f32: GFLOP/s median (±MAD) | f16 / f32 |`);
console.log(`|---|---|---|---|`);
for (const r of rows) console.log(r);
destroyWebGPU();
process.exit(0);
