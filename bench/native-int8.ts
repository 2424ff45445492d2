/**
 * Quantised inference on the native backend: matmulInt8 with 'f32' and with 'int8' activations against the f32
 * et.matmul of the same (dequantised) weights, at inference shapes x [M, K] · W [K, N]; then the fused EIT-P ops
 * against their composite references (opTable().<op>.composite, built from primitive ops): softHistogram at
 * n = 65536 and 1M, coherence at N = 4096, d = 128 and 256.
 *
 *   npx tsx bench/native-int8.ts [--threads 2] [--m 1,16,64,256] [--kn 256,512,1024] [--skip-fused]
 *
 * Per-call times in ms (each call waits for the native stream: the work, not the enqueue): median and p25–p75 of
 * tinybench's samples; speedups are ratios of medians. Issue #8 asks int8 inference ≥ 1.5× faster than f32.
 */
import { Bench } from 'tinybench';
import * as et from '../engine/index.js';
import { nativeInfo, nativeSync, setNativeThreads } from '../engine/backends/native/index.js';
import { arg, coherenceComposite, compositeOf } from './bench-args.js';

const list = (s: string) => s.split(',').map(Number);

const threads = Number(arg('threads', '2'));
const ms = list(arg('m', '1,16,64,256'));
const kns = list(arg('kn', '256,512,1024'));
const skipFused = process.argv.includes('--skip-fused');
const backend = 'native' as const;

interface Timing {
  p25: number;
  p50: number;
  p75: number;
}

function quantile(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Times fn (which must leave no queued native work behind): about `budgetMs` of samples after a warm-up. */
async function time(name: string, fn: () => void, budgetMs = 400): Promise<Timing> {
  const bench = new Bench({ time: budgetMs, iterations: 10, warmupTime: 60, warmupIterations: 3, retainSamples: true });
  bench.add(name, fn);
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (!('latency' in r) || !r.latency.samples) throw new Error(`${name}: benchmark did not complete (${r.state})`);
  const s = Float64Array.from(r.latency.samples).sort();
  return { p25: quantile(s, 0.25), p50: quantile(s, 0.5), p75: quantile(s, 0.75) };
}

const fmt = (t: Timing) => `${t.p50.toFixed(3).padStart(8)} (${t.p25.toFixed(3)}–${t.p75.toFixed(3)})`.padEnd(28);
const ratio = (base: Timing, t: Timing) => `${(base.p50 / t.p50).toFixed(2)}×`.padStart(7);

/** Runs f in a tidy scope and waits for the stream, disposing what it made. */
const synced = (f: () => et.Tensor) => () => {
  const y = f();
  nativeSync();
  y.dispose();
};

async function int8Table(): Promise<void> {
  console.log(`\nmatmulInt8 vs f32 matmul, x [M, K] · W [K, N], K = N; ms per call, median (p25–p75); speedup = f32 / int8`);
  console.log(`    M     K=N   f32 matmul                  int8 w, f32 act             int8 w, int8 act            f32-act  int8-act`);
  for (const kn of kns) {
    for (const m of ms) {
      const [k, n] = [kn, kn];
      const x = et.randn([m, k], { seed: 1, backend });
      const wq = et.tidy(() => et.cast(et.sub(et.randint([n, k], 0, 255, { seed: 2, backend }), 127), 'i8'));
      const ws = et.tidy(() => et.mul(et.rand([n], { seed: 3, backend }), 0.01));
      // The f32 baseline multiplies by the same weights, dequantised and stored [K, N] as a Linear layer keeps them.
      const w = et.tidy(() => et.contiguous(et.transpose(et.mul(et.cast(wq, 'f32'), et.reshape(ws, [n, 1])))));
      const f32 = await time(`f32 ${m}x${kn}`, synced(() => et.matmul(x, w)));
      const qf = await time(`i8/f32 ${m}x${kn}`, synced(() => et.matmulInt8(x, wq, ws)));
      const qi = await time(`i8/i8 ${m}x${kn}`, synced(() => et.matmulInt8(x, wq, ws, { activations: 'int8' })));
      console.log(`${String(m).padStart(5)}  ${String(kn).padStart(6)}   ${fmt(f32)}${fmt(qf)}${fmt(qi)}${ratio(f32, qf)}  ${ratio(f32, qi)}`);
      et.dispose([x, wq, ws, w]);
    }
  }
}

/** Forward, and forward + backward (the gradient of Σ out·c for a fixed c), fused and composite. */
async function fusedRow(label: string, make: () => et.Tensor, fused: (x: et.Tensor) => et.Tensor, composite: (x: et.Tensor) => et.Tensor) {
  const x = make();
  const c = et.tidy(() => et.randn(fused(x).shape, { seed: 9, backend }));
  const loss = (f: (x: et.Tensor) => et.Tensor) => (t: et.Tensor) => et.sum(et.mul(f(t), c));
  const grad = (f: (x: et.Tensor) => et.Tensor) => synced(() => et.tidy(() => et.grad(loss(f))(x) as et.Tensor));
  const ff = await time(`${label} fused fwd`, synced(() => et.tidy(() => fused(x))));
  const cf = await time(`${label} composite fwd`, synced(() => et.tidy(() => composite(x))));
  const fb = await time(`${label} fused fwd+bwd`, grad(fused));
  const cb = await time(`${label} composite fwd+bwd`, grad(composite));
  console.log(`${label.padEnd(30)} fwd  ${fmt(ff)}${fmt(cf)}${ratio(cf, ff)}`);
  console.log(`${''.padEnd(30)} +bwd ${fmt(fb)}${fmt(cb)}${ratio(cb, fb)}`);
  et.dispose([x, c]);
}

async function fusedTable(): Promise<void> {
  console.log(`\nfused EIT-P ops vs their composite references; ms per call, median (p25–p75); speedup = composite / fused`);
  console.log(`${'case'.padEnd(30)}      fused                       composite                   speedup`);
  const hist = compositeOf('softHistogram');
  for (const n of [65536, 1 << 20]) {
    await fusedRow(
      `softHistogram n=${n}`,
      () => et.tidy(() => et.mul(et.randn([n], { seed: 4, backend }), 2)),
      (u) => et.softHistogram(u),
      (u) => hist([u], et.EITP_HISTOGRAM as never),
    );
  }
  for (const d of [128, 256]) {
    await fusedRow(
      `coherence N=4096 d=${d}`,
      () => et.randn([4096, d], { seed: 5, backend }),
      (z) => et.coherence(z),
      coherenceComposite,
    );
  }
}

async function main() {
  setNativeThreads(threads);
  const info = nativeInfo();
  console.log(`native backend, ${info.threads} thread${info.threads === 1 ? '' : 's'}; GEMM ${info.gemmKernel}, int8 tiles ${info.int8Kernel}`);
  await int8Table();
  if (!skipFused) await fusedTable();
}

await main();
