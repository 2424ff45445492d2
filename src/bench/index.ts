/**
 * `eitp bench` / `npm run bench`: every kernel family on every available engine backend, side by side with peer
 * libraries measured in the same run, against the hardware's limit. `runBench(options)` is the whole tool; the CLI
 * and bench/run.ts only parse arguments into options.
 */
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import * as et from '../../engine/index.js';
import { benchCases } from './cases.js';
import { type CpuProbe, cpuVendorAndFlags, probeCpu } from './cpu-probe.js';
import { prepareEngineCase } from './engine-impl.js';
import { dawnAdapter, nvidiaDeviceName, publishedPeak } from './gpu-limits.js';
import { createNumpyPeer } from './peers/numpy.js';
import { createOnnxPeer } from './peers/onnxruntime.js';
import { type Peer, errorMessage } from './peers/peer.js';
import { createTfjsPeer } from './peers/tfjs.js';
import { compareReports, readReport, writeReport } from './report.js';
import { gbps, gflops, speedup } from './stats.js';
import { renderCompare, renderTable } from './table.js';
import { type Measured, type TimingPolicy, measure, timingPolicy } from './timing.js';
import {
  type BenchCase,
  type BenchOptions,
  type BenchReport,
  type BenchRow,
  type EngineBackend,
  ENGINE_BACKENDS,
  FAMILIES,
  type LimitInfo,
  type MachineInfo,
  PEER_NAMES,
  type PeerName,
  type PeerStatus,
  REPORT_VERSION,
} from './types.js';

export * from './types.js';
export { median, quantile, quantileSorted, mad, summarize, gflops, gbps, matmulFlops, speedup, type SampleStats } from './stats.js';
export { compareReports, readReport, writeReport, type RowChange } from './report.js';
export { renderTable, renderCompare } from './table.js';
export { benchCases } from './cases.js';
export { encodeModel, matmulModel } from './peers/onnx-model.js';
export { probeCpu, clockProbeModule, peakFactor, type CpuProbe } from './cpu-probe.js';
export { publishedPeak } from './gpu-limits.js';

function checkNames(kind: string, given: readonly string[] | undefined, allowed: readonly string[]): string[] | undefined {
  if (!given) return undefined;
  const list = given.flatMap((g) => g.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const n of list) {
    if (!allowed.includes(n)) throw new Error(`unknown ${kind} '${n}'; expected one of ${allowed.join(', ')}`);
  }
  return list;
}

/** Engines with an async initialisation: webgpu acquires its adapter and device first. */
async function initEngineBackend(name: EngineBackend): Promise<void> {
  if (name === 'webgpu') await et.initWebGPU();
}

/** Releases GPU devices so the process can exit. */
async function releaseEngineBackend(name: EngineBackend): Promise<void> {
  if (name === 'webgpu') et.destroyWebGPU();
}

function machineInfo(): MachineInfo {
  const { flags, model } = cpuVendorAndFlags();
  return {
    node: process.versions.node,
    platform: process.platform,
    arch: process.arch,
    cpuModel: model || cpus()[0]?.model || 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAvg1m: Math.round(loadavg()[0]! * 100) / 100,
    cpuFlags: flags.filter((f) => /^(sse4_2|avx|avx2|fma|f16c|avx512(f|bw|vl|dq|_bf16|_vnni|_fp16)|amx\w*|asimd|sve)$/.test(f)),
    engineBackends: et.backendInfo().map((b) => ({ name: b.name, available: b.available, ...(b.reason ? { reason: b.reason } : {}) })),
  };
}

/** Bandwidth of a GPU without published numbers: the engine's own add kernel on 2 x 64 MiB (a floor, not a peak). */
async function measuredGpuBandwidth(backend: EngineBackend): Promise<number | undefined> {
  const n = 1 << 24;
  try {
    const x = et.zeros([n], { backend });
    const y = et.ones([n], { backend });
    let best = Infinity;
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      const z = et.add(x, y);
      await z.data();
      best = Math.min(best, performance.now() - t0);
      z.dispose();
    }
    et.dispose([x, y]);
    return gbps(3 * 4 * n, best);
  } catch {
    return undefined;
  }
}

