/**
 * `npm run bench -- eitp [--quick] [--backends native,webgpu,cpu] [--json FILE]`: what each EIT-P term costs.
 *
 * For a small char-GPT (the main job's size) and an MLP, per backend: one forward + backward of the task loss
 * (the base), then the same step with each term switched on alone at the spec's λ, then all of them; the terms
 * with fused kernels (entropy histogram, coherence, the thermo term's activation density) run both fused and from
 * primitive ops (composite). Rows give the median step time with p25–p75 and the overhead against the base. A second table times the fused ops
 * themselves (forward + backward) against their composites at the sizes the objective uses, including the FTLE's
 * per-layer tanh step (tanhJvp, and tanhJvpStep with the norm and log in its pass).
 * Targets (issue #5): all terms together ≤ 25 % on top of a step; each fused kernel ≥ 3x its composite. Each step row
 * also gives the multiply-adds of its product kernels against the base (bench/matmul-work.ts): the part of the
 * overhead that is arithmetic, not dispatch. A last column gives the JS heap each step allocates (bench/js-allocation.ts),
 * the per-op bookkeeping that a change to the engine's JS moves even when the machine's noise hides it in the times.
 */
import { writeFileSync } from 'node:fs';
import * as et from '../engine/index.js';
import { disposeEitpState, eitpConfig } from '../src/eitp/index.js';
import type { EitpConfig } from '../src/eitp/objective-api.js';
import { coherenceComposite, compositeOf } from './bench-args.js';
import { jsBytesPerIteration } from './js-allocation.js';
import { countMatmulWork } from './matmul-work.js';
import { timeInterleaved } from './interleaved.js';
import { type Stat, perStep, settled, stepTask, stepsPer, toStat, workloads } from './eitp-steps.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const TIME_MS = quick ? 150 : 1200;

const OFF = { lambdaThermo: 0, lambdaChaos: 0, lambdaCoherence: 0, lambdaPath: 0, betaIem: 0 };

/** The step variants: the base, each term alone (fused and composite where it has fused kernels), everything. */
function variants(): { name: string; config: EitpConfig | null; steps?: number }[] {
  const on = (o: Partial<EitpConfig>, kernels: 'fused' | 'composite' = 'fused') => eitpConfig({ ...OFF, ...o, kernels } as never);
  return [
    { name: 'task loss only (base)', config: null },
    { name: 'thermo (λ1 0.01)', config: on({ lambdaThermo: 0.01 }) },
    { name: 'thermo composite', config: on({ lambdaThermo: 0.01 }, 'composite') },
    { name: 'chaos, power FTLE (λ2 0.1)', config: on({ lambdaChaos: 0.1 }) },
    { name: 'chaos, benettin FTLE (λ2 0.1)', config: on({ lambdaChaos: 0.1, chaos: { mode: 'benettin' } } as never) },
    { name: 'coherence fused (λ3 0.1)', config: on({ lambdaCoherence: 0.1 }) },
    { name: 'coherence composite', config: on({ lambdaCoherence: 0.1 }, 'composite') },
    { name: 'path norm (λ4 0.01)', config: on({ lambdaPath: 0.01 }) },
    { name: 'entropy via IEM fused (β 0.01)', config: on({ betaIem: 0.01 }) },
    { name: 'entropy via IEM composite', config: on({ betaIem: 0.01 }, 'composite') },
    { name: 'all terms, spec λ (fused)', config: eitpConfig({ kernels: 'fused' } as never) },
    { name: 'all terms, spec λ (composite)', config: eitpConfig({ kernels: 'composite' } as never) },
    { name: 'all terms + IEM β 0.01 (fused)', config: eitpConfig({ betaIem: 0.01, kernels: 'fused' } as never) },
    { name: 'all terms, benettin FTLE (fused)', config: eitpConfig({ kernels: 'fused', chaos: { mode: 'benettin' } } as never) },
    // Lazy regularisation: the same terms every 8th step at 8·λ; one iteration runs 8 steps and is reported per step.
    { name: 'all terms, every 8 steps (fused)', config: eitpConfig({ kernels: 'fused', every: 8 } as never) },
    { name: 'all terms, every 16 steps (fused)', config: eitpConfig({ kernels: 'fused', every: 16 } as never) },
    // what a lazy config costs on the steps between its λ steps (one step per iteration, never a λ step)
    { name: 'all terms lazy, a step between λ steps', config: eitpConfig({ kernels: 'fused', every: 2 ** 30 } as never), steps: 1 },
  ];
}

