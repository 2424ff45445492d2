// Vectorisable float math (exp, tanh, sigmoid, erf, gelu, gelu′ and gelu″) over contiguous arrays, compiled once per
// ISA (baseline, AVX2, AVX-512) and chosen at run time by cpuid. glibc's scalar expf/tanhf/erff cost 4-16 ns per
// element; these are written with GCC vector types (vmath-impl.h), tails included, so every ISA and every thread split
// gives the same bits. Accuracy: a few ulp (well inside the parity tolerance); NaN propagates; exp overflows to Inf and
// underflows through the subnormals to 0 like expf.
#pragma once

#include <cstdint>

namespace eitp {

struct VMath {
  const char* isa;
  void (*exp)(const float* x, float* y, int64_t n);
  void (*tanh)(const float* x, float* y, int64_t n);
  void (*sigmoid)(const float* x, float* y, int64_t n);
  void (*erf)(const float* x, float* y, int64_t n);
  void (*geluErf)(const float* x, float* y, int64_t n);
  void (*geluTanh)(const float* x, float* y, int64_t n);
  // out[i] = g[i]·gelu′(x[i]): gelu's backward from its input (the geluGrad op), exact and tanh forms.
  void (*geluErfGrad)(const float* x, const float* g, float* out, int64_t n);
  void (*geluTanhGrad)(const float* x, const float* g, float* out, int64_t n);
  // out[i] = g[i]·gelu″(x[i]): geluGrad's second-order form (the backward in x of geluGrad), both forms.
  void (*geluErfCurvature)(const float* x, const float* g, float* out, int64_t n);
  void (*geluTanhCurvature)(const float* x, const float* g, float* out, int64_t n);
};

const VMath& vmath();

namespace vmath_generic { VMath table(); }
#ifdef EITP_X86
namespace vmath_avx2 { VMath table(); }
namespace vmath_avx512 { VMath table(); }
#endif

}  // namespace eitp
