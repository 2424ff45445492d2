/**
 * Statistics of timing samples. Everything the table and the JSON report is computed here from the raw samples
 * (milliseconds), so engine rows and peer rows (tinybench, numpy's own loop) are summarised the same way.
 */

/** The q-quantile (0 <= q <= 1) of ascending-sorted values, linear interpolation between closest ranks
 * (numpy's default 'linear' method, R type 7). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of an empty sample');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function quantile(values: readonly number[], q: number): number {
  return quantileSorted([...values].sort((a, b) => a - b), q);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Median absolute deviation from the median (unscaled: no 1.4826 normal-consistency factor). */
export function mad(values: readonly number[]): number {
  const m = median(values);
  return median(values.map((v) => Math.abs(v - m)));
}

export interface SampleStats {
  /** samples used */
  n: number;
  medianMs: number;
  /** 25th and 75th percentiles: the spread the table prints (interquartile range) */
  p25Ms: number;
  p75Ms: number;
  /** median absolute deviation, unscaled */
  madMs: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
}

export function summarize(samplesMs: readonly number[]): SampleStats {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  if (sorted.length === 0) throw new RangeError('no samples');
  return {
    n: sorted.length,
    medianMs: quantileSorted(sorted, 0.5),
    p25Ms: quantileSorted(sorted, 0.25),
    p75Ms: quantileSorted(sorted, 0.75),
    madMs: mad(sorted),
    minMs: sorted[0]!,
    maxMs: sorted[sorted.length - 1]!,
    meanMs: sorted.reduce((s, v) => s + v, 0) / sorted.length,
  };
}

/** Floating-point operations of C[b, m, n] = A[b, m, k] @ B[b, k, n]: one multiply and one add per term. */
export function matmulFlops(m: number, n: number, k: number, batch = 1): number {
  return 2 * batch * m * n * k;
}

/** GFLOP/s of `flops` operations done in `ms` milliseconds. */
export function gflops(flops: number, ms: number): number {
  return flops / (ms * 1e-3) / 1e9;
}

/** GB/s (10^9 bytes per second) of `bytes` moved in `ms` milliseconds. */
export function gbps(bytes: number, ms: number): number {
  return bytes / (ms * 1e-3) / 1e9;
}

/** Speed of `subject` relative to `peer` from their median times: > 1 means the subject is faster. */
export function speedup(subjectMs: number, peerMs: number): number {
  return peerMs / subjectMs;
}
