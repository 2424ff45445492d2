// gemm-batched compiled for the avx2 instruction set (see gemm-batched.h; flags in CMakeLists.txt): 256-bit vectors,
// 16 vector registers.
#include <cstdint>

#include "gemm-batched.h"

namespace eitp {
namespace gemm_batched_avx2 {
#define EITP_GEMM_BATCHED_NS avx2
#define EITP_GEMM_BATCHED_VBYTES 32
#define EITP_GEMM_BATCHED_REGS 16
#include "gemm-batched-impl.h"
}  // namespace gemm_batched_avx2
}  // namespace eitp
