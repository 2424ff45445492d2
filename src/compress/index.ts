/** src/compress: int8 quantisation, pruning, distillation, compressed checkpoints and their measurement. */
export { roundHalfEven, quantizePerChannel, dequantize, type QuantizedMatrix } from './quantize.js';
export { weightMatrices, attachInt8, quantizeModel, Int8Forms, type Activations } from './int8-model.js';
export { cubicSparsity, sparsityAfter, isPruneStep, globalMagnitudeMasks, measuredSparsity, validatePruneSchedule, MagnitudePruner, type PruneSchedule } from './pruning.js';
export { distillationLoss, DISTILL_DEFAULTS, type DistillOptions } from './distill.js';
export { finetune, defaultPruneSchedule, type FinetuneOptions, type FinetuneResult } from './finetune.js';
export { encodeTensors, decodeTensors, packSparse, unpackSparse, countNonzero, type TensorEncoding, type TensorLayout, type CompressedEntry } from './serialise.js';
export { saveCompressed, loadCompressed, COMPRESSED_FORMAT, type CompressedState, type CompressedStateInput, type LoadedCompressed, type PruningRecord } from './compressed-checkpoint.js';
export { fp32Bytes, measureLatency, type LatencyStats, type LatencyOptions } from './measure.js';
export { compress, type CompressOptions, type CompressionReport, type ModelMeasurement } from './compress.js';
export { compressionTable, compressionNotes, compressionLabel, signedPoints } from './table.js';
