/** src/data: character vocabularies, text files and generated tasks. */
export { Vocab } from './vocab.js';
export type { HostBatch, TaskData } from './task.js';
export { retrievalTask, copyTask, addingTask, RETRIEVAL_DEFAULTS, type RetrievalOptions, type CopyOptions, type AddingOptions } from './tasks.js';
export { textData, readTextFile, DataFileError, type TextOptions } from './text.js';
export { spirals, type ClassificationData } from './spirals.js';
