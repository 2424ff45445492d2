// rows-vec compiled for the avx2 instruction set (see rows-vec.h; flags in CMakeLists.txt): 256-bit vectors.
#include <cmath>
#include <cstdint>

#include "rows-vec.h"

namespace eitp {
namespace rows_vec_avx2 {
#define EITP_ROWS_VEC_NS avx2
#define EITP_ROWS_VEC_VBYTES 32
#include "rows-vec-impl.h"
}  // namespace rows_vec_avx2
}  // namespace eitp
