// correlation-vec compiled for the avx2 instruction set (see correlation-vec.h; flags in CMakeLists.txt).
#include <cstdint>

#include "correlation-vec.h"

namespace eitp {
namespace correlation_vec_avx2 {
#define EITP_CORRELATION_VEC_NS avx2
#define EITP_CORRELATION_VEC_STRIP 2
#include "correlation-vec-impl.h"
}  // namespace correlation_vec_avx2
}  // namespace eitp
