/**
 * `eitp train`, `eitp eval`, `eitp sample`. `train` builds its config from the defaults (the main job), a JSON
 * config file (--config) and flags, in that order; a bad field is named with its expected type.
 */
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import * as et from '../../engine/index.js';
import { resolveConfig } from '../train/config.js';
import { COMPRESSED_FORMAT, type CompressedState, loadCompressed } from '../compress/compressed-checkpoint.js';
import { type CheckpointManifest, manifestPath } from '../train/checkpoint.js';
import { evaluate } from '../train/evaluate.js';
import { loadRun } from '../train/load.js';
import { Progress } from '../train/progress.js';
import { sampleText } from '../train/sample.js';
import { train } from '../train/trainer.js';
import { backendName, positiveInt } from './options.js';
import { describeModel, evalLines, summaryLines } from './summary.js';
import { MLP_JOB_DEFAULTS, trainMlp } from './train-mlp.js';

function nonNegativeInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be an integer >= 0, got '${v}'`);
    return n;
  };
}

function number(name: string, min = -Infinity) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number${min > -Infinity ? ` >= ${min}` : ''}, got '${v}'`);
    return n;
  };
}


export class UsageError extends Error {}

/** Whether a run directory (or manifest) holds an `eitp compress` checkpoint: only its manifest is read. */
function isCompressedRun(run: string): boolean {
  try {
    const manifest = JSON.parse(readFileSync(manifestPath(run), 'utf8')) as CheckpointManifest;
    return manifest.state.format === COMPRESSED_FORMAT;
  } catch {
    return false; // loadRun reports a missing or unreadable checkpoint with its reason
  }
}

/** `eitp eval` of a compressed checkpoint: the int8 model on its task's held-out set. */
async function evalCompressed(run: string, backend: string | undefined): Promise<void> {
  const manifest = JSON.parse(readFileSync(manifestPath(run), 'utf8')) as { state: CompressedState };
  et.setBackend((backend ?? manifest.state.config.backend) as et.BackendName | 'auto');
  const r = loadCompressed(run, { withData: true });
  try {
    const ev = await evaluate(r.model, r.data!);
    console.log(`${describeModel(r.state.config, r.model.numParameters())}, compressed (int8, ${r.state.activations} activations, ${r.bytes} bytes), ${r.data!.describe()} (backend ${et.getBackend()})`);
    for (const line of evalLines(ev, r.state.config.task.kind)) console.log(line);
  } finally {
    r.forms.dispose();
    et.dispose(r.model.parameters());
  }
}

function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read config file '${path}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`config file '${path}' is not valid JSON: ${(e as Error).message}`);
  }
}

interface TrainFlags {
  config?: string;
  task?: string;
  data?: string;
  seqLen?: number;
  model?: string;
  width?: number;
  depth?: number;
  heads?: number;
  hidden?: number;
  steps?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  clip?: number;
  logEvery?: number;
  evalEvery?: number;
  checkpointEvery?: number;
  out?: string;
  backend?: string;
  langevin?: boolean;
  baseline?: boolean;
  lambdaThermo?: number;
  lambdaChaos?: number;
  lambdaCoherence?: number;
  lambdaPath?: number;
  betaIem?: number;
  termsEvery?: number;
  chaosMode?: string;
  resume?: boolean;
  progress?: boolean;
}

