/**
 * `npm run bench -- native-threads [--threads 1,2] [--time MS] [--rounds R] [--json FILE]`: how many threads an
 * EIT-P training step wants on the native backend.
 *
 * Kernels run on the addon's stream thread while the JS thread keeps issuing the next ops, so a training step already
 * keeps two cores busy; the pool's other threads (EITP_THREADS counts the stream thread) help the large kernels and
 * compete with both for the rest. Which wins depends on the model and the machine, so this times the steps of
 * `npm run bench -- eitp` (the main job's char-GPT and an MLP; the task loss alone, all terms at the spec's λ, and all
 * terms every 16th step) at each thread count, in one process: the pool is resized between tasks, and the thread
 * counts take turns in R rounds (bench/interleaved.ts), so a change in the machine's load lands on all of them.
 * Default counts: 1 and every core this process may use.
 */
import { writeFileSync } from 'node:fs';
import * as et from '../engine/index.js';
import { nativeInfo, setNativeThreads } from '../engine/backends/native/index.js';
import { disposeEitpState, eitpConfig } from '../src/eitp/index.js';
import type { EitpConfig } from '../src/eitp/objective-api.js';
import { arg } from './bench-args.js';
import { type Stat, perStep, stepTask, stepsPer, toStat, workloads } from './eitp-steps.js';
import { timeInterleaved } from './interleaved.js';

const TIME_MS = Number(arg('time', '6000'));
const ROUNDS = Math.max(1, Number(arg('rounds', '4')));

function threadCounts(): number[] {
  const given = process.argv.includes('--threads') ? arg('threads', '') : '';
  const counts = given ? given.split(',').map(Number) : [1, nativeInfo().threads];
  for (const n of counts) if (!Number.isInteger(n) || n < 1) throw new et.ArgumentError(`--threads takes positive integers, got '${given}'`, { op: 'bench' });
  return [...new Set(counts)];
}

const STEPS: { name: string; config: EitpConfig | null }[] = [
  { name: 'task loss only', config: null },
  { name: 'all terms, spec λ', config: eitpConfig({ kernels: 'fused' } as never) },
  { name: 'all terms, every 16 steps', config: eitpConfig({ kernels: 'fused', every: 16 } as never) },
];

let poolThreads = 0;
/** Resizes the pool only when the count changes (a resize joins and starts threads). */
function useThreads(n: number): void {
  if (poolThreads !== n) poolThreads = setNativeThreads(n);
}

const fmt = (s: Stat) => `${s.median.toFixed(2)} ms (${s.p25.toFixed(2)}–${s.p75.toFixed(2)})`;

async function main(): Promise<void> {
  if (!et.backendInfo().some((b) => b.name === 'native' && b.available)) {
    console.log('native-threads: the native backend is not available here; nothing measured');
    return;
  }
  et.setBackend('native');
  const counts = threadCounts();
  const initial = nativeInfo().threads;
  const json: unknown[] = [];
  try {
    for (const w of workloads()) {
      // tasks grouped by thread count, so a round resizes the pool once per count
      const tasks = counts.flatMap((n) =>
        STEPS.map((s) => {
          const step = stepTask(w, s.config);
          return { name: `${s.name} @ ${n}`, run: async () => (useThreads(n), step()) };
        }),
      );
      const samples = await timeInterleaved(tasks, { time: TIME_MS, rounds: ROUNDS, iterations: 5, warmupTime: 300, warmupIterations: 3 });
      const stats = samples.map((s, i) => perStep(toStat(s), stepsPer(STEPS[i % STEPS.length]!.config)));
      const at = (c: number, s: number) => stats[c * STEPS.length + s]!;
      console.log(`\n### native: ${w.name}, one training step (forward + backward; median, p25–p75) by pool threads\n`);
      console.log(`| step | ${counts.map((n) => `${n} thread${n > 1 ? 's' : ''}`).join(' | ')} | ${counts.slice(1).map((n) => `${n} vs 1`).join(' | ')} |`);
      console.log(`| --- | ${counts.map(() => '---').join(' | ')} | ${counts.slice(1).map(() => '---').join(' | ')} |`);
      STEPS.forEach((s, si) => {
        const row = counts.map((_, ci) => fmt(at(ci, si)));
        // > 1: that many threads take less time than one
        const ratios = counts.slice(1).map((_, ci) => `${(at(0, si).median / at(ci + 1, si).median).toFixed(2)}x`);
        console.log(`| ${s.name} | ${row.join(' | ')} | ${ratios.join(' | ')} |`);
        counts.forEach((n, ci) => json.push({ workload: w.name, step: s.name, threads: n, ...at(ci, si) }));
      });
      disposeEitpState(w.model);
      et.dispose([w.inputs, w.targets, ...w.model.parameters()]);
    }
  } finally {
    useThreads(initial);
  }
  console.log('\nratio > 1: the step takes less time with that many threads than with one (EITP_THREADS sets the count).');
  const out = arg('json', '');
  if (out) writeFileSync(out, JSON.stringify(json, null, 2));
}

await main();
