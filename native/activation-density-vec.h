// The per-element loops of activationDensity and activationDensityGrad (native/activation-density.cc) over one
// contiguous run of a, compiled once per ISA (baseline, AVX2, AVX-512) and chosen at run time by cpuid like vmath
// (EITP_SIMD caps it). Everything is in double from the f32 values (a² and c = τ² + eps, as in the cpu reference), and
// a double division, which issues about every 2 cycles per element at any vector width, bounds both loops: the sum
// takes two terms per division where c allows it. Built with -ffp-contract=off and with fixed lanes and a fixed order
// for the sum, so every ISA rounds every element and every sum identically.
#pragma once

#include <cstdint>

namespace eitp {

struct ActivationDensityVec {
  const char* isa;
  // Σ_j a_j²/(a_j² + c) over a[0, n), in double.
  double (*sum)(const float* a, int64_t n, double c);
  // out_j = scale·a_j/(a_j² + c)² over a[0, n), in double and rounded once (scale = 2c·g/n).
  void (*grad)(const float* a, float* out, int64_t n, double c, double scale);
};

const ActivationDensityVec& activationDensityVec();

namespace activation_density_vec_generic { ActivationDensityVec table(); }
#ifdef EITP_X86
namespace activation_density_vec_avx2 { ActivationDensityVec table(); }
namespace activation_density_vec_avx512 { ActivationDensityVec table(); }
#endif

}  // namespace eitp
