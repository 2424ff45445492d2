// AVX2 + FMA micro-kernel, 6 x 16: 12 ymm accumulators, 2 for B, 1 broadcast of A. Compiled with -mavx2 -mfma and
// only called when cpuid reports both. The same kernel for R < 6 rows takes a product's last, partial row panel.
#include <immintrin.h>

#include "gemm.h"

namespace eitp {

namespace {

constexpr int MR = 6;
constexpr int NR = 16;

template <int R>
void kernelAvx2(int64_t k, const float* ap, const float* bp, float* c, int64_t ldc, int accumulate, const float* bias, int relu) {
  __m256 acc[R][2];
#pragma GCC unroll 6
  for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t p = 0; p < k; p++) {
    const __m256 b0 = _mm256_loadu_ps(bp);
    const __m256 b1 = _mm256_loadu_ps(bp + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
      const __m256 av = _mm256_broadcast_ss(ap + r);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
    ap += MR;
    bp += NR;
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; r++) {
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

// By rows: kRows[r] computes the first r rows of a panel (kRows[MR] is the full kernel).
constexpr MicroKernelFn kRows[MR + 1] = {nullptr, kernelAvx2<1>, kernelAvx2<2>, kernelAvx2<3>, kernelAvx2<4>, kernelAvx2<5>, kernelAvx2<6>};

}  // namespace

MicroKernel avx2MicroKernel() { return {"avx2-6x16", MR, NR, kernelAvx2<MR>, 256, 144, 3072, kRows}; }

}  // namespace eitp
