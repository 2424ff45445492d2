/**
 * Reading records back for tables and claims: the value of a metric per seed for one arm, the paired comparison of
 * two arms, and a one-line description of how the runs behind a figure were made.
 */
import { type PairedDifference, type Summary, pairedDifference, summarize } from './stats.js';
import type { RunRecord } from './types.js';

/** seed → value of `metric` in `arm` (the latest record wins if a seed was run twice). */
export function seedValues(records: readonly RunRecord[], arm: string, metric: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of records) {
    const v = r.arm === arm ? r.metrics[metric] : undefined;
    if (v !== undefined && Number.isFinite(v)) out.set(r.seed, v);
  }
  return out;
}

export function armSummary(records: readonly RunRecord[], arm: string, metric: string): Summary {
  return summarize([...seedValues(records, arm, metric).values()]);
}

export function compareArms(records: readonly RunRecord[], arm: string, baseline: string, metric: string): PairedDifference {
  return pairedDifference(seedValues(records, arm, metric), seedValues(records, baseline, metric));
}

/** Arm names in the order they first appear. */
export function armsOf(records: readonly RunRecord[]): string[] {
  return [...new Set(records.map((r) => r.arm))];
}

function fmtCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

/** "char-GPT (...), 29.6k parameters; 200 steps, 205k tokens per run; seeds 0, 1, 2; backend native" */
export function setupLine(records: readonly RunRecord[]): string {
  if (records.length === 0) return 'no runs';
  const uniq = <T>(xs: T[]) => [...new Set(xs)];
  const models = uniq(records.map((r) => r.info.model ?? `${fmtCount(r.info.params)} parameters`));
  const steps = uniq(records.map((r) => r.info.steps));
  const tokens = uniq(records.map((r) => r.info.tokens));
  const seeds = uniq(records.map((r) => r.seed)).sort((a, b) => a - b);
  const backends = uniq(records.map((r) => r.info.backend));
  const tok = tokens.length === 1 && tokens[0] === 0 ? '' : `, ${tokens.map(fmtCount).join('/')} tokens`;
  return `${models.join('; ')}; ${steps.join('/')} steps${tok} per run; seeds ${seeds.join(', ')}; backend ${backends.join(', ')}`;
}

/** A signed percentage with its CI: "+3.1 % [-1.0 %, +7.2 %]" (no interval with fewer than 2 pairs). */
export function formatRelative(s: Summary | undefined): string {
  if (!s || !Number.isFinite(s.mean)) return 'n/a';
  const pct = (v: number) => `${v >= 0 ? '+' : '-'}${Math.abs(100 * v).toFixed(1)} %`;
  return Number.isFinite(s.ciLow) ? `${pct(s.mean)} [${pct(s.ciLow)}, ${pct(s.ciHigh)}]` : `${pct(s.mean)} (n = ${s.n}, no CI)`;
}
