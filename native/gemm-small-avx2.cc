// gemm-small compiled for the avx2 instruction set (see gemm-small.h; flags in CMakeLists.txt): 256-bit vectors,
// 16 vector registers.
#include <cstdint>

#include "gemm-small.h"

namespace eitp {
namespace gemm_small_avx2 {
#define EITP_GEMM_SMALL_NS avx2
#define EITP_GEMM_SMALL_VBYTES 32
#define EITP_GEMM_SMALL_REGS 16
#include "gemm-small-impl.h"
}  // namespace gemm_small_avx2
}  // namespace eitp
