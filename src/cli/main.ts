/** The `eitp` command line. */
import { Command, InvalidArgumentError } from 'commander';
import * as et from '../../engine/index.js';
import { printInfo } from './info.js';
import { MLP_JOB_DEFAULTS, trainMlp } from './train-mlp.js';

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
    return n;
  };
}

function positiveNumber(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a positive number, got '${v}'`);
    return n;
  };
}

const program = new Command('eitp').description('EIT-P: a tensor engine with autodiff and the EIT-P training framework').showHelpAfterError();

program
  .command('info')
  .description('print which backends are available here and why the others are not')
  .action(() => printInfo());

program
  .command('train')
  .description('train the starter model: an MLP on generated spirals, on the best available backend')
  .option('--backend <name>', "backend: auto, cpu, native, webgpu or cuda", 'auto')
  .option('--steps <n>', 'training steps', positiveInt('--steps'), MLP_JOB_DEFAULTS.steps)
  .option('--batch <n>', 'batch size', positiveInt('--batch'), MLP_JOB_DEFAULTS.batch)
  .option('--hidden <n>', 'hidden width', positiveInt('--hidden'), MLP_JOB_DEFAULTS.hidden)
  .option('--lr <x>', 'peak learning rate', positiveNumber('--lr'), MLP_JOB_DEFAULTS.lr)
  .option('--seed <n>', 'seed for data, initialisation and batches', (v) => Number(v), MLP_JOB_DEFAULTS.seed)
  .option('--log-every <n>', 'print the loss every n steps', positiveInt('--log-every'), MLP_JOB_DEFAULTS.logEvery)
  .action(async (opts: { backend: string } & typeof MLP_JOB_DEFAULTS) => {
    et.setBackend(opts.backend as et.BackendName | 'auto');
    await trainMlp(opts);
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // Engine errors are already explicit; print them without a stack trace and fail.
  console.error(`eitp: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
