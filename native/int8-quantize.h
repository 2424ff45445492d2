// The scalar definition of matmulInt8's per-row activation quantisation (engine/backends/cpu/quant.ts with f32
// arithmetic): amax = max |x| (NaN if any x is NaN), inv = 127/amax, xq = clamp(roundHalfEven(x·inv), ±127) with NaN
// stored as 0, scale = amax/127; an all-zero row gets codes 0 and scale 0. The generic kernels use it for whole rows,
// the SIMD ones for row tails. Internal linkage and no library calls: each instruction-set file compiles its own
// copy with its own flags, and the linker must never pick one file's copy for another.
#pragma once

#include <cstdint>

namespace eitp {
namespace {

// Round half to even for |v| < 2^22 by adding and removing 1.5·2^23 (default rounding mode); larger values are
// clamped anyway, NaN stays NaN.
inline int32_t quantizeOne(float x, float inv) {
  float v = x * inv;
  v = (v + 12582912.0f) - 12582912.0f;
  if (!(v == v)) return 0;
  return v > 127.0f ? 127 : v < -127.0f ? -127 : static_cast<int32_t>(v);
}

// amax of x[0, k) with Math.max's NaN rule, continuing from a running maximum and NaN flag.
inline void absMaxScalar(const float* x, int64_t k, float& amax, bool& nan) {
  for (int64_t p = 0; p < k; p++) {
    const float a = x[p] < 0 ? -x[p] : x[p];
    nan = nan || a != a;
    amax = a > amax ? a : amax;
  }
}

// The scale of a row from its amax (NaN flag folded in), and inv; false for an all-zero row.
inline bool rowScale(float amax, bool nan, float& scale, float& inv) {
  if (nan) amax = __builtin_nanf("");
  if (amax == 0.0f) {
    scale = 0.0f;
    return false;
  }
  inv = 127.0f / amax;
  scale = amax / 127.0f;
  return true;
}

template <typename Code>
float quantizeRowScalar(const float* x, int64_t k, Code* codes) {
  float amax = 0.0f, scale, inv = 0.0f;
  bool nan = false;
  absMaxScalar(x, k, amax, nan);
  const bool nonzero = rowScale(amax, nan, scale, inv);
  for (int64_t p = 0; p < k; p++) codes[p] = static_cast<Code>(nonzero ? quantizeOne(x[p], inv) : 0);
  return scale;
}

}  // namespace
}  // namespace eitp
