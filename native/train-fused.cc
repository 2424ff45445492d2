// The fused training kernels (engine/backends/cpu/train-fused.ts is the reference): softmax cross-entropy backward,
// layerNorm backward, activation backward, matmul + bias + activation, and the Adam and SGD steps.
// - crossEntropyGrad: the per-ISA row loop of rows-vec.h (max, exponentials, sum in double, then the write), rows in
//   parallel;
// - layerNormGrad: the per-ISA row loop of rows-vec.h (row statistics in double); dw/db summed per row block (blocks
//   fixed by the shape alone, never the thread count) and then over blocks in block order, so the results are the
//   same for any EITP_THREADS;
// - linear: the packed SGEMM with its epilogue (gemm.h), bias and activation applied as the last K block stores C;
// - activationGrad, adamStep, sgdStep: the per-ISA loops of train-vec.h, split over the pool.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "common.h"
#include "gemm.h"
#include "rows-vec.h"
#include "rowwise.h"
#include "strided.h"
#include "thread-pool.h"
#include "train-vec.h"
#include "vmath.h"

namespace eitp {

namespace {

void requireF32(const Arg& a, const char* what) {
  if (a.dtype != DType::F32) throw KernelError(std::string(what) + " must be f32, got " + dtypeName(a.dtype));
}

// ---- crossEntropyGrad -----------------------------------------------------------------------------------------------

// The forward crossEntropy kernel's check and message: a bad target is the caller's error (ArgumentError in JS).
template <typename I>
void checkTargets(const I* targets, int64_t rows, int64_t classes) {
  for (int64_t i = 0; i < rows; i++) {
    const int64_t y = static_cast<int64_t>(targets[i]);
    if (!(y >= 0 && y < classes)) {
      throw KernelError("target " + std::to_string(y) + " at position " + std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")", true);
    }
  }
}

template <typename I>
void crossEntropyGradTyped(const Task& t, ThreadPool& pool) {
  const Arg& logits = t.inputs[0];
  const int64_t classes = logits.shape[logits.rank() - 1];
  const int64_t rows = t.inputs[1].numel();
  Dense<I> targets(t.inputs[1], pool);
  checkTargets(targets.get(), rows, classes);
  Dense<float> x(logits, pool);
  Dense<float> g(t.inputs[2], pool);
  const int reduction = static_cast<int>(t.attrs.at(0));  // 0 mean, 1 sum, 2 none
  if (reduction < 0 || reduction > 2) throw KernelError("unknown reduction code " + std::to_string(reduction));
  float* out = static_cast<float*>(t.output.data);
  const auto gradRows = rowsVec().crossEntropyGrad;
  pool.parallelRange(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(classes, 1)), [&](int64_t b, int64_t e) {
    // Rows in blocks of 256: their targets as int64 and their scales (g, or g's single value) for the row loop.
    int64_t tg[256];
    double sc[256];
    for (int64_t i0 = b; i0 < e; i0 += 256) {
      const int64_t n = std::min<int64_t>(256, e - i0);
      for (int64_t i = 0; i < n; i++) {
        tg[i] = static_cast<int64_t>(targets[i0 + i]);
        sc[i] = reduction == 2 ? g[i0 + i] : reduction == 1 ? g[0] : g[0] / static_cast<double>(rows);
      }
      gradRows(x.get() + i0 * classes, out + i0 * classes, n, classes, tg, sc, 1);
    }
  });
}

void kCrossEntropyGrad(const Task& t, ThreadPool& pool) {
  requireF32(t.inputs[0], "logits");
  requireF32(t.inputs[2], "g");
  switch (t.inputs[1].dtype) {
    case DType::I32: crossEntropyGradTyped<int32_t>(t, pool); break;
    case DType::I8: crossEntropyGradTyped<int8_t>(t, pool); break;
    case DType::U8: crossEntropyGradTyped<uint8_t>(t, pool); break;
    default: throw KernelError("targets must be an integer tensor");
  }
}

// ---- layerNormGrad --------------------------------------------------------------------------------------------------

// Rows per block of the dw/db partial sums: a function of the shape only (at most 64 blocks, each at least ~8192
// elements), so that the sums come out the same whatever the thread count.
int64_t rowsPerBlock(int64_t rows, int64_t d) {
  return std::max<int64_t>({1, (rows + 63) / 64, (8192 + d - 1) / d});
}

void kLayerNormGrad(const Task& t, ThreadPool& pool) {
  for (const Arg& a : t.inputs) requireF32(a, "every input");
  const Arg& xa = t.inputs[0];
  const double eps = t.attrs.at(0);
  const int64_t d = xa.shape[xa.rank() - 1];
  const int64_t rows = d == 0 ? 0 : xa.numel() / d;
  if (d == 0) return;
  Dense<float> x(xa, pool), w(t.inputs[1], pool), g(t.inputs[2], pool);
  float* out = static_cast<float*>(t.output.data);
  const int64_t per = rowsPerBlock(rows, d);
  const int64_t blocks = (rows + per - 1) / per;
  // partial[b] = [dw of block b (d values), db of block b (d values)]
  std::vector<double> partial(static_cast<size_t>(blocks * 2 * d), 0.0);
  const auto gradRows = rowsVec().layerNormGrad;
  pool.parallelFor(blocks, [&](int64_t blk, int) {
    double* dw = partial.data() + blk * 2 * d;
    const int64_t i0 = blk * per, i1 = std::min(rows, (blk + 1) * per);
    gradRows(x.get() + i0 * d, w.get(), g.get() + i0 * d, out + i0 * d, dw, dw + d, i1 - i0, d, eps);
  });
  // Column sums over the blocks, always in block order.
  float* dwOut = out + rows * d;
  float* dbOut = dwOut + d;
  pool.parallelRange(d, 2048, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; j++) {
      double sw = 0, sb = 0;
      for (int64_t blk = 0; blk < blocks; blk++) {
        sw += partial[blk * 2 * d + j];
        sb += partial[blk * 2 * d + d + j];
      }
      dwOut[j] = static_cast<float>(sw);
      dbOut[j] = static_cast<float>(sb);
    }
  });
}