async function measure(tasks: { name: string; run: () => Promise<void> }[]): Promise<Stat[]> {
  // the rows take turns (bench/interleaved.ts), so the overheads compare steps timed under the same load
  const samples = await timeInterleaved(tasks, { time: TIME_MS, rounds: quick ? 1 : 3, iterations: quick ? 5 : 5, warmupTime: quick ? 50 : 300, warmupIterations: 3 });
  return samples.map(toStat);
}

/** Tensors the op tasks keep across iterations; disposed once a backend's rows are done. */
const owned: et.Tensor[] = [];
const own = <T extends et.Tensor[]>(ts: T): T => (owned.push(...ts.map((t) => et.keep(t))), ts);

/** coherenceViaR: the loss from et.correlation (R kept for its backward) and d×d ops on R, the objective's path at large N. */
type FusedOpName = 'softHistogram' | 'coherence' | 'coherenceViaR' | 'activationDensity';

/** Forward + backward of a fused op, or of its composite, on a fixed input. */
function opTask(op: FusedOpName, x: et.Tensor, composite: boolean): () => Promise<void> {
  const backend = x.backend as et.BackendName;
  // a fixed non-uniform cotangent, so the backward does real work; τ as the thermo term takes it (0.1·RMS)
  const [weights, tau] = own([et.rand(op === 'softHistogram' ? [et.EITP_HISTOGRAM.bins] : [], { seed: 6, backend }), et.tensor(0.1, { backend })]);
  const forward: Record<FusedOpName, (v: et.Tensor) => et.Tensor> = composite
    ? {
        softHistogram: (v) => compositeOf('softHistogram')([v], et.EITP_HISTOGRAM as never),
        coherence: coherenceComposite,
        coherenceViaR: coherenceComposite,
        activationDensity: (v) => compositeOf('activationDensity')([v, tau!], { eps: 1e-30 } as never),
      }
    : {
        softHistogram: (v) => et.softHistogram(v),
        coherence: (v) => et.coherence(v),
        coherenceViaR: (v) => et.coherenceOfCorrelation(et.correlation(v)),
        activationDensity: (v) => et.activationDensity(v, tau!, { eps: 1e-30 }),
      };
  const f = (v: et.Tensor) => forward[op](v).mul(weights!).sum();
  return async () => {
    const g = et.tidy(() => et.grad(f)(x) as et.Tensor);
    await settled(g);
    g.dispose();
  };
}

/**
 * Forward + backward (into w, as the FTLE's gradient in θ) of the tanh-layer Jacobian-vector step: the fused tanhJvp
 * against its composite (1 − h²) ⊙ (v Wᵀ), for b rows of width d.
 */
function tanhJvpTask(b: number, d: number, composite: boolean): () => Promise<void> {
  const [h, v, w] = own(et.tidy(() => [et.tanh(et.randn([b, d], { seed: 7 })), et.randn([b, d], { seed: 8 }), et.randn([d, d], { seed: 9 }).div(Math.sqrt(d))]));
  const def = et.opTable().tanhJvp as { composite: (xs: et.Tensor[], attrs: object) => et.Tensor };
  const f = (ww: et.Tensor) => (composite ? def.composite([h!, v!, ww], {}) : et.tanhJvp(h!, v!, ww)).square().sum();
  return async () => {
    const g = et.tidy(() => et.grad(f)(w!) as et.Tensor);
    await settled(g);
    g.dispose();
  };
}

/**
 * The FTLE's fused step through a tanh layer, as benettin differentiates it: Σ_l mean_b ln‖δ_l‖ with
 * δ_l = (1 − h²) ⊙ (u_{l−1} Wᵀ) and u_l = sg(δ_l/‖δ_l‖), chained through `layers` steps (one h and W reused, so only
 * the step is timed), forward + backward into h and W. et.tanhJvpStep (one kernel each way plus the W-gradient GEMM)
 * against its composite (product, 1 − h², norm, log and the normalised direction from primitive ops). A chain of
 * several steps shares one gradient call and one readback, as the FTLE's layers do.
 */
function tanhJvpStepTask(b: number, d: number, layers: number, composite: boolean): () => Promise<void> {
  const [h, v, w] = own(et.tidy(() => [et.tanh(et.randn([b, d], { seed: 7 })), et.randn([b, d], { seed: 8 }), et.randn([d, d], { seed: 9 }).div(Math.sqrt(d))]));
  const def = et.opTable().tanhJvpStep as { composite: (xs: et.Tensor[], attrs: object) => et.Tensor };
  const step = (hh: et.Tensor, u: et.Tensor, ww: et.Tensor): et.TanhJvpStep => {
    if (!composite) return et.tanhJvpStep(hh, u, ww);
    const y = def.composite([hh, u, ww], {});
    return { direction: y.slice([0, 0], [b, d]), logNorm: y.slice([0, d], [b, d + 1]).reshape([b]) };
  };
  const f = (hh: et.Tensor, ww: et.Tensor) => {
    let u = v!;
    let acc: et.Tensor | null = null;
    for (let l = 0; l < layers; l++) {
      const s = step(hh, u, ww);
      acc = acc ? acc.add(s.logNorm.mean()) : s.logNorm.mean();
      u = s.direction.stopGradient();
    }
    return acc!;
  };
  return async () => {
    const g = et.tidy(() => et.grad(f, { argnums: [0, 1] })(h!, w!) as et.Tensor[]);
    await Promise.all(g.map(settled));
    et.dispose(g);
  };
}

