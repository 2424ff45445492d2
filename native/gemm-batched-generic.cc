// gemm-batched compiled for the generic instruction set (see gemm-batched.h; flags in CMakeLists.txt): 128-bit vectors,
// 16 vector registers.
#include <cstdint>

#include "gemm-batched.h"

namespace eitp {
namespace gemm_batched_generic {
#define EITP_GEMM_BATCHED_NS generic
#define EITP_GEMM_BATCHED_VBYTES 16
#define EITP_GEMM_BATCHED_REGS 16
#include "gemm-batched-impl.h"
}  // namespace gemm_batched_generic
}  // namespace eitp
