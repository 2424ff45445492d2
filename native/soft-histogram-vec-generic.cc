// soft-histogram-vec compiled for the baseline instruction set (see soft-histogram-vec.h; flags in CMakeLists.txt),
// and the run-time choice among the ISAs.
#include <cstdint>

#include "soft-histogram-vec.h"

namespace eitp {
namespace soft_histogram_vec_generic {
#define EITP_SHV_NS generic
#define EITP_SHV_LANES 4
#include "soft-histogram-vec-impl.h"
}  // namespace soft_histogram_vec_generic
}  // namespace eitp

#include "isa.h"

namespace eitp {

const SoftHistogramVec& softHistogramVec() {
  static const SoftHistogramVec table = EITP_ISA_TABLE(soft_histogram_vec);
  return table;
}

}  // namespace eitp