const fmt = (s: Stat) => `${s.median.toFixed(2)} ms (${s.p25.toFixed(2)}–${s.p75.toFixed(2)})`;

async function main(): Promise<void> {
  if (args.includes('--webgpu') || option('--backends')?.includes('webgpu')) await et.initWebGPU().catch(() => undefined);
  const available = et.backendInfo().filter((b) => b.available && !b.emulated).map((b) => b.name);
  const wanted = (option('--backends') ?? (args.includes('--webgpu') ? 'native,webgpu' : 'native')).split(',');
  const backends = wanted.filter((b) => available.includes(b as et.BackendName)) as et.BackendName[];
  for (const b of wanted.filter((x) => !backends.includes(x as et.BackendName))) console.log(`not measured: ${b} (unavailable here)`);
  const json: unknown[] = [];
  for (const backend of backends) {
    et.setBackend(backend);
    for (const w of workloads()) {
      const vs = variants();
      const steps = vs.map((v) => v.steps ?? stepsPer(v.config));
      const tasks = vs.map((v, i) => ({ name: v.name, run: stepTask(w, v.config, steps[i]) }));
      // each variant's multiply-adds per step, from one (already warm) iteration
      const macs: number[] = [];
      for (const [i, t] of tasks.entries()) macs.push((await countMatmulWork(backend, t.run)).macs / steps[i]!);
      // and the JS heap each allocates per step, garbage included (repeatable where times are not: bench/js-allocation.ts)
      const jsBytes: number[] = [];
      for (const [i, t] of tasks.entries()) jsBytes.push((await jsBytesPerIteration(t.run, quick ? 2 : 5)) / steps[i]!);
      const stats = (await measure(tasks)).map((s, i) => perStep(s, steps[i]!));
      const base = stats[0]!.median;
      const extraWork = (i: number) => (macs[i]! - macs[0]!) / macs[0]!;
      console.log(`\n### ${backend}: ${w.name}, forward + backward per iteration (median, p25–p75)\n`);
      console.log(`| step | time | overhead vs base | matmul work vs base (${(macs[0]! / 1e6).toFixed(1)} M multiply-adds) | JS heap allocated |`);
      console.log('| --- | --- | --- | --- | --- |');
      vs.forEach((v, i) => {
        const s = stats[i]!;
        const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
        console.log(`| ${v.name} | ${fmt(s)} | ${i === 0 ? '—' : pct((s.median - base) / base)} | ${i === 0 ? '—' : `+${pct(extraWork(i))}`} | ${(jsBytes[i]! / 1e6).toFixed(2)} MB |`);
        json.push({ backend, workload: w.name, step: v.name, ...s, overhead: (s.median - base) / base, macs: macs[i], extraWork: extraWork(i), jsBytes: jsBytes[i] });
      });
      const at = vs.findIndex((v) => v.name.startsWith('all terms, spec λ (fused)'));
      const over = (stats[at]!.median - base) / base;
      console.log(`\nall terms (spec λ, fused) add ${(over * 100).toFixed(0)} % (target ≤ 25 %: ${over <= 0.25 ? 'met' : 'NOT met'}); their matmul work alone adds ${(extraWork(at) * 100).toFixed(0)} %`);
      for (const k of [8, 16]) {
        const lazy = stats[vs.findIndex((v) => v.name.startsWith(`all terms, every ${k} `))]!;
        console.log(`all terms applied every ${k}th step at ${k}·λ add ${(((lazy.median - base) / base) * 100).toFixed(0)} % per step`);
      }
      const between = stats[vs.findIndex((v) => v.name.startsWith('all terms lazy, a step between'))]!;
      console.log(`a lazy config's steps between its λ steps add ${(((between.median - base) / base) * 100).toFixed(0)} % (nothing but the task loss is computed there)`);
      disposeEitpState(w.model);
      et.dispose([w.inputs, w.targets, ...w.model.parameters()]);
    }
    // the fused ops alone, at the objective's sizes
    const cases = [
      { name: 'softHistogram n=65536', op: 'softHistogram' as const, x: et.tidy(() => et.randn([65536], { seed: 3 }).mul(1.2)) },
      // the MLP's and the char-GPT's features, and a large N; the fused op recomputes the Gram in its backward, the
      // path via R keeps R and runs d×d ops on it (the objective takes the first up to N·d² = 2^24)
      { name: 'coherence N=64 d=256', op: 'coherence' as const, x: et.randn([64, 256], { seed: 12 }) },
      { name: 'coherence via R, N=64 d=256', op: 'coherenceViaR' as const, x: et.randn([64, 256], { seed: 12 }) },
      { name: 'coherence N=768 d=32', op: 'coherence' as const, x: et.randn([768, 32], { seed: 4 }) },
      { name: 'coherence N=4096 d=256', op: 'coherence' as const, x: et.randn([4096, 256], { seed: 5 }) },
      { name: 'coherence via R, N=4096 d=256', op: 'coherenceViaR' as const, x: et.randn([4096, 256], { seed: 5 }) },
      // the char-GPT's GELU tap (B·T·4d) and a large one
      { name: 'activationDensity n=98304', op: 'activationDensity' as const, x: et.randn([768, 128], { seed: 10 }) },
      { name: 'activationDensity n=1048576', op: 'activationDensity' as const, x: et.randn([1024, 1024], { seed: 11 }) },
    ];
    const jvpSizes: [number, number][] = [[4, 256], [64, 256]];
    // [B, d, chained steps]
    const stepCases: [number, number, number][] = [[4, 256, 1], [4, 256, 4], [64, 256, 1], [64, 256, 4]];
    const opStats = await measure([
      ...cases.flatMap((c) => [{ name: `${c.name} fused`, run: opTask(c.op, c.x, false) }, { name: `${c.name} composite`, run: opTask(c.op, c.x, true) }]),
      ...jvpSizes.flatMap(([b, d]) => [false, true].map((composite) => ({ name: `tanhJvp ${b}x${d} ${composite ? 'composite' : 'fused'}`, run: tanhJvpTask(b, d, composite) }))),
      ...stepCases.flatMap(([b, d, l]) => [false, true].map((composite) => ({ name: `tanhJvpStep ${b}x${d}x${l} ${composite ? 'composite' : 'fused'}`, run: tanhJvpStepTask(b, d, l, composite) }))),
    ]);
    console.log(`\n### ${backend}: fused op vs composite, forward + backward\n`);
    console.log('| op | fused | composite | speedup (target ≥ 3x) |');
    console.log('| --- | --- | --- | --- |');
    cases.forEach((c, i) => {
      const [f, k] = [opStats[2 * i]!, opStats[2 * i + 1]!];
      console.log(`| ${c.name} | ${fmt(f)} | ${fmt(k)} | ${(k.median / f.median).toFixed(1)}x |`);
      json.push({ backend, op: c.name, fused: f, composite: k, speedup: k.median / f.median });
    });
    jvpSizes.forEach(([b, d], j) => {
      const [f, k] = [opStats[2 * (cases.length + j)]!, opStats[2 * (cases.length + j) + 1]!];
      const name = `tanhJvp B=${b} d=${d} (grad in w)`;
      console.log(`| ${name} | ${fmt(f)} | ${fmt(k)} | ${(k.median / f.median).toFixed(1)}x |`);
      json.push({ backend, op: name, fused: f, composite: k, speedup: k.median / f.median });
    });
    stepCases.forEach(([b, d, l], j) => {
      const at = 2 * (cases.length + jvpSizes.length + j);
      const [f, k] = [opStats[at]!, opStats[at + 1]!];
      const name = `tanhJvpStep B=${b} d=${d}, ${l === 1 ? 'one step' : `${l} chained steps`}: mean ln‖δ‖, grad in h and w`;
      console.log(`| ${name} | ${fmt(f)} | ${fmt(k)} | ${(k.median / f.median).toFixed(1)}x |`);
      json.push({ backend, op: name, fused: f, composite: k, speedup: k.median / f.median });
    });
    const coherence = cases.flatMap((c, i) => (c.op.startsWith('coherence') ? [`${c.name} ${(opStats[2 * i + 1]!.median / opStats[2 * i]!.median).toFixed(2)}x`] : []));
    console.log(`\ncoherence, composite median / fused median: ${coherence.join(', ')} (target ≥ 3x)`);
    et.dispose([...cases.map((c) => c.x), ...owned.splice(0)]);
  }
  const out = option('--json');
  if (out) writeFileSync(out, JSON.stringify(json, null, 2));
}

await main();
