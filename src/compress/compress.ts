/**
 * `eitp compress` as a function: a trained run's checkpoint in, a compressed checkpoint out, and the measurements
 * against the uncompressed model on the same backend.
 *
 *  1. load the run twice: the fp32 reference (also the distillation teacher) and the student;
 *  2. with a pruning target and/or fine-tune steps: fine-tune the student with gradual magnitude pruning
 *     (cubic schedule over the first 3/4 of the steps), distilling from the teacher unless turned off;
 *  3. quantise every weight matrix to int8 per output channel and write the compressed checkpoint;
 *  4. load the compressed checkpoint back (what is measured is what is on disk) and measure size, held-out
 *     metric and forward latency against the fp32 model.
 */
import { objectArg } from '../args.js';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as et from '../../engine/index.js';
import { type EvalResult, evaluate } from '../train/evaluate.js';
import { loadRun } from '../train/load.js';
import { CheckpointError, loadCheckpoint, manifestPath, writeFileAtomic } from '../train/checkpoint.js';
import type { TrainState } from '../train/trainer.js';
import { loadCompressed, saveCompressed } from './compressed-checkpoint.js';
import { DISTILL_DEFAULTS } from './distill.js';
import { defaultPruneSchedule, finetune } from './finetune.js';
import { type Activations, quantizeModel, weightMatrices } from './int8-model.js';
import { type LatencyStats, fp32Bytes, measureLatency } from './measure.js';

export interface CompressOptions {
  /** A run directory or its checkpoint.json (written by eitp train). */
  checkpoint: string;
  /** Directory of the compressed checkpoint (created). */
  out: string;
  /** Final sparsity s_f of global magnitude pruning (0 or undefined: no pruning). */
  prune?: number;
  activations?: Activations;
  /** Fine-tune steps (default: 300 with pruning, 0 without). */
  finetuneSteps?: number;
  /** Distil from the uncompressed model while fine-tuning (default true). */
  distill?: boolean;
  /** Fine-tune peak learning rate (default: the run's lr / 10). */
  lr?: number;
  /** Examples per timed forward pass (default 32) and timed passes (default 50). */
  latencyBatch?: number;
  latencyIters?: number;
  /** cpu, native, webgpu, cuda or auto (default: EITP_BACKEND, else the run's backend setting). */
  backend?: string;
  onMessage?: (line: string) => void;
}

export interface ModelMeasurement {
  bytes: number;
  accuracy: number;
  loss: number;
  latency: LatencyStats;
}

export interface CompressionReport {
  source: string;
  out: string;
  backend: string;
  model: {
    parameters: number;
    weightMatrices: number;
    /** Parameters in the int8 weight matrices. */
    quantizedParameters: number;
    /** Fraction of those stored as int8 zero (pruned, or rounded to 0). */
    int8ZeroFraction: number;
  };
  activations: Activations;
  fp32: ModelMeasurement;
  compressed: ModelMeasurement;
  /** fp32 bytes / compressed bytes */
  ratio: number;
  /** fp32 accuracy − compressed accuracy, in percentage points */
  accuracyDropPoints: number;
  /** fp32 p50 latency / compressed p50 latency */
  speedup: number;
  latencyBatch: number;
  pruning: { target: number; measured: number; accuracyBeforeQuantization: number } | null;
  finetune: { steps: number; distill: boolean; lr: number; seconds: number } | null;
}

