/** src/models: the models EIT-P trains, each implementing EitpModel. */
export type { EitpModel, ForwardResult, ActivationTap, Dynamics, PathStructure } from './eitp-model.js';
export { CharGpt, GptBlock, causalMask, type GptConfig } from './gpt.js';
export { TanhRnn, type RnnConfig } from './rnn.js';
export { MlpModel, type MlpConfig } from './mlp.js';
export { linear, matmulWeight, setInt8Form, int8Form, type Int8Weight } from './linear.js';
