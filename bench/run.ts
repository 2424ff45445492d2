/**
 * `npm run bench -- [suite] [options]`: the dispatcher. Suites native, webgpu, cuda and train run the standalone
 * bench/<suite>-*.ts scripts of the backend engineers (one subprocess each, through tsx, with the remaining
 * arguments; `npm run bench -- webgpu-vs-tfjs` runs just that one); every other suite, or none, runs the kernel
 * benchmark of src/bench (runBench). See BENCH_USAGE.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_USAGE, FAMILIES, parseBenchArgs, runBench } from '../src/bench/index.js';

const SCRIPT_SUITES = ['native', 'webgpu', 'cuda', 'train', 'eitp'];
const here = dirname(fileURLToPath(import.meta.url));

/** bench/<suite>-*.ts entry points: helper modules that another bench script imports are not run on their own. */
function scriptsOf(suite: string): string[] {
  const all = readdirSync(here).filter((f) => f.endsWith('.ts'));
  const sources = all.map((f) => readFileSync(join(here, f), 'utf8'));
  const imported = (f: string) => sources.some((src) => src.includes(`'./${f.replace(/\.ts$/, '.js')}'`));
  return all
    .filter((f) => f.startsWith(`${suite}-`) && !imported(f))
    .sort()
    .map((f) => join(here, f));
}

async function main(argv: string[]): Promise<number> {
  const suite = argv[0] && !argv[0].startsWith('-') ? argv[0] : undefined;
  // one script by its name: `npm run bench -- webgpu-vs-tfjs`
  const single = suite && SCRIPT_SUITES.some((s) => suite.startsWith(`${s}-`)) && existsSync(join(here, `${suite}.ts`)) ? [join(here, `${suite}.ts`)] : undefined;
  if (suite && (single || SCRIPT_SUITES.includes(suite))) {
    const scripts = single ?? scriptsOf(suite);
    if (scripts.length > 0) {
      let rc = 0;
      for (const s of scripts) {
        process.stderr.write(`bench: running ${s}\n`);
        const r = spawnSync(process.execPath, ['--import', 'tsx', s, ...argv.slice(1)], { stdio: 'inherit' });
        if (r.status !== 0) rc = r.status ?? 1;
      }
      return rc;
    }
    if (suite === 'train') {
      process.stderr.write('bench: no bench/train-*.ts script exists yet\n');
      return 1;
    }
    process.stderr.write(`bench: no bench/${suite}-*.ts script yet; running the kernel benchmark on the ${suite} backend\n`);
  }
  const parsed = parseBenchArgs(argv);
  if (parsed.help) {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  const options = parsed.options;
  if (suite && suite !== 'kernels' && suite !== 'all') {
    if (SCRIPT_SUITES.includes(suite)) options.backends = [suite];
    else if ((FAMILIES as readonly string[]).includes(suite)) options.families = [suite];
    else throw new Error(`unknown suite '${suite}'\n\n${BENCH_USAGE}`);
  }
  await runBench(options);
  return 0;
}

try {
  const rc = await main(process.argv.slice(2));
  // GPU devices (Dawn) can keep the event loop alive after the work is done: leave once the output is flushed.
  process.stdout.write('', () => process.exit(rc));
} catch (e) {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
