// AVX2 + FMA body of the FMA peak probe (fma-probe.h): 12 independent ymm accumulator chains, enough to cover
// 2 FMA ports x 4-5 cycles of latency. Compiled with -mavx2 -mfma and only called when cpuid reports both.
#include <immintrin.h>

#include "fma-probe.h"

namespace eitp {

double fmaProbeAvx2(int64_t iters, float* sink) {
  constexpr int N = 12;
  __m256 acc[N];
  for (int i = 0; i < N; i++) acc[i] = _mm256_set1_ps(0.001f * static_cast<float>(i + 1));
  const __m256 a = _mm256_set1_ps(sink[0]);  // 1.0f in practice, unknown to the compiler
  const __m256 b = _mm256_set1_ps(sink[1]);  // a small constant: the chains stay finite
  for (int64_t it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < N; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
  for (int i = 1; i < N; i++) s = _mm256_add_ps(s, acc[i]);
  _mm256_storeu_ps(sink + 2, s);
  return 2.0 * 8.0 * N * static_cast<double>(iters);
}

}  // namespace eitp
