/**
 * `npm run bench -- webgpu-eitp`: the fused EIT-P ops on webgpu against what they replace, same adapter, same run:
 *   - softHistogram (n = 65 536, K = 64) vs its composite (the [n, K] softmax), forward and forward + backward;
 *   - coherence (N = 4096, d = 128) vs its composite (standardise, ZᵀZ, square, sum), forward and forward + backward;
 *   - activationDensity (n = 4096, 262 144 and 4 194 304, τ = 0.1·RMS on the device) vs its composite (square, add,
 *     divide, mean), forward and forward + backward;
 *   - matmulInt8 ('f32' and 'int8' activations; dot4I8Packed and byte-arithmetic paths) vs f32 matmul at
 *     M = 64, K = N = 1024.
 * Medians and spread (MAD / median) from tinybench, and the process's CPU time per iteration (lavapipe runs
 * in-process, so on a CPU adapter that is the work done, steadier than wall time on a shared machine); every
 * iteration ends with the read-back of its result.
 * Options: --quick (short runs, for CI).
 */
import { Bench } from 'tinybench';
import * as et from '../engine/index.js';
import { destroyWebGPU, initWebGPU, setWebGpuInt8Dot, webgpuStats } from '../engine/backends/webgpu/index.js';
import { coherenceComposite } from './bench-args.js';

const quick = process.argv.includes('--quick');
const status = await initWebGPU();
if (!status.available) {
  console.error(`webgpu unavailable: ${status.reason}`);
  process.exit(1);
}
et.setBackend('webgpu');
const stats0 = webgpuStats();
console.log(`adapter: ${stats0.adapter}; int8 dot product: ${stats0.wgslFeatures.includes('packed_4x8_integer_dot_product') ? 'dot4I8Packed available' : 'unpacked only'}`);

interface Stat {
  name: string;
  median: number;
  spread: number;
  /** process CPU time per iteration (ms): lavapipe runs in this process, and CPU time is steadier than wall time
   *  on a shared machine; on a real GPU it is host time only */
  cpu: number;
}

/** Times the tasks interleaved in one tinybench (ms per iteration). */
async function measure(tasks: [string, () => Promise<void>][]): Promise<Stat[]> {
  const bench = new Bench({ time: quick ? 200 : 2000, warmup: true, warmupIterations: 2, iterations: quick ? 3 : 10 });
  const cpu = tasks.map(() => ({ us: 0, calls: 0 }));
  tasks.forEach(([name, fn], i) =>
    bench.add(name, async () => {
      const c0 = process.cpuUsage();
      await fn();
      const c = process.cpuUsage(c0);
      cpu[i]!.us += c.user + c.system;
      cpu[i]!.calls++;
    }),
  );
  await bench.run();
  return bench.tasks.map((t, i) => {
    const r = t.result as { error?: unknown; latency?: { p50: number; mad: number } } | undefined;
    if (r?.error) console.error(`${t.name} failed:`, r.error);
    const l = r?.latency;
    return { name: t.name, median: l ? l.p50 : NaN, spread: l ? l.mad / l.p50 : NaN, cpu: cpu[i]!.us / 1000 / Math.max(1, cpu[i]!.calls) };
  });
}

/** One iteration: build under tidy, read every result back, free. */
const timed = (fn: () => et.Tensor[]) => async () => {
  const outs = et.tidy(fn);
  await Promise.all(outs.map((o) => o.data()));
  et.dispose(outs);
};

const fmt = (r: Stat) => `${r.median.toFixed(2).padStart(9)} ms ±${(100 * r.spread).toFixed(0).padStart(2)} %  cpu ${r.cpu.toFixed(1).padStart(7)} ms`;

/** Prints each row with the ratios (baseline / row) of medians and of CPU times against its group's baseline. */
function report(title: string, rows: Stat[], baselineOf: (i: number) => number): void {
  console.log(`\n${title}`);
  const w = Math.max(...rows.map((r) => r.name.length));
  rows.forEach((r, i) => {
    const b = rows[baselineOf(i)]!;
    const ratios = `${b.name} / this: ${(b.median / r.median).toFixed(2)} (median), ${(b.cpu / r.cpu).toFixed(2)} (cpu)`;
    console.log(`  ${r.name.padEnd(w)}  ${fmt(r)}${b === r ? '' : `   ${ratios}`}`);
  });
}

type Composite = (xs: readonly et.Tensor[], attrs: object) => et.Tensor;
const composite = (op: et.OpName) => (et.opTable()[op] as unknown as { composite: Composite }).composite;