async function gpuLimit(backend: 'webgpu' | 'cuda', cpu: LimitInfo): Promise<LimitInfo> {
  let device: string;
  if (backend === 'webgpu') {
    const a = await dawnAdapter();
    if ('reason' in a) return { device: 'no adapter', source: a.reason };
    if (a.isCpu) return { ...cpu, device: `${a.description} (runs on the CPU)`, source: `CPU limits, because the adapter is a CPU implementation; ${cpu.source}` };
    device = a.description;
  } else {
    const info = await cudaDeviceInfo();
    if (info?.emulated || (!info && process.env.EITP_CUDA_EMULATION === '1')) {
      return { ...cpu, device: 'CUDA kernels emulated on the CPU (EITP_CUDA_EMULATION=1)', source: `CPU limits, because the emulated kernels run on the CPU; ${cpu.source}` };
    }
    const d = info?.name ? { name: info.name } : nvidiaDeviceName();
    device = d.name ?? `unknown (${d.reason})`;
    const derived = info ? derivedCudaPeak(info) : undefined;
    if (!publishedPeak(device) && derived) {
      const bw = await measuredGpuBandwidth(backend);
      return { device, gflops: derived.gflops, ...(bw ? { gbps: bw } : {}), source: `no published peak known: ${derived.source}${bw ? "; bandwidth measured by the engine's add kernel (a floor)" : ''}` };
    }
  }
  const p = publishedPeak(device);
  if (p) return { device, gflops: p.gflops, gbps: p.gbps, source: `published peak of the ${p.name} (f32 without tensor cores; memory bandwidth)` };
  const bw = await measuredGpuBandwidth(backend);
  return bw === undefined
    ? { device, source: 'no published peak known for this device and the bandwidth probe failed' }
    : { device, gbps: bw, source: "no published peak known: measured bandwidth of the engine's add kernel (a floor)" };
}

interface CudaInfoLike {
  emulated?: boolean;
  name?: string;
  multiprocessors?: number;
  clockKHz?: number;
  computeCapability?: string;
}

/** The cuda backend's device properties, when a device is there. */
async function cudaDeviceInfo(): Promise<CudaInfoLike | undefined> {
  return (et.cudaInfo() as CudaInfoLike | null) ?? undefined;
}

/** f32 peak from device properties: SMs x FP32 lanes per SM x 2 x clock (lanes: 64 on sm_60/70/80, 128 on sm_86+). */
export function derivedCudaPeak(info: CudaInfoLike): { gflops: number; source: string } | undefined {
  if (!info.multiprocessors || !info.clockKHz || !info.computeCapability) return undefined;
  const cc = Number(info.computeCapability);
  const lanes = cc >= 8.6 ? 128 : 64;
  const gflops = (info.multiprocessors * lanes * 2 * info.clockKHz) / 1e6;
  return { gflops, source: `f32 peak from device properties: ${info.multiprocessors} SMs x ${lanes} lanes x 2 x ${(info.clockKHz / 1e6).toFixed(2)} GHz (sm_${info.computeCapability.replace('.', '')})` };
}

async function createPeer(name: PeerName): Promise<Peer | PeerStatus> {
  try {
    if (name === 'numpy') return await createNumpyPeer();
    if (name === 'onnxruntime') return await createOnnxPeer();
    return await createTfjsPeer(name);
  } catch (e) {
    return { name, available: false, reason: errorMessage(e) };
  }
}

const isPeer = (p: Peer | PeerStatus): p is Peer => 'measure' in p;

function limitKeyOf(impl: string): string {
  if (impl === 'eitp:webgpu' || impl === 'tfjs-webgpu') return 'webgpu';
  if (impl === 'eitp:cuda') return 'cuda';
  return 'cpu';
}

function finishRow(c: BenchCase, impl: string, implKind: 'engine' | 'peer', m: Measured, limits: Record<string, LimitInfo>): BenchRow {
  const base = { caseId: c.id, family: c.family, impl, implKind, metric: c.metric };
  if (!m.ok) return { ...base, status: m.skipped ? 'skipped' : 'error', reason: m.reason };
  const ms = m.stats.medianMs;
  const throughput = c.metric === 'GFLOP/s' ? gflops(c.flops, ms) : gbps(c.bytes, ms);
  const key = limitKeyOf(impl);
  const limit = limits[key];
  const cap = c.metric === 'GFLOP/s' ? limit?.gflops : limit?.gbps;
  return {
    ...base,
    status: 'ok',
    stats: m.stats,
    throughput,
    ...(cap ? { pctOfLimit: (100 * throughput) / cap, limitName: key } : {}),
  };
}

