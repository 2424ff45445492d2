// activation-density-vec compiled for the avx2 instruction set (see activation-density-vec.h; flags in CMakeLists.txt).
#include <cstdint>

#include "activation-density-vec.h"

namespace eitp {
namespace activation_density_vec_avx2 {
#define EITP_ACTIVATION_DENSITY_VEC_NS avx2
#include "activation-density-vec-impl.h"
}  // namespace activation_density_vec_avx2
}  // namespace eitp
