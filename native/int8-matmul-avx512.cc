// AVX-512 matmulInt8 tiles, 4 x 4 (16 zmm accumulators), and the activation quantisation. Integer: vpdpbusd
// (AVX-512 VNNI) multiplies the weights with their sign bit flipped (w + 128, as u8) by the s8 activations and adds
// each group of four products into a 32-bit lane, without saturation. f32: the weights are widened i8 -> i32 -> f32
// on the fly and FMA'd with the activations. K tails use masked loads (AVX-512 BW), which never touch memory past
// the masked-off bytes. Compiled with -mavx512f/bw/vl/vnni and only called when cpuid (and the OS, via XCR0)
// enable them.
#include <immintrin.h>

#include "int8-matmul.h"
#include "int8-quantize.h"

namespace eitp {

namespace {

constexpr int MR = 4;
constexpr int NR = 4;

// The four lane sums of v0..v3 as one xmm [Σv0, Σv1, Σv2, Σv3]: pairwise unpack-and-add instead of four separate
// horizontal reductions.
inline __m128i sum4(__m512i v0, __m512i v1, __m512i v2, __m512i v3) {
  const __m512i a = _mm512_add_epi32(_mm512_unpacklo_epi32(v0, v1), _mm512_unpackhi_epi32(v0, v1));
  const __m512i b = _mm512_add_epi32(_mm512_unpacklo_epi32(v2, v3), _mm512_unpackhi_epi32(v2, v3));
  // per 128-bit lane: [v0, v1, v2, v3] partial sums
  const __m512i c = _mm512_add_epi32(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
  const __m256i d = _mm256_add_epi32(_mm512_castsi512_si256(c), _mm512_extracti64x4_epi64(c, 1));
  return _mm_add_epi32(_mm256_castsi256_si128(d), _mm256_extracti128_si256(d, 1));
}

inline __m128 sum4(__m512 v0, __m512 v1, __m512 v2, __m512 v3) {
  const __m512 a = _mm512_add_ps(_mm512_unpacklo_ps(v0, v1), _mm512_unpackhi_ps(v0, v1));
  const __m512 b = _mm512_add_ps(_mm512_unpacklo_ps(v2, v3), _mm512_unpackhi_ps(v2, v3));
  const __m512 c = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b))),
                                 _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b))));
  const __m256 d = _mm256_add_ps(_mm512_castps512_ps256(c), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(c), 1)));
  return _mm_add_ps(_mm256_castps256_ps128(d), _mm256_extractf128_ps(d, 1));
}

// Weight rows past nr repeat row 0 (valid memory); their sums are computed and dropped.
inline void weightRows(const int8_t* w, int64_t ldw, int nr, const int8_t* (&rows)[NR]) {
  for (int j = 0; j < NR; j++) rows[j] = w + (j < nr ? j : 0) * ldw;
}

// Σ xq·(w + 128): the weights' sign bit flipped makes them the unsigned operand of vpdpbusd. Masked-off tail
// lanes load 0 for both; the flipped weight 128 then meets activation 0.
template <int R>
void dotInt8Rows(int64_t k, const int8_t* a, int64_t lda, const int8_t* w, int64_t ldw, int nr, int32_t* out, int64_t ldo) {
  const int8_t* wr[NR];
  weightRows(w, ldw, nr, wr);
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i acc[R][NR];
  for (int i = 0; i < R; i++)
    for (int j = 0; j < NR; j++) acc[i][j] = _mm512_setzero_si512();
  int64_t p = 0;
  for (; p + 64 <= k; p += 64) {
    __m512i wv[NR];
    for (int j = 0; j < NR; j++) wv[j] = _mm512_xor_si512(_mm512_loadu_si512(wr[j] + p), flip);
    for (int i = 0; i < R; i++) {
      const __m512i av = _mm512_loadu_si512(a + i * lda + p);
      for (int j = 0; j < NR; j++) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], wv[j], av);
    }
  }
  if (p < k) {
    const __mmask64 m = (~0ULL) >> (64 - (k - p));
    __m512i wv[NR];
    for (int j = 0; j < NR; j++) wv[j] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, wr[j] + p), flip);
    for (int i = 0; i < R; i++) {
      const __m512i av = _mm512_maskz_loadu_epi8(m, a + i * lda + p);
      for (int j = 0; j < NR; j++) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], wv[j], av);
    }
  }
  for (int i = 0; i < R; i++) {
    alignas(16) int32_t s[NR];
    _mm_store_si128(reinterpret_cast<__m128i*>(s), sum4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
    for (int j = 0; j < nr; j++) out[i * ldo + j] = s[j];
  }
}

