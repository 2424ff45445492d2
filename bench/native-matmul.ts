/**
 * f32 matmul GFLOP/s: the native backend, the cpu (TypeScript) backend at small sizes, and numpy (OpenBLAS when
 * numpy is linked to it) side by side in one run. Median and spread (median absolute deviation, as % of the median)
 * of per-call times; the last column is native / numpy. Native and numpy are measured alternately, two rounds each per
 * size, and the better round of each is shown, so that load from other processes hits both alike.
 *
 *   npx tsx bench/native-matmul.ts [--sizes 128,256,512,1024,2048] [--threads 2]
 *
 * numpy runs as /usr/bin/python3 with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment (they are
 * tuned for another CPU on some machines) and OPENBLAS_NUM_THREADS set to the native thread count, for parity.
 */
import { spawnSync } from 'node:child_process';
import { Bench } from 'tinybench';
import * as et from '../engine/index.js';
import { nativeInfo, nativeSync, setNativeThreads } from '../engine/backends/native/index.js';
import { arg } from './bench-args.js';

interface Stat {
  gflops: number;
  spreadPct: number;
}

const sizes = arg('sizes', '128,256,512,1024,2048').split(',').map(Number);
const threads = Number(arg('threads', '2'));
const CPU_MAX = 256; // the TypeScript reference takes seconds beyond this

const flops = (n: number) => 2 * n * n * n;
const stat = (n: number, medianMs: number, madMs: number): Stat => ({ gflops: flops(n) / (medianMs * 1e6), spreadPct: (100 * madMs) / medianMs });

/** Few, long enough samples: big sizes take 50-150 ms per call. */
function benchOptions(n: number) {
  return n >= 1024 ? { time: 800, iterations: 5, warmupIterations: 2, warmupTime: 0 } : { time: 400, iterations: 10, warmupIterations: 3, warmupTime: 50 };
}

async function timeBackend(backend: 'native' | 'cpu', n: number): Promise<Stat> {
  const a = et.randn([n, n], { seed: 1, backend });
  const b = et.randn([n, n], { seed: 2, backend });
  const bench = new Bench(benchOptions(n));
  bench.add(`${backend} ${n}`, () => {
    const c = et.matmul(a, b);
    if (backend === 'native') nativeSync(); // wait for the queued kernel: time the work, not the enqueue
    c.dispose();
  });
  await bench.run();
  et.dispose([a, b]);
  const r = bench.tasks[0]!.result;
  if (!('latency' in r)) throw new Error(`${backend} ${n}: benchmark did not complete (${r.state})`);
  return stat(n, r.latency.p50, r.latency.mad);
}

const PY = `
import json, sys, time
import numpy as np
sizes = json.loads(sys.argv[1])
out = {}
for n in sizes:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    for _ in range(2): a @ b
    samples, budget, t_end = [], (0.8 if n >= 1024 else 0.4), None
    start = time.perf_counter()
    while len(samples) < (5 if n >= 1024 else 10) or time.perf_counter() - start < budget:
        t0 = time.perf_counter(); a @ b; samples.append((time.perf_counter() - t0) * 1e3)
    s = sorted(samples); med = s[len(s) // 2] if len(s) % 2 else (s[len(s)//2 - 1] + s[len(s)//2]) / 2
    dev = sorted(abs(x - med) for x in samples); mad = dev[len(dev) // 2] if len(dev) % 2 else (dev[len(dev)//2 - 1] + dev[len(dev)//2]) / 2
    out[str(n)] = [med, mad]
libs = [l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower() and l.split()[-1].endswith(tuple('0123456789so'))]
out['blas'] = sorted(set(libs))
print(json.dumps(out))
`;

function timeNumpy(ns: number[]): { stats: Map<number, Stat>; blas: string } | { error: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync('/usr/bin/python3', ['-c', PY, JSON.stringify(ns)], { env, encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || 'python3 failed').trim().split('\n').pop()! };
  const parsed = JSON.parse(r.stdout) as Record<string, [number, number] | string[]>;
  const stats = new Map<number, Stat>();
  for (const n of ns) {
    const [med, mad] = parsed[String(n)] as [number, number];
    stats.set(n, stat(n, med, mad));
  }
  const libs = parsed.blas as string[];
  return { stats, blas: libs.map((l) => l.split('/').pop()).join(', ') || 'unknown' };
}

const fmt = (s: Stat | undefined) => (s ? `${s.gflops.toFixed(1).padStart(7)} ±${s.spreadPct.toFixed(1).padStart(4)}%` : '        -      ');

const better = (a: Stat | undefined, b: Stat | undefined) => (!a ? b : !b ? a : a.gflops >= b.gflops ? a : b);

async function main() {
  setNativeThreads(threads);
  const info = nativeInfo();
  const rows: string[] = [];
  let blas = '';
  for (const n of sizes) {
    let native: Stat | undefined;
    let np: Stat | undefined;
    for (let round = 0; round < 2; round++) {
      native = better(native, await timeBackend('native', n));
      const numpy = timeNumpy([n]);
      if ('stats' in numpy) {
        np = better(np, numpy.stats.get(n));
        blas = `numpy BLAS: ${numpy.blas}`;
      } else blas = `numpy unavailable: ${numpy.error}`;
    }
    const cpu = n <= CPU_MAX ? await timeBackend('cpu', n) : undefined;
    const ratio = np ? `${((100 * native!.gflops) / np.gflops).toFixed(0).padStart(5)}%` : '    -';
    rows.push(`${String(n).padStart(5)}  ${fmt(native!)}  ${fmt(cpu)}  ${fmt(np)}  ${ratio}`);
  }
  console.log(`f32 matmul n x n @ n x n, GFLOP/s (median ± MAD), ${threads} thread${threads === 1 ? '' : 's'}; native GEMM kernel ${info.gemmKernel}`);
  console.log(blas);
  console.log(`    n        native            cpu (TS)        numpy            native/numpy`);
  for (const r of rows) console.log(r);
}

await main();
