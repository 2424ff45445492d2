// Fused neural-network kernels: softmax, its backward softmaxGrad and that one's softmaxGradGrad, logSoftmax, softmax
// cross-entropy and layerNorm,
// lines in parallel. Lines along the last axis go through the per-ISA row loops of rows-vec.h (exponentials in float,
// sums and statistics in double); softmax and softmaxGrad over another axis are computed in double per line like
// engine/backends/cpu/nn.ts.
#include <cmath>
#include <limits>

#include "common.h"
#include "rows-vec.h"
#include "strided.h"
#include "thread-pool.h"

namespace eitp {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Math.max: NaN if either operand is NaN.
inline double jsMax(double a, double b) { return (a != a || b != b) ? std::numeric_limits<double>::quiet_NaN() : (a > b ? a : b); }

void requireF32(const Arg& a, const char* what) {
  if (a.dtype != DType::F32) throw KernelError(std::string(what) + " must be f32, got " + dtypeName(a.dtype));
}

void softmaxLike(const Task& t, ThreadPool& pool, bool log) {
  const Arg& x = t.inputs[0];
  requireF32(x, "input");
  const int axis = static_cast<int>(t.attrs.at(0));
  if (axis < 0 || axis >= x.rank()) throw KernelError("softmax axis out of range");
  Dense<float> a(x, pool);
  float* r = static_cast<float*>(t.output.data);
  const int64_t len = x.shape[axis];
  int64_t inner = 1, outer = 1;
  for (int i = axis + 1; i < x.rank(); i++) inner *= x.shape[i];
  for (int i = 0; i < axis; i++) outer *= x.shape[i];
  const float* d = a.get();
  if (inner == 1) {
    // Contiguous lines: the per-ISA row loops of rows-vec.h.
    const auto rows = rowsVec().softmax;
    pool.parallelRange(outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(len, 1)), [&](int64_t b, int64_t e) {
      rows(d + b * len, r + b * len, e - b, len, log ? 1 : 0);
    });
    return;
  }
  pool.parallelRange(outer * inner, std::max<int64_t>(1, 8192 / std::max<int64_t>(len, 1)), [&](int64_t b, int64_t e) {
    for (int64_t line = b; line < e; line++) {
      const int64_t p = line / inner, q = line % inner;
      const int64_t s = p * len * inner + q;
      double m = -kInf;
      for (int64_t j = 0; j < len; j++) m = jsMax(m, d[s + j * inner]);
      double z = 0;
      for (int64_t j = 0; j < len; j++) z += std::exp(d[s + j * inner] - m);
      const double lse = m + std::log(z);
      for (int64_t j = 0; j < len; j++) {
        const double v = d[s + j * inner] - lse;
        r[s + j * inner] = static_cast<float>(log ? v : std::exp(v));
      }
    }
  });
}

void kSoftmax(const Task& t, ThreadPool& p) { softmaxLike(t, p, false); }
void kLogSoftmax(const Task& t, ThreadPool& p) { softmaxLike(t, p, true); }

// out = y·(g − Σ_axis g·y), y = softmax's output and g its cotangent (or tangent): softmax's layout of lines.
void kSoftmaxGrad(const Task& t, ThreadPool& pool) {
  if (t.inputs.size() != 2) throw KernelError("softmaxGrad takes y and g");
  const Arg& ya = t.inputs[0];
  const Arg& ga = t.inputs[1];
  requireF32(ya, "y");
  requireF32(ga, "g");
  if (ga.shape != ya.shape || t.output.numel() != ya.numel()) throw KernelError("y, g and the output must have one shape");
  const int axis = static_cast<int>(t.attrs.at(0));
  if (axis < 0 || axis >= ya.rank()) throw KernelError("axis out of range");
  Dense<float> y(ya, pool), g(ga, pool);
  float* r = static_cast<float*>(t.output.data);
  const int64_t len = ya.shape[axis];
  int64_t inner = 1, outer = 1;
  for (int i = axis + 1; i < ya.rank(); i++) inner *= ya.shape[i];
  for (int i = 0; i < axis; i++) outer *= ya.shape[i];
  const float* yd = y.get();
  const float* gd = g.get();
  // Grains as softmax's: about 8192 elements per chunk.
  const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(len, 1));
  if (inner == 1) {
    const auto rows = rowsVec().softmaxGrad;
    pool.parallelRange(outer, grain, [&](int64_t b, int64_t e) { rows(yd + b * len, gd + b * len, r + b * len, e - b, len); });
    return;
  }
  pool.parallelRange(outer * inner, grain, [&](int64_t b, int64_t e) {
    for (int64_t line = b; line < e; line++) {
      const int64_t s = (line / inner) * len * inner + line % inner;
      double dot = 0;
      for (int64_t j = 0; j < len; j++) dot += static_cast<double>(gd[s + j * inner]) * yd[s + j * inner];
      for (int64_t j = 0; j < len; j++) {
        r[s + j * inner] = static_cast<float>(yd[s + j * inner] * (gd[s + j * inner] - dot));
      }
    }
  });
}

