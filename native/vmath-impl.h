// The body of vmath for one ISA: included by vmath-<isa>.cc inside `namespace eitp::vmath_<isa>` with that ISA's
// compiler flags. Written with GCC vector types of the ISA's width (16, 32 or 64 bytes) rather than scalar loops left
// to the auto-vectoriser: without AVX-512's masked operations GCC cannot if-convert the selects of these functions
// (an FP operation under a condition may trap, without -fno-trapping-math), so the baseline and AVX2 builds ran
// one element at a time, and even the AVX-512 build kept a 32-byte second loop and per-lane masking.
//
// Every element, the last partial vector's included, goes through the same vector code (the tail through a
// zero-padded buffer): lanes are independent and each step is one correctly rounded IEEE operation (no FMA
// contraction: the files build with -ffp-contract=off), so an element's result depends neither on where the thread
// pool cut the array nor on the ISA — the baseline, AVX2 and AVX-512 builds agree bit for bit.
//
// The array functions may run in place (x == y): a vector is loaded before it is stored. No standard-library calls:
// an inline function emitted with AVX-512 code in one file must never be picked by the linker for another.
//
// Set by the including file: EITP_VMATH_NS (the ISA's name), EITP_VMATH_VBYTES (bytes per vector) and, for AVX-512,
// EITP_VMATH_SCALEF (scale by vscalefps).

#define EITP_VMATH_STR2(x) #x
#define EITP_VMATH_STR(x) EITP_VMATH_STR2(x)

namespace {

#include "exp-reduced.h"

constexpr int kLanes = EITP_VMATH_VBYTES / 4;
typedef float VF __attribute__((vector_size(EITP_VMATH_VBYTES)));
typedef int32_t VI __attribute__((vector_size(EITP_VMATH_VBYTES)));
typedef float VFU __attribute__((vector_size(EITP_VMATH_VBYTES), aligned(4), may_alias));

inline VF loadv(const float* p) { return *reinterpret_cast<const VFU*>(p); }
inline void storev(float* p, VF v) { *reinterpret_cast<VFU*>(p) = v; }
inline VF splat(float s) { return s - VF{}; }  // s − 0 is s for every s (−0 included): just the broadcast

#ifndef EITP_VMATH_SCALEF
// 2^e for e in [-126, 127], per lane.
inline VF pow2(VI e) { return reinterpret_cast<VF>((e + 127) << 23); }
#endif

// Cephes-style expf: n = round(x / ln 2), r = x - n ln 2, exp(r) by a degree-6 polynomial, times 2^n split in two
// factors so that subnormal results come out right (gradual underflow like expf; such lanes cost a microcode assist).
inline VF expV(VF x) {
  // Clamp written so that NaN becomes -104 (its result is replaced by NaN below): no NaN reaches the int conversion.
  VF xc = x > -104.0f ? x : splat(-104.0f);
  xc = xc < 88.7228394f ? xc : splat(88.7228394f);
  const ExpReduced<VF> e = expReduced(xc);
#ifdef EITP_VMATH_SCALEF
  // e.er · 2^n by one vscalefps: a single rounding of the exact product, as below (where the first factor is exact),
  // so the same bits, subnormal and overflowing results included, in 1 instruction instead of 9.
  // (The builtin with the whole mask and a defined pass-through: _mm512_scalef_ps trips GCC 12's -Wmaybe-uninitialized
  // on its undefined one, GCC bug 105593. 4 is _MM_FROUND_CUR_DIRECTION: the MXCSR's rounding, to nearest.)
  VF y = __builtin_ia32_scalefps512_mask(e.er, e.fn, e.er, static_cast<uint16_t>(0xffff), 4);
#else
  VF y = e.er;
  const VI n = __builtin_convertvector(e.fn, VI);
  const VI h = n >> 1;
  y = y * pow2(h) * pow2(n - h);
#endif
  y = x > 88.7228394f ? splat(__builtin_inff()) : y;
  return x != x ? x : y;
}

inline VF tanhV(VF x) {
  const VF ax = x < 0.0f ? -x : x;
  // small |x|: odd polynomial (no cancellation); otherwise 1 - 2 / (e^{2|x|} + 1)
  const VF z = x * x;
  VF s = splat(-5.70498872745e-3f);
  s = s * z + 2.06390887954e-2f;
  s = s * z - 5.37397155531e-2f;
  s = s * z + 1.33314422036e-1f;
  s = s * z - 3.33332819422e-1f;
  const VF small = s * z * x + x;
  const VF big = 1.0f - 2.0f / (expV(2.0f * ax) + 1.0f);
  const VF signedBig = x < 0.0f ? -big : big;
  return ax < 0.625f ? small : signedBig;
}

inline VF sigmoidV(VF x) {
  const VF e = expV(x < 0.0f ? x : -x);  // e^{-|x|}, never overflows
  const VF r = 1.0f / (1.0f + e);
  return x >= 0.0f ? r : (x != x ? x : e * r);
}

// Rational approximation of erf on [-4, 4] (Eigen's generic_fast_erf_float); erf = +-1 beyond in float.
inline VF erfV(VF x) {
  VF xc = x < -4.0f ? splat(-4.0f) : x;
  xc = xc > 4.0f ? splat(4.0f) : xc;
  const VF x2 = xc * xc;
  VF p = splat(-2.72614225801306e-10f);
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  p = p * xc;
  VF q = splat(-1.45660718464996e-05f);
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  return p / q;
}

inline VF geluErfV(VF v) { return 0.5f * v * (1.0f + erfV(v * 0.70710678118654752f)); }

// 0.5x(1 + tanh(a)), a = √(2/π)(x + c x³), as x·σ(2a) = x / (1 + e^{−2a}): one exp and one division instead of tanh's
// two branches, and no cancellation in 1 + tanh(a) where tanh(a) is near −1 (x below about −3), so the negative
// tail keeps its relative accuracy down to e^{−2a} overflowing (x below about −10), where the result is ∓0.
inline VF geluTanhV(VF v) {
  const VF a = 0.7978845608028654f * (v + 0.044715f * v * v * v);
  return v / (1.0f + expV(-2.0f * a));
}

// gelu′(x) = Φ(x) + x·φ(x)
inline VF geluErfGradV(VF v, VF g) {
  const VF cdf = 0.5f * (1.0f + erfV(v * 0.70710678118654752f));
  const VF pdf = 0.3989422804014327f * expV(-0.5f * v * v);
  return g * (cdf + v * pdf);
}

// d/dx 0.5x(1 + th), th = tanh(a), a = √(2/π)(x + c x³): 0.5(1 + th) + 0.5x(1 − th²)·a′. With 1 + th = 2σ(2a) and
// 1 − th² = 4σ(2a)σ(−2a), both from one e^{−2|a|}: no cancellation where th rounds to −1 (x below about −3).
struct SigmaPair {
  VF up, down;  // σ(2a), σ(−2a)
};

// σ(±2a) for the tanh form's a = √(2/π)(x + c x³), from one e^{−2|a|}.
inline SigmaPair geluTanhSigmas(VF v) {
  const VF a = 0.7978845608028654f * (v + 0.044715f * v * v * v);
  const VF e = expV(a < 0.0f ? 2.0f * a : -2.0f * a);
  const VF r = 1.0f / (1.0f + e);
  return {a >= 0.0f ? r : e * r, a >= 0.0f ? e * r : r};
}

inline VF geluTanhGradV(VF v, VF g) {
  const auto [up, down] = geluTanhSigmas(v);
  const VF both = up * down;
  const VF slope = 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * v * v);
  // once σ(2a)σ(−2a) is 0 the second term is 0 (not x·0·∞ = NaN for huge |x|)
  const VF out = g * (up + (both == 0.0f ? VF{} : 2.0f * v * both * slope));
  // NaN x: x itself, so that the NaN's sign does not depend on how the compiler ordered two NaN operands
  return v != v ? v : out;
}

