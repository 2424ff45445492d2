/** Loading a trained run: its checkpoint (verified), config, vocabulary and model, with or without its data. */
import * as et from '../../engine/index.js';
import type { TaskData } from '../data/task.js';
import { Vocab } from '../data/vocab.js';
import type { EitpModel } from '../models/eitp-model.js';
import { buildModel, buildTask, taskShape } from './build.js';
import { loadCheckpoint } from './checkpoint.js';
import { type TrainState, loadModelTensors } from './trainer.js';
import { filePathArg, optionsArg } from '../args.js';

export interface LoadedRun {
  path: string;
  state: TrainState;
  model: EitpModel;
  vocab: Vocab;
  seqLen: number;
  /** Built only when asked (a text task reads its file). */
  data?: TaskData;
}

export function loadRun(dir: string, options?: { withData?: boolean; backend?: string }): LoadedRun {
  const { withData = false, backend } = optionsArg(options, 'loadRun');
  const ckpt = loadCheckpoint<TrainState>(filePathArg(dir, 'loadRun', 'the run directory'));
  const { config } = ckpt.state;
  et.setBackend((backend ?? config.backend) as et.BackendName | 'auto');
  const vocab = new Vocab(ckpt.state.vocab);
  const data = withData ? buildTask(config.task, config.seed, ckpt.state.vocab) : undefined;
  const shape = taskShape(config.task);
  const model = buildModel(config.model, { vocab, ...shape }, config.seed);
  loadModelTensors(model, ckpt.tensors, ckpt.path);
  model.eval();
  return { path: ckpt.path, state: ckpt.state, model, vocab, seqLen: shape.seqLen, ...(data ? { data } : {}) };
}
