/**
 * `import * as eitp from 'eitp'`: the EIT-P framework. The engine is its own entry point, `eitp/engine`, and is
 * re-exported here as `engine` for convenience.
 */
export * as engine from '../engine/index.js';
export * from './models/index.js';
export * from './data/index.js';
export * from './train/index.js';
export { trainMlp, MLP_JOB_DEFAULTS, type MlpJobOptions, type MlpJobResult } from './cli/train-mlp.js';
export * from './eitp/index.js';
export * from './compress/index.js';
