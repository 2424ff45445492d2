// rows-vec compiled for the avx512 instruction set (see rows-vec.h; flags in CMakeLists.txt): 512-bit vectors.
#include <cmath>
#include <cstdint>

#include "rows-vec.h"

namespace eitp {
namespace rows_vec_avx512 {
#define EITP_ROWS_VEC_NS avx512
#define EITP_ROWS_VEC_VBYTES 64
#define EITP_ROWS_VEC_SCALEF 1
#include "rows-vec-impl.h"
}  // namespace rows_vec_avx512
}  // namespace eitp
