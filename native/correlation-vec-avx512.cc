// correlation-vec compiled for the avx512 instruction set (see correlation-vec.h; flags in CMakeLists.txt).
#include <cstdint>

#include "correlation-vec.h"

namespace eitp {
namespace correlation_vec_avx512 {
#define EITP_CORRELATION_VEC_NS avx512
#include "correlation-vec-impl.h"
}  // namespace correlation_vec_avx512
}  // namespace eitp
