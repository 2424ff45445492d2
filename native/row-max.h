// The max of a row of floats, shared by softmax, cross-entropy and its backward.
#pragma once

#include <cstdint>
#include <limits>

namespace eitp {

// Math.max over a row: NaN if any element is NaN (checked apart so the max loop vectorises).
// Eight independent running maxima: a single select chain is latency-bound (and max does not vectorise without
// -ffast-math).
inline float rowMax(const float* x, int64_t n) {
  const float ninf = -std::numeric_limits<float>::infinity();
  float m[8] = {ninf, ninf, ninf, ninf, ninf, ninf, ninf, ninf};
  int nan = 0;
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int k = 0; k < 8; k++) {
      m[k] = x[j + k] > m[k] ? x[j + k] : m[k];
      nan |= x[j + k] != x[j + k];
    }
  }
  for (; j < n; j++) {
    m[0] = x[j] > m[0] ? x[j] : m[0];
    nan |= x[j] != x[j];
  }
  if (nan) return std::numeric_limits<float>::quiet_NaN();
  float r = m[0];
  for (int k = 1; k < 8; k++) r = m[k] > r ? m[k] : r;
  return r;
}

}  // namespace eitp
