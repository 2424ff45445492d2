// correlation-vec compiled for the avx512 instruction set (see correlation-vec.h; flags in CMakeLists.txt), with the
// row and panel micro-kernels of the correlation products.
#include <immintrin.h>

#include <cstdint>

#include "correlation-vec.h"

namespace eitp {
namespace correlation_vec_avx512 {

namespace {

constexpr int kMr = 12;
constexpr int kNr = 32;

// The 12 x 32 tile of native/gemm-avx512.cc's micro-kernel: 24 accumulators, per k step two B vectors and one FMA
// per accumulator with A's value broadcast, then `+ C` when accumulating. `aAt(r, p)` is A's row r at step p; the
// compiler turns each into a fixed offset from a pointer that moves once per step. kHalves = 1: only the right half
// (columns 16..31) of the tile, for the Gram's diagonal tiles whose left half lies below the diagonal.
template <int kHalves, typename AAt>
inline void tile(int64_t k, AAt aAt, const float* bp, float* c, int64_t ldc, int accumulate) {
  constexpr int h0 = 2 - kHalves;
  __m512 acc[kMr][2];
#pragma GCC unroll 12
  for (int r = 0; r < kMr; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; p++) {
    __m512 b[2];
    for (int h = h0; h < 2; h++) b[h] = _mm512_loadu_ps(bp + 16 * h);
    _mm_prefetch(reinterpret_cast<const char*>(bp + 8 * kNr), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int r = 0; r < kMr; r++) {
      const __m512 av = _mm512_set1_ps(aAt(r, p));
      for (int h = h0; h < 2; h++) acc[r][h] = _mm512_fmadd_ps(av, b[h], acc[r][h]);
    }
    bp += kNr;
  }
#pragma GCC unroll 12
  for (int r = 0; r < kMr; r++) {
    float* row = c + r * ldc;
    for (int h = h0; h < 2; h++) {
      if (accumulate) acc[r][h] = _mm512_add_ps(acc[r][h], _mm512_loadu_ps(row + 16 * h));
      _mm512_storeu_ps(row + 16 * h, acc[r][h]);
    }
  }
}

// A's rows in place, lda apart (RowKernelFn): the 12 rows' k values stay in L1 across the column panels.
void rowKernel(int64_t k, const float* a, int64_t lda, const float* bp, float* c, int64_t ldc, int accumulate) {
  const float* a0 = a;
  const float* a4 = a + 4 * lda;
  const float* a8 = a + 8 * lda;
  tile<2>(
      k, [&](int r, int64_t p) { return r < 4 ? a0[r * lda + p] : r < 8 ? a4[(r - 4) * lda + p] : a8[(r - 8) * lda + p]; }, bp, c, ldc,
      accumulate);
}

// A's 12 values of step p at a[p·ks] (PanelKernelFn).
void panelKernel(int64_t k, const float* a, int64_t ks, const float* bp, float* c, int64_t ldc, int accumulate, int rightHalf) {
  auto aAt = [&](int r, int64_t p) { return a[p * ks + r]; };
  if (rightHalf) {
    tile<1>(k, aAt, bp, c, ldc, accumulate);
  } else {
    tile<2>(k, aAt, bp, c, ldc, accumulate);
  }
}

}  // namespace

#define EITP_CORRELATION_VEC_NS avx512
#define EITP_CORRELATION_VEC_STRIP 4
#define EITP_CORRELATION_VEC_ROW_KERNEL rowKernel, panelKernel, kMr, kNr
#include "correlation-vec-impl.h"
}  // namespace correlation_vec_avx512
}  // namespace eitp
