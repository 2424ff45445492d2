/** engine/optim: optimizers, gradient clipping and lr schedules (re-exported as et.optim). */
export { Optimizer, type OptimizerMeta, type OptimizerStateDict } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, type AdamOptions } from './adam.js';
export { AdamW } from './adamw.js';
export { clipGradNorm } from './clip-grad-norm.js';
export { constant, linearWarmup, cosine, stepDecay, type Schedule, type CosineOptions } from './schedules.js';
export { LrScheduler, type LrSchedulerOptions, type LrSchedulerState } from './lr-scheduler.js';
