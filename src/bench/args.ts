/**
 * Command-line arguments of `npm run bench` (bench/run.ts): `[suite] [--quick] [--json FILE] [--compare OLD.json]
 * [--backend a,b] [--family x,y] [--peers p,q|none] [--time MS]`. `eitp bench` declares the same options with
 * commander and passes them to runBench directly.
 */
import { parseArgs } from 'node:util';
import type { BenchOptions } from './types.js';

export const BENCH_USAGE = `usage: npm run bench -- [suite] [options]

suites: kernels (default: every family), a family (matmul, elementwise, reduction, softmax-ce, layernorm, adamw,
        embedding), or native | webgpu | cuda | train: the standalone bench/<suite>-*.ts scripts when they exist
        (for native/webgpu/cuda without such scripts: the kernel benchmark on that backend), or one such script by
        its name (webgpu-vs-tfjs); arguments after the suite go to those scripts

options:
  --quick             tiny sizes, few iterations (CI)
  --json FILE         write machine-readable results
  --compare OLD.json  print the change of each row against an earlier --json file
  --backend LIST      engine backends, comma-separated (cpu, native, webgpu, cuda); default: every available one
  --family LIST       kernel families, comma-separated
  --peers LIST        peers, comma-separated (tfjs-cpu, tfjs-wasm, tfjs-webgpu, onnxruntime, numpy) or none
  --time MS           time budget per row after warm-up (default 1000, quick 40)
  -h, --help          this text
`;

export interface ParsedBenchArgs {
  suite?: string;
  help: boolean;
  options: BenchOptions;
}

export function parseBenchArgs(argv: readonly string[]): ParsedBenchArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      json: { type: 'string' },
      compare: { type: 'string' },
      backend: { type: 'string', multiple: true },
      family: { type: 'string', multiple: true },
      peers: { type: 'string', multiple: true },
      time: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const options: BenchOptions = {};
  if (values.quick) options.quick = true;
  if (values.json) options.json = values.json;
  if (values.compare) options.compare = values.compare;
  if (values.backend) options.backends = values.backend;
  if (values.family) options.families = values.family;
  if (values.peers) options.peers = values.peers;
  if (values.time !== undefined) {
    const t = Number(values.time);
    if (!(t > 0)) throw new Error(`--time must be a positive number of milliseconds, got '${values.time}'`);
    options.timeMs = t;
  }
  if (positionals.length > 1) throw new Error(`one suite at most, got ${positionals.join(', ')}`);
  return { suite: positionals[0], help: values.help ?? false, options };
}
