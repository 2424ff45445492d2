/**
 * The CPU's limits, measured by small built-in probes:
 *
 * - arithmetic peak: measured by the native addon's FMA probe (independent f32 FMA chains, AVX-512/AVX2 chosen by
 *   cpuid like the GEMM, on every thread, timed) when the addon is built. Otherwise an estimate (labelled as such):
 *   threads x clock x f32 FLOP per cycle. The clock is measured on every core at once by a
 *   WebAssembly loop of dependent integer adds (one cycle of latency each on every x86-64 and Arm core, so adds per
 *   second = cycles per second, at the all-core clock); FLOP per cycle comes from the CPU family's FMA units
 *   (peakFactor). WebAssembly itself has no FMA and only 128-bit vectors, so timing FMAs from JS would measure JS,
 *   not the CPU; the limit's source text says exactly how the number was made;
 * - memory: a copy of 32 MiB between typed arrays (memmove) on every core at once, counting read + write bytes.
 *
 * Together well under a second. Other processes on the machine only slow some rounds down; the best round counts.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { nativeFmaPeak } from '../../engine/index.js';

/** dependent adds per loop iteration of the clock probe */
export const CLOCK_ADDS_PER_ITER = 64;

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/**
 * (module (func (export "run") (param $n i32) (result i32) (local $x i32) (local $y i32) ...)): y = n (unknown to
 * the compiler, so nothing folds), then a loop of 64 dependent `x = x + y` and `n = n - 1; br_if`, returning x.
 */
