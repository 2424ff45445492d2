// The instruction set the per-ISA kernels run with: the best one the CPU supports (cpuid), capped by
// EITP_SIMD=generic|avx2 so that the fallbacks can be tested on a newer CPU. Read once per process; every kernel
// family (GEMM, vmath, train-vec, correlation-vec, tanh-jvp-vec, soft-histogram-vec, the FMA probe) uses this one
// choice.
#pragma once

namespace eitp {

enum class Isa { Generic, Avx2, Avx512 };

Isa activeIsa();

}  // namespace eitp

// The table() of the active ISA from the namespaces <prefix>_generic, <prefix>_avx2 and <prefix>_avx512 (the latter
// two exist on x86 only).
#ifdef EITP_X86
#define EITP_ISA_TABLE(prefix)                                                                                      \
  (::eitp::activeIsa() == ::eitp::Isa::Avx512 ? prefix##_avx512::table()                                            \
   : ::eitp::activeIsa() == ::eitp::Isa::Avx2 ? prefix##_avx2::table()                                              \
                                              : prefix##_generic::table())
#else
#define EITP_ISA_TABLE(prefix) prefix##_generic::table()
#endif
