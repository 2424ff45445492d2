// The EIT-P coherence loss L = Σ_jk (R_jk − δ_jk)²/(d(d − 1)) and the S of its backward, on the correlation matrix
// R = ẐᵀẐ/N that correlation.cuh builds (semantics: engine/backends/cpu/eitp-fused.ts, coherence / coherenceGrad).
// R lives only in scratch memory; the launches (addon/launch-eitp.cu) are
//   coherence      column stats, SYRK + store of R (correlation.cuh), then
//                  coherence_partial_kernel: grid-stride per-block sums of (R − I)² in double (the grid depends only
//                  on d, capped at kCoherenceMaxBlocks), and finish_partials_kernel (partials.cuh): one block adds
//                  the partials in a fixed order and divides by d(d − 1). No float atomics, so L is bit-identical
//                  from run to run;
//   coherenceGrad  column stats, SYRK + store of R, coherence_s_kernel turning R into S in place, then
//                  correlationGrad's product and column backward. ∂L/∂R = 2g(R − I)/(d(d − 1)) is symmetric, so the
//                  (gR + gRᵀ)/N of correlationGrad is S = 4g(R − I)/(N d(d − 1)), and R exactly symmetric keeps S so.
// g (the scalar cotangent) is a one-element device tensor read inside coherence_s_kernel: reading it back to the
// host would stall the training step.
// For N ≤ d/2 both take the rows' Gram K = ẐẐᵀ [N, N] (the f32 matmul) instead of R, as native does: the kernels
// read each element as a·K with a = 1/N (a = 1 on R: an exact product), the loss adds d − N once (block 0), since
// ‖R − I_d‖² = ‖K/N − I_N‖² + d − N, and the backward's S' = 4g(K/N − I)/(N d(d − 1)) multiplies Ẑ from the left:
// Ẑ(R − I) = (K/N − I)·Ẑ.
#pragma once
#include "common.cuh"
#include "partials.cuh"

namespace eitp {

constexpr int kCoherenceThreads = 256;
// At most this many partial sums, so that the finishing pass is one block with a few partials per thread.
constexpr int kCoherenceMaxBlocks = 1024;

// (a·R_i − δ_i) for flat index i of the [cols, cols] matrix: the diagonal is every (cols + 1)-th element. On R
// (a = 1) R_jj − 1 is exact in f32 (Sterbenz) unless eps dominates the column's variance, so a small residual keeps
// its digits; on the rows' Gram the diagonal K_ii/N averages d/N ≥ 2, far from 1.
EITP_DEV float coherence_residual(const float* __restrict__ r, int64_t i, int64_t cols, float a) {
  const float v = r[i] * a;
  return i % (cols + 1) == 0 ? v - 1.0f : v;
}

// partial[b] = Σ (a·R − I)² over block b's grid-stride share of the cols² elements, squared and summed in double
// (the reference sums in f64; cols² terms in f32 would lose digits for large d), plus `extra` in block 0 (d − N on
// the rows' Gram, 0 on R).
__global__ void __launch_bounds__(kCoherenceThreads) coherence_partial_kernel(const float* __restrict__ r, int64_t cols, float a, double extra, double* __restrict__ partial) {
  __shared__ double scratch[32];
  const int64_t n = cols * cols, step = static_cast<int64_t>(gridDim.x) * kCoherenceThreads;
  double acc = 0.0;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kCoherenceThreads + threadIdx.x; i < n; i += step) {
    const double e = coherence_residual(r, i, cols, a);
    acc += e * e;
  }
  const double total = block_reduce(acc, AddF(), 0.0, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = blockIdx.x == 0 ? total + extra : total;
}

// R → S = k (a·R − I) in place, k = g·scale with scale = 4/(N d(d − 1)) from the host (in double, one rounding of k
// per thread; every thread rounds the same k, so S stays exactly symmetric).
__global__ void __launch_bounds__(256) coherence_s_kernel(float* __restrict__ r, int64_t cols, float a, const float* __restrict__ g, double scale) {
  const float k = static_cast<float>(static_cast<double>(*g) * scale);
  const int64_t n = cols * cols, step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) r[i] = coherence_residual(r, i, cols, a) * k;
}

}  // namespace eitp
