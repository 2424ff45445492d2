/** The `eitp` command line. */
import { Command, InvalidArgumentError } from 'commander';
import { printInfo } from './info.js';
import { registerTrainCommands } from './train-command.js';
import { registerExperimentCommand } from './experiment-command.js';
import { registerCompressCommand } from './compress-command.js';

const program = new Command('eitp').description('EIT-P: a tensor engine with autodiff and the EIT-P training framework').showHelpAfterError();

program
  .command('info')
  .description('print which backends are available here and why the others are not')
  .action(() => printInfo());

registerTrainCommands(program);
registerExperimentCommand(program);
registerCompressCommand(program);

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
const positiveNumber = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a positive number, got '${v}'`);
  return n;
};

program
  .command('bench')
  .description('benchmark every kernel family on every available backend, beside tfjs, onnxruntime and numpy')
  .option('--quick', 'tiny sizes and few iterations (CI)')
  .option('--json <file>', 'write machine-readable results to a file')
  .option('--compare <old.json>', 'print the change of each row against an earlier --json file')
  .option('--backend <list>', 'engine backends, comma-separated: cpu, native, webgpu, cuda (default: every available one)', list)
  .option('--family <list>', 'kernel families, comma-separated: matmul, elementwise, reduction, softmax-ce, layernorm, adamw, embedding', list)
  .option('--peers <list>', 'peers, comma-separated: tfjs-cpu, tfjs-wasm, tfjs-webgpu, onnxruntime, numpy, or none', list)
  .option('--time <ms>', 'time budget per row after warm-up, in ms (default 1000, --quick 40)', positiveNumber('--time'))
  .action(async (opts: { quick?: boolean; json?: string; compare?: string; backend?: string[]; family?: string[]; peers?: string[]; time?: number }) => {
    const { runBench } = await import('../bench/index.js');
    await runBench({ quick: opts.quick, json: opts.json, compare: opts.compare, backends: opts.backend, families: opts.family, peers: opts.peers, timeMs: opts.time });
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // Engine, config, data and checkpoint errors are already explicit; print them without a stack trace and fail.
  console.error(`eitp: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
