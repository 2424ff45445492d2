// The coherence loss of EIT-P (coherence) and its backward (coherenceGrad), following
// engine/backends/cpu/eitp-fused.ts. Column statistics in double; the standardised columns Ẑ as an f32 copy whose
// Gram ẐᵀẐ (and, backward, Ẑ(R − I)) the packed SGEMM computes; the epilogues (−I, square, sum; the per-column
// layerNorm backward) in double. The diagonal of R is taken in closed form, var/(var + eps), which is what ẐᵀẐ/N
// gives exactly: it keeps the tiny (R_jj − 1)² terms accurate instead of leaving them to f32 rounding.
//
// Row blocks (for the column sums) depend only on N, never on the thread count, and the SGEMM gives each element
// of C one thread: results are the same for any EITP_THREADS.
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "common.h"
#include "gemm.h"
#include "strided.h"
#include "thread-pool.h"

namespace eitp {

namespace {

struct RowBlocks {
  int64_t count;
  int64_t rows;
  explicit RowBlocks(int64_t n) {
    rows = std::max<int64_t>(64, (n + 63) / 64);
    count = (n + rows - 1) / rows;
  }
};

// Per-column sums over rows, f(i, j) summed in double: each row block into its own partial row, then the partials
// in block order.
template <typename F>
std::vector<double> columnSums(int64_t n, int64_t d, ThreadPool& pool, F f) {
  const RowBlocks rb(n);
  std::vector<double> partial(static_cast<size_t>(rb.count * d), 0.0);
  pool.parallelFor(rb.count, [&](int64_t b, int) {
    double* acc = partial.data() + b * d;
    const int64_t i1 = std::min(n, (b + 1) * rb.rows);
    for (int64_t i = b * rb.rows; i < i1; i++) {
      for (int64_t j = 0; j < d; j++) acc[j] += f(i, j);
    }
  });
  std::vector<double> total(static_cast<size_t>(d), 0.0);
  for (int64_t b = 0; b < rb.count; b++) {
    for (int64_t j = 0; j < d; j++) total[j] += partial[b * d + j];
  }
  return total;
}

struct Standardized {
  int64_t n, d;
  std::vector<double> var;   // population variance per column
  std::vector<double> rstd;  // 1/sqrt(var + eps)
  std::unique_ptr<float[]> zhat;  // [n, d], (z − μ)·rstd
  std::vector<double> residual;   // R − I, [d, d]
};

Standardized standardize(const Task& t, ThreadPool& pool) {
  const Arg& za = t.inputs[0];
  if (za.dtype != DType::F32) throw KernelError(std::string("z must be f32, got ") + dtypeName(za.dtype));
  if (za.rank() != 2 || za.shape[0] < 2 || za.shape[1] < 2) throw KernelError("z must be [N, d] with N >= 2 and d >= 2");
  if (t.attrs.size() != 1) throw KernelError("expected the attribute eps");
  const double eps = t.attrs[0];
  Standardized s;
  s.n = za.shape[0];
  s.d = za.shape[1];
  const int64_t n = s.n, d = s.d;
  Dense<float> zd(za, pool);
  const float* z = zd.get();
  std::vector<double> mean = columnSums(n, d, pool, [&](int64_t i, int64_t j) { return static_cast<double>(z[i * d + j]); });
  for (double& m : mean) m /= static_cast<double>(n);
  s.var = columnSums(n, d, pool, [&](int64_t i, int64_t j) {
    const double c = z[i * d + j] - mean[j];
    return c * c;
  });
  s.rstd.resize(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; j++) {
    s.var[j] /= static_cast<double>(n);
    s.rstd[j] = 1 / std::sqrt(s.var[j] + eps);
  }
  s.zhat.reset(new float[static_cast<size_t>(n * d)]);
  float* zh = s.zhat.get();
  pool.parallelRange(n, std::max<int64_t>(1, 16384 / d), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      for (int64_t j = 0; j < d; j++) zh[i * d + j] = static_cast<float>((z[i * d + j] - mean[j]) * s.rstd[j]);
    }
  });
  // G = ẐᵀẐ: A = Ẑᵀ read through strides (row stride 1, column stride d), B = Ẑ.
  std::vector<float> gram(static_cast<size_t>(d * d));
  sgemm(d, d, n, zh, 1, d, zh, d, 1, gram.data(), d, pool, true);
  s.residual.resize(static_cast<size_t>(d * d));
  for (int64_t j = 0; j < d; j++) {
    for (int64_t k = 0; k < d; k++) s.residual[j * d + k] = static_cast<double>(gram[j * d + k]) / static_cast<double>(n);
    s.residual[j * d + j] = s.var[j] * s.rstd[j] * s.rstd[j] - 1;
  }
  return s;
}

void kCoherence(const Task& t, ThreadPool& pool) {
  const Standardized s = standardize(t, pool);
  double total = 0;
  for (double r : s.residual) total += r * r;
  static_cast<float*>(t.output.data)[0] = static_cast<float>(total / static_cast<double>(s.d * (s.d - 1)));
}

// dẐ = scale·Ẑ(R − I), scale = g·4/(N d (d − 1)); dz_ij = r_j (dẐ_ij − mean_i dẐ_ij − Ẑ_ij mean_i(dẐ_ij Ẑ_ij)).
void kCoherenceGrad(const Task& t, ThreadPool& pool) {
  const Arg& ga = t.inputs[1];
  if (ga.dtype != DType::F32 || ga.numel() != 1) throw KernelError("g must be an f32 scalar");
  const Standardized s = standardize(t, pool);
  const int64_t n = s.n, d = s.d;
  const double g = static_cast<double>(Dense<float>(ga, pool)[0]);
  const double scale = g * 4 / (static_cast<double>(n) * static_cast<double>(d) * static_cast<double>(d - 1));
  std::vector<float> res(s.residual.begin(), s.residual.end());
  std::unique_ptr<float[]> prod(new float[static_cast<size_t>(n * d)]);  // Ẑ(R − I), unscaled
  const float* zh = s.zhat.get();
  float* p = prod.get();
  sgemm(n, d, d, zh, d, 1, res.data(), d, 1, p, d, pool, true);
  const double invN = 1 / static_cast<double>(n);
  std::vector<double> meanG = columnSums(n, d, pool, [&](int64_t i, int64_t j) { return scale * p[i * d + j]; });
  std::vector<double> meanGZ = columnSums(n, d, pool, [&](int64_t i, int64_t j) { return scale * p[i * d + j] * zh[i * d + j]; });
  for (int64_t j = 0; j < d; j++) {
    meanG[j] *= invN;
    meanGZ[j] *= invN;
  }
  float* dz = static_cast<float*>(t.output.data);
  pool.parallelRange(n, std::max<int64_t>(1, 16384 / d), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      for (int64_t j = 0; j < d; j++) {
        const double dzhat = scale * p[i * d + j];
        dz[i * d + j] = static_cast<float>(s.rstd[j] * (dzhat - meanG[j] - zh[i * d + j] * meanGZ[j]));
      }
    }
  });
}

}  // namespace

std::vector<KernelEntry> coherenceKernels() { return {{"coherence", kCoherence}, {"coherenceGrad", kCoherenceGrad}}; }

}  // namespace eitp