/** Flags as dotted config paths (undefined = not given). */
function overrides(f: TrainFlags): Record<string, unknown> {
  const o: Record<string, unknown> = {
    'task.kind': f.data !== undefined ? 'text' : f.task,
    'task.path': f.data,
    'task.seqLen': f.seqLen,
    'model.kind': f.model,
    'model.width': f.width,
    'model.depth': f.depth,
    'model.heads': f.heads,
    'model.hidden': f.hidden,
    steps: f.steps,
    batchSize: f.batch,
    lr: f.lr,
    seed: f.seed,
    clip: f.clip,
    logEvery: f.logEvery,
    evalEvery: f.evalEvery,
    checkpointEvery: f.checkpointEvery,
    out: f.out,
    backend: f.backend,
    langevin: f.langevin,
  };
  if (f.baseline) for (const k of ['lambdaThermo', 'lambdaChaos', 'lambdaCoherence', 'lambdaPath', 'betaIem']) o[`eitp.${k}`] = 0;
  for (const k of ['lambdaThermo', 'lambdaChaos', 'lambdaCoherence', 'lambdaPath', 'betaIem'] as const) if (f[k] !== undefined) o[`eitp.${k}`] = f[k];
  if (f.termsEvery !== undefined) o['eitp.every'] = f.termsEvery;
  if (f.chaosMode !== undefined) o['eitp.chaos.mode'] = f.chaosMode;
  return o;
}

