// soft-histogram-vec compiled for the baseline instruction set (see soft-histogram-vec.h; flags in CMakeLists.txt),
// and the run-time choice among the ISAs.
#include <cstdint>

#include "soft-histogram-vec.h"

namespace eitp {
namespace soft_histogram_vec_generic {
#define EITP_SHV_NS generic
#define EITP_SHV_LANES 4
#include "soft-histogram-vec-impl.h"
}  // namespace soft_histogram_vec_generic
}  // namespace eitp

#include <cstdlib>
#include <string>

namespace eitp {

const SoftHistogramVec& softHistogramVec() {
  static const SoftHistogramVec table = [] {
#ifdef EITP_X86
    // EITP_SIMD=generic|avx2 caps the instruction set, as for vmath and the GEMM.
    const char* cap = std::getenv("EITP_SIMD");
    const std::string want = cap ? cap : "";
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (want != "generic" && want != "avx2" && avx2 && __builtin_cpu_supports("avx512f")) return soft_histogram_vec_avx512::table();
    if (want != "generic" && avx2) return soft_histogram_vec_avx2::table();
#endif
    return soft_histogram_vec_generic::table();
  }();
  return table;
}

}  // namespace eitp
