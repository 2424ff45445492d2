/**
 * Character-level text from any file: the vocabulary is the file's distinct characters (or a saved one, so a model
 * decodes with the vocabulary it was trained with), the last `heldOut` fraction is the held-out split, training
 * batches are random windows drawn from the stream deriveSeed(seed, batchIndex), and the evaluation set is
 * non-overlapping windows of the held-out split (fixed context and stride).
 */
import { readFileSync } from 'node:fs';
import * as et from '../../engine/index.js';
import type { HostBatch, TaskData } from './task.js';
import { Vocab } from './vocab.js';
import { filePathArg, objectArg } from '../args.js';

export interface TextOptions {
  path: string;
  seqLen: number;
  /** Fraction of the text (its end) held out, default 0.1. */
  heldOut?: number;
  /** Windows in the evaluation set (at most as many as fit), default 256. */
  evalSize?: number;
  seed: number;
  /** A saved vocabulary (characters outside it are an error). */
  vocab?: readonly string[];
}

export class DataFileError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot read data file '${path}': ${reason}`);
    this.name = 'DataFileError';
  }
}

export function readTextFile(path: string): string {
  filePathArg(path, 'readTextFile');
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new DataFileError(path, err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a directory' : (err.message ?? String(e)));
  }
}

export function textData(opts: TextOptions): TaskData {
  objectArg(opts, 'text', 'options');
  const { path, seqLen: T, heldOut = 0.1, evalSize = 256, seed } = opts;
  if (!Number.isInteger(T) || T < 1) throw new et.ArgumentError(`text: seqLen must be a positive integer, got ${T}`, { op: 'text' });
  if (!(heldOut > 0 && heldOut < 1)) throw new et.ArgumentError(`text: heldOut must be in (0, 1), got ${heldOut}`, { op: 'text' });
  const text = readTextFile(path);
  const vocab = opts.vocab ? new Vocab(opts.vocab) : Vocab.fromText(text);
  let ids: Int32Array;
  try {
    ids = vocab.encode(text);
  } catch (e) {
    throw new DataFileError(path, `${(e as Error).message} saved with the model`);
  }
  const split = Math.floor(ids.length * (1 - heldOut));
  const train = ids.subarray(0, split);
  const test = ids.subarray(split);
  if (train.length < T + 1 || test.length < T + 1) {
    throw new DataFileError(path, `too short (${ids.length} characters) for windows of ${T + 1} in both splits`);
  }
  function windows(src: Int32Array, starts: number[]): HostBatch {
    const n = starts.length;
    const inputs = new Int32Array(n * T);
    const targets = new Int32Array(n * T);
    starts.forEach((s, r) => {
      inputs.set(src.subarray(s, s + T), r * T);
      targets.set(src.subarray(s + 1, s + T + 1), r * T);
    });
    return { inputs, targets, batch: n, seqLen: T };
  }
  let evalCache: HostBatch | null = null;
  return {
    kind: 'text',
    vocab,
    seqLen: T,
    readout: 'all',
    trainTokens: train.length,
    trainBatch: (index, size) => {
      const rng = new et.Rng(et.nn.deriveSeed(seed, index));
      return windows(train, Array.from({ length: size }, () => rng.int(0, train.length - T)));
    },
    evalSet: () => {
      if (!evalCache) {
        const count = Math.min(evalSize, Math.floor((test.length - 1) / T));
        evalCache = windows(test, Array.from({ length: count }, (_, i) => i * T));
      }
      return evalCache;
    },
    describe: () => `text ${path}: ${ids.length} characters, vocabulary ${vocab.size}, held out ${test.length}`,
  };
}
