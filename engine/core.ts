/**
 * The engine's tensor API: everything `eitp/engine` exports except the nn and optim namespaces, which are built on
 * it (they import this file, so index.ts re-exporting them makes no import cycle).
 */
import './backends/register.js';
import './tensor-methods.js';

export { Tensor, type TensorLike } from './tensor.js';
export type { DType, TypedArray } from './dtype.js';
export type { Shape } from './shape.js';
export type { BackendName, BackendStatus } from './backend.js';
export type { OpName, OpAttrs } from './ops/attrs.js';
export { opTable } from './ops/table.js';
export * from './errors.js';

export {
  tensor,
  zeros,
  ones,
  full,
  zerosLike,
  onesLike,
  fullLike,
  arange,
  eye,
  rand,
  randn,
  randint,
  toBackend,
  type CreateOptions,
  type RandomOptions,
} from './creation.js';
export { seed, Rng, getRngState, setRngState } from './random.js';

export { neg, exp, log, sqrt, rsqrt, tanh, sigmoid, relu, gelu, abs, square, erf, sign } from './ops/unary.js';
export { add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, where } from './ops/binary.js';
export { sum, mean, max, logsumexp, norm, variance, variance as var, argmax, type AxisArg } from './ops/reduce.js';
export { matmul } from './ops/matmul.js';
export { softmax, logSoftmax, crossEntropy, layerNorm } from './ops/nn.js';
export { linear, activationGrad, geluGrad, adamStep, sgdStep } from './ops/train-fused.js';
export type { GradActivation, GeluGradOrder, AdamStepAttrs, SgdStepAttrs } from './ops/attrs.js';
export { softHistogram, correlation, coherenceOfCorrelation, tanhJvp, EITP_HISTOGRAM } from './ops/eitp-fused.js';
export { coherence } from './ops/coherence.js';
export { tanhJvpStep, type TanhJvpStep } from './ops/tanh-jvp-step.js';
export { activationDensity } from './ops/activation-density.js';
export { softmaxGrad } from './ops/softmax-grad.js';
export { softmaxGradGrad } from './ops/softmax-grad-grad.js';
export { layerNormGradGrad } from './ops/layer-norm-grad-grad.js';
export { matmulInt8 } from './ops/quant.js';
export { embedding, scatterAdd, oneHot } from './ops/indexing.js';
export { concat, stack, split, pad } from './ops/structure.js';
export {
  reshape,
  permute,
  transpose,
  slice,
  expand,
  broadcastTo,
  squeeze,
  unsqueeze,
  flatten,
  stopGradient,
  detach,
  contiguous,
  cast,
} from './ops/views.js';

export { noGrad, isGradEnabled } from './autograd/grad-mode.js';
export { grad, valueAndGrad, vjp, jvp, type GradOptions } from './autograd/transforms.js';
export { linearize } from './autograd/linearize.js';
export { tidy, keep, dispose, memory, type MemoryInfo } from './memory.js';
export { setBackend, getBackend, backendInfo } from './device.js';
export { kernelCoverage, kernelOps, type KernelCoverage } from './coverage.js';
export {
  initWebGPU,
  destroyWebGPU,
  syncWebGPU,
  webgpuStats,
  type WebGpuOptions,
  type WebGpuStats,
} from './backends/webgpu/index.js';
export { profile, type ProfileResult } from './profile.js';
export type { KernelSpan, KernelTime } from './backend.js';
export { cudaInfo } from './backends/cuda/index.js';
export { nativeFmaPeak } from './backends/native/index.js';
export type { NativeFmaPeak } from './backends/native/native-addon.js';

