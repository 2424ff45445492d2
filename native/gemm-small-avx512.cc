// gemm-small compiled for the avx512 instruction set (see gemm-small.h; flags in CMakeLists.txt): 512-bit vectors,
// 32 vector registers.
#include <cstdint>

#include "gemm-small.h"

namespace eitp {
namespace gemm_small_avx512 {
#define EITP_GEMM_SMALL_NS avx512
#define EITP_GEMM_SMALL_VBYTES 64
#define EITP_GEMM_SMALL_REGS 32
#include "gemm-small-impl.h"
}  // namespace gemm_small_avx512
}  // namespace eitp
