// activation-density-vec compiled for the generic instruction set (see activation-density-vec.h; flags in
// CMakeLists.txt), and the run-time choice among the ISAs.
#include <cstdint>

#include "activation-density-vec.h"

namespace eitp {
namespace activation_density_vec_generic {
#define EITP_ACTIVATION_DENSITY_VEC_NS generic
#include "activation-density-vec-impl.h"
}  // namespace activation_density_vec_generic
}  // namespace eitp

#include "isa.h"

namespace eitp {

const ActivationDensityVec& activationDensityVec() {
  static const ActivationDensityVec table = EITP_ISA_TABLE(activation_density_vec);
  return table;
}

}  // namespace eitp
