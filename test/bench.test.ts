/**
 * The benchmark tool (src/bench): statistics against hand-computed values, --compare on a hand-made pair of reports,
 * the ONNX encoder, argument parsing, and one --quick run on cpu that must produce a well-formed table and JSON.
 * No assertion here depends on how fast anything ran.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import {
  type BenchReport,
  type BenchRow,
  REPORT_VERSION,
  benchCases,
  clockProbeModule,
  compareReports,
  derivedCudaPeak,
  encodeModel,
  gbps,
  gflops,
  mad,
  matmulFlops,
  matmulModel,
  median,
  parseBenchArgs,
  peakFactor,
  publishedPeak,
  quantile,
  readReport,
  renderCompare,
  runBench,
  speedup,
  summarize,
} from '../src/bench/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'eitp-bench-test-'));

describe('statistics helpers', () => {
  it('median of odd and even samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('quantiles interpolate linearly between closest ranks (numpy default)', () => {
    // [1, 2, 3, 4]: position (n - 1) q = 0.75 for q = 0.25 -> 1 + 0.75 * (2 - 1)
    expect(quantile([4, 3, 2, 1], 0.25)).toBeCloseTo(1.75, 12);
    expect(quantile([1, 2, 3, 4], 0.75)).toBeCloseTo(3.25, 12);
    expect(quantile([1, 2, 3, 4, 5], 0.25)).toBe(2);
    expect(quantile([10, 20], 0)).toBe(10);
    expect(quantile([10, 20], 1)).toBe(20);
    expect(() => quantile([], 0.5)).toThrow(RangeError);
    expect(() => quantile([1], 1.5)).toThrow(RangeError);
  });

  it('MAD is the median of absolute deviations from the median, unscaled', () => {
    // median 2; |x - 2| = 1 1 0 0 2 4 7 -> sorted 0 0 1 1 2 4 7 -> 1
    expect(mad([1, 1, 2, 2, 4, 6, 9])).toBe(1);
    expect(mad([5, 5, 5])).toBe(0);
  });

  it('summarize reports n, median, p25, p75, MAD, min, max and mean', () => {
    const s = summarize([5, 1, 4, 2, 3]);
    expect(s).toEqual({ n: 5, medianMs: 3, p25Ms: 2, p75Ms: 4, madMs: 1, minMs: 1, maxMs: 5, meanMs: 3 });
  });

  it('GFLOP/s and GB/s formulas', () => {
    expect(matmulFlops(2, 3, 4)).toBe(48); // 2 * m * n * k
    expect(matmulFlops(2, 3, 4, 5)).toBe(240);
    // 1024^3 multiply-adds = 2^31 FLOP in 10 ms -> 214.748 GFLOP/s
    expect(gflops(matmulFlops(1024, 1024, 1024), 10)).toBeCloseTo(214.7483648, 9);
    expect(gbps(3e9, 1500)).toBeCloseTo(2, 12);
    expect(speedup(2, 5)).toBe(2.5); // peer takes 5 ms, subject 2 ms: subject 2.5x faster
  });

  it('cases carry consistent FLOP and byte counts', () => {
    const mm = benchCases(false).find((c) => c.id.startsWith('matmul square 1024x1024'))!;
    expect(mm.flops).toBe(2 * 1024 ** 3);
    expect(mm.bytes).toBe(4 * 3 * 1024 * 1024);
    const batched = benchCases(false).find((c) => c.id === 'matmul batched 8x256x64 @ 8x64x256')!;
    expect(batched.flops).toBe(2 * 8 * 256 * 256 * 64);
    const ids = benchCases(true).map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

function row(caseId: string, impl: string, medianMs: number, p25Ms: number, p75Ms: number): BenchRow {
  return {
    caseId,
    family: 'matmul',
    impl,
    implKind: impl.startsWith('eitp:') ? 'engine' : 'peer',
    status: 'ok',
    metric: 'GFLOP/s',
    stats: { n: 10, medianMs, p25Ms, p75Ms, madMs: 0, minMs: p25Ms, maxMs: p75Ms, meanMs: medianMs },
  };
}

function report(rows: BenchRow[]): BenchReport {
  return {
    version: REPORT_VERSION,
    tool: 'eitp-bench',
    startedAt: '2026-01-01T00:00:00.000Z',
    durationS: 1,
    options: { quick: true, backends: ['cpu'], families: ['matmul'], peers: ['numpy'] },
    machine: { node: '20', platform: 'linux', arch: 'x64', cpuModel: 'test', cores: 2, memoryGiB: 1, cpuFlags: [], engineBackends: [] },
    limits: {},
    peers: [],
    spread: 'p25-p75 (interquartile range) of per-iteration times; madMs is the unscaled median absolute deviation',
    timing: 'hand-made',
    rows,
  };
}

describe('limits', () => {
  it('the clock probe is valid WebAssembly and runs', () => {
    // the project's lib settings carry no WebAssembly types
    const WA = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean; Module: new (b: Uint8Array) => object; Instance: new (m: object) => { exports: Record<string, unknown> } } }).WebAssembly;
    const bytes = clockProbeModule();
    expect(WA.validate(bytes)).toBe(true);
    const run = new WA.Instance(new WA.Module(bytes)).exports.run as (n: number) => number;
    // x = 0 + 64 * n * (n iterations) with y = n
    expect(run(3)).toBe(64 * 3 * 3);
  });

  it('FLOP per cycle by CPU family', () => {
    expect(peakFactor('AuthenticAMD', ['fma', 'avx2', 'avx512f']).flopsPerCycle).toBe(32);
    expect(peakFactor('GenuineIntel', ['fma', 'avx2', 'avx512f']).flopsPerCycle).toBe(64);
    expect(peakFactor('GenuineIntel', ['fma', 'avx2']).flopsPerCycle).toBe(32);
    expect(peakFactor('GenuineIntel', ['sse4_2']).flopsPerCycle).toBe(8);
  });

  it('GPU peaks: published by name, else derived from device properties', () => {
    expect(publishedPeak('NVIDIA H100 80GB HBM3')?.gflops).toBe(66_900);
    expect(publishedPeak('NVIDIA H100 PCIe')?.gbps).toBe(2_000);
    expect(publishedPeak('NVIDIA H200')?.gbps).toBe(4_800);
    expect(publishedPeak('Some Future GPU')).toBeUndefined();
    // 132 SMs x 128 lanes x 2 x 1.98 GHz = 66.9 TFLOP/s (H100 SXM)
    expect(derivedCudaPeak({ multiprocessors: 132, clockKHz: 1_980_000, computeCapability: '9.0' })!.gflops).toBeCloseTo(66_908.16, 6);
    expect(derivedCudaPeak({ multiprocessors: 108, clockKHz: 1_410_000, computeCapability: '8.0' })!.gflops).toBeCloseTo(19_491.84, 6);
  });
});

describe('--compare', () => {
  it('computes the change of each row from a hand-made pair of reports', () => {
    const oldPath = join(tmp, 'old.json');
    const newPath = join(tmp, 'new.json');
    const failed: BenchRow = { ...row('mm 3', 'eitp:cpu', 1, 1, 1), status: 'error', reason: 'boom' };
    delete failed.stats;
    writeFileSync(oldPath, JSON.stringify(report([row('mm 1', 'eitp:cpu', 10, 9, 11), row('mm 1', 'numpy', 4, 3.8, 4.2), row('mm 2', 'eitp:cpu', 8, 7, 9), failed])));
    writeFileSync(newPath, JSON.stringify(report([row('mm 1', 'eitp:cpu', 5, 4.5, 5.5), row('mm 1', 'numpy', 5, 4.1, 5.2), row('mm 3', 'eitp:cpu', 2, 2, 2), row('mm 4', 'eitp:cpu', 1, 1, 1)])));
    const changes = compareReports(readReport(oldPath), readReport(newPath));
    const get = (c: string, i: string) => changes.find((x) => x.caseId === c && x.impl === i)!;

    const a = get('mm 1', 'eitp:cpu');
    expect(a.speedup).toBe(2); // 10 ms -> 5 ms
    expect(a.changePct).toBe(-50);
    expect(a.overlap).toBe(false); // [9, 11] vs [4.5, 5.5]

    const b = get('mm 1', 'numpy');
    expect(b.speedup).toBeCloseTo(0.8, 12); // 4 ms -> 5 ms
    expect(b.changePct).toBeCloseTo(25, 12);
    expect(b.overlap).toBe(true); // [3.8, 4.2] vs [4.1, 5.2]

    expect(get('mm 3', 'eitp:cpu').note).toBe('error -> ok');
    expect(get('mm 4', 'eitp:cpu').note).toBe('new row');
    expect(get('mm 2', 'eitp:cpu').note).toBe('missing in this run');
    expect(changes).toHaveLength(5);

    const text = renderCompare(changes, 'old.json');
    expect(text).toContain('-50.0%');
    expect(text).toContain('2.00x');
    expect(text).toContain('+25.0%');
  });

  it('refuses a file that is not a report', () => {
    const p = join(tmp, 'not-a-report.json');
    writeFileSync(p, '{"rows": 3}');
    expect(() => readReport(p)).toThrow(/not an eitp bench report/);
  });
});

describe('ONNX model encoder', () => {
  it('writes protobuf varints and a model onnxruntime can run', async () => {
    const bytes = encodeModel({ nodes: [{ op: 'Exp', inputs: ['X'], outputs: ['Y'] }], inputs: [{ name: 'X', elem: 'float', shape: [2] }], outputs: [{ name: 'Y', elem: 'float' }] });
    // ModelProto field 1 (ir_version), varint 8
    expect([...bytes.slice(0, 2)]).toEqual([0x08, 0x08]);
    let ort: typeof import('onnxruntime-node');
    try {
      ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');
    } catch {
      return; // the peer is optional: without it, the benchmark lists it as missing
    }
    const session = await ort.InferenceSession.create(matmulModel([2, 3], [3, 2]));
    const a = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    const b = new ort.Tensor('float32', Float32Array.from([1, 0, 0, 1, 1, 1]), [3, 2]);
    const { Y } = await session.run({ A: a, B: b });
    expect(Y!.dims).toEqual([2, 2]);
    expect([...(Y!.data as Float32Array)]).toEqual([4, 5, 10, 11]);
    await session.release();
  });
});

describe('arguments', () => {
  it('parses a suite and the options', () => {
    const p = parseBenchArgs(['matmul', '--quick', '--json', 'out.json', '--backend', 'cpu,native', '--peers', 'none', '--time', '200']);
    expect(p.suite).toBe('matmul');
    expect(p.options).toEqual({ quick: true, json: 'out.json', backends: ['cpu,native'], peers: ['none'], timeMs: 200 });
    expect(() => parseBenchArgs(['--time', '-1'])).toThrow(/--time/);
  });

  it('rejects unknown backends and families by name', async () => {
    await expect(runBench({ backends: ['tpu'], print: () => {}, log: null })).rejects.toThrow(/unknown backend 'tpu'/);
    await expect(runBench({ families: ['fft'], print: () => {}, log: null })).rejects.toThrow(/unknown family 'fft'/);
  });
});

describe('--quick on cpu', () => {
  it('produces a well-formed table and JSON report', async () => {
    const jsonPath = join(tmp, 'quick.json');
    let printed = '';
    const liveBefore = et.memory().liveTensors;
    const r = await runBench({ quick: true, backends: ['cpu'], json: jsonPath, print: (s) => (printed += s), log: null });
    const cases = benchCases(true);
    expect(et.memory().liveTensors).toBe(liveBefore); // every input, output and optimizer state was freed

    // every case ran on cpu and has sane statistics
    const cpuRows = r.rows.filter((x) => x.impl === 'eitp:cpu');
    expect(cpuRows.map((x) => x.caseId)).toEqual(cases.map((c) => c.id));
    for (const x of cpuRows) {
      expect(x.status, `${x.caseId}: ${x.reason ?? ''}`).toBe('ok');
      const s = x.stats!;
      expect(s.n).toBeGreaterThanOrEqual(5);
      expect(s.p25Ms).toBeLessThanOrEqual(s.medianMs);
      expect(s.medianMs).toBeLessThanOrEqual(s.p75Ms);
      expect(s.minMs).toBeGreaterThan(0);
      expect(x.throughput).toBeGreaterThan(0);
      expect(x.pctOfLimit).toBeGreaterThan(0);
    }
    // every peer is either measured or listed with a reason; peer rows exist for each available peer
    expect(r.peers.map((p) => p.name).sort()).toEqual(['numpy', 'onnxruntime', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-webgpu']);
    for (const p of r.peers) {
      if (p.available) expect(r.rows.filter((x) => x.impl === p.name)).toHaveLength(cases.length);
      else expect(p.reason).toBeTruthy();
    }
    for (const x of r.rows.filter((y) => y.status !== 'ok')) expect(x.reason).toBeTruthy();

    // the table: header, one line per row, and the limits
    const lines = printed.split('\n');
    const header = lines.findIndex((l) => /^family\s+case\s+impl\s+median\s+p25-p75\s+n\s+throughput\s+% limit/.test(l));
    expect(header).toBeGreaterThan(0);
    expect(lines[header + 1]).toMatch(/^-+(\s+-+)+$/);
    for (let i = 0; i < r.rows.length; i++) expect(lines[header + 2 + i]).toContain(r.rows[i]!.caseId);
    expect(printed).toMatch(/limit cpu .*GFLOP\/s/);

    // the JSON file is the same report
    const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchReport;
    expect(json.version).toBe(REPORT_VERSION);
    expect(json.tool).toBe('eitp-bench');
    expect(json.machine.cores).toBeGreaterThan(0);
    expect(json.limits.cpu!.gflops).toBeGreaterThan(0);
    expect(json.rows).toHaveLength(r.rows.length);
    expect(json.rows[0]!.stats!.medianMs).toBe(r.rows[0]!.stats!.medianMs);
  }, 120_000);
});
