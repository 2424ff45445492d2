/** Autoregressive sampling from a trained sequence model: temperature softmax (or greedy at temperature 0), seeded. */
import { describeArg, moduleArg, objectArg } from '../args.js';
import * as et from '../../engine/index.js';
import type { Vocab } from '../data/vocab.js';
import type { EitpModel } from '../models/eitp-model.js';

export interface SampleOptions {
  /** Characters to generate. */
  length: number;
  /** Softmax temperature; 0 = greedy (argmax). */
  temperature?: number;
  seed?: number;
  /** The model's maximum context: older characters are cropped. */
  context: number;
}

export async function sampleText(model: EitpModel, vocab: Vocab, prompt: string, opts: SampleOptions): Promise<string> {
  moduleArg(model, 'sampleText');
  objectArg(vocab, 'sampleText', 'vocab');
  if (typeof prompt !== 'string') throw new et.ArgumentError(`prompt must be a string, got ${describeArg(prompt)}`, { op: 'sampleText' });
  objectArg(opts, 'sampleText', 'options');
  const { length, temperature = 1, seed = 0, context } = opts;
  const rng = new et.Rng(seed);
  const ids = Array.from(vocab.encode(prompt));
  if (ids.length === 0) ids.push(rng.int(0, vocab.size));
  const start = ids.length;
  const wasTraining = model.training;
  model.eval();
  try {
    for (let i = 0; i < length; i++) {
      const window = ids.slice(-context);
      const logitsT = et.tidy(() =>
        et.noGrad(() => {
          const logits = model.forward(et.tensor(Int32Array.from(window), { shape: [1, window.length] })).logits;
          // readout 'all' gives [1, T, V] (take the last position), 'last' gives [1, V]
          return logits.rank === 3 ? logits.slice([0, window.length - 1, 0]).reshape([-1]) : logits.reshape([-1]);
        }),
      );
      const logits = await logitsT.data();
      logitsT.dispose();
      ids.push(pick(logits, temperature, rng));
    }
  } finally {
    model.train(wasTraining);
  }
  return vocab.decode(ids.slice(start));
}

function pick(logits: ArrayLike<number>, temperature: number, rng: et.Rng): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  if (temperature <= 0) return best;
  const p = new Float64Array(logits.length);
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += p[i] = Math.exp((logits[i]! - logits[best]!) / temperature);
  let u = rng.next() * z;
  for (let i = 0; i < p.length; i++) if ((u -= p[i]!) <= 0) return i;
  return p.length - 1;
}
