/**
 * Held-out evaluation: mean loss and accuracy over the task's fixed evaluation set, accuracy by key-query distance
 * for retrieval, perplexity for text. Runs in eval mode without gradients, in chunks, and reads back once per chunk.
 */
import { moduleArg, objectArg, optionsArg } from '../args.js';
import * as et from '../../engine/index.js';
import type { HostBatch, TaskData } from '../data/task.js';
import type { EitpModel } from '../models/eitp-model.js';

export interface DistanceBucket {
  lo: number;
  hi: number;
  accuracy: number;
  n: number;
}

export interface EvalResult {
  /** Mean cross-entropy (nats) over scored targets. */
  loss: number;
  accuracy: number;
  /** exp(loss), for language modelling. */
  perplexity: number;
  byDistance?: DistanceBucket[];
  examples: number;
}

export async function evaluate(model: EitpModel, data: TaskData, options?: { chunk?: number; set?: HostBatch }): Promise<EvalResult> {
  moduleArg(model, 'evaluate');
  objectArg(data, 'evaluate', 'data');
  const { chunk = 128, set } = optionsArg(options, 'evaluate');
  const s = set ?? data.evalSet();
  const T = s.seqLen;
  const perEx = data.readout === 'last' ? 1 : T;
  const nll = new Float64Array(s.batch * perEx);
  const pred = new Int32Array(s.batch * perEx);
  const wasTraining = model.training;
  model.eval();
  try {
    for (let b0 = 0; b0 < s.batch; b0 += chunk) {
      const n = Math.min(chunk, s.batch - b0);
      const [l, p] = et.tidy(() =>
        et.noGrad(() => {
          const x = et.tensor(s.inputs.subarray(b0 * T, (b0 + n) * T), { shape: [n, T] });
          const y = et.tensor(s.targets.subarray(b0 * perEx, (b0 + n) * perEx), { shape: perEx === 1 ? [n] : [n, T] });
          const logits = model.forward(x).logits;
          return [et.crossEntropy(logits, y, { reduction: 'none' }), et.argmax(logits, -1)];
        }),
      );
      nll.set(await l!.data(), b0 * perEx);
      pred.set(await p!.data(), b0 * perEx);
      et.dispose([l, p]);
    }
  } finally {
    model.train(wasTraining);
  }
  let lossSum = 0;
  let correct = 0;
  let scored = 0;
  for (let i = 0; i < nll.length; i++) {
    if (s.scored && !s.scored[i]) continue;
    scored++;
    lossSum += nll[i]!;
    if (pred[i] === s.targets[i]) correct++;
  }
  const loss = lossSum / Math.max(1, scored);
  const result: EvalResult = { loss, accuracy: correct / Math.max(1, scored), perplexity: Math.exp(loss), examples: s.batch };
  if (data.distanceBuckets && s.distances) {
    result.byDistance = data.distanceBuckets.map(([lo, hi]) => {
      let n = 0;
      let c = 0;
      for (let i = 0; i < s.batch; i++) {
        const d = s.distances![i]!;
        if (d < lo || d > hi) continue;
        n++;
        if (pred[i] === s.targets[i]) c++;
      }
      return { lo, hi, accuracy: n ? c / n : NaN, n };
    });
  }
  return result;
}
