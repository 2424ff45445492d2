/**
 * `npm run bench -- native-spin`: the native stream and pool threads spinning for work while the JS thread waits for
 * them (native/spin-hint.h) against sleeping after a short fixed spin, in one process: every row runs once with the
 * linger off (setNativeSpinLinger(0), the behaviour before) and once with it on (`--linger`, default 300 µs), the rows
 * taking turns (bench/interleaved.ts). Rows:
 * - eager use (an op, then a readback): mid-size and large products, the fused activation density forward and
 *   backward at the char-GPT's tap size (the eitp bench's fused-op row), a 64K-element add. Each reads back one
 *   element: a readback of the whole result allocates a fresh ArrayBuffer, which on a VM page-faults (~12 µs per 4 KiB
 *   here) whenever glibc has handed the last one's pages back to the system, and that noise buries the effect;
 * - training steps (one forward + backward, loss read back): the eitp bench's MLP and char-GPT, task loss alone and
 *   with all EIT-P terms.
 * Columns: median ms per iteration (p25–p75) each way, their ratio, the process CPU time per iteration each way
 * (what the spinning costs: it burns a core while JS waits), and the stream's parallel loops per iteration that ran
 * narrowed beside a running JS thread and that the JS thread then joined when it began to wait (nativeInfo()'s
 * narrowedLoops and helpedLoops, ThreadPool::widen; linger on; "–" for an addon built without them).
 */
import { nativeInfo, setNativeSpinLinger } from '../engine/backends/native/index.js';
import * as et from '../engine/index.js';
import { eitpConfig } from '../src/eitp/index.js';
import { arg, useNativeBackend } from './bench-args.js';
import { settled, stepTask, toStat, workloads } from './eitp-steps.js';
import { timeInterleaved } from './interleaved.js';

const rounds = Number(arg('rounds', '4'));
const time = Number(arg('time', '2000'));
const linger = Number(arg('linger', '300'));

interface Row {
  name: string;
  run: () => Promise<void>;
}

function eagerRows(kept: et.Tensor[]): Row[] {
  const keep = <T extends et.Tensor>(t: T): T => (kept.push(et.keep(t)), t);
  const products: [number, number, number][] = [[64, 784, 256], [256, 256, 256], [512, 512, 512]];
  const rows: Row[] = products.map(([m, k, n]) => {
    const [a, b] = [keep(et.randn([m, k], { seed: 1 })), keep(et.randn([k, n], { seed: 2 }))];
    return {
      name: `eager: matmul ${m}×${k}×${n}, then a readback`,
      run: async () => {
        const c = et.matmul(a, b);
        await settled(c);
        c.dispose();
      },
    };
  });
  const x = keep(et.randn([768, 128], { seed: 10 }));
  const tau = keep(et.tensor(0.1));
  const w = keep(et.rand([], { seed: 6 }));
  const density = (v: et.Tensor) => et.activationDensity(v, tau, { eps: 1e-30 }).mul(w).sum();
  rows.push({
    name: 'eager: activationDensity n=98304, forward + backward, then a readback',
    run: async () => {
      const g = et.tidy(() => et.grad(density)(x) as et.Tensor);
      await settled(g);
      g.dispose();
    },
  });
  const [p, q] = [keep(et.randn([65536], { seed: 3 })), keep(et.randn([65536], { seed: 4 }))];
  rows.push({
    name: 'eager: add n=65536, then a readback',
    run: async () => {
      const z = et.add(p, q);
      await settled(z);
      z.dispose();
    },
  });
  return rows;
}

async function main(): Promise<void> {
  if (!useNativeBackend()) return;
  const kept: et.Tensor[] = [];
  const loads = workloads();
  const all = eitpConfig({ kernels: 'fused' } as never);
  const rows: Row[] = [
    ...eagerRows(kept),
    ...loads.flatMap((wl) => [
      { name: `step: ${wl.name}, task loss`, run: stepTask(wl, null) },
      { name: `step: ${wl.name}, all EIT-P terms`, run: stepTask(wl, all) },
    ]),
  ];
  const settings = [0, linger];
  const tasks = rows.flatMap((r) => settings.map((us) => ({ name: `${r.name} (linger ${us} µs)`, run: async () => (setNativeSpinLinger(us), r.run()) })));
  const stats = (await timeInterleaved(tasks, { time, rounds, iterations: 20, warmupTime: 300, warmupIterations: 5 })).map(toStat);
  // CPU time per iteration (all threads of the process), over a fixed number of iterations each way
  const cpu: number[] = [];
  const loops: string[] = [];
  for (const t of tasks) {
    const iterations = 100;
    await t.run();
    const info = nativeInfo();
    const before = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < iterations; i++) await t.run();
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / 1000 / iterations / ((performance.now() - start) / iterations));
    const after = nativeInfo();
    const per = (k: 'narrowedLoops' | 'helpedLoops') => (info[k] === undefined ? '–' : ((after[k]! - info[k]!) / iterations).toFixed(1));
    loops.push(`${per('narrowedLoops')} / ${per('helpedLoops')}`);
  }
  setNativeSpinLinger(linger);
  console.log(`| row | linger 0: median ms (p25–p75) | linger ${linger} µs | time ratio (on / off) | cores busy, off / on | loops narrowed / joined by JS, on |`);
  console.log('| --- | --- | --- | --- | --- | --- |');
  rows.forEach((r, i) => {
    const [off, on] = [stats[2 * i]!, stats[2 * i + 1]!];
    const f = (s: typeof off) => `${s.median.toFixed(4)} (${s.p25.toFixed(4)}–${s.p75.toFixed(4)})`;
    console.log(`| ${r.name} | ${f(off)} | ${f(on)} | ${(on.median / off.median).toFixed(2)} | ${cpu[2 * i]!.toFixed(2)} / ${cpu[2 * i + 1]!.toFixed(2)} | ${loops[2 * i + 1]} |`);
  });
  et.dispose(kept);
  for (const wl of loads) et.dispose([wl.inputs, wl.targets, ...wl.model.parameters()]);
}

await main();
