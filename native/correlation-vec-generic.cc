// correlation-vec compiled for the generic instruction set (see correlation-vec.h; flags in CMakeLists.txt), and the
// run-time choice among the ISAs.
#include <cstdint>

#include "correlation-vec.h"

namespace eitp {
namespace correlation_vec_generic {
#define EITP_CORRELATION_VEC_NS generic
#define EITP_CORRELATION_VEC_STRIP 1
#include "correlation-vec-impl.h"
}  // namespace correlation_vec_generic
}  // namespace eitp

#include <cstdlib>
#include <string>

namespace eitp {

const CorrelationVec& correlationVec() {
  static const CorrelationVec table = [] {
#ifdef EITP_X86
    // EITP_SIMD=generic|avx2 caps the instruction set, as for vmath and the GEMM.
    const char* cap = std::getenv("EITP_SIMD");
    const std::string want = cap ? cap : "";
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (want != "generic" && want != "avx2" && avx2 && __builtin_cpu_supports("avx512f")) return correlation_vec_avx512::table();
    if (want != "generic" && avx2) return correlation_vec_avx2::table();
#endif
    return correlation_vec_generic::table();
  }();
  return table;
}

}  // namespace eitp
