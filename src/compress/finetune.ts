/**
 * The fine-tune phase of `eitp compress`: training continues on the task (AdamW, cosine decay from lr to lr/10,
 * gradient clipping) from the source run's data position, with gradual magnitude pruning (masks re-applied after
 * every optimizer step) and, optionally, the distillation loss against the uncompressed model as teacher in
 * place of the plain cross-entropy. The EIT-P terms are not part of this objective: the phase only recovers the
 * task accuracy that pruning costs. With 0 steps and a pruning target, pruning is one-shot.
 */
import { moduleArg, objectArg } from '../args.js';
import * as et from '../../engine/index.js';
import type { TaskData } from '../data/task.js';
import type { EitpModel } from '../models/eitp-model.js';
import { type DistillOptions, distillationLoss } from './distill.js';
import { weightMatrices } from './int8-model.js';
import { MagnitudePruner, type PruneSchedule, measuredSparsity } from './pruning.js';

export interface FinetuneOptions {
  steps: number;
  lr: number;
  batchSize: number;
  weightDecay: number;
  /** Max global gradient norm; 0 disables clipping. */
  clip: number;
  /** The first training batch's index (the source run's data position, so no batch is seen twice). */
  dataPosition: number;
  prune?: PruneSchedule;
  /** Distil from this model (kept in eval mode, never updated). */
  teacher?: EitpModel;
  distill?: DistillOptions;
  /** Called every `reportEvery` steps and at the last one with the current loss (one read-back each). */
  onProgress?: (step: number, loss: number) => void;
  reportEvery?: number;
}

export interface FinetuneResult {
  steps: number;
  seconds: number;
  /** Exact zeros over the weight matrices at the end (0 without pruning). */
  sparsity: number;
}

/** The default pruning schedule inside a fine-tune of `steps` steps: cubic ramp over the first 3/4, then recovery. */
export function defaultPruneSchedule(finalSparsity: number, steps: number): PruneSchedule {
  const endStep = Math.floor((3 * steps) / 4);
  return { finalSparsity, startStep: 0, endStep, every: Math.max(1, Math.floor(endStep / 30)) };
}

export async function finetune(model: EitpModel, data: TaskData, o: FinetuneOptions): Promise<FinetuneResult> {
  const op = 'finetune';
  moduleArg(model, op);
  objectArg(data, op, 'data');
  objectArg(o, op, 'options');
  if (!Number.isInteger(o.steps) || o.steps < 0) throw new et.ArgumentError(`${op}: steps must be an integer >= 0, got ${o.steps}`, { op });
  if (o.prune && o.prune.endStep > o.steps) throw new et.ArgumentError(`${op}: the pruning schedule ends at step ${o.prune.endStep}, after the last step ${o.steps}`, { op });
  const started = performance.now();
  const weights = weightMatrices(model).map((w) => w.tensor);
  const pruner = o.prune ? new MagnitudePruner(weights, o.prune) : null;
  const params = model.parameters();
  const optimizer = new et.optim.AdamW(params, { lr: o.lr, weightDecay: o.weightDecay });
  const scheduler = new et.optim.LrScheduler(optimizer, et.optim.cosine(Math.max(1, o.steps), { minLr: 0.1 }));
  const teacher = o.teacher;
  const every = o.reportEvery ?? 50;
  const wasTraining = model.training;
  teacher?.eval();
  model.train();
  try {
    if (pruner && o.steps === 0) await pruner.prune(o.prune!.finalSparsity);
    for (let step = 1; step <= o.steps; step++) {
      const hb = data.trainBatch(o.dataPosition + step - 1, o.batchSize);
      const loss = et.tidy(() => {
        const inputs = et.tensor(hb.inputs, { shape: [hb.batch, hb.seqLen] });
        const targets = et.tensor(hb.targets, { shape: data.readout === 'last' ? [hb.batch] : [hb.batch, hb.seqLen] });
        const logits = model.forward(inputs).logits;
        const l = teacher
          ? distillationLoss(logits, et.noGrad(() => teacher.forward(inputs).logits), targets, o.distill)
          : et.crossEntropy(logits, targets);
        l.backward();
        if (o.clip > 0) et.optim.clipGradNorm(params, o.clip);
        optimizer.step();
        optimizer.zeroGrad();
        scheduler.step();
        return l;
      });
      try {
        if (pruner) await pruner.afterStep(step);
        if (o.onProgress && (step % every === 0 || step === o.steps)) o.onProgress(step, await loss.item());
      } finally {
        loss.dispose();
      }
    }
  } finally {
    optimizer.dispose();
    pruner?.dispose();
    model.train(wasTraining);
  }
  return { steps: o.steps, seconds: (performance.now() - started) / 1000, sparsity: pruner ? await measuredSparsity(weights) : 0 };
}