// ---- layerNormGradGrad -----------------------------------------------------------------------------------------------

// [J o; curvature] of LayerNorm rows (engine/ops/layer-norm-grad-grad.ts); inputs x, u, o [..., d], output [2, rows, d].
// Rows are independent, so they split over the pool in ranges of ~4096 elements.
void kLayerNormGradGrad(const Task& t, ThreadPool& pool) {
  for (const Arg& a : t.inputs) requireF32(a, "every input");
  const Arg& xa = t.inputs[0];
  const double eps = t.attrs.at(0);
  const int64_t d = xa.shape[xa.rank() - 1];
  if (d == 0) return;
  const int64_t rows = xa.numel() / d;
  if (t.inputs[1].numel() != xa.numel() || t.inputs[2].numel() != xa.numel() || t.output.numel() != 2 * xa.numel()) {
    throw KernelError("u and o must have x's size and the output twice that");
  }
  Dense<float> x(xa, pool), u(t.inputs[1], pool), o(t.inputs[2], pool);
  float* out = static_cast<float*>(t.output.data);
  const auto rowsFn = rowsVec().layerNormGradGrad;
  pool.parallelRange(rows, std::max<int64_t>(1, 4096 / d), [&](int64_t i0, int64_t i1) {
    rowsFn(x.get() + i0 * d, u.get() + i0 * d, o.get() + i0 * d, out + i0 * d, out + rows * d + i0 * d, i1 - i0, d, eps);
  });
}

// ---- activationGrad -------------------------------------------------------------------------------------------------

using GradFn = void (*)(const float*, const float*, float*, int64_t);

