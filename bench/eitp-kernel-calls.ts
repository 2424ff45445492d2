/**
 * `npm run bench -- eitp-kernel-calls [--quick] [--json FILE]` (native): how many kernels the EIT-P steps run, and
 * how long the steps take. For the char-GPT and the MLP of the eitp bench (bench/eitp-steps.ts), with the task loss
 * alone, the power FTLE alone at the spec's λ and all terms: the median step time with p25–p75, the JS thread's CPU
 * time per step (bench/js-thread-cpu.ts: close to the step time, the step is bound by JS dispatch), and per step the
 * kernel calls and their kernel time (et.profile). For the char-GPT's power FTLE on its B' = 4 sub-batch, the calls
 * of each phase: the blocks' forward, one linearisation, a J v push, a push and a Jᵀ w pull, and the differentiated
 * J v with its backward (the reverse-over-forward pass the tangent rules' backward kernels serve).
 *
 * The kernel counts do not depend on the machine; the times do. To compare two builds, run this script in each
 * checkout in turn (e.g. `git worktree add ../old REV`, build its addon there, then alternate the two runs a few
 * times with `EITP_THREADS=1`) and compare the rounds that ran under the same load; for two builds of the addon alone,
 * alternate `EITP_NATIVE_ADDON=old.node` and `new.node` runs in one checkout.
 */
import { writeFileSync } from 'node:fs';
import { nativeInfo } from '../engine/backends/native/index.js';
import * as et from '../engine/index.js';
import { eitpConfig } from '../src/eitp/index.js';
import type { Dynamics } from '../src/models/eitp-model.js';
import { type Stat, stepTask, toStat, workloads } from './eitp-steps.js';
import { jsThreadCpuMs } from './js-thread-cpu.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonAt = args.indexOf('--json');
const TIME_MS = quick ? 150 : 1500;
const PROFILED = quick ? 2 : 10;

et.setBackend('native');
const OFF = { lambdaThermo: 0, lambdaChaos: 0, lambdaCoherence: 0, lambdaPath: 0, betaIem: 0 };
const CONFIGS: [string, object | null][] = [
  ['task loss only', null],
  ['power FTLE (λ2 0.1)', { ...OFF, lambdaChaos: 0.1 }],
  ['all terms, spec λ', {}],
];

/** Kernel calls and kernel ms per call of `run`, over `times` calls. */
async function kernelsOf(run: () => Promise<void>, times: number): Promise<{ calls: number; kernelMs: number }> {
  const p = await et.profile(async () => {
    for (let i = 0; i < times; i++) await run();
  });
  return { calls: p.kernels.reduce((a, k) => a + k.calls, 0) / times, kernelMs: p.kernels.reduce((a, k) => a + k.ms, 0) / times };
}

interface StepRow {
  model: string;
  step: string;
  time: Stat;
  calls: number;
  kernelMs: number;
  /** The JS thread's CPU time per step (mean over the timed steps); null where the OS does not say. */
  jsCpuMs: number | null;
}

const rows: StepRow[] = [];
const ws = workloads();
for (const w of ws) {
  for (const [step, o] of CONFIGS) {
    const run = stepTask(w, o ? eitpConfig({ kernels: 'fused', ...o } as never) : null, 1);
    for (let i = 0; i < 5; i++) await run();
    const k = await kernelsOf(run, PROFILED);
    const samples: number[] = [];
    const until = performance.now() + TIME_MS;
    const cpu0 = jsThreadCpuMs();
    while (performance.now() < until || samples.length < 5) {
      const t0 = performance.now();
      await run();
      samples.push(performance.now() - t0);
    }
    const cpu1 = jsThreadCpuMs();
    const jsCpuMs = cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / samples.length;
    rows.push({ model: w.name, step, time: toStat(samples), ...k, jsCpuMs });
  }
}

console.log(`\n### native (${nativeInfo().threads} pool thread(s)): EIT-P steps, kernel calls and time per step\n`);
console.log('| model | step | time (median, p25–p75) | JS thread CPU (mean) | kernel calls | kernel time |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  const js = r.jsCpuMs === null ? 'n/a' : `${r.jsCpuMs.toFixed(2)} ms`;
  console.log(`| ${r.model} | ${r.step} | ${r.time.median.toFixed(2)} ms (${r.time.p25.toFixed(2)}–${r.time.p75.toFixed(2)}) | ${js} | ${r.calls.toFixed(0)} | ${r.kernelMs.toFixed(2)} ms |`);
}

// The char-GPT's power FTLE by phase, on the sub-batch the objective takes (the first B' = 4 sequences).
const gpt = ws[0]!;
const subBatch = gpt.inputs.slice([0, 0], [4, gpt.inputs.shape[1]!]);
const composed = (d: Dynamics) => (h: et.Tensor) => d.blocks.reduce((x, f) => f(x), h);
const direction = (d: Dynamics) => et.randn(d.h0.shape, { seed: 1 });
const phases: [string, () => et.Tensor][] = [
  ['the blocks forward', () => {
    const d = gpt.model.dynamics(subBatch);
    return composed(d)(d.h0).sum();
  }],
  ['one linearisation (a recorded forward)', () => {
    const d = gpt.model.dynamics(subBatch);
    return et.linearize(composed(d), d.h0.stopGradient())[0].sum();
  }],
  ['linearisation + J v', () => {
    const d = gpt.model.dynamics(subBatch);
    const [, push] = et.linearize(composed(d), d.h0.stopGradient());
    return et.noGrad(() => push(direction(d))).sum();
  }],
  ['linearisation + J v + Jᵀ w (one power iteration)', () => {
    const d = gpt.model.dynamics(subBatch);
    const [, push, pull] = et.linearize(composed(d), d.h0.stopGradient());
    return et.noGrad(() => pull(push(direction(d)))[0]!).sum();
  }],
  ['recorded linearisation + J v, ln‖J v‖ and its backward', () => {
    const d = gpt.model.dynamics(subBatch);
    const [, push] = et.linearize(composed(d), d.h0);
    const l = push(direction(d)).reshape([4, -1]).norm(1).log().mean();
    l.backward();
    for (const p of gpt.model.parameters()) p.zeroGrad();
    return l;
  }],
];
const phaseRows: { phase: string; calls: number }[] = [];
for (const [phase, fn] of phases) {
  const run = async () => {
    const r = et.tidy(fn);
    await r.data();
    r.dispose();
  };
  await run();
  phaseRows.push({ phase, calls: (await kernelsOf(run, 2)).calls });
}
console.log(`\n### the char-GPT's power FTLE by phase (B' = 4): kernel calls\n`);
console.log('| phase | kernel calls |');
console.log('| --- | --- |');
for (const r of phaseRows) console.log(`| ${r.phase} | ${r.calls.toFixed(0)} |`);

if (jsonAt >= 0) writeFileSync(args[jsonAt + 1]!, JSON.stringify({ steps: rows, ftlePhases: phaseRows }, null, 2));
