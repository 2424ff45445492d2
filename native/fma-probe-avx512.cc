// AVX-512 body of the FMA peak probe (fma-probe.h): 12 independent zmm accumulator chains. Compiled with
// -mavx512f and only called when cpuid reports it.
#include <immintrin.h>

#include "fma-probe.h"

namespace eitp {

double fmaProbeAvx512(int64_t iters, float* sink) {
  constexpr int N = 12;
  __m512 acc[N];
  for (int i = 0; i < N; i++) acc[i] = _mm512_set1_ps(0.001f * static_cast<float>(i + 1));
  const __m512 a = _mm512_set1_ps(sink[0]);
  const __m512 b = _mm512_set1_ps(sink[1]);
  for (int64_t it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < N; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < N; i++) s = _mm512_add_ps(s, acc[i]);
  _mm512_storeu_ps(sink + 2, s);
  return 2.0 * 16.0 * N * static_cast<double>(iters);
}

}  // namespace eitp