export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const started = performance.now();
  const quick = options.quick ?? false;
  const print = options.print ?? ((s: string) => void process.stdout.write(s));
  const log = options.log === null ? () => {} : (options.log ?? ((s: string) => void process.stderr.write(`${s}\n`)));
  const families = checkNames('family', options.families, FAMILIES) ?? [...FAMILIES];
  const askedBackends = checkNames('backend', options.backends, ENGINE_BACKENDS) as EngineBackend[] | undefined;
  const peersAsked = options.peers && options.peers.join(',').trim() === 'none' ? [] : checkNames('peer', options.peers, PEER_NAMES);

  // Read the old report now, so a bad path fails before a long run rather than after it.
  const oldReport = options.compare ? readReport(options.compare) : undefined;

  // First, before any GPU runtime is up: the CPU probe (a child process) should have the machine to itself.
  log('limits: probing the CPU');
  const probe: CpuProbe = await probeCpu(quick);

  for (const b of askedBackends ?? ENGINE_BACKENDS) {
    try {
      await initEngineBackend(b);
    } catch (e) {
      log(`backend ${b}: initialisation failed: ${errorMessage(e)}`);
    }
  }
  const machine = machineInfo();
  const available = new Set(machine.engineBackends.filter((b) => b.available).map((b) => b.name as EngineBackend));
  for (const b of askedBackends ?? []) {
    if (!available.has(b)) log(`backend ${b} is unavailable: ${machine.engineBackends.find((x) => x.name === b)?.reason ?? ''}`);
  }
  const backends = (askedBackends ?? ENGINE_BACKENDS).filter((b) => available.has(b));

  // Peers: all by default, except tfjs-webgpu, which only makes sense beside the engine's webgpu backend.
  const peerNames = peersAsked ?? PEER_NAMES.filter((p) => p !== 'tfjs-webgpu' || backends.includes('webgpu'));
  const peerStatus: PeerStatus[] = [];
  const peers: Peer[] = [];
  for (const name of PEER_NAMES) {
    if (!peerNames.includes(name)) {
      peerStatus.push({
        name,
        available: false,
        reason: name === 'tfjs-webgpu' && !peersAsked ? 'not run: the engine webgpu backend is not in this run (ask with --peers tfjs-webgpu)' : 'not selected (--peers)',
      });
      continue;
    }
    log(`peer ${name}: loading`);
    const p = await createPeer(name);
    if (isPeer(p)) {
      peers.push(p);
      peerStatus.push(p.status);
    } else {
      peerStatus.push(p);
    }
  }

  const limits: Record<string, LimitInfo> = {
    cpu: { device: machine.cpuModel, gflops: probe.peakGflops, gbps: probe.copyGBps, source: `${probe.peakSource}; bandwidth measured by a typed-array copy on ${probe.threads} threads` },
  };
  for (const g of ['webgpu', 'cuda'] as const) {
    if (backends.includes(g) || (g === 'webgpu' && peers.some((p) => p.name === 'tfjs-webgpu'))) limits[g] = await gpuLimit(g, limits.cpu!);
  }

  const policy = timingPolicy(quick, options.timeMs);
  const cases = benchCases(quick).filter((c) => families.includes(c.family));
  const pilots = new Map(benchCases(true).map((c) => [c.series, c]));
  // Rows of a series already too slow for an implementation: its larger cases are skipped without running.
  const tooSlow = new Set<string>();
  const rows: BenchRow[] = [];
  let done = 0;
  const total = cases.length * (backends.length + peers.length);

  // The last measured case of each implementation and series: the best predictor of its next, larger case.
  const lastOk = new Map<string, { c: BenchCase; ms: number }>();
  const work = (x: BenchCase) => (x.metric === 'GFLOP/s' ? x.flops : x.bytes);

  /**
   * Guards the one untimed probe call, which cannot be interrupted. A row predicted (by work ratio) to take over
   * 10x the per-iteration limit is skipped: the prediction scales the median of the series' previous case on that
   * implementation, or, for a series' first case outside --quick, of a pilot run of the series' quick case.
   * Pathological kernels (a scatter that takes minutes) then cost a pilot, not the whole run; fixed per-call costs
   * make the prediction pessimistic, hence the generous factor.
   */
  async function guarded(c: BenchCase, impl: string, run: (cc: BenchCase, pol: TimingPolicy) => Promise<Measured>): Promise<Measured> {
    const seriesKey = `${impl}\u0000${c.series}`;
    if (tooSlow.has(seriesKey)) return { ok: false, skipped: true, reason: 'a smaller case of this series already exceeded the time limit' };
    let base = lastOk.get(seriesKey);
    const pilot = pilots.get(c.series);
    if (!base && !quick && pilot && pilot.id !== c.id) {
      const p = await run(pilot, { timeMs: 1, minIterations: 3, warmupMs: 0, warmupIterations: 1, maxSingleMs: policy.maxSingleMs });
      if (!p.ok) return { ok: false, skipped: p.skipped === true, reason: `its pilot ${pilot.id}: ${p.reason}` };
      base = { c: pilot, ms: p.stats.medianMs };
    }
    if (base) {
      const predicted = base.ms * (work(c) / work(base.c));
      if (predicted > 10 * policy.maxSingleMs) {
        tooSlow.add(seriesKey);
        return { ok: false, skipped: true, reason: `predicted ${(predicted / 1000).toFixed(0)} s per iteration from ${base.c.id} (${base.ms.toPrecision(3)} ms)` };
      }
    }
    const m = await run(c, policy);
    if (m.ok) lastOk.set(seriesKey, { c, ms: m.stats.medianMs });
    else if (m.skipped) tooSlow.add(seriesKey);
    return m;
  }

  try {
    for (const c of cases) {
      const caseRows: BenchRow[] = [];
      for (const b of backends) {
        const impl = `eitp:${b}`;
        const m = await guarded(c, impl, async (cc, pol) => {
          try {
            const prevBackend = et.getBackend();
            et.setBackend(b);
            const prepared = prepareEngineCase(b, cc.spec);
            try {
              return await measure(`${impl} ${cc.id}`, () => prepared.run(), pol);
            } finally {
              prepared.dispose();
              et.setBackend(prevBackend);
            }
          } catch (e) {
            return { ok: false, reason: errorMessage(e) };
          }
        });
        caseRows.push(finishRow(c, impl, 'engine', m, limits));
        log(`[${++done}/${total}] ${c.id} ${impl}: ${m.ok ? `${m.stats.medianMs.toPrecision(3)} ms` : m.reason}`);
      }
      for (const p of peers) {
        const why = p.unsupported(c);
        const m: Measured = why ? { ok: false, skipped: true, reason: why } : await guarded(c, p.name, (cc, pol) => p.measure(cc, pol));
        caseRows.push(finishRow(c, p.name, 'peer', m, limits));
        log(`[${++done}/${total}] ${c.id} ${p.name}: ${m.ok ? `${m.stats.medianMs.toPrecision(3)} ms` : m.reason}`);
      }
      for (const r of caseRows) {
        if (r.implKind !== 'engine' || !r.stats) continue;
        const vs: Record<string, number> = {};
        for (const p of caseRows) if (p.implKind === 'peer' && p.stats) vs[p.impl] = speedup(r.stats.medianMs, p.stats.medianMs);
        r.vsPeers = vs;
      }
      rows.push(...caseRows);
    }
  } finally {
    // the numpy subprocess, GPU devices: nothing may keep the process alive
    for (const p of peers) await p.close().catch(() => {});
    for (const b of backends) {
      if (b === 'webgpu' || b === 'cuda') await releaseEngineBackend(b).catch(() => {});
    }
  }

  const report: BenchReport = {
    version: REPORT_VERSION,
    tool: 'eitp-bench',
    startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
    durationS: Math.round((performance.now() - started) / 100) / 10,
    options: { quick, backends, families, peers: peers.map((p) => p.name) },
    machine,
    limits,
    peers: peerStatus,
    spread: 'p25-p75 (interquartile range) of per-iteration times; madMs is the unscaled median absolute deviation',
    timing:
      `tinybench: one probe call, warm-up (>= ${policy.warmupIterations} iterations and >= ${policy.warmupMs} ms), then >= ${policy.minIterations} iterations and >= ${policy.timeMs} ms per row; ` +
      `rows slower than ${policy.maxSingleMs / 1000} s per iteration are skipped; every iteration ends with the read-back of its result (await data()), numpy times its own loop under the same policy`,
    rows,
  };
  print(renderTable(report));
  if (options.json) {
    writeReport(options.json, report);
    log(`wrote ${options.json}`);
  }
  if (oldReport && options.compare) print(renderCompare(compareReports(oldReport, report), options.compare));
  return report;
}
export { parseBenchArgs, BENCH_USAGE, type ParsedBenchArgs } from './args.js';
