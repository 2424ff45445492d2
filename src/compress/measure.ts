/**
 * What a compressed model is measured by (EITP-SPEC "Measurement"): the size ratio fp32 bytes / compressed
 * bytes, where fp32 bytes is the safetensors file of the model's parameters in f32 (no optimizer state) and the
 * compressed bytes the compressed checkpoint's tensor file; the absolute drop of the task metric on the held-out
 * set; and the latency of one forward pass (p50, p95) of both models on the same backend, same input.
 */
import { describeArg, moduleArg, objectArg } from '../args.js';
import * as et from '../../engine/index.js';
import { quantileSorted } from '../bench/stats.js';
import type { HostBatch } from '../data/task.js';
import type { EitpModel } from '../models/eitp-model.js';
import { encodeSafetensors, type HostTensor } from '../train/safetensors.js';

/** Bytes of the model's parameters written as one f32 safetensors file (named like a checkpoint's "model.*"). */
export async function fp32Bytes(model: EitpModel): Promise<number> {
  moduleArg(model, 'fp32Bytes');
  const tensors: Record<string, HostTensor> = {};
  for (const [name, t] of model.namedParameters()) {
    if (t.dtype !== 'f32') throw new et.DTypeError(`fp32Bytes: parameter "${name}" is ${t.dtype}`, { op: 'fp32Bytes', dtypes: [t.dtype] });
    tensors[`model.${name}`] = { dtype: 'f32', shape: [...t.shape], data: await t.data() };
  }
  return encodeSafetensors(tensors).length;
}

export interface LatencyStats {
  p50Ms: number;
  p95Ms: number;
  samples: number;
}

export interface LatencyOptions {
  /** Untimed passes per model first (kernel caches, pipelines, allocator pools). */
  warmup?: number;
  /** Timed passes per model. */
  iters?: number;
}

/**
 * Times forward passes of each model on the first `batch` examples of `set`: one pass = forward under noGrad plus
 * reading the logits back (which waits for a GPU backend to finish). The models take turns pass by pass, so a
 * load change on a shared machine affects them alike.
 */
export async function measureLatency(models: readonly EitpModel[], set: HostBatch, batch: number, { warmup = 5, iters = 50 }: LatencyOptions = {}): Promise<LatencyStats[]> {
  const op = 'measureLatency';
  if (!Array.isArray(models)) throw new et.ArgumentError(`models must be an array of models, got ${describeArg(models)}`, { op });
  models.forEach((m, i) => moduleArg(m, op, `models[${i}]`));
  objectArg(set, op, 'the batch');
  if (!Number.isInteger(batch) || batch < 1 || batch > set.batch) throw new et.ArgumentError(`${op}: batch must be an integer in [1, ${set.batch}], got ${batch}`, { op });
  if (!Number.isInteger(iters) || iters < 1) throw new et.ArgumentError(`${op}: iters must be a positive integer, got ${iters}`, { op });
  const x = et.tensor(set.inputs.subarray(0, batch * set.seqLen), { shape: [batch, set.seqLen] });
  const samples = models.map(() => [] as number[]);
  const once = async (m: EitpModel): Promise<number> => {
    const t0 = performance.now();
    const logits = et.tidy(() => et.noGrad(() => m.forward(x).logits));
    await logits.data();
    logits.dispose();
    return performance.now() - t0;
  };
  try {
    for (let i = 0; i < warmup + iters; i++) {
      for (const [j, m] of models.entries()) {
        const ms = await once(m);
        if (i >= warmup) samples[j]!.push(ms);
      }
    }
  } finally {
    x.dispose();
  }
  return samples.map((s) => {
    const sorted = [...s].sort((a, b) => a - b);
    return { p50Ms: quantileSorted(sorted, 0.5), p95Ms: quantileSorted(sorted, 0.95), samples: sorted.length };
  });
}