// [ȳ; ḡ] of softmaxGrad for a cotangent o (engine/ops/softmax-grad-grad.ts) along any axis: per line Σ g·y and Σ o·y
// in double, then ȳ = o(g − Σg·y) − g·Σo·y and ḡ = y(o − Σo·y), each computed in double and rounded once, as the
// cpu reference does in float64. Lines are independent, so any thread split gives the same bits.
void kSoftmaxGradGrad(const Task& t, ThreadPool& pool) {
  if (t.inputs.size() != 3) throw KernelError("softmaxGradGrad takes y, g and o");
  for (const Arg& a : t.inputs) requireF32(a, "every input");
  const Arg& ya = t.inputs[0];
  if (t.inputs[1].shape != ya.shape || t.inputs[2].shape != ya.shape || t.output.numel() != 2 * ya.numel()) {
    throw KernelError("y, g and o must have one shape and the output twice their size");
  }
  const int axis = static_cast<int>(t.attrs.at(0));
  if (axis < 0 || axis >= ya.rank()) throw KernelError("axis out of range");
  Dense<float> y(ya, pool), g(t.inputs[1], pool), o(t.inputs[2], pool);
  float* yBar = static_cast<float*>(t.output.data);
  float* gBar = yBar + ya.numel();
  const int64_t len = ya.shape[axis];
  int64_t inner = 1, outer = 1;
  for (int i = axis + 1; i < ya.rank(); i++) inner *= ya.shape[i];
  for (int i = 0; i < axis; i++) outer *= ya.shape[i];
  const float *yd = y.get(), *gd = g.get(), *od = o.get();
  pool.parallelRange(outer * inner, std::max<int64_t>(1, 8192 / std::max<int64_t>(len, 1)), [&](int64_t b, int64_t e) {
    for (int64_t line = b; line < e; line++) {
      const int64_t s = (line / inner) * len * inner + line % inner;
      double gy = 0, oy = 0;
      for (int64_t j = 0; j < len; j++) {
        const int64_t i = s + j * inner;
        gy += static_cast<double>(gd[i]) * yd[i];
        oy += static_cast<double>(od[i]) * yd[i];
      }
      for (int64_t j = 0; j < len; j++) {
        const int64_t i = s + j * inner;
        yBar[i] = static_cast<float>(od[i] * (gd[i] - gy) - gd[i] * oy);
        gBar[i] = static_cast<float>(yd[i] * (od[i] - oy));
      }
    }
  });
}

template <typename I>
void crossEntropyTyped(const Task& t, ThreadPool& pool) {
  const Arg& logits = t.inputs[0];
  const int64_t classes = logits.shape[logits.rank() - 1];
  Dense<float> x(logits, pool);
  Dense<I> targets(t.inputs[1], pool);
  const int64_t rows = t.inputs[1].numel();
  for (int64_t i = 0; i < rows; i++) {
    const int64_t y = static_cast<int64_t>(targets[i]);
    if (!(y >= 0 && y < classes)) {
      throw KernelError("target " + std::to_string(y) + " at position " + std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")", true);
    }
  }
  const int reduction = static_cast<int>(t.attrs.at(0));  // 0 mean, 1 sum, 2 none
  std::vector<double> losses(static_cast<size_t>(rows));
  const auto lseRows = rowsVec().logSumExp;
  pool.parallelRange(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(classes, 1)), [&](int64_t b, int64_t e) {
    lseRows(x.get() + b * classes, losses.data() + b, e - b, classes);
    for (int64_t i = b; i < e; i++) losses[i] -= x.get()[i * classes + static_cast<int64_t>(targets[i])];
  });
  float* r = static_cast<float*>(t.output.data);
  if (reduction == 2) {
    for (int64_t i = 0; i < rows; i++) r[i] = static_cast<float>(losses[i]);
    return;
  }
  double total = 0;
  for (double l : losses) total += l;
  r[0] = static_cast<float>(reduction == 1 ? total : total / static_cast<double>(rows));
}

void kCrossEntropy(const Task& t, ThreadPool& p) {
  requireF32(t.inputs[0], "logits");
  switch (t.inputs[1].dtype) {
    case DType::I32: crossEntropyTyped<int32_t>(t, p); break;
    case DType::I8: crossEntropyTyped<int8_t>(t, p); break;
    case DType::U8: crossEntropyTyped<uint8_t>(t, p); break;
    default: throw KernelError("targets must be an integer tensor");
  }
}

void kLayerNorm(const Task& t, ThreadPool& pool) {
  const Arg& xa = t.inputs[0];
  for (const Arg& a : t.inputs) requireF32(a, "every input");
  const double eps = t.attrs.at(0);
  const int64_t d = xa.rank() ? xa.shape[xa.rank() - 1] : 1;
  Dense<float> x(xa, pool), gamma(t.inputs[1], pool), beta(t.inputs[2], pool);
  float* r = static_cast<float*>(t.output.data);
  const int64_t rows = d == 0 ? 0 : xa.numel() / d;
  const auto rowsFn = rowsVec().layerNorm;
  pool.parallelRange(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(d, 1)), [&](int64_t b, int64_t e) {
    rowsFn(x.get() + b * d, gamma.get(), beta.get(), r + b * d, e - b, d, eps);
  });
}

}  // namespace

std::vector<KernelEntry> nnKernels() {
  return {{"softmax", kSoftmax}, {"softmaxGrad", kSoftmaxGrad}, {"softmaxGradGrad", kSoftmaxGradGrad}, {"logSoftmax", kLogSoftmax}, {"crossEntropy", kCrossEntropy}, {"layerNorm", kLayerNorm}};
}

}  // namespace eitp
