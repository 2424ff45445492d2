/** `eitp compress`: a trained run -> an int8 (optionally pruned) checkpoint, measured against fp32. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { compress } from '../compress/compress.js';
import { compressionNotes, compressionTable } from '../compress/table.js';
import { BACKENDS } from './options.js';

function intAtLeast(name: string, min: number) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
}

function sparsity(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0 && n < 1)) throw new InvalidArgumentError(`--prune must be a sparsity in [0, 1) (e.g. 0.5), got '${v}'`);
  return n;
}

function positiveNumber(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a positive number, got '${v}'`);
    return n;
  };
}

interface CompressFlags {
  out: string;
  prune?: number;
  activations: 'f32' | 'int8';
  finetuneSteps?: number;
  distill: boolean;
  lr?: number;
  latencyBatch: number;
  latencyIters: number;
  backend?: string;
  json?: boolean;
}

export function registerCompressCommand(program: Command): void {
  program
    .command('compress')
    .description('compress a trained run: int8 weights per output channel, optional gradual pruning with a distilled fine-tune; reports size, accuracy and latency against fp32')
    .argument('<checkpoint>', 'run directory or checkpoint.json written by eitp train')
    .requiredOption('--out <dir>', 'directory of the compressed checkpoint')
    .option('--prune <sparsity>', 'global magnitude pruning to this fraction of the weight matrices, e.g. 0.5', sparsity)
    .addOption(new Option('--activations <kind>', 'int8: quantise activations per token too; f32: int8 weights only').choices(['f32', 'int8']).default('int8'))
    .option('--finetune-steps <n>', 'fine-tune steps, pruning gradually over the first 3/4 (default 300 with --prune, else 0)', intAtLeast('--finetune-steps', 0))
    .option('--no-distill', 'fine-tune on the task loss alone instead of distilling from the fp32 model')
    .option('--lr <x>', "fine-tune peak learning rate (default: the run's lr / 10)", positiveNumber('--lr'))
    .option('--latency-batch <n>', 'examples per timed forward pass', intAtLeast('--latency-batch', 1), 32)
    .option('--latency-iters <n>', 'timed forward passes per model', intAtLeast('--latency-iters', 1), 50)
    .addOption(new Option('--backend <name>', 'backend (default: EITP_BACKEND, else the run\'s setting)').choices(BACKENDS))
    .option('--json', 'print the report as JSON instead of the table')
    .action(async (checkpoint: string, f: CompressFlags) => {
      const report = await compress({
        checkpoint,
        out: f.out,
        activations: f.activations,
        distill: f.distill,
        latencyBatch: f.latencyBatch,
        latencyIters: f.latencyIters,
        ...(f.prune !== undefined ? { prune: f.prune } : {}),
        ...(f.finetuneSteps !== undefined ? { finetuneSteps: f.finetuneSteps } : {}),
        ...(f.lr !== undefined ? { lr: f.lr } : {}),
        ...(f.backend !== undefined ? { backend: f.backend } : {}),
        onMessage: f.json ? undefined : (line) => process.stderr.write(line + '\n'),
      });
      if (f.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      console.log(compressionTable(report));
      for (const line of compressionNotes(report)) console.log(line);
    });
}
