// rows-vec compiled for the generic instruction set (see rows-vec.h; flags in CMakeLists.txt): 128-bit vectors.
// Also rowsVec(), the table of the active ISA.
#include <cmath>
#include <cstdint>

#include "rows-vec.h"

namespace eitp {
namespace rows_vec_generic {
#define EITP_ROWS_VEC_NS generic
#define EITP_ROWS_VEC_VBYTES 16
#include "rows-vec-impl.h"
}  // namespace rows_vec_generic
}  // namespace eitp

#include "isa.h"

namespace eitp {

const RowsVec& rowsVec() {
  static const RowsVec table = EITP_ISA_TABLE(rows_vec);
  return table;
}

}  // namespace eitp
