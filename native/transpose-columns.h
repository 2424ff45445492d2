// Copying 4 k-contiguous columns of a matrix (a transposed view: element (p, c) at s0[c·stride + p]) into row-major
// rows dst[p·ld + 0..3], for p in [p0, p1): 4 x 4 blocks transposed in SSE registers (baseline x86-64), the rest
// element by element. The packed GEMM's A panels (A contiguous along k) and B panels (transposed B) and the batched
// GEMM's B panels all copy this way.
#pragma once

#include <cstdint>

#ifdef EITP_X86
#include <xmmintrin.h>
#endif

namespace eitp {

inline void copyFourColumnsTransposed(const float* s0, int64_t stride, int64_t p0, int64_t p1, float* dst, int64_t ld) {
  const float *s1 = s0 + stride, *s2 = s1 + stride, *s3 = s2 + stride;
  int64_t p = p0;
#ifdef EITP_X86
  for (; p + 4 <= p1; p += 4) {
    __m128 r0 = _mm_loadu_ps(s0 + p), r1 = _mm_loadu_ps(s1 + p), r2 = _mm_loadu_ps(s2 + p), r3 = _mm_loadu_ps(s3 + p);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(dst + p * ld, r0);
    _mm_storeu_ps(dst + (p + 1) * ld, r1);
    _mm_storeu_ps(dst + (p + 2) * ld, r2);
    _mm_storeu_ps(dst + (p + 3) * ld, r3);
  }
#endif
  for (; p < p1; p++) {
    float* d = dst + p * ld;
    d[0] = s0[p], d[1] = s1[p], d[2] = s2[p], d[3] = s3[p];
  }
}

}  // namespace eitp
