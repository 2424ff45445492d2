// The core of the Cephes-style expf shared by vmath (scalar, per lane) and rows-vec (GCC vectors): with the argument
// already clamped, n = round(x / ln 2) by the 1.5·2^23 trick (vectorises without SSE4.1's roundps), r = x − n ln 2
// in two parts, and exp(r) by a degree-6 polynomial. T is float or a GCC float vector (scalars broadcast). The caller
// scales by 2^n and handles NaN and overflow.
//
// Included inside the anonymous namespace of vmath-impl.h and rows-vec-impl.h, so that each ISA's file gets its own
// internal copy: an inline function with external linkage compiled with AVX-512 in one file could be the one the
// linker keeps for every file.
#pragma once

template <typename T>
struct ExpReduced {
  T fn;  // n as a float
  T er;  // exp(r)
};

template <typename T>
inline ExpReduced<T> expReduced(T xc) {
  const T fn = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const T r = (xc - fn * 0.693359375f) - fn * -2.12194440e-4f;
  T p = T{} + 1.9875691500e-4f;  // a scalar or a splat
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return {fn, (p * r) * r + r + 1.0f};
}