export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('train a model with EIT-P; with no arguments, the main job: a char-GPT on generated multi-key retrieval')
    .option('--config <file>', 'JSON config file (fields as in the defaults: eitp train --print-config); flags override it')
    .addOption(new Option('--task <kind>', 'task').choices(['retrieval', 'copy', 'adding', 'text', 'spirals']))
    .option('--data <file>', 'train a character-level language model on this text file (sets --task text)')
    .option('--seq-len <n>', 'sequence length (retrieval, adding, text)', positiveInt('--seq-len'))
    .addOption(new Option('--model <kind>', 'model').choices(['gpt', 'rnn']))
    .option('--width <n>', 'GPT width', positiveInt('--width'))
    .option('--depth <n>', 'GPT blocks', positiveInt('--depth'))
    .option('--heads <n>', 'GPT attention heads', positiveInt('--heads'))
    .option('--hidden <n>', 'RNN hidden size (or the spirals MLP width)', positiveInt('--hidden'))
    .option('--steps <n>', 'training steps', positiveInt('--steps'))
    .option('--batch <n>', 'batch size', positiveInt('--batch'))
    .option('--lr <x>', 'peak learning rate', number('--lr', 0))
    .option('--seed <n>', 'seed for data, initialisation and noise', nonNegativeInt('--seed'))
    .option('--clip <x>', 'max gradient norm (0: off)', number('--clip', 0))
    .option('--log-every <n>', 'log metrics every n steps', positiveInt('--log-every'))
    .option('--eval-every <n>', 'evaluate every n steps (0: at the end)', nonNegativeInt('--eval-every'))
    .option('--checkpoint-every <n>', 'checkpoint every n steps (0: at the end)', nonNegativeInt('--checkpoint-every'))
    .option('--out <dir>', 'run directory (checkpoint, metrics.jsonl, config.json)')
    .option('--backend <name>', 'auto, cpu, native, webgpu or cuda', backendName)
    .option('--langevin', 'add Langevin noise sqrt(2·lr·T)·ξ after each update')
    .option('--baseline', 'switch every EIT-P term off (all λ = 0): the baseline run')
    .option('--lambda-thermo <x>', 'λ1 (Landauer term)', number('--lambda-thermo', 0))
    .option('--lambda-chaos <x>', 'λ2 (edge of chaos)', number('--lambda-chaos', 0))
    .option('--lambda-coherence <x>', 'λ3 (coherence)', number('--lambda-coherence', 0))
    .option('--lambda-path <x>', 'λ4 (path norm)', number('--lambda-path', 0))
    .option('--beta-iem <x>', 'β_IEM', number('--beta-iem'))
    .addOption(new Option('--chaos-mode <mode>', "the FTLE estimator of L_chaos: power (the spec's default) or benettin").choices(['power', 'benettin']))
    .option('--terms-every <k>', 'lazy regularisation: the λ terms on every k-th step only, weighted k·λ (default 1, the spec)', positiveInt('--terms-every'))
    .option('--resume', 'continue the run in --out from its checkpoint (exactly as if never interrupted)')
    .option('--no-progress', 'no progress bar')
    .option('--print-config', 'print the resolved config as JSON and exit')
    .action(async (flags: TrainFlags & { printConfig?: boolean }) => {
      if (flags.task === 'spirals') return runSpirals(flags);
      const user = flags.config ? readConfigFile(flags.config) : {};
      const config = resolveConfig(user, overrides(flags));
      if (flags.printConfig) {
        console.log(JSON.stringify(config, null, 2));
        return;
      }
      const progress = new Progress(process.stderr, flags.progress !== false);
      let stop = false;
      const onSigint = () => {
        if (stop) process.exit(130);
        stop = true;
        progress.message('Ctrl-C: saving a checkpoint after this step (press again to quit without saving)');
      };
      process.on('SIGINT', onSigint);
      try {
        if (!flags.resume) progress.message(`training: ${config.task.kind} task, ${config.model.kind} model, ${config.steps} steps -> ${config.out}`);
        const result = await train({ config, resume: Boolean(flags.resume), progress, shouldStop: () => stop });
        for (const line of summaryLines(result)) console.log(line);
        if (result.stoppedEarly) {
          console.log(`interrupted: continue with  eitp train --resume --out ${result.config.out}`);
          process.exitCode = 130;
        }
        et.dispose(result.model.parameters());
      } finally {
        process.off('SIGINT', onSigint);
      }
    });

  program
    .command('eval')
    .description("evaluate a trained run's checkpoint on its task's held-out set")
    .argument('[run]', 'run directory or checkpoint.json', 'runs/main')
    .option('--backend <name>', 'auto, cpu, native, webgpu or cuda', backendName)
    .action(async (run: string, flags: { backend?: string }) => {
      if (isCompressedRun(run)) return evalCompressed(run, flags.backend);
      const r = loadRun(run, { withData: true, ...(flags.backend ? { backend: flags.backend } : {}) });
      const ev = await evaluate(r.model, r.data!);
      console.log(`${describeModel(r.state.config, r.model.numParameters())} at step ${r.state.step}, ${r.data!.describe()} (backend ${et.getBackend()})`);
      for (const line of evalLines(ev, r.state.config.task.kind)) console.log(line);
      et.dispose(r.model.parameters());
    });

  program
    .command('sample')
    .description('generate text with a trained run')
    .argument('[run]', 'run directory or checkpoint.json', 'runs/main')
    .option('--prompt <text>', 'text to continue', '')
    .option('--length <n>', 'characters to generate', positiveInt('--length'), 200)
    .option('--temperature <x>', 'sampling temperature (0: greedy)', number('--temperature', 0), 0.8)
    .option('--seed <n>', 'sampling seed', nonNegativeInt('--seed'), 0)
    .option('--backend <name>', 'auto, cpu, native, webgpu or cuda', backendName)
    .action(async (run: string, flags: { prompt: string; length: number; temperature: number; seed: number; backend?: string }) => {
      const r = loadRun(run, flags.backend ? { backend: flags.backend } : {});
      const text = await sampleText(r.model, r.vocab, flags.prompt, { length: flags.length, temperature: flags.temperature, seed: flags.seed, context: r.seqLen });
      process.stdout.write(flags.prompt + text + '\n');
      et.dispose(r.model.parameters());
    });
}

/** The starter job kept from before the trainer: an MLP on generated spirals (`eitp train --task spirals`). */
async function runSpirals(f: TrainFlags): Promise<void> {
  et.setBackend((f.backend ?? 'auto') as et.BackendName | 'auto');
  await trainMlp({
    steps: f.steps ?? MLP_JOB_DEFAULTS.steps,
    batch: f.batch ?? MLP_JOB_DEFAULTS.batch,
    hidden: f.hidden ?? MLP_JOB_DEFAULTS.hidden,
    lr: f.lr ?? MLP_JOB_DEFAULTS.lr,
    seed: f.seed ?? MLP_JOB_DEFAULTS.seed,
    logEvery: f.logEvery ?? MLP_JOB_DEFAULTS.logEvery,
  });
}
