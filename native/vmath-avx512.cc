// vmath compiled for the avx512 instruction set (see vmath.h; flags in CMakeLists.txt).
#include <cstdint>

#include "vmath.h"

namespace eitp {
namespace vmath_avx512 {
#define EITP_VMATH_NS avx512
#include "vmath-impl.h"
}  // namespace vmath_avx512
}  // namespace eitp
