/**
 * The statistics of every table: mean, sample standard deviation (n − 1), and the paired difference of two arms
 * over matching seeds with a Student-t 95 % confidence interval. Pairing by seed removes the between-seed variance
 * (same data stream, same initialisation in both arms), so the interval is the one for "what changes when only the
 * λs change".
 *
 * The t quantile is computed, not tabled: the Student-t CDF through the regularised incomplete beta function
 * (continued fraction, modified Lentz), inverted by bisection.
 */

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (divisor n − 1); NaN for fewer than 2 values. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 coefficients: ~15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x); // reflection
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The continued fraction of I_x(a, b), valid (fast) for x < (a + 1)/(a + b + 2). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    // even step
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    // odd step
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b), 0 <= x <= 1, a, b > 0. */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`regularizedBeta needs a, b > 0, got a = ${a}, b = ${b}`);
  if (!(x >= 0 && x <= 1)) throw new RangeError(`regularizedBeta needs 0 <= x <= 1, got ${x}`);
  if (x === 0 || x === 1) return x;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // the fraction converges fast on one side of the mean; use the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) on the other
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(x, a, b)) / a : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** P(T <= t) for Student's t with df degrees of freedom (df > 0, not necessarily an integer). */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be > 0, got ${df}`);
  if (Number.isNaN(t)) return NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5); // P(T > |t|)
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t (0 < p < 1): the t with P(T <= t) = p. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`quantile level must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be > 0, got ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) {
    lo = hi;
    hi *= 2;
  }
  // bisection to the last bit: ~60 halvings of [lo, hi]
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

export interface Summary {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation; NaN when n < 2. */
  readonly std: number;
  /** Two-sided confidence interval of the mean (Student t); NaN bounds when n < 2. */
  readonly ciLow: number;
  readonly ciHigh: number;
}

/** Mean, sample std and the two-sided `level` (default 95 %) t interval of the mean of xs. */
export function summarize(xs: readonly number[], level = 0.95): Summary {
  const n = xs.length;
  const m = mean(xs);
  const s = sampleStd(xs);
  if (n < 2) return { n, mean: m, std: s, ciLow: NaN, ciHigh: NaN };
  const half = (studentTQuantile(1 - (1 - level) / 2, n - 1) * s) / Math.sqrt(n);
  return { n, mean: m, std: s, ciLow: m - half, ciHigh: m + half };
}

export interface PairedDifference extends Summary {
  /** The seeds present in both arms (the pairs used). */
  readonly seeds: readonly number[];
  /** The same for the per-seed relative change (arm / baseline − 1); absent when a baseline value is 0. */
  readonly relative?: Summary;
}

/**
 * The paired difference arm − baseline over the seeds both have: d_s = x_s − b_s, summarised with its t interval
 * (df = pairs − 1), and the per-seed relative change x_s/b_s − 1 likewise.
 */
export function pairedDifference(arm: ReadonlyMap<number, number>, baseline: ReadonlyMap<number, number>, level = 0.95): PairedDifference {
  const seeds = [...arm.keys()].filter((s) => baseline.has(s)).sort((a, b) => a - b);
  const diffs = seeds.map((s) => arm.get(s)! - baseline.get(s)!);
  const base = seeds.map((s) => baseline.get(s)!);
  const out = { ...summarize(diffs, level), seeds };
  if (seeds.length === 0 || base.some((b) => b === 0)) return out;
  return { ...out, relative: summarize(seeds.map((s, i) => arm.get(s)! / base[i]! - 1), level) };
}
