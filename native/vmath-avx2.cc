// vmath compiled for the avx2 instruction set (see vmath.h; flags in CMakeLists.txt).
#include <cstdint>

#include "vmath.h"

namespace eitp {
namespace vmath_avx2 {
#define EITP_VMATH_NS avx2
#define EITP_VMATH_VBYTES 32
#include "vmath-impl.h"
}  // namespace vmath_avx2
}  // namespace eitp