export function clockProbeModule(): Uint8Array {
  const code: number[] = [0x20, 0, 0x21, 2]; // y = n
  code.push(0x03, 0x40); // loop
  code.push(0x20, 1); // x
  for (let i = 0; i < CLOCK_ADDS_PER_ITER; i++) code.push(0x20, 2, 0x6a); // + y   (i32.add)
  code.push(0x21, 1); // x = ...
  code.push(0x20, 0, 0x41, 0x01, 0x6b, 0x22, 0x00, 0x0d, 0x00, 0x0b); // n = n - 1; br_if (n != 0) loop; end
  code.push(0x20, 1, 0x0b); // return x
  const body = [...leb(1), ...leb(2), 0x7f, ...code]; // locals: 2 x i32
  const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content];
  const name = [...'run'].map((ch) => ch.charCodeAt(0));
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7f]), // type: (i32) -> i32
    ...section(3, [1, 0]),
    ...section(7, [1, name.length, ...name, 0x00, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

// Runs in a separate node process (no GPU runtime, no TypeScript loader, nothing else on its threads): one worker per
// core; each waits at a shared flag so all start together, then reports the time of each of its rounds.
const CHILD = `
const { Worker } = require('node:worker_threads');
const cfg = JSON.parse(process.argv[1]);
const WORKER = \`
const { parentPort, workerData } = require('node:worker_threads');
const { mode, bytes, rounds, work } = workerData;
const flag = new Int32Array(workerData.flag);
let run;
if (mode === 'clock') {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes)));
  run = () => inst.exports.run(work);
  for (let i = 0; i < 40; i++) inst.exports.run(Math.max(1, work >> 6)); // tier up from Liftoff to TurboFan
} else {
  const src = new Float64Array(work / 8).fill(1), dst = new Float64Array(work / 8);
  run = () => { dst.set(src); dst.set(src); };
  run();
}
parentPort.postMessage('ready');
Atomics.wait(flag, 0, 0);
const times = [];
for (let r = 0; r < rounds; r++) { const t0 = performance.now(); run(); times.push(performance.now() - t0); }
parentPort.postMessage(times);
\`;
async function onAllCores(mode, work, rounds) {
  const flag = new SharedArrayBuffer(4);
  const workers = Array.from({ length: cfg.threads }, () => new Worker(WORKER, { eval: true, workerData: { mode, bytes: cfg.bytes, rounds, work, flag } }));
  const results = workers.map((w) => new Promise((resolve, reject) => {
    w.on('error', reject);
    w.on('message', (m) => { if (Array.isArray(m)) resolve(m); });
  }));
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  const f = new Int32Array(flag);
  Atomics.store(f, 0, 1);
  Atomics.notify(f, 0);
  const out = await Promise.all(results);
  await Promise.all(workers.map((w) => w.terminate()));
  return out;
}
(async () => {
  const clock = await onAllCores('clock', cfg.iters, cfg.clockRounds);
  const copy = await onAllCores('copy', cfg.copyBytes, cfg.copyRounds);
  process.stdout.write(JSON.stringify({ clock, copy }));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

function runChild(cfg: Record<string, unknown>): Promise<{ clock: number[][]; copy: number[][] }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', CHILD, JSON.stringify(cfg)], { timeout: 60_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`CPU probe failed: ${stderr.trim() || err.message}`));
      else resolve(JSON.parse(stdout) as { clock: number[][]; copy: number[][] });
    });
  });
}

export interface CpuProbe {
  threads: number;
  /** measured all-core clock, GHz */
  clockGHz: number;
  /** f32 FLOP per cycle per core assumed for this CPU family, and why */
  flopsPerCycle: number;
  /** the peak used for % of limit: measured by the native FMA probe, else threads x clock x flopsPerCycle */
  peakGflops: number;
  /** how peakGflops was made: 'measured: ...' (native FMA probe) or 'estimate: ...' (fallback) */
  peakSource: string;
  /** 'native-fma-probe' when the addon measured the peak, 'estimate' when it fell back */
  peakMethod: 'native-fma-probe' | 'estimate';
  /** measured: typed-array copy, read + write bytes, all threads */
  copyGBps: number;
}

/** f32 FLOP per cycle per core (FMA units x lanes x 2) of the CPU family, from cpuid flags and the vendor. */
export function peakFactor(vendor: string, flags: readonly string[]): { flopsPerCycle: number; why: string } {
  const has = (f: string) => flags.includes(f);
  if (has('asimd')) return { flopsPerCycle: 16, why: 'Arm NEON: assumed 2 x 128-bit FMA pipes' };
  if (!has('fma') || !has('avx2')) return { flopsPerCycle: 8, why: 'no AVX2+FMA: SSE mul + add, 4 lanes each' };
  if (vendor === 'AuthenticAMD') {
    // Zen 2-4 have two 256-bit FMA pipes (Zen 4 runs AVX-512 as two 256-bit halves); Zen 5 desktop/server parts
    // have full-width AVX-512 and would be 64.
    return { flopsPerCycle: 32, why: 'AMD Zen: 2 FMA pipes x 8 f32 lanes x 2' };
  }
  return has('avx512f')
    ? { flopsPerCycle: 64, why: 'Intel AVX-512: 2 FMA ports x 16 f32 lanes x 2 (server parts; some have one 512-bit port)' }
    : { flopsPerCycle: 32, why: 'Intel AVX2: 2 FMA ports x 8 f32 lanes x 2' };
}

export function cpuVendorAndFlags(): { vendor: string; flags: string[]; model: string } {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '';
    return { vendor: field('vendor_id'), flags: field('flags').split(/\s+/).filter(Boolean), model: field('model name') };
  } catch {
    return { vendor: 'unknown', flags: [], model: cpus()[0]?.model ?? 'unknown' };
  }
}

export async function probeCpu(quick: boolean): Promise<CpuProbe> {
  const threads = availableParallelism();
  const iters = 1 << 17; // 8 M dependent adds: about 2-3 ms per round
  const copyBytes = 32 << 20;
  const { clock, copy } = await runChild({
    threads,
    bytes: [...clockProbeModule()],
    iters,
    clockRounds: quick ? 6 : 20,
    copyBytes,
    copyRounds: quick ? 3 : 8,
  });
  // the slowest thread's best round: every core at the all-core clock
  const clockGHz = Math.min(...clock.map((t) => (iters * CLOCK_ADDS_PER_ITER) / (Math.min(...t) * 1e-3) / 1e9));
  // each round copies twice; a copy reads and writes copyBytes
  const copyGBps = copy.reduce((s, t) => s + (4 * copyBytes) / (Math.min(...t) * 1e-3) / 1e9, 0);
  const { vendor, flags } = cpuVendorAndFlags();
  const { flopsPerCycle, why } = peakFactor(vendor, flags);
  const estimate = threads * clockGHz * flopsPerCycle;
  const estimateSource = `estimate: ${threads} threads x ${clockGHz.toFixed(2)} GHz (all-core clock measured by a WASM dependent-add probe) x ${flopsPerCycle} f32 FLOP/cycle (${why})`;
  let measured: ReturnType<typeof nativeFmaPeak> = null;
  let whyNot = 'native addon unavailable';
  try {
    // best of a few short rounds: other processes only slow some rounds down
    for (let r = 0; r < (quick ? 2 : 4); r++) {
      const m = nativeFmaPeak(threads, quick ? 0.1 : 0.2);
      if (!m) break;
      if (Number.isFinite(m.gflops) && m.gflops > 0 && (!measured || m.gflops > measured.gflops)) measured = m;
    }
  } catch (e) {
    whyNot = `native FMA probe failed: ${e instanceof Error ? e.message : String(e)}`;
  }
  const base = { threads, clockGHz, flopsPerCycle, copyGBps };
  if (measured) {
    return {
      ...base,
      peakGflops: measured.gflops,
      peakMethod: 'native-fma-probe',
      peakSource: `measured: native FMA probe (${measured.isa}, 12 independent FMA chains on ${measured.threads} threads, best of rounds); estimate would be ${estimate.toFixed(0)} GFLOP/s`,
    };
  }
  return { ...base, peakGflops: estimate, peakMethod: 'estimate', peakSource: `${estimateSource} (fallback: ${whyNot})` };
}
