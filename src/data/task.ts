/**
 * What the trainer needs from a data source: deterministic training batches addressed by their index (so a resumed
 * run regenerates exactly the batches an uninterrupted run would have seen), a fixed evaluation set, and the
 * vocabulary. Batches live on the host as typed arrays; the trainer uploads them.
 */
import type { Vocab } from './vocab.js';

export interface HostBatch {
  /** [batch, seqLen] token ids, row-major. */
  readonly inputs: Int32Array;
  /** [batch] (readout 'last') or [batch, seqLen] (readout 'all') target ids. */
  readonly targets: Int32Array;
  readonly batch: number;
  readonly seqLen: number;
  /** Per example: the key-query distance of a retrieval example (bucketed accuracy); absent otherwise. */
  readonly distances?: Int32Array;
  /** [batch, seqLen] 1 where a position's prediction is scored (copy task); absent: every target is scored. */
  readonly scored?: Uint8Array;
}

export interface TaskData {
  readonly kind: 'retrieval' | 'copy' | 'adding' | 'text';
  readonly vocab: Vocab;
  readonly seqLen: number;
  /** 'last': one target per sequence (logits of the last position); 'all': one per position. */
  readonly readout: 'all' | 'last';
  /** The index-th training batch: a pure function of (the data seed, index, size). */
  trainBatch(index: number, size: number): HostBatch;
  /** The fixed held-out set. */
  evalSet(): HostBatch;
  /** Accuracy buckets for retrieval: [lo, hi] inclusive distance ranges. */
  readonly distanceBuckets?: readonly (readonly [number, number])[];
  /** Tokens in the training split (text): an epoch is one pass over them; generated tasks have no epochs of their own. */
  readonly trainTokens?: number;
  /** Human-readable one-line description. */
  describe(): string;
}
