// vmath compiled for the generic instruction set (see vmath.h; flags in CMakeLists.txt).
#include <cstdint>

#include "vmath.h"

namespace eitp {
namespace vmath_generic {
#define EITP_VMATH_NS generic
#include "vmath-impl.h"
}  // namespace vmath_generic
}  // namespace eitp

#include <cstdlib>
#include <string>

namespace eitp {

const VMath& vmath() {
  static const VMath table = [] {
#ifdef EITP_X86
    // EITP_SIMD=generic|avx2 caps the instruction set (to test the fallbacks on a newer CPU).
    const char* cap = std::getenv("EITP_SIMD");
    const std::string want = cap ? cap : "";
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (want != "generic" && want != "avx2" && avx2 && __builtin_cpu_supports("avx512f")) return vmath_avx512::table();
    if (want != "generic" && avx2) return vmath_avx2::table();
#endif
    return vmath_generic::table();
  }();
  return table;
}

}  // namespace eitp
