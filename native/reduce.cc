// Reductions. As in engine/backends/cpu/reduce.ts, the reduced axes are moved innermost and each row is reduced in
// double precision; rows run in parallel.
#include <cmath>
#include <limits>
#include <type_traits>

#include "common.h"
#include "rows-vec.h"
#include "strided.h"
#include "thread-pool.h"
#include "vmath.h"

namespace eitp {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Rows {
  int64_t outer = 0;
  int64_t inner = 0;
};

// attrs: [axisCount, axes..., keepdims, extra...]
std::vector<int> reducedAxes(const Task& t) {
  if (t.attrs.empty()) throw KernelError("missing reduction axes");
  const int n = static_cast<int>(t.attrs[0]);
  std::vector<int> axes;
  for (int i = 0; i < n; i++) axes.push_back(static_cast<int>(t.attrs[1 + i]));
  for (int a : axes) {
    if (a < 0 || a >= t.inputs[0].rank()) throw KernelError("reduction axis " + std::to_string(a) + " is out of range");
  }
  return axes;
}

template <typename T>
struct Reordered {
  Rows rows;
  std::unique_ptr<Dense<T>> data;
};

template <typename T>
Reordered<T> axesLast(const Arg& x, const std::vector<int>& axes, ThreadPool& pool) {
  std::vector<int> order;
  std::vector<bool> isReduced(x.rank(), false);
  for (int a : axes) isReduced[a] = true;
  int64_t kept = 1, inner = 1;
  for (int i = 0; i < x.rank(); i++) {
    if (!isReduced[i]) {
      order.push_back(i);
      kept *= x.shape[i];
    }
  }
  for (int a : axes) {
    order.push_back(a);
    inner *= x.shape[a];
  }
  Reordered<T> r;
  r.rows.inner = inner;
  r.rows.outer = inner == 0 ? kept : x.numel() / inner;
  r.data.reset(new Dense<T>(permuteArg(x, order), pool));
  return r;
}

// sum/mean over leading axes of a contiguous operand (bias gradients: [batch, d] -> [d]): accumulate whole rows
// into per-column doubles instead of transposing. Each column still adds its values in the reference's order.
template <typename T>
bool reduceLeading(const Task& t, ThreadPool& pool, const std::vector<int>& axes, bool mean) {
  const Arg& x = t.inputs[0];
  if (!x.contiguous() || axes.empty()) return false;
  for (size_t i = 0; i < axes.size(); i++) {
    if (axes[i] != static_cast<int>(i)) return false;
  }
  int64_t rows = 1, cols = 1;
  for (int i = 0; i < x.rank(); i++) (i < static_cast<int>(axes.size()) ? rows : cols) *= x.shape[i];
  if (cols < 2 || rows == 0) return false;
  const T* d = x.ptr<T>();
  T* out = static_cast<T*>(t.output.data);
  pool.parallelRange(cols, 256, [&](int64_t b, int64_t e) {
    std::vector<double> acc(static_cast<size_t>(e - b), 0.0);
    if constexpr (std::is_same_v<T, float>) {
      // f32: the per-ISA column loop of rows-vec.h (double vectors down the rows; the same sums as the loop below)
      rowsVec().sumColumns(d + b, cols, rows, e - b, acc.data());
    } else {
      for (int64_t r = 0; r < rows; r++) {
        const T* row = d + r * cols;
        for (int64_t j = b; j < e; j++) acc[j - b] += static_cast<double>(row[j]);
      }
    }
    for (int64_t j = b; j < e; j++) out[j] = storeAs<T>(mean ? acc[j - b] / static_cast<double>(rows) : acc[j - b]);
  });
  return true;
}

// Reduces each row with f(const T* row, n) -> double and stores the result as the output dtype.
template <typename T, typename F>
void reduceRows(const Task& t, ThreadPool& pool, const std::vector<int>& axes, F f) {
  auto r = axesLast<T>(t.inputs[0], axes, pool);
  T* out = static_cast<T*>(t.output.data);
  const T* d = r.data->get();
  const int64_t inner = r.rows.inner;
  pool.parallelRange(r.rows.outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) out[i] = storeAs<T>(f(d + i * inner, inner));
  });
}

// Σ term(d_j) with eight interleaved double accumulators: a single one is bound by the add latency (norm and var
// each ran 4-5x slower than sum with one). The order is fixed per row, so the result does not depend on the thread
// count.
template <typename T, typename Term>
double sumOf(const T* d, int64_t n, Term term) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int k = 0; k < 8; k++) acc[k] += term(static_cast<double>(d[j + k]));
  }
  double tail = 0;
  for (; j < n; j++) tail += term(static_cast<double>(d[j]));
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

