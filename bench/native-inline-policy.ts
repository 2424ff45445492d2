/**
 * `npm run bench -- native-inline-policy`: the two call patterns the native addon's run-at-the-call rule (smallWork in
 * native/addon.cc) trades between. A small kernel on an idle stream runs on the JS thread; how small depends on
 * whether JS is about to wait for it (within 8 calls of a readback: up to ~100 µs of work) or runs ahead (a sixteenth
 * of that). Rows, taking turns (bench/interleaved.ts), median ms per iteration with p25–p75:
 * - eager: one add at n = 1K, 8K and 16K elements, then its readback (the rule must keep these at the call);
 * - running ahead: one forward + backward of the EIT-P objective (all terms, spec λ) on the eitp bench's MLP and
 *   char-GPT, loss read back once per step.
 * A last column counts one more iteration's kernel calls: run at the call / queued on the stream (nativeInfo()'s
 * counters; "—" for an addon built before them).
 * To compare two builds, run it once per addon, alternating: EITP_NATIVE_ADDON=old.node, then the new one, and again.
 */
import { nativeInfo } from '../engine/backends/native/index.js';
import * as et from '../engine/index.js';
import { eitpConfig } from '../src/eitp/index.js';
import { arg, useNativeBackend } from './bench-args.js';
import { stepTask, toStat, workloads } from './eitp-steps.js';
import { timeInterleaved } from './interleaved.js';

const rounds = Number(arg('rounds', '3'));
const time = Number(arg('time', '1500'));

async function main(): Promise<void> {
  if (!useNativeBackend()) return;
  const kept: et.Tensor[] = [];
  const eager = [1024, 8192, 16384].map((n) => {
    const [x, y] = [et.randn([n], { seed: 1 }), et.randn([n], { seed: 2 })];
    kept.push(x, y);
    return {
      name: `eager: add n = ${n}, then its readback`,
      run: async () => {
        const z = et.add(x, y);
        await z.data();
        z.dispose();
      },
    };
  });
  const loads = workloads();
  const config = eitpConfig({ kernels: 'fused' } as never);
  const ahead = loads.map((w) => ({ name: `running ahead: ${w.name}, all EIT-P terms, one step`, run: stepTask(w, config) }));
  const tasks = [...eager, ...ahead];
  const stats = (await timeInterleaved(tasks, { time, rounds, iterations: 20, warmupTime: 300, warmupIterations: 5 })).map(toStat);
  console.log(`addon: ${process.env.EITP_NATIVE_ADDON ?? 'build/Release/eitp_native.node'}\n`);
  const calls: string[] = [];
  for (const t of tasks) {
    const before = nativeInfo();
    await t.run();
    const after = nativeInfo();
    calls.push(after.inlineKernels === undefined ? '—' : `${after.inlineKernels - before.inlineKernels} / ${after.queuedKernels - before.queuedKernels}`);
  }
  console.log('| row | median ms (p25–p75) | kernel calls at the call / queued |');
  console.log('| --- | --- | --- |');
  tasks.forEach((t, i) => console.log(`| ${t.name} | ${stats[i]!.median.toFixed(4)} (${stats[i]!.p25.toFixed(4)}–${stats[i]!.p75.toFixed(4)}) | ${calls[i]} |`));
  et.dispose(kept);
  for (const w of loads) et.dispose([w.inputs, w.targets, ...w.model.parameters()]);
}

await main();
