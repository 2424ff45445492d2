// vmath compiled for the avx512 instruction set (see vmath.h; flags in CMakeLists.txt).
#include <cstdint>

#include "vmath.h"

namespace eitp {
namespace vmath_avx512 {
#define EITP_VMATH_NS avx512
#define EITP_VMATH_VBYTES 64
#define EITP_VMATH_SCALEF 1
#include "vmath-impl.h"
}  // namespace vmath_avx512
}  // namespace eitp
