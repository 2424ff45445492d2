// gemm-batched compiled for the avx512 instruction set (see gemm-batched.h; flags in CMakeLists.txt): 512-bit vectors,
// 32 vector registers.
#include <cstdint>

#include "gemm-batched.h"

namespace eitp {
namespace gemm_batched_avx512 {
#define EITP_GEMM_BATCHED_NS avx512
#define EITP_GEMM_BATCHED_VBYTES 64
#define EITP_GEMM_BATCHED_REGS 32
#include "gemm-batched-impl.h"
}  // namespace gemm_batched_avx512
}  // namespace eitp
