/** src/train: the trainer, checkpoints (safetensors + JSON), metrics, progress, evaluation and sampling. */
export { train, TrainingDivergedError, loadModelTensors, temperatureAt, type TrainOptions, type TrainResult, type TrainState, type ObjectiveFn, type GradNormFn } from './trainer.js';
export { resolveConfig, DEFAULT_CONFIG, TASK_DEFAULTS, MODEL_DEFAULTS, CONFIG_SCHEMA, type TrainConfig, type TaskConfig, type ModelConfig } from './config.js';
export { ConfigError, validate, type Schema } from './schema.js';
export { saveCheckpoint, loadCheckpoint, writeFileAtomic, CheckpointError, sha256, MANIFEST, type WriteHooks, type LoadedCheckpoint } from './checkpoint.js';
export { encodeSafetensors, decodeSafetensors, SafetensorsError, type HostTensor } from './safetensors.js';
export { MetricsLog, type MetricsRecord } from './metrics.js';
export { Progress } from './progress.js';
export { evaluate, type EvalResult, type DistanceBucket } from './evaluate.js';
export { sampleText, type SampleOptions } from './sample.js';
export { buildModel, buildTask, taskShape } from './build.js';
export { loadRun, type LoadedRun } from './load.js';
