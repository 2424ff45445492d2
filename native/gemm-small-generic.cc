// gemm-small compiled for the generic instruction set (see gemm-small.h; flags in CMakeLists.txt): 128-bit vectors,
// 16 vector registers.
#include <cstdint>

#include "gemm-small.h"

namespace eitp {
namespace gemm_small_generic {
#define EITP_GEMM_SMALL_NS generic
#define EITP_GEMM_SMALL_VBYTES 16
#define EITP_GEMM_SMALL_REGS 16
#include "gemm-small-impl.h"
}  // namespace gemm_small_generic
}  // namespace eitp
