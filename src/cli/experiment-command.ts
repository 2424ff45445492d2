/**
 * `eitp experiment <name|config.json>`: runs an experiment's arms × seeds through the trainer, resumably, and
 * writes results.jsonl, report.md and plots/*.svg into its output directory (default runs/experiments/<name>).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { Json } from '../experiments/types.js';
import { backendName, positiveInt } from './options.js';


/** "model.width=64" → ["model.width", 64]; the value is JSON when it parses as JSON, a string otherwise. */
export function parseSetting(v: string, prev: [string, Json][] = []): [string, Json][] {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`--set expects path=value (e.g. eitp.lambdaChaos=0.5), got '${v}'`);
  const text = v.slice(eq + 1);
  let value: Json = text;
  try {
    value = JSON.parse(text) as Json;
  } catch {
    /* a plain string, e.g. backend names or paths */
  }
  return [...prev, [v.slice(0, eq), value]];
}

interface ExperimentFlags {
  list?: boolean;
  seeds?: number;
  steps?: number;
  backend?: string;
  data?: string;
  out?: string;
  results?: string;
  set?: [string, Json][];
  quiet?: boolean;
}

export function registerExperimentCommand(program: Command): void {
  program
    .command('experiment')
    .description('run an experiment (arms x seeds, resumable) and write results.jsonl, report.md and plots; --list shows the shipped ones')
    .argument('[name]', 'a shipped experiment (perplexity, long-range, speed, energy, compression, sweep, claims; --list) or an experiment config file (.json)')
    .option('--list', 'list the shipped experiments and exit')
    .option('--seeds <n>', 'seeds per arm (default: the experiment\'s, usually 3)', positiveInt('--seeds'))
    .option('--steps <n>', 'training steps per run (default: the experiment\'s)', positiveInt('--steps'))
    .option('--backend <name>', 'auto, cpu, native, webgpu or cuda (auto honours EITP_BACKEND)', backendName)
    .option('--data <file>', 'text corpus for the perplexity experiment')
    .option('--out <dir>', 'output directory (default runs/experiments/<name>)')
    .option('--results <dir>', 'where the claims table finds the other experiments\' directories (default: the parent of the output directory)')
    .option('--set <path=value>', 'set a training config field in every arm, e.g. --set model.width=64 (repeatable)', parseSetting)
    .option('--quiet', 'no progress messages')
    .action(async (name: string | undefined, flags: ExperimentFlags) => {
      const { experiments, getExperiment, experimentNames } = await import('../experiments/registry.js');
      if (flags.list || name === undefined) {
        for (const e of experiments()) console.log(`${e.name.padEnd(12)} ${e.title}`);
        if (!flags.list) console.log('\nusage: eitp experiment <name|config.json> [--seeds n] [--steps n] [--data file] [--out dir]');
        return;
      }
      const { loadExperimentConfig } = await import('../experiments/config-file.js');
      const { UnknownExperimentError } = await import('../experiments/errors.js');
      const { checkConfigPath } = await import('../experiments/config-paths.js');
      const { runExperiment } = await import('../experiments/runner.js');
      const exp = experimentNames().includes(name) ? getExperiment(name) : name.endsWith('.json') || existsSync(name) ? loadExperimentConfig(name) : (() => {
        throw new UnknownExperimentError(name, experimentNames());
      })();
      const overrides: Record<string, Json> = {};
      for (const [path, value] of flags.set ?? []) {
        checkConfigPath(path, `--set ${path}`);
        overrides[path] = value;
      }
      const out = resolve(flags.out ?? join('runs', 'experiments', exp.name));
      const log = flags.quiet ? () => {} : (m: string) => process.stderr.write(m + '\n');
      const started = performance.now();
      const result = await runExperiment(
        exp,
        {
          seeds: flags.seeds ?? exp.defaults.seeds,
          ...(flags.steps !== undefined ? { steps: flags.steps } : {}),
          backend: flags.backend ?? 'auto',
          ...(flags.data !== undefined ? { data: flags.data } : {}),
          overrides,
          resultsRoot: resolve(flags.results ?? dirname(out)),
        },
        { out, experiments, log, command: ['eitp experiment', ...process.argv.slice(3)].join(' ') },
      );
      log(`${exp.name}: ${result.ran} runs done, ${result.skipped} already in ${result.resultsPath} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      console.log(`report: ${result.reportPath}`);
      for (const p of result.plots) console.log(`plot:   ${p}`);
    });
}
