// Fused neural-network kernels: softmax, logSoftmax, softmax cross-entropy and layerNorm, computed in double per
// line like engine/backends/cpu/nn.ts, lines in parallel.
#include <cmath>
#include <limits>

#include "common.h"
#include "row-max.h"
#include "strided.h"
#include "thread-pool.h"
#include "vmath.h"

namespace eitp {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Math.max: NaN if either operand is NaN.
inline double jsMax(double a, double b) { return (a != a || b != b) ? std::numeric_limits<double>::quiet_NaN() : (a > b ? a : b); }

// Sum in double with interleaved accumulators (fixed order).
double sumDouble(const float* x, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int k = 0; k < 8; k++) acc[k] += x[j + k];
  }
  double tail = 0;
  for (; j < n; j++) tail += x[j];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

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
    // Contiguous lines: exponentials with vmath in float, sums in double.
    const auto vexp = vmath().exp;
    pool.parallelRange(outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(len, 1)), [&](int64_t b, int64_t e) {
      std::vector<float> tmp(static_cast<size_t>(len));
      for (int64_t line = b; line < e; line++) {
        const float* x = d + line * len;
        float* y = r + line * len;
        const float m = rowMax(x, len);
        for (int64_t j = 0; j < len; j++) tmp[j] = x[j] - m;
        vexp(tmp.data(), tmp.data(), len);
        const double lse = m + std::log(sumDouble(tmp.data(), len));
        for (int64_t j = 0; j < len; j++) y[j] = static_cast<float>(x[j] - lse);
        if (!log) vexp(y, y, len);
      }
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
  const auto vexp = vmath().exp;
  pool.parallelRange(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(classes, 1)), [&](int64_t b, int64_t e) {
    std::vector<float> tmp(static_cast<size_t>(classes));
    for (int64_t i = b; i < e; i++) {
      const float* row = x.get() + i * classes;
      const double m = rowMax(row, classes);
      for (int64_t j = 0; j < classes; j++) tmp[j] = static_cast<float>(row[j] - m);
      vexp(tmp.data(), tmp.data(), classes);
      const double z = sumDouble(tmp.data(), classes);
      losses[i] = m + std::log(z) - row[static_cast<int64_t>(targets[i])];
    }
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
  pool.parallelRange(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(d, 1)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      const float* a = x.get() + i * d;
      double mu = 0;
      for (int64_t j = 0; j < d; j++) mu += a[j];
      mu /= static_cast<double>(d);
      double v = 0;
      for (int64_t j = 0; j < d; j++) v += (a[j] - mu) * (a[j] - mu);
      const double rstd = 1 / std::sqrt(v / static_cast<double>(d) + eps);
      for (int64_t j = 0; j < d; j++) r[i * d + j] = static_cast<float>((a[j] - mu) * rstd * gamma[j] + beta[j]);
    }
  });
}

}  // namespace

std::vector<KernelEntry> nnKernels() {
  return {{"softmax", kSoftmax}, {"logSoftmax", kLogSoftmax}, {"crossEntropy", kCrossEntropy}, {"layerNorm", kLayerNorm}};
}

}  // namespace eitp
