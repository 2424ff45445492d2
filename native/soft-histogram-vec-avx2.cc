// soft-histogram-vec compiled for the avx2 instruction set (see soft-histogram-vec.h; flags in CMakeLists.txt): eight
// values per ymm register.
#include <cstdint>

#include "soft-histogram-vec.h"

namespace eitp {
namespace soft_histogram_vec_avx2 {
#define EITP_SHV_NS avx2
#define EITP_SHV_LANES 8
#include "soft-histogram-vec-impl.h"
}  // namespace soft_histogram_vec_avx2
}  // namespace eitp
