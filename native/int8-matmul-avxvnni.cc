// AVX-VNNI matmulInt8 integer tile, 4 x 2: the 256-bit VEX form of vpdpbusd (CPUs with AVX-VNNI but no AVX-512,
// e.g. Alder Lake), the weights with their sign bit flipped (w + 128, as u8) times the s8 activations, four
// products per 32-bit lane, no saturation. The K tail (< 32 elements) is summed with scalar code. The f32 tile and
// the quantisation are AVX2's (same 4 x 2 shape). Compiled with -mavx2 -mfma -mavxvnni and only called when cpuid
// says so.
#include <immintrin.h>

#include "int8-matmul.h"

namespace eitp {

namespace {

constexpr int NR = 2;

inline __m128i sum4(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

template <int R>
void dotRows(int64_t k, const int8_t* a, int64_t lda, const int8_t* w, int64_t ldw, int nr, int32_t* out, int64_t ldo) {
  const int8_t* wr[NR] = {w, w + (nr > 1 ? ldw : 0)};  // a missing second row repeats the first
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  __m256i acc[4][NR];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_si256();
  int64_t p = 0;
  for (; p + 32 <= k; p += 32) {
    __m256i wv[NR];
    for (int j = 0; j < NR; j++) wv[j] = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr[j] + p)), flip);
    for (int i = 0; i < R; i++) {
      const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i * lda + p));
      for (int j = 0; j < NR; j++) acc[i][j] = _mm256_dpbusd_avx_epi32(acc[i][j], wv[j], av);
    }
  }
  alignas(16) int32_t s[2][4];
  _mm_store_si128(reinterpret_cast<__m128i*>(s[0]), sum4(acc[0][0], acc[0][1], acc[1][0], acc[1][1]));
  _mm_store_si128(reinterpret_cast<__m128i*>(s[1]), sum4(acc[2][0], acc[2][1], acc[3][0], acc[3][1]));
  for (int i = 0; i < R; i++) {
    for (int j = 0; j < nr; j++) {
      uint32_t t = static_cast<uint32_t>(s[i / 2][(i % 2) * 2 + j]);
      for (int64_t q = p; q < k; q++) t += static_cast<uint32_t>(static_cast<int32_t>(a[i * lda + q]) * (wr[j][q] + 128));
      out[i * ldo + j] = static_cast<int32_t>(t);
    }
  }
}

void dotInt8(int64_t k, const void* a, int64_t lda, const int8_t* w, int64_t ldw, int mr, int nr, int32_t* out, int64_t ldo) {
  const int8_t* x = static_cast<const int8_t*>(a);
  switch (mr) {
    case 4: dotRows<4>(k, x, lda, w, ldw, nr, out, ldo); break;
    case 3: dotRows<3>(k, x, lda, w, ldw, nr, out, ldo); break;
    case 2: dotRows<2>(k, x, lda, w, ldw, nr, out, ldo); break;
    default: dotRows<1>(k, x, lda, w, ldw, nr, out, ldo); break;
  }
}

}  // namespace

Int8Kernels avxVnniInt8Kernels() {
  Int8Kernels k = avx2Int8Kernels();
  k.name = "avxvnni-4x2";
  k.activations = Int8Activations::S8;
  k.dotInt8 = dotInt8;
  k.quantizeRow = quantizeRowS8Avx2;
  return k;
}

}  // namespace eitp
