/**
 * Packing a kernel call for the addon: operand layouts into one Float64Array and each op's attributes into
 * another, in the order native/*.cc reads them. Numbers, not objects, so the C++ side parses them without
 * touching JS property lookups.
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

// One scratch array reused by every call: the addon decodes the layouts before `run` returns, and allocating a
// fresh Float64Array per kernel call was about a tenth of the JS cost of a small op.
let scratch = new Float64Array(64);

/**
 * [nIn, per input: dtype, rank, offset, shape..., strides..., output: dtype, rank, shape...], written into a shared
 * scratch array that is valid until the next call (its tail beyond the encoding is stale; the addon reads by count).
 */
export function encodeLayouts(inputs: readonly KernelArg[], output: KernelArg): Float64Array {
  let n = 1 + 2 + output.layout.shape.length;
  for (const x of inputs) n += 3 + 2 * x.layout.shape.length;
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, 2 * scratch.length));
  const m = scratch;
  let i = 0;
  m[i++] = inputs.length;
  for (const x of inputs) {
    const { shape, strides, offset } = x.layout;
    m[i++] = code(x.dtype);
    m[i++] = shape.length;
    m[i++] = offset;
    for (const d of shape) m[i++] = d;
    for (const s of strides) m[i++] = s;
  }
  m[i++] = code(output.dtype);
  m[i++] = output.layout.shape.length;
  for (const d of output.layout.shape) m[i++] = d;
  return m;
}

const EMPTY = new Float64Array(0);

/** [bins, low, width, bandwidth], as native/soft-histogram.cc reads them. */
const histogram = (a: HistogramAttrs) => Float64Array.of(a.bins, a.low, a.width, a.bandwidth);

const reduce = (a: ReduceAttrs, ...extra: number[]) => Float64Array.from([a.axes.length, ...a.axes, a.keepdims ? 1 : 0, ...extra]);

/** Must match enum Activation in native/gemm.h (also activationGrad's code in native/train-fused.cc). */
const ACTIVATION_CODES: Record<'none' | GradActivation, number> = { none: 0, relu: 1, tanh: 2, sigmoid: 3 };

/** 0 mean, 1 sum, 2 none, as native/nn.cc and native/train-fused.cc read them. */
const reductionCode = (r: 'mean' | 'sum' | 'none') => (r === 'mean' ? 0 : r === 'sum' ? 1 : 2);

/** Per-op attribute encoders; ops without attributes (or whose only attribute is the output dtype) send nothing. */
const ENCODERS: { [K in KernelOpName]?: (attrs: OpAttrs[K]) => Float64Array } = {
  gelu: (a) => Float64Array.of(a.approximate === 'tanh' ? 1 : 0),
  sum: (a) => reduce(a),
  mean: (a) => reduce(a),
  max: (a) => reduce(a),
  logsumexp: (a) => reduce(a),
  norm: (a) => reduce(a),
  var: (a) => reduce(a, a.correction),
  argmax: (a) => Float64Array.of(a.axis),
  softmax: (a) => Float64Array.of(a.axis),
  logSoftmax: (a) => Float64Array.of(a.axis),
  crossEntropy: (a) => Float64Array.of(reductionCode(a.reduction)),
  layerNorm: (a) => Float64Array.of(a.eps),
  crossEntropyGrad: (a) => Float64Array.of(reductionCode(a.reduction)),
  layerNormGrad: (a) => Float64Array.of(a.eps),
  geluGrad: (a) => Float64Array.of(a.approximate === 'tanh' ? 1 : 0),
  activationGrad: (a) => Float64Array.of(ACTIVATION_CODES[a.activation]),
  linear: (a) => Float64Array.of(ACTIVATION_CODES[a.activation]),
  // the order kAdamStep in native/train-fused.cc reads them
  adamStep: (a) => Float64Array.of(a.beta1, a.beta2, a.eps, a.weightDecay, a.decay, a.stepSize, a.bias2Sqrt),
  // the order kSgdStep in native/train-fused.cc reads them (booleans as 0/1)
  sgdStep: (a) => Float64Array.of(a.lr, a.momentum, a.dampening, a.nesterov ? 1 : 0, a.weightDecay, a.first ? 1 : 0),
  softHistogram: histogram,
  softHistogramGrad: histogram,
  correlation: (a) => Float64Array.of(a.eps),
  correlationGrad: (a) => Float64Array.of(a.eps),
  matmulInt8: (a) => Float64Array.of(a.activations === 'int8' ? 1 : 0),
  scatterAdd: (a) => Float64Array.of(a.numRows),
  oneHot: (a) => Float64Array.of(a.numClasses),
  concat: (a) => Float64Array.of(a.axis),
  pad: (a) => Float64Array.from(a.widths.flat()),
};

export function encodeAttrs<K extends KernelOpName>(op: K, attrs: OpAttrs[K]): Float64Array {
  const enc = ENCODERS[op] as ((a: OpAttrs[K]) => Float64Array) | undefined;
  return enc ? enc(attrs) : EMPTY;
}
