/**
 * `npm run bench -- native-run-ahead`: training steps when the JS thread runs ahead of the native stream, as the
 * trainer's does between log steps (it reads the loss back only there), against the same steps read back one by one.
 * The main job's char-GPT and the eitp bench's MLP, each step the EIT-P objective at the spec's λ (no report), its
 * backward and an AdamW update.
 *
 * Either way JS frees a step's temporaries before the stream has run their kernels. The buffer cache reuses them in
 * stream order (native/allocator.h), so later outputs of the same step land in memory the step just used, and a
 * step's footprint is its live set. Before, a freed block came back only when the stream reached its release: a
 * step reused nothing of its own, and a loop running ahead cycled through up to EITP_NATIVE_MAX_PENDING_MB of cold
 * buffers. Against the previous build (EITP_NATIVE_ADDON=<its .node>, 3 alternating runs of this script, ms per
 * step): char-GPT read back every step 15.1–18.5 -> 10.8–15.9, every 50 steps 15.0–18.5 -> 10.2–15.4; MLP 3.3–4.5
 * -> 2.2–3.8 and 3.3–4.4 -> 1.9–4.0 (a noisy machine: each run's rows moved together by up to 40 %). The main job,
 * 600 steps: 34.6–38.5k -> 48.6–52.0k tokens/s, peak RSS 377 -> 173 MB, the same losses.
 *
 *   npx tsx bench/native-run-ahead.ts [--every 50] [--rounds 3] [--time 3000]
 *
 * Rows take turns (bench/interleaved.ts); a sample is `every` steps, then one readback of the last loss. Per row:
 * median ms per step with p25–p75, and its ratio to reading back every step.
 */
import * as et from '../engine/index.js';
import { quantileSorted } from '../src/bench/stats.js';
import { arg, useNativeBackend } from './bench-args.js';
import { eitpObjective, eitpConfig } from '../src/eitp/index.js';
import { workloads } from './eitp-steps.js';
import { timeInterleaved } from './interleaved.js';

const every = Number(arg('every', '50'));
const rounds = Number(arg('rounds', '3'));
const time = Number(arg('time', '3000'));

async function main(): Promise<void> {
  if (!useNativeBackend()) return;
  const rows: { workload: string; readEvery: number; run: () => Promise<void> }[] = [];
  for (const w of workloads()) {
    const optimizer = new et.optim.AdamW(w.model.parameters(), { lr: 1e-4 });
    const config = eitpConfig({});
    let n = 0;
    const step = () =>
      et.tidy(() => {
        const loss = eitpObjective(w.model, { inputs: w.inputs, targets: w.targets }, config, { epoch: 0, step: ++n, report: false }).total;
        loss.backward();
        optimizer.step();
        optimizer.zeroGrad();
        return loss;
      });
    for (const readEvery of [1, every]) {
      rows.push({
        workload: w.name,
        readEvery,
        // `every` steps per sample in both rows, so that both time the same work
        run: async () => {
          for (let i = 0; i < every; i += readEvery) {
            let loss: et.Tensor | null = null;
            for (let j = 0; j < readEvery; j++) {
              loss?.dispose();
              loss = step();
            }
            await loss!.data();
            loss!.dispose();
          }
        },
      });
    }
  }
  const samples = await timeInterleaved(
    rows.map((r) => ({ name: `${r.workload} read every ${r.readEvery}`, run: r.run })),
    { time, rounds, iterations: 3, warmupTime: 300, warmupIterations: 2 },
  );
  const stats = samples.map((s) => {
    const ms = s.map((t) => t / every).sort((x, y) => x - y);
    return { median: quantileSorted(ms, 0.5), p25: quantileSorted(ms, 0.25), p75: quantileSorted(ms, 0.75) };
  });
  console.log(`\n### training steps, native, loss read back every step or every ${every} (median ms per step, p25–p75; ${rounds} interleaved rounds)\n`);
  console.log('| workload | loss read back | ms per step | vs every step |');
  console.log('| --- | --- | --- | --- |');
  rows.forEach((r, i) => {
    const s = stats[i]!;
    const base = stats[rows.findIndex((b) => b.workload === r.workload && b.readEvery === 1)]!;
    const ratio = r.readEvery === 1 ? '—' : `${(s.median / base.median).toFixed(2)}x`;
    console.log(`| ${r.workload} | every ${r.readEvery === 1 ? 'step' : `${r.readEvery} steps`} | ${s.median.toFixed(2)} (${s.p25.toFixed(2)}–${s.p75.toFixed(2)}) | ${ratio} |`);
  });
}

await main();
