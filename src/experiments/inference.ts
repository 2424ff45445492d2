/**
 * Timed inference of a trained model: forward passes over rows of the task's evaluation set, each including the
 * upload of its input and the read-back of its logits (what a caller waits for), after warm-up passes.
 */
import * as et from '../../engine/index.js';
import type { TaskData } from '../data/task.js';
import type { EitpModel } from '../models/eitp-model.js';

export interface InferencePolicy {
  readonly warmup: number;
  readonly minIterations: number;
  readonly maxIterations: number;
  /** Stop after this much timed work once minIterations are done. */
  readonly budgetMs: number;
}

export const INFERENCE_POLICY: InferencePolicy = { warmup: 5, minIterations: 20, maxIterations: 400, budgetMs: 1500 };

/** The first `batch` rows of the evaluation set (repeated if the set is smaller) as a [batch, seqLen] input. */
export function evalInputs(data: TaskData, batch: number): { ids: Int32Array; batch: number; seqLen: number } {
  const s = data.evalSet();
  const T = s.seqLen;
  const ids = new Int32Array(batch * T);
  for (let b = 0; b < batch; b++) ids.set(s.inputs.subarray((b % s.batch) * T, ((b % s.batch) + 1) * T), b * T);
  return { ids, batch, seqLen: T };
}

/** One forward pass of [batch, seqLen] tokens, waited for. */
export async function forwardOnce(model: EitpModel, input: { ids: Int32Array; batch: number; seqLen: number }): Promise<void> {
  const logits = et.tidy(() => et.noGrad(() => model.forward(et.tensor(input.ids, { shape: [input.batch, input.seqLen] })).logits));
  await logits.data();
  logits.dispose();
}

/** Milliseconds per forward pass, one sample per timed pass. */
export async function timeForward(model: EitpModel, input: { ids: Int32Array; batch: number; seqLen: number }, policy: InferencePolicy = INFERENCE_POLICY): Promise<number[]> {
  const wasTraining = model.training;
  model.eval();
  try {
    for (let i = 0; i < policy.warmup; i++) await forwardOnce(model, input);
    const samples: number[] = [];
    let spent = 0;
    while (samples.length < policy.maxIterations && (samples.length < policy.minIterations || spent < policy.budgetMs)) {
      const t0 = performance.now();
      await forwardOnce(model, input);
      const ms = performance.now() - t0;
      samples.push(ms);
      spent += ms;
    }
    return samples;
  } finally {
    model.train(wasTraining);
  }
}
