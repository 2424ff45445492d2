// The GEMM's path for products with very few rows (batch-1 to batch-16 inference, the FTLE's few tangents), compiled
// once per ISA (baseline, AVX2, AVX-512) and chosen by sgemm with its micro-kernel's ISA. Each call takes at most
// kGemmSmallMaxRows rows (sgemm cuts taller products into row blocks).
// The packed path copies all of B (k x n) on every call, which for m = 4 costs several times the arithmetic; these
// kernels read B where it lies, once, for all the rows:
//  - axpy: B n-contiguous (row-major [k, n]): C[i, :] = Σ_p A[i, p]·B[p, :], over strips of columns whose
//    accumulators (all the rows) stay in registers while k runs.
//  - dot: B k-contiguous (a transposed row-major weight, the x·Wᵀ case): C[i, j] = A row i · B column j, a few
//    columns at a time for all the rows, so each column is read once.
// Both sum in f32 in registers; axpy takes the k steps in order with one accumulator per element (as the packed
// micro-kernel does), dot keeps a partial sum per vector lane.
#pragma once

#include <cstdint>

namespace eitp {

constexpr int kGemmSmallMaxRows = 8;

struct GemmSmall {
  const char* isa;
  // C[m x n] = A[m x k]·B[k x n] with B's columns contiguous (element (p, j) at b[p·rsb + j]); A at a[i·rsa + p·csa].
  // Then per element: + bias[j] (if bias), relu (if relu; NaN passes through), as the packed micro-kernel stores.
  void (*axpy)(int64_t m, int64_t n, int64_t k, const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb,
               float* c, int64_t ldc, const float* bias, int relu);
  // The same with B's rows contiguous (element (p, j) at b[p + j·csb]) and A's rows too (a[i·lda + p]).
  void (*dot)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t csb, float* c,
              int64_t ldc, const float* bias, int relu);
  // Columns per strip of axpy at m = 1: column cuts between threads at multiples of it keep whole strips.
  int strip;
};

namespace gemm_small_generic { GemmSmall table(); }
#ifdef EITP_X86
namespace gemm_small_avx2 { GemmSmall table(); }
namespace gemm_small_avx512 { GemmSmall table(); }
#endif

}  // namespace eitp
