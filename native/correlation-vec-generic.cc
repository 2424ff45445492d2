// correlation-vec compiled for the generic instruction set (see correlation-vec.h; flags in CMakeLists.txt), and the
// run-time choice among the ISAs.
#include <cstdint>

#include "correlation-vec.h"

namespace eitp {
namespace correlation_vec_generic {
#define EITP_CORRELATION_VEC_NS generic
#define EITP_CORRELATION_VEC_STRIP 1
#include "correlation-vec-impl.h"
}  // namespace correlation_vec_generic
}  // namespace eitp

#include "isa.h"

namespace eitp {

const CorrelationVec& correlationVec() {
  static const CorrelationVec table = EITP_ISA_TABLE(correlation_vec);
  return table;
}

}  // namespace eitp
