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
enum ErrorOp : int { kErrNone = 0, kErrEmbedding = 1, kErrScatterAdd = 2, kErrOneHot = 3, kErrCrossEntropy = 4 };

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

struct MatmulArgs {
  MatOperand a, b;
  float* c;  // dense [batches, M, N]
  int64_t m, n, k;
  Shape batch;
  int64_t batches;
};

}  // namespace eitp
