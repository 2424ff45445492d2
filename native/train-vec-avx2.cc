// train-vec compiled for the avx2 instruction set (see train-vec.h; flags in CMakeLists.txt).
#include <cstdint>

#include "train-vec.h"

namespace eitp {
namespace train_vec_avx2 {
#define EITP_TRAIN_VEC_NS avx2
#include "train-vec-impl.h"
}  // namespace train_vec_avx2
}  // namespace eitp