// gelu″(x) = φ(x)(2 − x²); where φ has underflowed to 0 the result is 0 (not 0·∞ once x² overflows, |x| > 1.8e19).
inline VF geluErfCurvatureV(VF v, VF g) {
  const VF pdf = 0.3989422804014327f * expV(-0.5f * v * v);
  const VF out = g * (pdf == 0.0f ? VF{} : pdf * (2.0f - v * v));
  return v != v ? v : out;
}

// The tanh form's gelu″ = s·(a′ + 3ck·x² − x·th·a′²) with a′ = √(2/π)(1 + 3c·x²), s = 1 − th² = 4σ(2a)σ(−2a) and
// th = σ(2a) − σ(−2a), from the same e^{−2|a|} as gelu′ (no cancellation in s where th rounds to ±1). Once s is 0
// the result is 0 (±∞ included: the limit, not 0·∞).
inline VF geluTanhCurvatureV(VF v, VF g) {
  const auto [up, down] = geluTanhSigmas(v);
  const VF both = up * down;
  const VF slope = 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * v * v);
  const VF inner = slope + (3.0f * 0.044715f * 0.7978845608028654f) * v * v - v * (up - down) * slope * slope;
  const VF out = g * (both == 0.0f ? VF{} : 4.0f * both * inner);
  return v != v ? v : out;
}

// y = f(x) over n floats; the last n % kLanes through a zero-padded vector.
template <VF (*F)(VF)>
void unaryArr(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) storev(y + i, F(loadv(x + i)));
  if (i == n) return;
  float t[kLanes] = {};
  for (int64_t l = 0; l < n - i; l++) t[l] = x[i + l];
  storev(t, F(loadv(t)));
  for (int64_t l = 0; l < n - i; l++) y[i + l] = t[l];
}

// out = f(x, g) over n floats, the tail likewise.
template <VF (*F)(VF, VF)>
void binaryArr(const float* x, const float* g, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) storev(out + i, F(loadv(x + i), loadv(g + i)));
  if (i == n) return;
  float tx[kLanes] = {}, tg[kLanes] = {};
  for (int64_t l = 0; l < n - i; l++) {
    tx[l] = x[i + l];
    tg[l] = g[i + l];
  }
  storev(tx, F(loadv(tx), loadv(tg)));
  for (int64_t l = 0; l < n - i; l++) out[i + l] = tx[l];
}

}  // namespace

VMath table() {
  return {EITP_VMATH_STR(EITP_VMATH_NS), unaryArr<expV>, unaryArr<tanhV>, unaryArr<sigmoidV>, unaryArr<erfV>,
          unaryArr<geluErfV>, unaryArr<geluTanhV>, binaryArr<geluErfGradV>, binaryArr<geluTanhGradV>,
          binaryArr<geluErfCurvatureV>, binaryArr<geluTanhCurvatureV>};
}