// out = fn(a, g) over two operands of the output's size (activationGrad: a = y; geluGrad: a = x). Strided rows go
// through small buffers: the same function as the contiguous case, so the same results.
void gradRows(const Task& t, GradFn fn, const char* firstName, ThreadPool& pool) {
  const Arg& a = t.inputs[0];
  const Arg& g = t.inputs[1];
  requireF32(a, firstName);
  requireF32(g, "g");
  if (a.numel() != t.output.numel() || g.numel() != t.output.numel()) throw KernelError("both operands and the output must have the same size");
  const float* as = static_cast<const float*>(a.data);
  const float* gs = static_cast<const float*>(g.data);
  float* out = static_cast<float*>(t.output.data);
  rowwise<2>({&a, &g}, t.output.numel(), pool, [&](int64_t o, int64_t len, const std::array<int64_t, 2>& off, const std::array<int64_t, 2>& ls) {
    if (ls[0] == 1 && ls[1] == 1) {
      fn(as + off[0], gs + off[1], out + o, len);
      return;
    }
    float ab[256], gb[256];
    for (int64_t j0 = 0; j0 < len; j0 += 256) {
      const int64_t n = std::min<int64_t>(256, len - j0);
      for (int64_t j = 0; j < n; j++) {
        ab[j] = as[off[0] + (j0 + j) * ls[0]];
        gb[j] = gs[off[1] + (j0 + j) * ls[1]];
      }
      fn(ab, gb, out + o + j0, n);
    }
  });
}

void kActivationGrad(const Task& t, ThreadPool& pool) {
  const int code = static_cast<int>(t.attrs.at(0));
  const TrainVec& tv = trainVec();
  const GradFn fn = code == 1 ? tv.reluGrad : code == 2 ? tv.tanhGrad : code == 3 ? tv.sigmoidGrad : nullptr;
  if (!fn) throw KernelError("unknown activation code " + std::to_string(code));
  gradRows(t, fn, "y", pool);
}

// ---- geluGrad -------------------------------------------------------------------------------------------------------

// out = g·gelu′(x), or g·gelu″(x) with order 2; attrs: [approximate (0 exact, 1 tanh form), order (1 or 2; absent: 1)].
void kGeluGrad(const Task& t, ThreadPool& pool) {
  const bool tanhForm = !t.attrs.empty() && t.attrs[0] != 0;
  const double order = t.attrs.size() > 1 ? t.attrs[1] : 1;
  if (order != 1 && order != 2) throw KernelError("geluGrad order must be 1 or 2");
  const VMath& m = vmath();
  gradRows(t, order == 2 ? (tanhForm ? m.geluTanhCurvature : m.geluErfCurvature) : (tanhForm ? m.geluTanhGrad : m.geluErfGrad), "x", pool);
}

// ---- linear ---------------------------------------------------------------------------------------------------------

void kLinear(const Task& t, ThreadPool& pool) {
  for (const Arg& a : t.inputs) requireF32(a, "every input");
  const Arg& x = t.inputs[0];
  const Arg& w = t.inputs[1];
  const Arg& b = t.inputs[2];
  if (x.rank() != 2 || w.rank() != 2 || b.rank() != 1 || w.shape[0] != x.shape[1] || b.shape[0] != w.shape[1]) {
    throw KernelError("needs x [M, K], w [K, N] and b [N]");
  }
  const int code = static_cast<int>(t.attrs.at(0));
  if (code < 0 || code > 3) throw KernelError("unknown activation code " + std::to_string(code));
  const int64_t m = x.shape[0], k = x.shape[1], n = w.shape[1];
  Dense<float> bias(b, pool);
  const Epilogue ep{bias.get(), static_cast<Activation>(code)};
  // Both operands are read through their strides, as matmul does: a transposed weight view ([K, N] with strides
  // [1, K]) is packed column by column, with no copy.
  sgemm(m, n, k, x.ptr<float>(), x.strides[0], x.strides[1], w.ptr<float>(), w.strides[0], w.strides[1],
        static_cast<float*>(t.output.data), n, pool, true, &ep);
}

// ---- adamStep -------------------------------------------------------------------------------------------------------