template <typename T>
double sumRow(const T* d, int64_t n) {
  return sumOf(d, n, [](double v) { return v; });
}

// The largest value, NaN if any is NaN (as the reference). Eight independent running maxima, NaN checked apart:
// a single compare-select chain is latency-bound.
template <typename T>
double maxRow(const T* d, int64_t n) {
  double m[8] = {-kInf, -kInf, -kInf, -kInf, -kInf, -kInf, -kInf, -kInf};
  int nan = 0;
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int k = 0; k < 8; k++) {
      const double v = static_cast<double>(d[j + k]);
      m[k] = v > m[k] ? v : m[k];
      nan |= v != v;
    }
  }
  for (; j < n; j++) {
    const double v = static_cast<double>(d[j]);
    m[0] = v > m[0] ? v : m[0];
    nan |= v != v;
  }
  if (nan) return std::numeric_limits<double>::quiet_NaN();
  double r = m[0];
  for (int k = 1; k < 8; k++) r = m[k] > r ? m[k] : r;
  return r;
}

void requireF32(const Task& t) {
  if (t.inputs[0].dtype != DType::F32) throw KernelError(std::string("needs f32 input, got ") + dtypeName(t.inputs[0].dtype));
}

void kSum(const Task& t, ThreadPool& p) {
  auto axes = reducedAxes(t);
  EITP_DISPATCH(t.inputs[0].dtype, {
    if (!reduceLeading<T>(t, p, axes, false)) reduceRows<T>(t, p, axes, sumRow<T>);
  });
}

void kMax(const Task& t, ThreadPool& p) {
  auto axes = reducedAxes(t);
  EITP_DISPATCH(t.inputs[0].dtype, { reduceRows<T>(t, p, axes, maxRow<T>); });
}

void kMean(const Task& t, ThreadPool& p) {
  requireF32(t);
  auto axes = reducedAxes(t);
  if (reduceLeading<float>(t, p, axes, true)) return;
  reduceRows<float>(t, p, axes, [](const float* d, int64_t n) { return sumRow(d, n) / static_cast<double>(n); });
}

void kLogsumexp(const Task& t, ThreadPool& p) {
  requireF32(t);
  const auto vexp = vmath().exp;
  reduceRows<float>(t, p, reducedAxes(t), [vexp](const float* d, int64_t n) {
    const double m = maxRow(d, n);
    if (!std::isfinite(m)) return m == -kInf ? -kInf : m;
    // exponentials with vmath in float (of values <= 0), summed in double
    thread_local std::vector<float> tmp;
    tmp.resize(static_cast<size_t>(n));
    const float mf = static_cast<float>(m);
    for (int64_t j = 0; j < n; j++) tmp[j] = d[j] - mf;
    vexp(tmp.data(), tmp.data(), n);
    return m + std::log(sumRow(tmp.data(), n));
  });
}

void kNorm(const Task& t, ThreadPool& p) {
  requireF32(t);
  reduceRows<float>(t, p, reducedAxes(t), [](const float* d, int64_t n) { return std::sqrt(sumOf(d, n, [](double v) { return v * v; })); });
}

void kVar(const Task& t, ThreadPool& p) {
  requireF32(t);
  auto axes = reducedAxes(t);
  const double correction = t.attrs[2 + axes.size()];
  reduceRows<float>(t, p, axes, [correction](const float* d, int64_t n) {
    const double mu = sumRow(d, n) / static_cast<double>(n);
    return sumOf(d, n, [mu](double v) { return (v - mu) * (v - mu); }) / (static_cast<double>(n) - correction);
  });
}

// argmax: the first index of the largest value; NaN never compares greater (as the reference's `>` test).
void kArgmax(const Task& t, ThreadPool& pool) {
  const int axis = static_cast<int>(t.attrs.at(0));
  if (axis < 0 || axis >= t.inputs[0].rank()) throw KernelError("argmax axis out of range");
  int32_t* out = static_cast<int32_t*>(t.output.data);
  EITP_DISPATCH(t.inputs[0].dtype, {
    auto r = axesLast<T>(t.inputs[0], {axis}, pool);
    const T* d = r.data->get();
    const int64_t inner = r.rows.inner;
    pool.parallelRange(r.rows.outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; i++) {
        const T* row = d + i * inner;
        int64_t best = 0;
        for (int64_t j = 1; j < inner; j++) {
          if (row[j] > row[best]) best = j;
        }
        out[i] = static_cast<int32_t>(best);
      }
    });
  });
}

}  // namespace

std::vector<KernelEntry> reduceKernels() {
  return {{"sum", kSum}, {"mean", kMean}, {"max", kMax}, {"logsumexp", kLogsumexp}, {"norm", kNorm}, {"var", kVar}, {"argmax", kArgmax}};
}

}  // namespace eitp
