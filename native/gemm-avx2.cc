// AVX2 + FMA micro-kernel, 6 x 16: 12 ymm accumulators, 2 for B, 1 broadcast of A. Compiled with -mavx2 -mfma and
// only called when cpuid reports both.
#include <immintrin.h>

#include "gemm.h"

namespace eitp {

namespace {

constexpr int MR = 6;
constexpr int NR = 16;

void kernelAvx2(int64_t k, const float* ap, const float* bp, float* c, int64_t ldc, int accumulate, const float* bias, int relu) {
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t p = 0; p < k; p++) {
    const __m256 b0 = _mm256_loadu_ps(bp);
    const __m256 b1 = _mm256_loadu_ps(bp + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
      const __m256 av = _mm256_broadcast_ss(ap + r);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
    ap += MR;
    bp += NR;
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; r++) {
    float* row = c + r * ldc;
    if (accumulate) {
      acc[r][0] = _mm256_add_ps(acc[r][0], _mm256_loadu_ps(row));
      acc[r][1] = _mm256_add_ps(acc[r][1], _mm256_loadu_ps(row + 8));
    }
    if (bias) {
      acc[r][0] = _mm256_add_ps(acc[r][0], _mm256_loadu_ps(bias));
      acc[r][1] = _mm256_add_ps(acc[r][1], _mm256_loadu_ps(bias + 8));
    }
    if (relu) {
      // max(0, z) returns its second operand when either is NaN, so NaN passes through like the relu op.
      acc[r][0] = _mm256_max_ps(_mm256_setzero_ps(), acc[r][0]);
      acc[r][1] = _mm256_max_ps(_mm256_setzero_ps(), acc[r][1]);
    }
    _mm256_storeu_ps(row, acc[r][0]);
    _mm256_storeu_ps(row + 8, acc[r][1]);
  }
}

}  // namespace

MicroKernel avx2MicroKernel() { return {"avx2-6x16", MR, NR, kernelAvx2, 256, 144, 3072}; }

}  // namespace eitp