void dotInt8(int64_t k, const void* a, int64_t lda, const int8_t* w, int64_t ldw, int mr, int nr, int32_t* out, int64_t ldo) {
  const int8_t* x = static_cast<const int8_t*>(a);
  switch (mr) {
    case 4: dotInt8Rows<4>(k, x, lda, w, ldw, nr, out, ldo); break;
    case 3: dotInt8Rows<3>(k, x, lda, w, ldw, nr, out, ldo); break;
    case 2: dotInt8Rows<2>(k, x, lda, w, ldw, nr, out, ldo); break;
    default: dotInt8Rows<1>(k, x, lda, w, ldw, nr, out, ldo); break;
  }
}

inline __m512 widen(__m128i bytes) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes)); }

template <int R>
void dotF32Rows(int64_t k, const float* x, int64_t ldx, const int8_t* w, int64_t ldw, int nr, float* out, int64_t ldo) {
  const int8_t* wr[NR];
  weightRows(w, ldw, nr, wr);
  __m512 acc[R][NR];
  for (int i = 0; i < R; i++)
    for (int j = 0; j < NR; j++) acc[i][j] = _mm512_setzero_ps();
  int64_t p = 0;
  for (; p + 16 <= k; p += 16) {
    __m512 wv[NR];
    for (int j = 0; j < NR; j++) wv[j] = widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wr[j] + p)));
    for (int i = 0; i < R; i++) {
      const __m512 xv = _mm512_loadu_ps(x + i * ldx + p);
      for (int j = 0; j < NR; j++) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  if (p < k) {
    const __mmask16 m = static_cast<__mmask16>(0xffffu >> (16 - (k - p)));
    __m512 wv[NR];
    for (int j = 0; j < NR; j++) wv[j] = widen(_mm_maskz_loadu_epi8(m, wr[j] + p));
    for (int i = 0; i < R; i++) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, x + i * ldx + p);
      for (int j = 0; j < NR; j++) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < R; i++) {
    alignas(16) float s[NR];
    _mm_store_ps(s, sum4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
    for (int j = 0; j < nr; j++) out[i * ldo + j] = s[j];
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

// int8 codes: clamp in f32, convert with round-to-nearest-even (embedded rounding, whatever MXCSR says), NaN
// lanes to 0, narrow with vpmovdb.
inline __m128i quantize16(__m512 x, __m512 inv) {
  const __m512 v = _mm512_mul_ps(x, inv);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  const __m512 c = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-127.0f)), _mm512_set1_ps(127.0f));
  const __m512i q = _mm512_maskz_mov_epi32(static_cast<__mmask16>(~nan), _mm512_cvt_roundps_epi32(c, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  return _mm512_cvtepi32_epi8(q);
}

float quantizeRow(const float* x, int64_t k, void* out) {
  int8_t* codes = static_cast<int8_t*>(out);
  const __m512i absMask = _mm512_set1_epi32(0x7fffffff);
  __m512 m = _mm512_setzero_ps();
  __mmask16 nan = 0;
  int64_t p = 0;
  for (; p + 16 <= k; p += 16) {
    const __m512 v = _mm512_loadu_ps(x + p);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    m = _mm512_max_ps(m, _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), absMask)));
  }
  float amax = _mm512_reduce_max_ps(m), scale, inv = 0.0f;
  bool anyNan = nan != 0;
  absMaxScalar(x + p, k - p, amax, anyNan);
  if (!rowScale(amax, anyNan, scale, inv)) {
    for (int64_t q = 0; q < k; q++) codes[q] = 0;
    return scale;
  }
  const __m512 iv = _mm512_set1_ps(inv);
  p = 0;
  for (; p + 16 <= k; p += 16) _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + p), quantize16(_mm512_loadu_ps(x + p), iv));
  for (; p < k; p++) codes[p] = static_cast<int8_t>(quantizeOne(x[p], inv));
  return scale;
}

// ---- packed-weight path (int8-matmul.h): panels of 64 channels, micro-tiles of 6 rows x 64 channels -----------------

constexpr int PANEL = 64;
constexpr int PROWS = 6;

