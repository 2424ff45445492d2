// soft-histogram-vec compiled for the avx2 instruction set (see soft-histogram-vec.h; flags in CMakeLists.txt): eight
// values per ymm register, the cotangent read with vgatherdps.
#include <immintrin.h>

#include <cstdint>

#include "soft-histogram-vec.h"

namespace eitp {
namespace soft_histogram_vec_avx2 {
#define EITP_SHV_NS avx2
#define EITP_SHV_LANES 8
#define EITP_SHV_GATHER(out, base, idx) (out) = (Vf)_mm256_i32gather_ps((base), (__m256i)(idx), 4)
#include "soft-histogram-vec-impl.h"
}  // namespace soft_histogram_vec_avx2
}  // namespace eitp
