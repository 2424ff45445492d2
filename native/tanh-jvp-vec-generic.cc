// tanh-jvp-vec compiled for the generic instruction set (see tanh-jvp-vec.h; flags in CMakeLists.txt), and the
// run-time choice among the ISAs.
#include <cstdint>

#include "tanh-jvp-vec.h"

namespace eitp {
namespace tanh_jvp_vec_generic {
#define EITP_TANH_JVP_VEC_NS generic
#include "tanh-jvp-vec-impl.h"
}  // namespace tanh_jvp_vec_generic
}  // namespace eitp

#include <cstdlib>
#include <string>

namespace eitp {

const TanhJvpVec& tanhJvpVec() {
  static const TanhJvpVec table = [] {
#ifdef EITP_X86
    // EITP_SIMD=generic|avx2 caps the instruction set, as for vmath and the GEMM.
    const char* cap = std::getenv("EITP_SIMD");
    const std::string want = cap ? cap : "";
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (want != "generic" && want != "avx2" && avx2 && __builtin_cpu_supports("avx512f")) return tanh_jvp_vec_avx512::table();
    if (want != "generic" && avx2) return tanh_jvp_vec_avx2::table();
#endif
    return tanh_jvp_vec_generic::table();
  }();
  return table;
}

}  // namespace eitp
