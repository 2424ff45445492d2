// The body of vmath for one ISA: included by vmath-<isa>.cc inside `namespace eitp::EITP_VMATH_NS` with that ISA's
// compiler flags. The array functions may run in place (x == y): each y[i] depends on x[i] only, which `ivdep`
// tells the vectoriser. No standard-library calls here: an inline function emitted with AVX-512 code in one file must
// never be picked by the linker for another.

#define EITP_VMATH_STR2(x) #x
#define EITP_VMATH_STR(x) EITP_VMATH_STR2(x)

namespace {

#include "exp-reduced.h"

inline float pow2(int32_t e) {  // 2^e for e in [-126, 127]
  const uint32_t b = static_cast<uint32_t>(e + 127) << 23;
  float f;
  __builtin_memcpy(&f, &b, 4);
  return f;
}

// Cephes-style expf: n = round(x / ln 2), r = x - n ln 2, exp(r) by a degree-6 polynomial, times 2^n split in two
// factors so that subnormal results come out right.
inline float expOne(float x) {
  // Clamp written so that NaN becomes -104 (its result is replaced by NaN below): no NaN reaches the int conversion.
  float xc = x > -104.0f ? x : -104.0f;
  xc = xc < 88.7228394f ? xc : 88.7228394f;
  const ExpReduced<float> e = expReduced(xc);
  float y = e.er;
  const int32_t n = static_cast<int32_t>(e.fn);
  const int32_t h = n >> 1;
  y = y * pow2(h) * pow2(n - h);
  y = x > 88.7228394f ? __builtin_inff() : y;
  return x != x ? x : y;
}

inline float tanhOne(float x) {
  const float ax = x < 0 ? -x : x;
  // small |x|: odd polynomial (no cancellation); otherwise 1 - 2 / (e^{2|x|} + 1)
  const float z = x * x;
  float s = -5.70498872745e-3f;
  s = s * z + 2.06390887954e-2f;
  s = s * z - 5.37397155531e-2f;
  s = s * z + 1.33314422036e-1f;
  s = s * z - 3.33332819422e-1f;
  const float small = s * z * x + x;
  const float big = 1.0f - 2.0f / (expOne(2.0f * ax) + 1.0f);
  const float signedBig = x < 0 ? -big : big;
  return ax < 0.625f ? small : signedBig;
}

inline float sigmoidOne(float x) {
  const float e = expOne(x < 0 ? x : -x);  // e^{-|x|}, never overflows
  const float r = 1.0f / (1.0f + e);
  return x >= 0 ? r : (x != x ? x : e * r);
}

// Rational approximation of erf on [-4, 4] (Eigen's generic_fast_erf_float); erf = +-1 beyond in float.
inline float erfOne(float x) {
  float xc = x < -4.0f ? -4.0f : x;
  xc = xc > 4.0f ? 4.0f : xc;
  const float x2 = xc * xc;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  p = p * xc;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  return p / q;
}

void expArr(const float* x, float* y, int64_t n) {
#pragma GCC ivdep
  for (int64_t i = 0; i < n; i++) y[i] = expOne(x[i]);
}
void tanhArr(const float* x, float* y, int64_t n) {
#pragma GCC ivdep
  for (int64_t i = 0; i < n; i++) y[i] = tanhOne(x[i]);
}
void sigmoidArr(const float* x, float* y, int64_t n) {
#pragma GCC ivdep
  for (int64_t i = 0; i < n; i++) y[i] = sigmoidOne(x[i]);
}
void erfArr(const float* x, float* y, int64_t n) {
#pragma GCC ivdep
  for (int64_t i = 0; i < n; i++) y[i] = erfOne(x[i]);
}
void geluErfArr(const float* x, float* y, int64_t n) {
#pragma GCC ivdep
  for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erfOne(x[i] * 0.70710678118654752f));
}
void geluTanhArr(const float* x, float* y, int64_t n) {
#pragma GCC ivdep
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + tanhOne(0.7978845608028654f * (v + 0.044715f * v * v * v)));
  }
}

// gelu′(x) = Φ(x) + x·φ(x)
void geluErfGradArr(const float* x, const float* g, float* out, int64_t n) {
#pragma GCC ivdep
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    const float cdf = 0.5f * (1.0f + erfOne(v * 0.70710678118654752f));
    const float pdf = 0.3989422804014327f * expOne(-0.5f * v * v);
    out[i] = g[i] * (cdf + v * pdf);
  }
}
// d/dx 0.5x(1 + th), th = tanh(a), a = √(2/π)(x + c x³): 0.5(1 + th) + 0.5x(1 − th²)·a′. With 1 + th = 2σ(2a) and
// 1 − th² = 4σ(2a)σ(−2a), both from one e^{−2|a|}: no cancellation where th rounds to −1 (x below about −3).
void geluTanhGradArr(const float* x, const float* g, float* out, int64_t n) {
#pragma GCC ivdep
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    const float a = 0.7978845608028654f * (v + 0.044715f * v * v * v);
    const float e = expOne(a < 0 ? 2.0f * a : -2.0f * a);
    const float r = 1.0f / (1.0f + e);
    const float up = a >= 0 ? r : e * r;   // σ(2a)
    const float down = a >= 0 ? e * r : r;  // σ(−2a)
    const float both = up * down;
    const float slope = 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * v * v);
    // once σ(2a)σ(−2a) is 0 the second term is 0 (not x·0·∞ = NaN for huge |x|)
    out[i] = g[i] * (up + (both == 0.0f ? 0.0f : 2.0f * v * both * slope));
  }
}

}  // namespace

VMath table() {
  return {EITP_VMATH_STR(EITP_VMATH_NS), expArr, tanhArr, sigmoidArr, erfArr, geluErfArr, geluTanhArr, geluErfGradArr, geluTanhGradArr};
}
