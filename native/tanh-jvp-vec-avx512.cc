// tanh-jvp-vec compiled for the avx512 instruction set (see tanh-jvp-vec.h; flags in CMakeLists.txt).
#include <cstdint>

#include "tanh-jvp-vec.h"

namespace eitp {
namespace tanh_jvp_vec_avx512 {
#define EITP_TANH_JVP_VEC_NS avx512
#include "tanh-jvp-vec-impl.h"
}  // namespace tanh_jvp_vec_avx512
}  // namespace eitp
