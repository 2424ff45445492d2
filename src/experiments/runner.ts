/**
 * Runs an experiment: every (arm, seed), seed by seed so that complete pairs accumulate first. A run's id is a hash
 * of the experiment name, the arm name and the arm's resolved config, plus the seed: a run whose id is already in
 * results.jsonl is skipped, so rerunning the command resumes. A run interrupted before its record was appended is
 * started again from scratch in a cleaned scratch directory. The report and plots are rewritten at the end from
 * the records of the current plan (records of other configs stay in the file, unused).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sha256 } from '../train/checkpoint.js';
import { ConfigError } from '../train/schema.js';
import { curvePlot, renderSvg } from './plots.js';
import { buildReport } from './report.js';
import { appendResult, loadResults } from './results-file.js';
import type { Arm, Experiment, ExperimentContext, ExperimentOptions, Json, RunRecord } from './types.js';

/** JSON with object keys sorted at every level: equal configs hash equally whatever their key order. */
export function canonicalJson(v: Json): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k]!)}`)
    .join(',')}}`;
}

export function runId(experiment: string, arm: Arm, seed: number): string {
  const hash = sha256(canonicalJson({ experiment, arm: arm.name, config: arm.config })).slice(0, 12);
  const slug = arm.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 32) || 'arm';
  return `${slug}-${hash}-s${seed}`;
}

export interface RunExperimentOptions {
  /** The experiment's output directory. */
  readonly out: string;
  readonly experiments: () => readonly Experiment[];
  readonly log?: (message: string) => void;
  /** How the report says it was made. */
  readonly command?: string;
}

export interface ExperimentResult {
  readonly outDir: string;
  readonly resultsPath: string;
  readonly reportPath: string;
  readonly plots: readonly string[];
  /** The records of the current plan, in plan order (arm, then seed). */
  readonly records: readonly RunRecord[];
  readonly ran: number;
  readonly skipped: number;
}

export async function runExperiment(exp: Experiment, options: ExperimentOptions, opts: RunExperimentOptions): Promise<ExperimentResult> {
  const log = opts.log ?? (() => {});
  const arms = exp.plan(options);
  const names = new Set<string>();
  for (const a of arms) {
    if (names.has(a.name)) throw new ConfigError('arms', `config field arms: two arms are named '${a.name}'`);
    names.add(a.name);
  }
  if (arms.length > 0 && exp.baseline && !names.has(exp.baseline)) throw new ConfigError('arms', `config field arms: no arm is named '${exp.baseline}' (the baseline)`);
  if (!Number.isInteger(options.seeds) || options.seeds < 1) throw new ConfigError('seeds', `config field seeds: expected a positive integer, got ${options.seeds}`);

  const outDir = resolve(opts.out);
  mkdirSync(outDir, { recursive: true });
  const resultsPath = join(outDir, 'results.jsonl');
  const all = loadResults(resultsPath, exp.name);
  const byId = new Map(all.map((r) => [r.id, r]));
  const total = arms.length * options.seeds;
  let ran = 0;
  let skipped = 0;
  let k = 0;
  for (let seed = 0; seed < options.seeds; seed++) {
    for (const arm of arms) {
      k++;
      const id = runId(exp.name, arm, seed);
      if (byId.has(id)) {
        skipped++;
        continue;
      }
      const runDir = join(outDir, 'runs', id);
      rmSync(runDir, { recursive: true, force: true }); // leftovers of an interrupted attempt
      mkdirSync(runDir, { recursive: true });
      log(`[${k}/${total}] ${exp.name}: arm ${arm.name}, seed ${seed}`);
      const ctx: ExperimentContext = { options, outDir, runDir, experiments: opts.experiments, log };
      const outcome = await exp.run(arm, seed, ctx);
      const record: RunRecord = { id, experiment: exp.name, arm: arm.name, config: arm.config, seed, ...outcome, finishedAt: new Date().toISOString() };
      appendResult(resultsPath, record);
      byId.set(id, record);
      ran++;
    }
  }

  const records = arms.flatMap((arm) => Array.from({ length: options.seeds }, (_, seed) => byId.get(runId(exp.name, arm, seed))!));
  const ctx: ExperimentContext = { options, outDir, runDir: join(outDir, 'runs'), experiments: opts.experiments, log };
  const plots = await writePlots(exp, arms, records, outDir);
  const report = buildReport({
    experiment: exp,
    arms,
    records,
    seeds: options.seeds,
    plots,
    sections: exp.sections?.(records, ctx) ?? [],
    command: opts.command ?? `eitp experiment ${exp.name}`,
  });
  const reportPath = join(outDir, 'report.md');
  writeFileSync(reportPath, report);
  return { outDir, resultsPath, reportPath, plots: plots.map((p) => join(outDir, p.path)), records, ran, skipped };
}

async function writePlots(exp: Experiment, arms: readonly Arm[], records: readonly RunRecord[], outDir: string): Promise<{ path: string; title: string }[]> {
  const order = arms.map((a) => a.name);
  const specs = [
    ...exp.curves.map((c) => ({ name: c.key, title: c.label, spec: curvePlot(records, c, order) })),
    ...(exp.figures?.(records) ?? []),
  ];
  const plots: { path: string; title: string }[] = [];
  for (const { name, title, spec } of specs) {
    if (!spec) continue;
    mkdirSync(join(outDir, 'plots'), { recursive: true });
    const path = `plots/${name}.svg`;
    writeFileSync(join(outDir, path), await renderSvg(spec));
    plots.push({ path, title });
  }
  return plots;
}
