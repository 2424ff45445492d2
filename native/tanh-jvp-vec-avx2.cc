// tanh-jvp-vec compiled for the avx2 instruction set (see tanh-jvp-vec.h; flags in CMakeLists.txt).
#include <cstdint>

#include "tanh-jvp-vec.h"

namespace eitp {
namespace tanh_jvp_vec_avx2 {
#define EITP_TANH_JVP_VEC_NS avx2
#include "tanh-jvp-vec-impl.h"
}  // namespace tanh_jvp_vec_avx2
}  // namespace eitp
