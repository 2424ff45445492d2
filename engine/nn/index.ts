/** engine/nn: modules and layers built on the engine's public API (re-exported as et.nn). */
export { Module, type AnyModule, type LoadStateDictOptions } from './module.js';
export { Linear, type LinearOptions } from './linear.js';
export { Embedding, type EmbeddingOptions } from './embedding.js';
export { LayerNorm, type LayerNormOptions } from './layer-norm.js';
export { Dropout, type DropoutOptions } from './dropout.js';
export { MLP, activate, type Activation, type MLPOptions } from './mlp.js';
export { Sequential } from './sequential.js';
export { deriveSeed } from './seed.js';
