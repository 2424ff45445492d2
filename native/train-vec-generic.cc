// train-vec compiled for the generic instruction set (see train-vec.h; flags in CMakeLists.txt).
#include <cstdint>

#include "train-vec.h"

namespace eitp {
namespace train_vec_generic {
#define EITP_TRAIN_VEC_NS generic
#include "train-vec-impl.h"
}  // namespace train_vec_generic
}  // namespace eitp

#include <cstdlib>
#include <string>

namespace eitp {

const TrainVec& trainVec() {
  static const TrainVec table = [] {
#ifdef EITP_X86
    // EITP_SIMD=generic|avx2 caps the instruction set, as for vmath and the GEMM.
    const char* cap = std::getenv("EITP_SIMD");
    const std::string want = cap ? cap : "";
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (want != "generic" && want != "avx2" && avx2 && __builtin_cpu_supports("avx512f")) return train_vec_avx512::table();
    if (want != "generic" && avx2) return train_vec_avx2::table();
#endif
    return train_vec_generic::table();
  }();
  return table;
}

}  // namespace eitp
