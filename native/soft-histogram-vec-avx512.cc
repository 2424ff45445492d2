// soft-histogram-vec compiled for the avx512 instruction set (see soft-histogram-vec.h; flags in CMakeLists.txt):
// sixteen values per zmm register.
#include <cstdint>

#include "soft-histogram-vec.h"

namespace eitp {
namespace soft_histogram_vec_avx512 {
#define EITP_SHV_NS avx512
#define EITP_SHV_LANES 16
#include "soft-histogram-vec-impl.h"
}  // namespace soft_histogram_vec_avx512
}  // namespace eitp
