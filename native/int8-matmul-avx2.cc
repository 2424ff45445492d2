// AVX2 matmulInt8 tiles, 4 x 2 (8 ymm accumulators; AVX2 has only 16 registers), and the activation quantisation.
// Integer: the activations arrive as int16 and the weights are sign-extended to int16, so vpmaddwd forms exact
// 32-bit pair sums (|xq·w| <= 127·128; vpmaddubsw is avoided: its 16-bit pair sums saturate for u8 x s8 operands
// this large). f32: weights widened i8 -> i32 -> f32 on the fly and FMA'd. K tails (< 16 elements) are summed with
// scalar code. Compiled with -mavx2 -mfma and only called when cpuid says so.
#include <immintrin.h>

#include "int8-matmul.h"
#include "int8-quantize.h"

namespace eitp {

namespace {

constexpr int MR = 4;
constexpr int NR = 2;

// [Σa, Σb, Σc, Σd] of four vectors of 8 lanes.
inline __m128i sum4(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

inline __m128 sum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

template <int R>
void dotInt8Rows(int64_t k, const int16_t* a, int64_t lda, const int8_t* w, int64_t ldw, int nr, int32_t* out, int64_t ldo) {
  const int8_t* wr[NR] = {w, w + (nr > 1 ? ldw : 0)};  // a missing second row repeats the first
  __m256i acc[4][NR];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_si256();
  int64_t p = 0;
  for (; p + 16 <= k; p += 16) {
    __m256i wv[NR];
    for (int j = 0; j < NR; j++) wv[j] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wr[j] + p)));
    for (int i = 0; i < R; i++) {
      const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i * lda + p));
      for (int j = 0; j < NR; j++) acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(av, wv[j]));
    }
  }
  alignas(16) int32_t s[2][4];
  _mm_store_si128(reinterpret_cast<__m128i*>(s[0]), sum4(acc[0][0], acc[0][1], acc[1][0], acc[1][1]));
  _mm_store_si128(reinterpret_cast<__m128i*>(s[1]), sum4(acc[2][0], acc[2][1], acc[3][0], acc[3][1]));
  for (int i = 0; i < R; i++) {
    for (int j = 0; j < nr; j++) {
      uint32_t t = static_cast<uint32_t>(s[i / 2][(i % 2) * 2 + j]);
      for (int64_t q = p; q < k; q++) t += static_cast<uint32_t>(static_cast<int32_t>(a[i * lda + q]) * wr[j][q]);
      out[i * ldo + j] = static_cast<int32_t>(t);
    }
  }
}

void dotInt8(int64_t k, const void* a, int64_t lda, const int8_t* w, int64_t ldw, int mr, int nr, int32_t* out, int64_t ldo) {
  const int16_t* x = static_cast<const int16_t*>(a);
  switch (mr) {
    case 4: dotInt8Rows<4>(k, x, lda, w, ldw, nr, out, ldo); break;
    case 3: dotInt8Rows<3>(k, x, lda, w, ldw, nr, out, ldo); break;
    case 2: dotInt8Rows<2>(k, x, lda, w, ldw, nr, out, ldo); break;
    default: dotInt8Rows<1>(k, x, lda, w, ldw, nr, out, ldo); break;
  }
}

inline __m256 widen8(const int8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

template <int R>
void dotF32Rows(int64_t k, const float* x, int64_t ldx, const int8_t* w, int64_t ldw, int nr, float* out, int64_t ldo) {
  const int8_t* wr[NR] = {w, w + (nr > 1 ? ldw : 0)};
  __m256 acc[4][NR];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 wv[NR];
    for (int j = 0; j < NR; j++) wv[j] = widen8(wr[j] + p);
    for (int i = 0; i < R; i++) {
      const __m256 xv = _mm256_loadu_ps(x + i * ldx + p);
      for (int j = 0; j < NR; j++) acc[i][j] = _mm256_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  alignas(16) float s[2][4];
  _mm_store_ps(s[0], sum4(acc[0][0], acc[0][1], acc[1][0], acc[1][1]));
  _mm_store_ps(s[1], sum4(acc[2][0], acc[2][1], acc[3][0], acc[3][1]));
  for (int i = 0; i < R; i++) {
    for (int j = 0; j < nr; j++) {
      float t = 0.0f;
      for (int64_t q = p; q < k; q++) t += x[i * ldx + q] * static_cast<float>(wr[j][q]);
      out[i * ldo + j] = s[i / 2][(i % 2) * 2 + j] + t;
    }
  }
}

void dotF32(int64_t k, const float* x, int64_t ldx, const int8_t* w, int64_t ldw, int mr, int nr, float* out, int64_t ldo) {
  switch (mr) {
    case 4: dotF32Rows<4>(k, x, ldx, w, ldw, nr, out, ldo); break;
    case 3: dotF32Rows<3>(k, x, ldx, w, ldw, nr, out, ldo); break;
    case 2: dotF32Rows<2>(k, x, ldx, w, ldw, nr, out, ldo); break;
    default: dotF32Rows<1>(k, x, ldx, w, ldw, nr, out, ldo); break;
  }
}

// Eight codes as int32: clamp in f32, round half to even (vroundps, independent of MXCSR), NaN lanes to 0.
inline __m256i quantize8(__m256 x, __m256 inv) {
  const __m256 v = _mm256_mul_ps(x, inv);
  const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
  __m256 c = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
  c = _mm256_andnot_ps(nan, _mm256_round_ps(c, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  return _mm256_cvttps_epi32(c);
}

// Sixteen codes as int16 in order (vpackssdw packs within 128-bit lanes; the permute restores the order).
inline __m256i quantize16(const float* x, __m256 inv) {
  const __m256i q = _mm256_packs_epi32(quantize8(_mm256_loadu_ps(x), inv), quantize8(_mm256_loadu_ps(x + 8), inv));
  return _mm256_permute4x64_epi64(q, 0xd8);
}

template <typename Code>
float quantizeRowT(const float* x, int64_t k, Code* codes) {
  const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 m = _mm256_setzero_ps();
  __m256 nan = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    const __m256 v = _mm256_loadu_ps(x + p);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    m = _mm256_max_ps(m, _mm256_and_ps(v, absMask));
  }
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  float amax = _mm_cvtss_f32(h), scale, inv = 0.0f;
  bool anyNan = _mm256_movemask_ps(nan) != 0;
  absMaxScalar(x + p, k - p, amax, anyNan);
  if (!rowScale(amax, anyNan, scale, inv)) {
    for (int64_t q = 0; q < k; q++) codes[q] = 0;
    return scale;
  }
  const __m256 iv = _mm256_set1_ps(inv);
  p = 0;
  for (; p + 16 <= k; p += 16) {
    const __m256i q = quantize16(x + p, iv);
    if constexpr (sizeof(Code) == 2) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(codes + p), q);
    } else {
      const __m128i b = _mm_packs_epi16(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + p), b);
    }
  }
  for (; p < k; p++) codes[p] = static_cast<Code>(quantizeOne(x[p], inv));
  return scale;
}

float quantizeRowI16(const float* x, int64_t k, void* codes) { return quantizeRowT(x, k, static_cast<int16_t*>(codes)); }

}  // namespace

float quantizeRowS8Avx2(const float* x, int64_t k, void* codes) { return quantizeRowT(x, k, static_cast<int8_t*>(codes)); }

Int8Kernels avx2Int8Kernels() { return {"avx2-4x2", Int8Activations::I16, MR, NR, dotInt8, dotF32, quantizeRowI16, {}}; }

}  // namespace eitp
