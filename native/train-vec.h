// The elementwise bodies of the fused training kernels (activationGrad, adamStep, sgdStep) over contiguous arrays,
// compiled once per ISA (baseline, AVX2, AVX-512) and chosen at run time by cpuid like vmath (EITP_SIMD caps it).
// Plain branch-free loops the compiler vectorises, built with -ffp-contract=off: every ISA, and the SIMD body and
// scalar tail of each, round identically, so results depend on neither the CPU nor how the thread pool cuts an array.
#pragma once

#include <cstdint>

namespace eitp {

// adamStep's scalars (AdamStepAttrs in engine/ops/attrs.ts), as floats.
struct AdamScalars {
  float beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, decay, stepSize, bias2Sqrt;
};

// sgdStep's scalars (SgdStepAttrs in engine/ops/attrs.ts), as floats, and which terms apply, decided from the
// doubles (a tiny nonzero momentum or weight decay that rounds to 0 in float still takes its branch, as on cpu).
struct SgdScalars {
  float lr, momentum, oneMinusDampening, weightDecay;
  bool hasWeightDecay, hasMomentum, nesterov, first;
};

struct TrainVec {
  const char* isa;
  // out[i] = g[i]·f′ from y[i]: relu [y > 0], tanh (1 − y)(1 + y), sigmoid y(1 − y).
  void (*reluGrad)(const float* y, const float* g, float* out, int64_t n);
  void (*tanhGrad)(const float* y, const float* g, float* out, int64_t n);
  void (*sigmoidGrad)(const float* y, const float* g, float* out, int64_t n);
  // One Adam step of n values: reads p, g, m, v and writes p′, m′, v′.
  void (*adam)(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut,
               int64_t n, const AdamScalars& s);
  // One SGD step of n values: writes p′ and, with momentum, buf′. buf is read only with momentum and not first (it
  // may be null otherwise); bufOut is written only with momentum (it may be null otherwise).
  void (*sgd)(const float* p, const float* g, const float* buf, float* pOut, float* bufOut, int64_t n, const SgdScalars& s);
};

const TrainVec& trainVec();

namespace train_vec_generic { TrainVec table(); }
#ifdef EITP_X86
namespace train_vec_avx2 { TrainVec table(); }
namespace train_vec_avx512 { TrainVec table(); }
#endif

}  // namespace eitp