export async function compress(o: CompressOptions): Promise<CompressionReport> {
  const op = 'compress';
  objectArg(o, op, 'options');
  const say = o.onMessage ?? (() => {});
  const prune = o.prune ?? 0;
  if (!(prune >= 0 && prune < 1)) throw new et.ArgumentError(`${op}: --prune must be a sparsity in [0, 1), got ${prune}`, { op });
  const activations = o.activations ?? 'int8';
  if (activations !== 'f32' && activations !== 'int8') throw new et.ArgumentError(`${op}: activations must be 'f32' or 'int8', got ${String(activations)}`, { op });
  const steps = o.finetuneSteps ?? (prune > 0 ? 300 : 0);
  const source = manifestPath(o.checkpoint);
  const outDir = resolve(o.out);
  if (existsSync(outDir) && existsSync(source) && realpathSync(outDir) === realpathSync(dirname(source))) {
    throw new et.ArgumentError(`${op}: --out ${o.out} is the source run's directory; choose another directory`, { op });
  }

  // The backend is set before anything is built; webgpu needs its device first.
  const state = loadCheckpoint<TrainState>(o.checkpoint).state;
  if (state.format !== 'eitp-train/1') throw new CheckpointError(`refusing ${source}: not a training checkpoint of eitp train (format ${JSON.stringify(state.format)})`);
  const wanted = o.backend ?? process.env.EITP_BACKEND ?? state.config.backend;
  if (wanted === 'webgpu') await et.initWebGPU();
  const teacher = loadRun(o.checkpoint, { withData: true, backend: wanted });
  const backend = et.getBackend();
  const data = teacher.data!;
  const config = teacher.state.config;
  const disposables: { dispose(): void }[] = [];
  try {
    say(`fp32: ${source} at step ${teacher.state.step}, backend ${backend}`);
    const fp32Eval = await evaluate(teacher.model, data);
    const student = loadRun(o.checkpoint, { backend });
    disposables.push({ dispose: () => et.dispose(student.model.parameters()) });
    const lr = o.lr ?? config.lr / 10;
    const distill = o.distill ?? true;
    let ft: CompressionReport['finetune'] = null;
    let pruning: CompressionReport['pruning'] = null;
    if (prune > 0 || steps > 0) {
      const pruneText = prune > 0 ? `pruning to ${(100 * prune).toFixed(1)} %` : '';
      const distillText = distill ? `, distilling (T = ${DISTILL_DEFAULTS.temperature}, α = ${DISTILL_DEFAULTS.alpha})` : '';
      say(steps > 0 ? `fine-tuning ${steps} steps${pruneText ? `, ${pruneText}` : ''}${distillText}` : `one-shot ${pruneText}`);
      const r = await finetune(student.model, data, {
        steps,
        lr,
        batchSize: config.batchSize,
        weightDecay: config.weightDecay,
        clip: config.clip,
        dataPosition: teacher.state.step,
        ...(prune > 0 ? { prune: defaultPruneSchedule(prune, steps) } : {}),
        ...(distill ? { teacher: teacher.model } : {}),
        onProgress: (step, loss) => say(`  step ${step}/${steps}  loss ${loss.toFixed(4)}`),
      });
      if (steps > 0) ft = { steps, distill, lr, seconds: r.seconds };
      if (prune > 0) {
        const before = await evaluate(student.model, data);
        pruning = { target: prune, measured: r.sparsity, accuracyBeforeQuantization: before.accuracy };
      }
    }
    const { matrices, forms } = await quantizeModel(student.model, activations);
    forms.dispose();
    mkdirSync(outDir, { recursive: true });
    const saved = await saveCompressed(outDir, student.model, matrices, {
      step: teacher.state.step,
      config,
      vocab: [...teacher.state.vocab],
      activations,
      source: { checkpoint: source, step: teacher.state.step },
      pruning: pruning ? { targetSparsity: pruning.target, measuredSparsity: pruning.measured } : null,
      finetune: ft ? { steps: ft.steps, distill: ft.distill, lr: ft.lr } : null,
    });
    say(`wrote ${saved.path} (${saved.bytes} bytes)`);

    const loaded = loadCompressed(outDir);
    disposables.push(loaded.forms, { dispose: () => et.dispose(loaded.model.parameters()) });
    const compressedEval: EvalResult = await evaluate(loaded.model, data);
    const latencyBatch = Math.min(o.latencyBatch ?? 32, data.evalSet().batch);
    say(`timing forward passes (batch ${latencyBatch})`);
    const [lf, lc] = (await measureLatency([teacher.model, loaded.model], data.evalSet(), latencyBatch, { iters: o.latencyIters ?? 50 })) as [LatencyStats, LatencyStats];
    const fpBytes = await fp32Bytes(teacher.model);
    const weights = weightMatrices(loaded.model);
    let zeros = 0;
    let quantized = 0;
    for (const q of loaded.matrices.values()) {
      quantized += q.wq.length;
      for (const v of q.wq) if (v === 0) zeros++;
    }
    const report: CompressionReport = {
      source,
      out: saved.path,
      backend,
      model: { parameters: teacher.model.numParameters(), weightMatrices: weights.length, quantizedParameters: quantized, int8ZeroFraction: quantized ? zeros / quantized : 0 },
      activations,
      fp32: { bytes: fpBytes, accuracy: fp32Eval.accuracy, loss: fp32Eval.loss, latency: lf },
      compressed: { bytes: saved.bytes, accuracy: compressedEval.accuracy, loss: compressedEval.loss, latency: lc },
      ratio: fpBytes / saved.bytes,
      accuracyDropPoints: 100 * (fp32Eval.accuracy - compressedEval.accuracy),
      speedup: lf.p50Ms / lc.p50Ms,
      latencyBatch,
      pruning,
      finetune: ft,
    };
    writeFileAtomic(join(outDir, 'compression.json'), JSON.stringify(report, null, 2) + '\n');
    return report;
  } finally {
    for (const d of disposables.reverse()) d.dispose();
    et.dispose(teacher.model.parameters());
  }
}