// Group-major: each group's 64 lanes are written in order while the 64 source rows are read 4 bytes at a time
// (their current cache lines stay in L1). Missing channels and K values pack as zero weights (0x80).
void packPanel(const int8_t* w, int64_t n, int64_t k, int64_t j0, uint8_t* panel) {
  const int64_t groups = (k + 3) / 4, full = k / 4;
  // (No std:: helpers in this file: an inline library function emitted here with AVX-512 code could be the copy
  // the linker keeps for every other file.)
  const int valid = static_cast<int>(n - j0 < PANEL ? n - j0 : PANEL);
  const int8_t* src = w + j0 * k;
  for (int64_t g = 0; g < full; g++) {
    uint32_t* dst = reinterpret_cast<uint32_t*>(panel + g * PANEL * 4);
    for (int c = 0; c < valid; c++) {
      uint32_t v;
      __builtin_memcpy(&v, src + c * k + g * 4, 4);
      dst[c] = v ^ 0x80808080u;
    }
    for (int c = valid; c < PANEL; c++) dst[c] = 0x80808080u;
  }
  for (int64_t g = full; g < groups; g++) {
    uint8_t* dst = panel + g * PANEL * 4;
    for (int c = 0; c < PANEL; c++) {
      for (int q = 0; q < 4; q++) {
        const int64_t p = g * 4 + q;
        dst[c * 4 + q] = static_cast<uint8_t>((c < valid && p < k ? src[c * k + p] : 0) ^ 0x80);
      }
    }
  }
}

template <int R>
void gemmRows(int64_t groups, const int8_t* x, int64_t ldx, const uint8_t* panel, int32_t* out, int64_t ldo) {
  __m512i acc[R][4];
  for (int i = 0; i < R; i++)
    for (int v = 0; v < 4; v++) acc[i][v] = _mm512_setzero_si512();
  for (int64_t g = 0; g < groups; g++) {
    const uint8_t* pg = panel + g * PANEL * 4;
    __m512i wv[4];
    for (int v = 0; v < 4; v++) wv[v] = _mm512_loadu_si512(pg + v * 64);
    for (int i = 0; i < R; i++) {
      int32_t four;
      __builtin_memcpy(&four, x + i * ldx + g * 4, 4);
      const __m512i xb = _mm512_set1_epi32(four);
      for (int v = 0; v < 4; v++) acc[i][v] = _mm512_dpbusd_epi32(acc[i][v], wv[v], xb);
    }
  }
  for (int i = 0; i < R; i++)
    for (int v = 0; v < 4; v++) _mm512_storeu_si512(out + i * ldo + v * 16, acc[i][v]);
}

void gemmPanel(int64_t groups, const int8_t* x, int64_t ldx, int mr, const uint8_t* panel, int32_t* out, int64_t ldo) {
  switch (mr) {
    case 6: gemmRows<6>(groups, x, ldx, panel, out, ldo); break;
    case 5: gemmRows<5>(groups, x, ldx, panel, out, ldo); break;
    case 4: gemmRows<4>(groups, x, ldx, panel, out, ldo); break;
    case 3: gemmRows<3>(groups, x, ldx, panel, out, ldo); break;
    case 2: gemmRows<2>(groups, x, ldx, panel, out, ldo); break;
    default: gemmRows<1>(groups, x, ldx, panel, out, ldo); break;
  }
}

// Eight outputs at a time in double (two separate multiplies, never fused: the rounding must be the scalar one).
void finishRow(const int32_t* sums, int64_t count, uint32_t correction, double scale, const float* ws, float* out) {
  const __m256i c = _mm256_set1_epi32(static_cast<int32_t>(correction));
  const __m512d sc = _mm512_set1_pd(scale);
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) {
    const __m256i v = _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sums + j)), c);
    const __m512d sw = _mm512_mul_pd(sc, _mm512_cvtps_pd(_mm256_loadu_ps(ws + j)));
    _mm256_storeu_ps(out + j, _mm512_cvtpd_ps(_mm512_mul_pd(sw, _mm512_cvtepi32_pd(v))));
  }
  for (; j < count; j++) {
    const int32_t v = static_cast<int32_t>(static_cast<uint32_t>(sums[j]) - correction);
    out[j] = static_cast<float>(scale * ws[j] * static_cast<double>(v));
  }
}

}  // namespace

Int8Kernels avx512VnniInt8Kernels() {
  return {"avx512vnni-4x4", Int8Activations::S8, MR, NR, dotInt8, dotF32, quantizeRow, {PANEL, PROWS, packPanel, gemmPanel, finishRow}};
}

}  // namespace eitp
