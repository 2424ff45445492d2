/**
 * The training steps the EIT-P benchmarks time (bench/eitp-terms.ts, bench/native-threads.ts): the main job's
 * char-GPT and an MLP with fixed seeded data, one forward + backward of the EIT-P objective (or of the task loss
 * alone), and the median with its p25–p75 of a set of timings.
 */
import * as et from '../engine/index.js';
import { quantileSorted } from '../src/bench/stats.js';
import { eitpObjective } from '../src/eitp/index.js';
import type { EitpConfig } from '../src/eitp/objective-api.js';
import type { EitpModel } from '../src/models/eitp-model.js';
import { CharGpt } from '../src/models/gpt.js';
import { MlpModel } from '../src/models/mlp.js';

export interface Stat {
  median: number;
  p25: number;
  p75: number;
  samples: number;
}

export interface Workload {
  name: string;
  model: EitpModel & et.nn.Module<never, unknown>;
  inputs: et.Tensor;
  targets: et.Tensor;
  /** Rows and width of the coherence features; the entropy sample of the largest weight. */
  features: [number, number];
}

export function workloads(): Workload[] {
  const rng = new et.Rng(1);
  const ints = (n: number, below: number) => Int32Array.from({ length: n }, () => rng.int(0, below));
  const [B, T, V] = [32, 24, 21];
  const gpt = new CharGpt({ vocabSize: V, context: T, width: 32, depth: 2, heads: 2, seed: 0 });
  const mlp = new MlpModel({ sizes: [64, 256, 256, 10], seed: 0 });
  return [
    { name: 'char-GPT d32 L2 T24 B32', model: gpt as never, inputs: et.tensor(ints(B * T, V), { shape: [B, T] }), targets: et.tensor(ints(B * T, V), { shape: [B, T] }), features: [B * T, 32] },
    { name: 'MLP 64-256-256-10 B64', model: mlp as never, inputs: et.randn([64, 64], { seed: 2 }), targets: et.tensor(ints(64, 10), { shape: [64] }), features: [64, 256] },
  ];
}

/** Median and p25–p75 of per-iteration times in ms. */
export function toStat(samples: readonly number[]): Stat {
  const ms = [...samples].sort((a, b) => a - b);
  return { median: quantileSorted(ms, 0.5), p25: quantileSorted(ms, 0.25), p75: quantileSorted(ms, 0.75), samples: ms.length };
}

/** Steps per iteration: a lazy config's whole cycle, so every iteration does the same work. */
export const stepsPer = (config: EitpConfig | null) => config?.every ?? 1;

/**
 * One forward + backward (gradients accumulated, then cleared), with the loss read back; `steps` of them per
 * iteration (a lazy config's whole cycle by default).
 */
export function stepTask(w: Workload, config: EitpConfig | null, steps = stepsPer(config)): () => Promise<void> {
  let step = 0;
  const one = async () => {
    const loss = et.tidy(() => {
      step++;
      const l = config
        ? eitpObjective(w.model, { inputs: w.inputs, targets: w.targets }, config, { epoch: 0, step, report: false }).total
        : et.crossEntropy(w.model.forward(w.inputs).logits, w.targets);
      l.backward();
      return l;
    });
    await loss.data();
    loss.dispose();
    for (const p of w.model.parameters()) p.zeroGrad();
  };
  return async () => {
    for (let i = 0; i < steps; i++) await one();
  };
}

export const perStep = (s: Stat, steps: number): Stat => ({ ...s, median: s.median / steps, p25: s.p25 / steps, p75: s.p75 / steps });

/**
 * Waits for the work that produces t without copying t back: training never reads gradients back, and a full readback
 * (4 MB for the largest coherence input) would add the same fixed cost to both sides of every ratio. One element
 * through a view depends on the whole buffer's producer.
 */
export async function settled(t: et.Tensor): Promise<void> {
  const one = et.tidy(() => t.reshape([-1]).slice([0], [1]));
  await one.data();
  one.dispose();
}
