// soft-histogram-vec compiled for the avx512 instruction set (see soft-histogram-vec.h; flags in CMakeLists.txt):
// sixteen values per zmm register, the cotangent read with vgatherdps.
#include <immintrin.h>

#include <cstdint>

#include "soft-histogram-vec.h"

namespace eitp {
namespace soft_histogram_vec_avx512 {
#define EITP_SHV_NS avx512
#define EITP_SHV_LANES 16
// (The masked form with a zero source: GCC 12's unmasked one trips -Wmaybe-uninitialized on its own undefined source,
// GCC bug 105593.)
#define EITP_SHV_GATHER(out, base, idx) \
  (out) = (Vf)_mm512_mask_i32gather_ps(_mm512_setzero_ps(), static_cast<__mmask16>(0xffff), (__m512i)(idx), (base), 4)
#include "soft-histogram-vec-impl.h"
}  // namespace soft_histogram_vec_avx512
}  // namespace eitp
