/** From a resolved config to a data source and a model. */
import { describeArg, objectArg } from '../args.js';
import * as et from '../../engine/index.js';
import { addingTask, copyTask, retrievalTask } from '../data/tasks.js';
import type { TaskData } from '../data/task.js';
import { textData } from '../data/text.js';
import type { EitpModel } from '../models/eitp-model.js';
import { CharGpt } from '../models/gpt.js';
import { TanhRnn } from '../models/rnn.js';
import type { ModelConfig, TaskConfig } from './config.js';

/** The data seed is derived from the run seed, so data and initialisation use independent streams. */
export function buildTask(task: TaskConfig, seed: number, vocab?: readonly string[]): TaskData {
  objectArg(task, 'buildTask', 'task');
  const dataSeed = et.nn.deriveSeed(seed, 0xda7a);
  switch (task.kind) {
    case 'retrieval':
      return retrievalTask({ ...task, seed: dataSeed });
    case 'copy':
      return copyTask({ ...task, seed: dataSeed });
    case 'adding':
      return addingTask({ ...task, seed: dataSeed });
    case 'text':
      return textData({ ...task, seed: dataSeed, ...(vocab ? { vocab } : {}) });
  }
}

export function buildModel(model: ModelConfig, data: Pick<TaskData, 'vocab' | 'seqLen' | 'readout'>, seed: number): EitpModel {
  objectArg(model, 'buildModel', 'model');
  objectArg(data, 'buildModel', 'data');
  if (typeof data.vocab?.size !== 'number') throw new et.ArgumentError(`data.vocab must be a Vocab, got ${describeArg(data.vocab)}`, { op: 'buildModel' });
  const common = { vocabSize: data.vocab.size, context: data.seqLen, readout: data.readout, seed: et.nn.deriveSeed(seed, 0x30de1) };
  switch (model.kind) {
    case 'gpt':
      return new CharGpt({ ...common, width: model.width, depth: model.depth, heads: model.heads, mlpRatio: model.mlpRatio, tieWeights: model.tieWeights, smearKeys: model.smearKeys });
    case 'rnn':
      return new TanhRnn({ ...common, hidden: model.hidden, embed: model.embed });
  }
}

/** The sequence length and readout a task gives its model, without building the data (sampling needs no data file). */
export function taskShape(task: TaskConfig): { seqLen: number; readout: 'all' | 'last' } {
  objectArg(task, 'taskShape', 'task');
  switch (task.kind) {
    case 'retrieval':
    case 'adding':
      return { seqLen: task.seqLen, readout: 'last' };
    case 'copy':
      return { seqLen: 2 * task.length, readout: 'all' };
    case 'text':
      return { seqLen: task.seqLen, readout: 'all' };
  }
}
