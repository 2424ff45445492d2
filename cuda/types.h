// Plain structs shared by host code and kernels (no device code here, so the N-API sources can include it with
// any C++ compiler). Kernels receive them by value as launch parameters.
#pragma once
#include <cstdint>

namespace eitp {

constexpr int kMaxDims = 8;

// A launch shape (row-major), after the host merged mergeable axes and dropped size-1 axes.
struct Shape {
  int rank;
  int64_t dim[kMaxDims];
};

// How one operand is addressed over a Shape: element offset and per-axis element strides (0 = broadcast).
struct Strides {
  int64_t offset;
  int64_t stride[kMaxDims];
  int contiguous;  // the dense row-major pattern: index = offset + i
};

// Index checks inside kernels cannot throw; the first failure is recorded here and the host reports it as an
// error at the next readback.
struct DeviceError {
  int code;  // 0 = none, else an ErrorOp (-1 while being written)
  int pad;
  long long position, value, limit;
};
enum ErrorOp : int { kErrNone = 0, kErrEmbedding = 1, kErrScatterAdd = 2, kErrOneHot = 3, kErrCrossEntropy = 4, kErrCrossEntropyGrad = 5 };

struct ReduceGeom {
  Shape kept;       // output shape
  Strides kstride;  // input strides over the kept axes (offset = the input's element offset)
  Shape red;        // reduced axes
  Strides rstride;  // input strides over the reduced axes (offset 0)
  int64_t outer;    // number of outputs
  int64_t inner;    // elements reduced per output
};
enum ReduceOp : int { kSum = 0, kMean = 1, kMax = 2, kLogsumexp = 3, kVar = 4, kNorm = 5 };

struct MatOperand {
  const float* p;
  int64_t offset;  // element offset of batch 0
  int64_t rs, cs;  // row / column strides in elements
  Strides batch;   // strides over the batch shape (offset unused)
};

// The activations of linear's epilogue (and activationGrad's derivatives, relu / tanh / sigmoid only).
enum Activation : int { kActNone = 0, kActRelu = 1, kActTanh = 2, kActSigmoid = 3 };

struct MatmulArgs {
  MatOperand a, b;
  float* c;           // dense [batches, M, N]
  const float* h;     // null, or dense [batches, M, N]: tanhJvp's epilogue c = (1 − h²) ⊙ (a·b)
  const float* bias;  // null, or dense [N]: linear's epilogue c = act(a·b + bias) with `act` an Activation
  int act;
  int64_t m, n, k;
  Shape batch;
  int64_t batches;
};

// How crossEntropyGrad scales a row: g/rows ('mean'), g ('sum'), g[row] ('none').
enum CrossEntropyScale : int { kScaleMean = 0, kScaleSum = 1, kScaleNone = 2 };

// One Adam/AdamW step's scalars (engine/ops/attrs.ts AdamStepAttrs), folded on the host in double, then rounded.
struct AdamParams {
  float beta1, one_minus_beta1;  // m' = beta1·m + (1 − beta1)·g'
  float beta2, one_minus_beta2;  // v' = beta2·v + (1 − beta2)·g'²
  float eps, weight_decay, decay, step_size, bias2_sqrt;
};

// One SGD step's scalars (engine/ops/attrs.ts SgdStepAttrs). The flags are decided on the host from the attributes
// in double, so a momentum that rounds to 0 in f32 still gets the [p′; buf′] layout the op's shape promises.
struct SgdParams {
  float lr, momentum, one_minus_dampening, weight_decay;  // 1 − dampening taken in double, then rounded
  bool use_momentum;  // momentum != 0: out is [p′; buf′], else [p′]
  bool read_buf;      // use_momentum and not the first step: buf′ = momentum·buf + (1 − dampening)·d
  bool nesterov;      // d = d + momentum·buf′ instead of buf′
};

// The soft histogram (softHistogram / softHistogramGrad): bin k has centre low + (k + 0.5)·width; a value takes
// part in the bins of its nearest one ± window (window = ceil(8h/width), computed by the host in double as the
// reference does).
struct SoftHist {
  int64_t n;
  int bins, window;
  double low_d, width_d;  // the attributes as given: a value's offset from its nearest centre is taken in double
  float low, width;
  float inv_2h2;  // 1 / (2h²)
  float inv_h2;   // 1 / h²
};

// Column geometry of the correlation kernels over a dense row-major z [rows, cols].
struct ColGeom {
  int64_t rows, cols;
  int64_t chunk;   // rows per block along the rows (the column-statistics and Gram partial sums)
  int64_t chunks;  // ceil(rows / chunk)
};

}  // namespace eitp
