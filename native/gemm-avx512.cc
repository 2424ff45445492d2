// AVX-512 micro-kernel, 12 x 32: 24 zmm accumulators of the 32, 2 for B, broadcasts of A folded into the FMAs. The
// same kernel for R < 12 rows takes the last row panel of a product whose m is not a multiple of 12.
// Compiled with -mavx512f and only called when cpuid (and the OS, via XCR0) enable AVX-512.
#include <immintrin.h>

#include "gemm.h"

namespace eitp {

namespace {

constexpr int MR = 12;
constexpr int NR = 32;

template <int R>
void kernelAvx512(int64_t k, const float* ap, const float* bp, float* c, int64_t ldc, int accumulate, const float* bias, int relu) {
  __m512 acc[R][2];
#pragma GCC unroll 12
  for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; p++) {
    const __m512 b0 = _mm512_loadu_ps(bp);
    const __m512 b1 = _mm512_loadu_ps(bp + 16);
    _mm_prefetch(reinterpret_cast<const char*>(bp + 8 * NR), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
      const __m512 av = _mm512_set1_ps(ap[r]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
    ap += MR;
    bp += NR;
  }
#pragma GCC unroll 12
  for (int r = 0; r < R; r++) {
    float* row = c + r * ldc;
    if (accumulate) {
      acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_loadu_ps(row));
      acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_loadu_ps(row + 16));
    }
    if (bias) {
      acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_loadu_ps(bias));
      acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_loadu_ps(bias + 16));
    }
    if (relu) {
      // !(z <= 0) ? z : 0 (NaN passes through, like the relu op) as a zero-masked move. (Not _mm512_max_ps: GCC 12's
      // header for it trips -Wmaybe-uninitialized, GCC bug 105593.)
      const __m512 zero = _mm512_setzero_ps();
      acc[r][0] = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(acc[r][0], zero, _CMP_NLE_UQ), acc[r][0]);
      acc[r][1] = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(acc[r][1], zero, _CMP_NLE_UQ), acc[r][1]);
    }
    _mm512_storeu_ps(row, acc[r][0]);
    _mm512_storeu_ps(row + 16, acc[r][1]);
  }
}

// By rows: kRows[r] computes the first r rows of a panel (kRows[MR] is the full kernel).
constexpr MicroKernelFn kRows[MR + 1] = {nullptr,           kernelAvx512<1>,  kernelAvx512<2>, kernelAvx512<3>, kernelAvx512<4>,
                                         kernelAvx512<5>,   kernelAvx512<6>,  kernelAvx512<7>, kernelAvx512<8>, kernelAvx512<9>,
                                         kernelAvx512<10>,  kernelAvx512<11>, kernelAvx512<12>};

}  // namespace

MicroKernel avx512MicroKernel() { return {"avx512-12x32", MR, NR, kernelAvx512<MR>, 384, 192, 3072, kRows}; }

}  // namespace eitp