void kAdamStep(const Task& t, ThreadPool& pool) {
  for (const Arg& a : t.inputs) requireF32(a, "every input");
  if (t.attrs.size() != 7) throw KernelError("adamStep needs 7 scalars");
  const std::vector<double>& a = t.attrs;  // beta1, beta2, eps, weightDecay, decay, stepSize, bias2Sqrt
  // 1 − β in double first, as the reference does, then rounded once.
  const AdamScalars s{static_cast<float>(a[0]), static_cast<float>(1 - a[0]), static_cast<float>(a[1]),
                      static_cast<float>(1 - a[1]),  static_cast<float>(a[2]), static_cast<float>(a[3]),
                      static_cast<float>(a[4]),      static_cast<float>(a[5]), static_cast<float>(a[6])};
  // Views at offsets of one buffer (the optimizer's packed state) are contiguous: Dense reads them in place.
  Dense<float> p(t.inputs[0], pool), g(t.inputs[1], pool), m(t.inputs[2], pool), v(t.inputs[3], pool);
  const int64_t n = t.inputs[0].numel();
  float* out = static_cast<float*>(t.output.data);
  const auto adam = trainVec().adam;
  pool.parallelRange(n, 16384, [&](int64_t b, int64_t e) {
    adam(p.get() + b, g.get() + b, m.get() + b, v.get() + b, out + b, out + n + b, out + 2 * n + b, e - b, s);
  });
}

// ---- sgdStep --------------------------------------------------------------------------------------------------------

void kSgdStep(const Task& t, ThreadPool& pool) {
  for (const Arg& a : t.inputs) requireF32(a, "every input");
  if (t.attrs.size() != 6) throw KernelError("sgdStep needs 6 scalars");
  const std::vector<double>& a = t.attrs;  // lr, momentum, dampening, nesterov, weightDecay, first
  // 1 − dampening in double first, as the reference does, then rounded once.
  const SgdScalars s{static_cast<float>(a[0]), static_cast<float>(a[1]), static_cast<float>(1 - a[2]),
                     static_cast<float>(a[4]),  a[4] != 0, a[1] != 0, a[3] != 0, a[5] != 0};
  const int64_t n = t.inputs[0].numel();
  if (t.output.numel() != (s.hasMomentum ? 2 : 1) * n) throw KernelError("sgdStep output must hold p′ (and buf′ with momentum)");
  Dense<float> p(t.inputs[0], pool), g(t.inputs[1], pool);
  // buf is gathered only when the step reads it: with momentum 0 or on the first step it may be any tensor.
  const bool readsBuf = s.hasMomentum && !s.first;
  std::unique_ptr<Dense<float>> buf(readsBuf ? new Dense<float>(t.inputs[2], pool) : nullptr);
  const float* bufData = readsBuf ? buf->get() : nullptr;
  float* out = static_cast<float*>(t.output.data);
  float* bufOut = s.hasMomentum ? out + n : nullptr;
  const auto sgd = trainVec().sgd;
  pool.parallelRange(n, 16384, [&](int64_t b, int64_t e) {
    sgd(p.get() + b, g.get() + b, bufData ? bufData + b : nullptr, out + b, bufOut ? bufOut + b : nullptr, e - b, s);
  });
}

}  // namespace

// crossEntropyGrad's target check at the call when the targets are already computed, like crossEntropy's
// (validateArguments): a bad target then throws there, as on cpu, rather than at the next read.
bool validateTrainFusedArguments(const Task& t) {
  if (t.op != "crossEntropyGrad") return false;
  const Arg& logits = t.inputs[0];
  const Arg& targets = t.inputs[1];
  const int64_t classes = logits.shape[logits.rank() - 1];
  ThreadPool serial(1);
  switch (targets.dtype) {
    case DType::I32: checkTargets(Dense<int32_t>(targets, serial).get(), targets.numel(), classes); break;
    case DType::I8: checkTargets(Dense<int8_t>(targets, serial).get(), targets.numel(), classes); break;
    case DType::U8: checkTargets(Dense<uint8_t>(targets, serial).get(), targets.numel(), classes); break;
    default: break;  // the kernel reports a non-integer dtype
  }
  return true;
}

std::vector<KernelEntry> trainFusedKernels() {
  return {{"crossEntropyGrad", kCrossEntropyGrad},
          {"layerNormGrad", kLayerNormGrad}, {"layerNormGradGrad", kLayerNormGradGrad},
          {"activationGrad", kActivationGrad}, {"geluGrad", kGeluGrad},
          {"linear", kLinear},
          {"adamStep", kAdamStep},
          {"sgdStep", kSgdStep}};
}

}  // namespace eitp
