// tanh-jvp-vec compiled for the generic instruction set (see tanh-jvp-vec.h; flags in CMakeLists.txt), and the
// run-time choice among the ISAs.
#include <cstdint>

#include "tanh-jvp-vec.h"

namespace eitp {
namespace tanh_jvp_vec_generic {
#define EITP_TANH_JVP_VEC_NS generic
#include "tanh-jvp-vec-impl.h"
}  // namespace tanh_jvp_vec_generic
}  // namespace eitp

#include "isa.h"

namespace eitp {

const TanhJvpVec& tanhJvpVec() {
  static const TanhJvpVec table = EITP_ISA_TABLE(tanh_jvp_vec);
  return table;
}

}  // namespace eitp