// ---- soft histogram: n = 65 536 values, the EIT-P bins
{
  const u = et.randn([65536], { seed: 1 }).mul(1.5);
  const g = et.randn([64], { seed: 2 });
  const attrs = et.EITP_HISTOGRAM;
  const hist = composite('softHistogram');
  const withGrad = (f: (x: et.Tensor) => et.Tensor) => () => {
    const [out, pullback] = et.vjp(f, u);
    return [out, ...pullback(g)];
  };
  const rows = await measure([
    ['fused forward', timed(() => [et.softHistogram(u, attrs)])],
    ['composite forward', timed(() => [hist([u], attrs)])],
    ['fused fwd+bwd', timed(withGrad((x) => et.softHistogram(x, attrs)))],
    ['composite fwd+bwd', timed(withGrad((x) => hist([x], attrs)))],
  ]);
  report('softHistogram, n = 65536, K = 64', rows, (i) => i | 1);
  et.dispose([u, g]);
}

// ---- coherence: N = 4096 samples, d = 128 features
{
  const z = et.randn([4096, 128], { seed: 3 });
  const g = et.full([], 1);
  const withGrad = (f: (x: et.Tensor) => et.Tensor) => () => {
    const [out, pullback] = et.vjp(f, z);
    return [out, ...pullback(g)];
  };
  const rows = await measure([
    ['fused forward', timed(() => [et.coherence(z)])],
    ['composite forward', timed(() => [coherenceComposite(z)])],
    ['fused fwd+bwd', timed(withGrad((x) => et.coherence(x)))],
    ['composite fwd+bwd', timed(withGrad(coherenceComposite))],
  ]);
  report('coherence, N = 4096, d = 128', rows, (i) => i | 1);
  et.dispose([z, g]);
}

// ---- activation density: the thermodynamic term's tap sizes, n = 4096 … 4 Mi
for (const n of [4096, 262_144, 4_194_304]) {
  const a = et.randn([n], { seed: 7 });
  const tau = et.tidy(() => et.sqrt(et.mean(et.square(a))).mul(0.1));
  const g = et.full([], 1);
  const attrs = { eps: 1e-8 };
  const density = composite('activationDensity');
  const withGrad = (f: (x: et.Tensor) => et.Tensor) => () => {
    const [out, pullback] = et.vjp(f, a);
    return [out, ...pullback(g)];
  };
  const rows = await measure([
    ['fused forward', timed(() => [et.activationDensity(a, tau, attrs)])],
    ['composite forward', timed(() => [density([a, tau], attrs)])],
    ['fused fwd+bwd', timed(withGrad((x) => et.activationDensity(x, tau, attrs)))],
    ['composite fwd+bwd', timed(withGrad((x) => density([x, tau], attrs)))],
  ]);
  report(`activationDensity, n = ${n}`, rows, (i) => i | 1);
  et.dispose([a, tau, g]);
}

// ---- int8 matmul: M = 64 tokens, K = N = 1024
{
  const [m, k, n] = [64, 1024, 1024];
  const x = et.randn([m, k], { seed: 4 });
  const wf = et.randn([n, k], { seed: 5 }).mul(0.05);
  const wT = wf.transpose().contiguous();
  const wq = et.randint([n, k], -127, 128, { seed: 6 }).cast('i8');
  const ws = et.full([n], 0.01);
  const tasks: [string, () => Promise<void>][] = [
    ['f32 matmul x·Wᵀ', timed(() => [et.matmul(x, wT)])],
    ["matmulInt8 'f32'", timed(() => [et.matmulInt8(x, wq, ws)])],
  ];
  const paths = stats0.wgslFeatures.includes('packed_4x8_integer_dot_product') ? (['packed', 'unpacked'] as const) : (['unpacked'] as const);
  for (const path of paths) {
    tasks.push([
      `matmulInt8 'int8' ${path}`,
      async () => {
        setWebGpuInt8Dot(path);
        await timed(() => [et.matmulInt8(x, wq, ws, { activations: 'int8' })])();
      },
    ]);
  }
  const rows = await measure(tasks);
  report(`matmulInt8, M = ${m}, K = ${k}, N = ${n} (2·M·K·N operations: GOP/s below)`, rows, () => 0);
  for (const r of rows) console.log(`  ${r.name}: ${((2 * m * k * n) / (r.median / 1000) / 1e9).toFixed(2)} GOP/s`);
  setWebGpuInt8Dot(stats0.int8Dot);
  et.dispose([x, wf, wT, wq, ws]);
}

destroyWebGPU();
