/**
 * The claims table: each headline number of the EIT-P papers beside what this project measured, read from the
 * other experiments' results.jsonl under the results root (default: the parent of this experiment's directory).
 * It runs nothing itself; an experiment not run yet, or not registered, gets a row that says so. Each experiment
 * computes its own row (Experiment.claims) from its records.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from './runner.js';
import { loadResults } from './results-file.js';
import type { ClaimRow, Experiment, ExperimentContext, RunRecord } from './types.js';

/** The papers' headline numbers and the experiment that tests each. */
export const PAPER_CLAIMS: readonly { readonly claim: string; readonly experiment: string }[] = [
  { claim: '4-11x inference speed', experiment: 'speed' },
  { claim: '-25 % energy', experiment: 'energy' },
  { claim: '4.2x compression at 3 % accuracy loss', experiment: 'compression' },
  { claim: '-15 % perplexity', experiment: 'perplexity' },
  { claim: '+42 % long-range dependency handling', experiment: 'long-range' },
];

/**
 * The records of each arm's latest configuration: a results file can hold runs of several configurations (an
 * earlier --steps, say); mixing them would pair unlike runs.
 */
export function latestConfiguration(records: readonly RunRecord[]): RunRecord[] {
  const latest = new Map<string, string>();
  for (const r of records) latest.set(r.arm, canonicalJson(r.config)); // the file is in completion order
  const bySeed = new Map<string, RunRecord>();
  for (const r of records) if (latest.get(r.arm) === canonicalJson(r.config)) bySeed.set(`${r.arm}\u0000${r.seed}`, r);
  return [...bySeed.values()];
}

function rowsFor(exp: Experiment | undefined, name: string, claim: string, root: string): (ClaimRow & { source: string })[] {
  const notRun = (why: string) => [{ claim, comparison: '', measured: `not run (${why})`, setup: '', source: name }];
  if (!exp) return notRun(`no '${name}' experiment is registered`);
  if (!exp.claims) return notRun(`the '${name}' experiment reports no claims`);
  const path = join(root, name, 'results.jsonl');
  if (!existsSync(path)) return notRun(`\`eitp experiment ${name}\` has not written ${path}`);
  let records: RunRecord[];
  try {
    records = latestConfiguration(loadResults(path, name));
  } catch (e) {
    return notRun((e as Error).message);
  }
  if (records.length === 0) return notRun(`${path} holds no finished runs`);
  return exp.claims(records).map((r) => ({ ...r, source: `${name}/results.jsonl` }));
}

export function claimsTable(experiments: readonly Experiment[], root: string): string {
  const rows: (ClaimRow & { source: string })[] = [];
  for (const c of PAPER_CLAIMS) rows.push(...rowsFor(experiments.find((e) => e.name === c.experiment), c.experiment, c.claim, root));
  // experiments beyond the papers' five headline numbers that report claims of their own
  for (const e of experiments) {
    if (e.claims && !PAPER_CLAIMS.some((c) => c.experiment === e.name)) rows.push(...rowsFor(e, e.name, e.title, root).filter((r) => !r.measured.startsWith('not run')));
  }
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| paper\'s claim | measured here (mean [95 % CI]) | comparison | setup | source |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${[r.claim, r.measured, r.comparison || '—', r.setup || '—', r.source].map(esc).join(' | ')} |`),
  ].join('\n');
}

export const claimsExperiment: Experiment = {
  name: 'claims',
  title: 'The EIT-P papers\' headline claims beside what was measured',
  description:
    'The papers (English and Chinese versions) report 4-11x inference speed, −25 % energy, 4.2x compression at 3 % accuracy loss, −15 % perplexity and ' +
    '+42 % long-range dependency handling, numbers no code produced. Each row below is computed from the results of the experiment that tests the claim ' +
    '(run those first: `eitp experiment speed`, `energy`, `compression`, `perplexity --data <corpus>`, `long-range`), with paired seeds and a 95 % confidence interval. ' +
    'Relative changes are the mean of per-seed ratios (EIT-P / baseline − 1); the speed ratio is their geometric mean.',
  defaults: { seeds: 1, steps: 1 },
  baseline: null,
  curves: [],
  plan: () => [],
  metrics: () => [],
  run() {
    throw new Error('the claims experiment has no runs: it reads the results of the others');
  },
  sections(_records, ctx: ExperimentContext) {
    return [`## Claims\n\nResults read from ${ctx.options.resultsRoot}.\n\n${claimsTable(ctx.experiments(), ctx.options.resultsRoot)}`];
  },
};
