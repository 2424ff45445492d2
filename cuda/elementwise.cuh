// Elementwise kernels: unary and binary maps, comparisons, where, cast and strided copies. One grid-stride kernel
// takes any functor and any number of strided operands, so broadcasts (stride 0) and transposed views are read
// in place instead of being copied first. Semantics follow engine/backends/cpu/elementwise.ts.
#pragma once
#include "common.cuh"

namespace eitp {

template <class T>
struct In {
  const T* p;
  Strides s;
};

template <class F, class TO, class... TI>
__global__ void __launch_bounds__(256) map_kernel(TO* __restrict__ out, int64_t n, Shape shape, F f, In<TI>... in) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    out[i] = f(in.p[strided_index(shape, in.s, i)]...);
  }
}

// Integer arithmetic wraps modulo 2^bits like the reference's typed-array stores; unsigned math avoids C++ UB.
template <class T>
EITP_HD T wrap(uint32_t v) { return static_cast<T>(v); }

// ---- unary -------------------------------------------------------------------------------------------------
struct NegF {
  EITP_HD float operator()(float x) const { return -x; }
  template <class T>
  EITP_HD T operator()(T x) const { return wrap<T>(0u - static_cast<uint32_t>(x)); }
};
struct AbsF {
  EITP_HD float operator()(float x) const { return fabsf(x); }
  template <class T>
  EITP_HD T operator()(T x) const {
    if constexpr (T(-1) < T(0)) return x < 0 ? wrap<T>(0u - static_cast<uint32_t>(x)) : x;
    else return x;  // unsigned: already non-negative
  }
};
struct SquareF {
  EITP_HD float operator()(float x) const { return x * x; }
  template <class T>
  EITP_HD T operator()(T x) const { return wrap<T>(static_cast<uint32_t>(x) * static_cast<uint32_t>(x)); }
};
struct SignF {
  // NaN and ±0 pass through, as in the reference.
  EITP_HD float operator()(float x) const { return x > 0 ? 1.0f : (x < 0 ? -1.0f : x); }
  template <class T>
  EITP_HD T operator()(T x) const {
    if constexpr (T(-1) < T(0)) return static_cast<T>(x > 0 ? 1 : (x < 0 ? -1 : 0));
    else return static_cast<T>(x > 0 ? 1 : 0);
  }
};
struct ExpF {
  EITP_HD float operator()(float x) const { return expf(x); }
};
struct LogF {
  EITP_HD float operator()(float x) const { return logf(x); }
};
struct SqrtF {
  EITP_HD float operator()(float x) const { return sqrtf(x); }
};
struct RsqrtF {
  // 1/sqrt rather than the rsqrtf approximation: parity with the f64 reference at f32 tolerance.
  EITP_HD float operator()(float x) const { return 1.0f / sqrtf(x); }
};
struct TanhF {
  EITP_HD float operator()(float x) const { return tanhf(x); }
};
struct SigmoidF {
  // The two-sided form never overflows exp.
  EITP_HD float operator()(float x) const {
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    const float e = expf(x);
    return e / (1.0f + e);
  }
};
struct ReluF {
  EITP_HD float operator()(float x) const { return (x > 0 || is_nan(x)) ? x : 0.0f; }
};
struct ErfF {
  EITP_HD float operator()(float x) const { return erff(x); }
};
struct GeluF {
  int tanh_approx;
  EITP_HD float operator()(float x) const {
    if (tanh_approx) return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
  }
};

// ---- binary ------------------------------------------------------------------------------------------------
struct AddOp {
  EITP_HD float operator()(float a, float b) const { return a + b; }
  template <class T>
  EITP_HD T operator()(T a, T b) const { return wrap<T>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b)); }
};
struct SubOp {
  EITP_HD float operator()(float a, float b) const { return a - b; }
  template <class T>
  EITP_HD T operator()(T a, T b) const { return wrap<T>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b)); }
};
struct MulOp {
  EITP_HD float operator()(float a, float b) const { return a * b; }
  template <class T>
  EITP_HD T operator()(T a, T b) const { return wrap<T>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b)); }
};
struct DivOp {
  EITP_HD float operator()(float a, float b) const { return a / b; }
};
struct PowOp {
  EITP_HD float operator()(float a, float b) const { return powf(a, b); }
};
struct MaximumOp {
  EITP_HD float operator()(float a, float b) const { return (is_nan(a) || is_nan(b)) ? NAN : (a > b ? a : b); }
  template <class T>
  EITP_HD T operator()(T a, T b) const { return a > b ? a : b; }
};
struct MinimumOp {
  EITP_HD float operator()(float a, float b) const { return (is_nan(a) || is_nan(b)) ? NAN : (a < b ? a : b); }
  template <class T>
  EITP_HD T operator()(T a, T b) const { return a < b ? a : b; }
};
// Comparisons produce u8 0/1.
struct EqOp {
  template <class T>
  EITP_HD uint8_t operator()(T a, T b) const { return a == b; }
};
struct NeOp {
  template <class T>
  EITP_HD uint8_t operator()(T a, T b) const { return a != b; }
};
struct LtOp {
  template <class T>
  EITP_HD uint8_t operator()(T a, T b) const { return a < b; }
};
struct LeOp {
  template <class T>
  EITP_HD uint8_t operator()(T a, T b) const { return a <= b; }
};
struct GtOp {
  template <class T>
  EITP_HD uint8_t operator()(T a, T b) const { return a > b; }
};
struct GeOp {
  template <class T>
  EITP_HD uint8_t operator()(T a, T b) const { return a >= b; }
};

// where(cond, a, b); the branches are moved as raw bits (by element size), so one kernel serves every dtype.
struct WhereOp {
  template <class T>
  EITP_HD T operator()(uint8_t c, T a, T b) const { return c ? a : b; }
};

struct CopyOp {
  template <class T>
  EITP_HD T operator()(T x) const { return x; }
};

// Float to integer truncates toward zero and then wraps modulo 2^32 (NaN and ±inf give 0), like Math.trunc
// followed by a typed-array store in the reference. Integer to integer wraps; anything to float rounds.
template <class TO>
struct CastOp {
  EITP_HD TO operator()(float x) const {
    if constexpr (sizeof(TO) == 4 && TO(0.5f) == 0.5f) {
      return x;
    } else {
      if (!(x == x) || x == INFINITY || x == -INFINITY) return static_cast<TO>(0);
      double m = fmod(trunc(static_cast<double>(x)), 4294967296.0);
      if (m < 0) m += 4294967296.0;
      return static_cast<TO>(static_cast<uint32_t>(m));
    }
  }
  template <class TI>
  EITP_HD TO operator()(TI x) const {
    if constexpr (TO(0.5f) == 0.5f) {
      return static_cast<TO>(x);
    } else {
      return static_cast<TO>(static_cast<uint32_t>(x));
    }
  }
};

}  // namespace eitp
