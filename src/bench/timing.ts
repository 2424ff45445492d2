/**
 * Timing through tinybench: warm-up, then iterations until both a time budget and a minimum count are met, with
 * every sample retained so the spread can be reported (p25-p75 and MAD, computed in stats.ts).
 *
 * A single first call is timed before anything else: a case whose one iteration exceeds `maxSingleMs` is skipped
 * with that time as the reason instead of holding the run for minutes (the TypeScript reference backend at 2048^2,
 * for example). Each timed iteration must include its own sync point (for async backends: awaiting the read-back).
 */
import { Bench } from 'tinybench';
import { type SampleStats, summarize } from './stats.js';

export interface TimingPolicy {
  /** time budget per row after warm-up, ms */
  timeMs: number;
  /** minimum number of timed iterations */
  minIterations: number;
  warmupMs: number;
  warmupIterations: number;
  /** one iteration slower than this skips the row */
  maxSingleMs: number;
}

export function timingPolicy(quick: boolean, timeMs?: number): TimingPolicy {
  return quick
    ? { timeMs: timeMs ?? 40, minIterations: 5, warmupMs: 10, warmupIterations: 2, maxSingleMs: 400 }
    : { timeMs: timeMs ?? 1000, minIterations: 15, warmupMs: 200, warmupIterations: 5, maxSingleMs: 2500 };
}

/** `skipped`: not measured on purpose (too slow, not implemented by a peer); otherwise the failure is an error. */
export type Measured = { ok: true; stats: SampleStats } | { ok: false; reason: string; skipped?: boolean };

export async function measure(name: string, fn: () => unknown, policy: TimingPolicy): Promise<Measured> {
  const t0 = performance.now();
  await fn();
  const first = performance.now() - t0;
  if (first > policy.maxSingleMs) {
    return { ok: false, skipped: true, reason: `one iteration took ${(first / 1000).toFixed(1)} s (limit ${(policy.maxSingleMs / 1000).toFixed(1)} s per iteration)` };
  }
  // Slow cases: fewer warm-up iterations (the first call above already warmed caches and compiled kernels).
  const warmupIterations = first * policy.warmupIterations > policy.warmupMs * 4 ? 1 : policy.warmupIterations;
  const bench = new Bench({
    time: policy.timeMs,
    iterations: policy.minIterations,
    warmup: true,
    warmupTime: policy.warmupMs,
    warmupIterations,
    retainSamples: true,
    throws: true,
  });
  bench.add(name, fn);
  const [task] = await bench.run();
  const r = task!.result;
  if (r.state !== 'completed') {
    return { ok: false, reason: r.state === 'errored' ? r.error.message : `tinybench task ${r.state}` };
  }
  const samples = r.latency.samples;
  if (!samples || samples.length === 0) return { ok: false, reason: 'tinybench kept no samples' };
  return { ok: true, stats: summarize(samples) };
}
