// vmath compiled for the generic instruction set (see vmath.h; flags in CMakeLists.txt).
#include <cstdint>

#include "vmath.h"

namespace eitp {
namespace vmath_generic {
#define EITP_VMATH_NS generic
#define EITP_VMATH_VBYTES 16
#include "vmath-impl.h"
}  // namespace vmath_generic
}  // namespace eitp

#include "isa.h"

namespace eitp {

const VMath& vmath() {
  static const VMath table = EITP_ISA_TABLE(vmath);
  return table;
}

}  // namespace eitp
