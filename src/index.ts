/**
 * `import * as eitp from 'eitp'`: the EIT-P framework. The engine is its own entry point, `eitp/engine`, and is
 * re-exported here as `engine` for convenience.
 */
export * as engine from '../engine/index.js';
export { spirals, type ClassificationData } from './data/spirals.js';
export { trainMlp, MLP_JOB_DEFAULTS, type MlpJobOptions, type MlpJobResult } from './cli/train-mlp.js';
