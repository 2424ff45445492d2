// train-vec compiled for the generic instruction set (see train-vec.h; flags in CMakeLists.txt).
#include <cstdint>

#include "train-vec.h"

namespace eitp {
namespace train_vec_generic {
#define EITP_TRAIN_VEC_NS generic
#include "train-vec-impl.h"
}  // namespace train_vec_generic
}  // namespace eitp

#include "isa.h"

namespace eitp {

const TrainVec& trainVec() {
  static const TrainVec table = EITP_ISA_TABLE(train_vec);
  return table;
}

}  // namespace eitp
