/**
 * Packing a kernel call for the addon: operand layouts, then the op's attributes, into one Float64Array, in the
 * order native/*.cc reads them. Numbers, not objects, so the C++ side parses them without touching JS property
 * lookups.
 */
import type { KernelArg, KernelOpName } from '../../backend.js';
import type { DType } from '../../dtype.js';
import type { GradActivation, HistogramAttrs, OpAttrs, ReduceAttrs } from '../../ops/attrs.js';

/** Must match enum DType in native/common.h. */
export const DTYPE_CODES: Partial<Record<DType, number>> = { f32: 0, i32: 1, i8: 2, u8: 3 };

function code(d: DType): number {
  const c = DTYPE_CODES[d];
  if (c === undefined) throw new Error(`dtype ${d} is not supported by the native backend`);
  return c;
}

/**
 * Each kernel call is written into one reused Float64Array, passed with the kernel's id and the buffer handles:
 * [nIn, per input: dtype, rank, offset, shape..., strides..., output: dtype, rank, shape..., attribute count,
 * attributes...]. The addon decodes it before runKernel returns, so one array serves every call (it grows when a
 * call does not fit); allocating one per call was about a tenth of the JS cost of a small op.
 */
let buffer = new Float64Array(256);

export function encodeCall<K extends KernelOpName>(op: K, inputs: readonly KernelArg[], output: KernelArg, attrs: OpAttrs[K]): Float64Array {
  const extra = encodeAttrs(op, attrs);
  let n = 1 + 2 + output.layout.shape.length + 1 + extra.length;
  for (let k = 0; k < inputs.length; k++) n += 3 + 2 * inputs[k]!.layout.shape.length;
  if (buffer.length < n) buffer = new Float64Array(Math.max(n, 2 * buffer.length));
  const m = buffer;
  let i = 0;
  m[i++] = inputs.length;
  // index loops: shapes and strides are frozen arrays, whose for...of allocates per element (engine/shape.ts)
  for (let k = 0; k < inputs.length; k++) {
    const x = inputs[k]!;
    const { shape, strides, offset } = x.layout;
    m[i++] = code(x.dtype);
    m[i++] = shape.length;
    m[i++] = offset;
    for (let d = 0; d < shape.length; d++) m[i++] = shape[d]!;
    for (let d = 0; d < strides.length; d++) m[i++] = strides[d]!;
  }
  const outShape = output.layout.shape;
  m[i++] = code(output.dtype);
  m[i++] = outShape.length;
  for (let d = 0; d < outShape.length; d++) m[i++] = outShape[d]!;
  m[i++] = extra.length;
  for (let a = 0; a < extra.length; a++) m[i++] = extra[a]!;
  return m;
}

const NONE: readonly number[] = [];

/** [bins, low, width, bandwidth], as native/soft-histogram.cc reads them. */
const histogram = (a: HistogramAttrs) => [a.bins, a.low, a.width, a.bandwidth];

const reduce = (a: ReduceAttrs, ...extra: number[]) => [a.axes.length, ...a.axes, a.keepdims ? 1 : 0, ...extra];

/** Must match enum Activation in native/gemm.h (also activationGrad's code in native/train-fused.cc). */
const ACTIVATION_CODES: Record<'none' | GradActivation, number> = { none: 0, relu: 1, tanh: 2, sigmoid: 3 };

/** 0 mean, 1 sum, 2 none, as native/nn.cc and native/train-fused.cc read them. */
const reductionCode = (r: 'mean' | 'sum' | 'none') => (r === 'mean' ? 0 : r === 'sum' ? 1 : 2);

/** Per-op attribute encoders; ops without attributes (or whose only attribute is the output dtype) send nothing. */
const ENCODERS: { [K in KernelOpName]?: (attrs: OpAttrs[K]) => readonly number[] } = {
  gelu: (a) => [a.approximate === 'tanh' ? 1 : 0],
  sum: (a) => reduce(a),
  mean: (a) => reduce(a),
  max: (a) => reduce(a),
  logsumexp: (a) => reduce(a),
  norm: (a) => reduce(a),
  var: (a) => reduce(a, a.correction),
  argmax: (a) => [a.axis],
  softmax: (a) => [a.axis],
  softmaxGrad: (a) => [a.axis],
  softmaxGradGrad: (a) => [a.axis],
  logSoftmax: (a) => [a.axis],
  crossEntropy: (a) => [reductionCode(a.reduction)],
  layerNorm: (a) => [a.eps],
  crossEntropyGrad: (a) => [reductionCode(a.reduction)],
  layerNormGrad: (a) => [a.eps],
  layerNormGradGrad: (a) => [a.eps],
  geluGrad: (a) => [a.approximate === 'tanh' ? 1 : 0, a.order ?? 1],
  activationGrad: (a) => [ACTIVATION_CODES[a.activation]],
  linear: (a) => [ACTIVATION_CODES[a.activation]],
  // the order kAdamStep in native/train-fused.cc reads them
  adamStep: (a) => [a.beta1, a.beta2, a.eps, a.weightDecay, a.decay, a.stepSize, a.bias2Sqrt],
  // the order kSgdStep in native/train-fused.cc reads them (booleans as 0/1)
  sgdStep: (a) => [a.lr, a.momentum, a.dampening, a.nesterov ? 1 : 0, a.weightDecay, a.first ? 1 : 0],
  softHistogram: histogram,
  softHistogramGrad: histogram,
  correlation: (a) => [a.eps],
  correlationGrad: (a) => [a.eps],
  coherence: (a) => [a.eps],
  coherenceGrad: (a) => [a.eps],
  activationDensity: (a) => [a.eps],
  activationDensityGrad: (a) => [a.eps],
  matmulInt8: (a) => [a.activations === 'int8' ? 1 : 0],
  scatterAdd: (a) => [a.numRows],
  oneHot: (a) => [a.numClasses],
  concat: (a) => [a.axis],
  pad: (a) => a.widths.flat(),
};

function encodeAttrs<K extends KernelOpName>(op: K, attrs: OpAttrs[K]): readonly number[] {
  const enc = ENCODERS[op] as ((a: OpAttrs[K]) => readonly number[]) | undefined;
  return enc ? enc(attrs) : NONE;
}
