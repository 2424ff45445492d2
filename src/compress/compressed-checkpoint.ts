/**
 * Compressed checkpoints: the crash-safe checkpoint of src/train (a safetensors file + a checksummed manifest)
 * holding the encoded tensors of serialise.ts (int8 payload, f32 scales, bitmasks of the nonzero values), with
 * the tensor layout, the training config and the vocabulary in the manifest's state, so that the directory alone
 * rebuilds the model. Loading is exact: the int8 values, scales and f32 tensors come back bit for bit.
 */
import { readFileSync } from 'node:fs';
import * as et from '../../engine/index.js';
import type { TaskData } from '../data/task.js';
import { Vocab } from '../data/vocab.js';
import type { EitpModel } from '../models/eitp-model.js';
import { buildModel, buildTask, taskShape } from '../train/build.js';
import { type CheckpointManifest, type CheckpointStateBase, CheckpointError, loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import type { TrainConfig } from '../train/config.js';
import { type Activations, type Int8Forms, attachInt8 } from './int8-model.js';
import type { QuantizedMatrix } from './quantize.js';
import { type CompressedEntry, type TensorLayout, decodeTensors, encodeTensors } from './serialise.js';
import { filePathArg, moduleArg, objectArg, optionsArg } from '../args.js';

export const COMPRESSED_FORMAT = 'eitp-compressed/1';
const PREFIX = 'model.';

export interface PruningRecord {
  targetSparsity: number;
  /** Exact zeros over the pruned weights after fine-tuning (before quantisation). */
  measuredSparsity: number;
}

/** What the caller states about a compressed model; the layout is added when it is written. */
export interface CompressedStateInput {
  /** The source run's step. */
  step: number;
  /** The training config of the source run (model, task and seed rebuild the model and its data). */
  config: TrainConfig;
  vocab: string[];
  activations: Activations;
  source: { checkpoint: string; step: number };
  pruning: PruningRecord | null;
  finetune: { steps: number; distill: boolean; lr: number } | null;
}

export interface CompressedState extends CheckpointStateBase, CompressedStateInput {
  format: typeof COMPRESSED_FORMAT;
  layout: Record<string, TensorLayout>;
}

/** The model's parameters as entries: the quantised matrices as int8, everything else f32. */
async function entriesOf(model: EitpModel, matrices: ReadonlyMap<string, QuantizedMatrix>): Promise<Record<string, CompressedEntry>> {
  const entries: Record<string, CompressedEntry> = {};
  for (const [name, t] of model.namedParameters()) {
    const q = matrices.get(name);
    if (q) entries[PREFIX + name] = { kind: 'int8', shape: [q.rows, q.cols], q };
    else {
      if (t.dtype !== 'f32') throw new et.DTypeError(`saveCompressed: parameter "${name}" is ${t.dtype}; compressed checkpoints hold f32 models`, { op: 'saveCompressed', dtypes: [t.dtype] });
      entries[PREFIX + name] = { kind: 'f32', shape: [...t.shape], data: (await t.data()) as Float32Array };
    }
  }
  for (const name of matrices.keys()) if (!entries[PREFIX + name]) throw new et.ArgumentError(`saveCompressed: the model has no parameter "${name}"`, { op: 'saveCompressed' });
  return entries;
}

/** Writes the compressed checkpoint into `dir` (created beforehand); returns the manifest path and the tensor file's bytes. */
export async function saveCompressed(dir: string, model: EitpModel, matrices: ReadonlyMap<string, QuantizedMatrix>, state: CompressedStateInput): Promise<{ path: string; bytes: number }> {
  filePathArg(dir, 'saveCompressed', 'the checkpoint directory');
  moduleArg(model, 'saveCompressed');
  objectArg(state, 'saveCompressed', 'state');
  const { tensors, layout } = encodeTensors(await entriesOf(model, matrices));
  const full: CompressedState = { ...state, format: COMPRESSED_FORMAT, layout };
  const path = saveCheckpoint(dir, tensors, full);
  return { path, bytes: tensorFileBytes(path) };
}

/** The size of a checkpoint's tensor file as its manifest records it (call after the checkpoint was verified or written). */
function tensorFileBytes(manifestFile: string): number {
  return (JSON.parse(readFileSync(manifestFile, 'utf8')) as CheckpointManifest).tensorsBytes;
}

export interface LoadedCompressed {
  path: string;
  state: CompressedState;
  model: EitpModel;
  forms: Int8Forms;
  /** The quantised matrices as stored. */
  matrices: Map<string, QuantizedMatrix>;
  /** Bytes of the safetensors file. */
  bytes: number;
  data?: TaskData;
}

/** Reads and verifies a compressed checkpoint, rebuilds its model on the current backend and attaches the int8 forms. */
export function loadCompressed(pathOrDir: string, options?: { withData?: boolean; activations?: Activations }): LoadedCompressed {
  const { withData = false, activations } = optionsArg(options, 'loadCompressed');
  const ck = loadCheckpoint<CompressedState>(filePathArg(pathOrDir, 'loadCompressed', 'the checkpoint path'));
  if (ck.state.format !== COMPRESSED_FORMAT) throw new CheckpointError(`refusing ${ck.path}: not a compressed checkpoint (format ${JSON.stringify(ck.state.format)}; compress it with eitp compress)`);
  const { config, vocab: chars } = ck.state;
  const entries = decodeTensors(ck.tensors, ck.state.layout, ck.path);
  const vocab = new Vocab(chars);
  const model = buildModel(config.model, { vocab, ...taskShape(config.task) }, config.seed);
  const matrices = new Map<string, QuantizedMatrix>();
  const dict: Record<string, et.Tensor> = {};
  try {
    for (const [key, e] of Object.entries(entries)) {
      if (!key.startsWith(PREFIX)) throw new CheckpointError(`${ck.path}: unexpected tensor "${key}"`);
      const name = key.slice(PREFIX.length);
      if (e.kind === 'int8') matrices.set(name, e.q);
      // an int8 matrix enters the state dict as zeros of its shape; attachInt8 then writes its dequantised values
      dict[name] = e.kind === 'f32' ? et.tensor(e.data, { shape: e.shape }) : et.zeros(e.shape);
    }
    try {
      model.loadStateDict(dict);
    } catch (err) {
      throw new CheckpointError(`compressed checkpoint ${ck.path} does not fit its model: ${(err as Error).message}`);
    }
  } catch (err) {
    et.dispose(model.parameters());
    throw err;
  } finally {
    et.dispose(Object.values(dict));
  }
  const forms = attachInt8(model, matrices, activations ?? ck.state.activations);
  model.eval();
  const data = withData ? buildTask(config.task, config.seed, chars) : undefined;
  return { path: ck.path, state: ck.state, model, forms, matrices, bytes: tensorFileBytes(ck.path), ...(data ? { data } : {}) };
}
