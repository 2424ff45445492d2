// The row passes of tanhJvpStep and tanhJvpStepGrad (native/tanh-jvp.cc) over one contiguous row of `out` values,
// compiled once per ISA (baseline, AVX2, AVX-512) and chosen at run time by cpuid like vmath (EITP_SIMD caps it).
// Around the product they are what is left, and baseline SSE2 code (two doubles per instruction, the sums one lane at
// a time) made the backward's two passes cost half as much as its GEMM at B = 64, out = in = 256. All arithmetic is
// in double from the f32 inputs. Built with -ffp-contract=off and with fixed lanes for the sums (element j adds into
// lane j mod 16), so every ISA rounds every element and every sum identically.
#pragma once

#include <cstdint>

namespace eitp {

struct TanhJvpVec {
  const char* isa;
  // Σ_j δ_j² with δ_j = (1 − h_j²)·p_j.
  double (*sumSquares)(const float* h, const float* p, int64_t n);
  // y_j ← (1 − h_j²)·y_j·inv: the direction u = δ/g from p (in y) and inv = 1/g.
  void (*scale)(const float* h, float* y, int64_t n, double inv);
  // sums[0] = Σ_j δ_j² and sums[1] = Σ_j δ_j·gu_j.
  void (*gradSums)(const float* h, const float* p, const float* gu, int64_t n, double* sums);
  // With u_j = δ_j·inv and dδ_j = (gu_j + u_j·c)·inv (c = ḡ_ℓ − u·ḡ_u): dp_j = (1 − h_j²)·dδ_j and
  // dh_j = −2 h_j p_j dδ_j, where ph holds p on entry and dh on exit.
  void (*gradOut)(const float* h, const float* gu, float* dp, float* ph, int64_t n, double inv, double c);
};

const TanhJvpVec& tanhJvpVec();

namespace tanh_jvp_vec_generic { TanhJvpVec table(); }
#ifdef EITP_X86
namespace tanh_jvp_vec_avx2 { TanhJvpVec table(); }
namespace tanh_jvp_vec_avx512 { TanhJvpVec table(); }
#endif

}  // namespace eitp
