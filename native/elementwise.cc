// Elementwise kernels: unary maps, binary maps, comparisons, where, cast and contiguous copies. Semantics follow
// engine/backends/cpu/elementwise.ts: NaN propagation of maximum/minimum, JavaScript's Math.pow edge cases, and
// integer results wrapped like stores into JS typed arrays.
#include <cmath>
#include <limits>

#include "common.h"
#include "rowwise.h"
#include "strided.h"
#include "vmath.h"

namespace eitp {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- unary ----------------------------------------------------------------------------------------------------------

template <typename T, typename F>
void unaryMap(const Task& t, ThreadPool& pool, F f) {
  const Arg& x = t.inputs[0];
  T* out = static_cast<T*>(t.output.data);
  const T* src = static_cast<const T*>(x.data);
  rowwise<1>({&x}, t.output.numel(), pool, [&](int64_t o, int64_t len, const std::array<int64_t, 1>& off, const std::array<int64_t, 1>& ls) {
    const T* p = src + off[0];
    T* q = out + o;
    if (ls[0] == 1) {
      for (int64_t j = 0; j < len; j++) q[j] = f(p[j]);
    } else {
      for (int64_t j = 0; j < len; j++) q[j] = f(p[j * ls[0]]);
    }
  });
}

// A float-only op.
template <typename F>
void floatUnary(const Task& t, ThreadPool& pool, F f) {
  if (t.inputs[0].dtype != DType::F32) throw KernelError(std::string("needs f32 input, got ") + dtypeName(t.inputs[0].dtype));
  unaryMap<float>(t, pool, f);
}

// An op on any dtype: float computes in float, integers in double then wrap like a typed-array store.
template <typename F>
void anyUnary(const Task& t, ThreadPool& pool, F f) {
  EITP_DISPATCH(t.inputs[0].dtype, {
    if constexpr (std::is_same_v<T, float>) unaryMap<float>(t, pool, [&](float v) { return static_cast<float>(f(v)); });
    else unaryMap<T>(t, pool, [&](T v) { return storeAs<T>(f(static_cast<double>(v))); });
  });
}

// A float op computed by a vmath array function: contiguous rows go straight in, strided ones through a small
// buffer (same function either way, so the result does not depend on the layout or the thread split).
void vectorUnary(const Task& t, ThreadPool& pool, void (*fn)(const float*, float*, int64_t)) {
  const Arg& x = t.inputs[0];
  if (x.dtype != DType::F32) throw KernelError(std::string("needs f32 input, got ") + dtypeName(x.dtype));
  float* out = static_cast<float*>(t.output.data);
  const float* src = static_cast<const float*>(x.data);
  rowwise<1>({&x}, t.output.numel(), pool, [&](int64_t o, int64_t len, const std::array<int64_t, 1>& off, const std::array<int64_t, 1>& ls) {
    if (ls[0] == 1) {
      fn(src + off[0], out + o, len);
      return;
    }
    float buf[256];
    for (int64_t j0 = 0; j0 < len; j0 += 256) {
      const int64_t m = std::min<int64_t>(256, len - j0);
      for (int64_t j = 0; j < m; j++) buf[j] = src[off[0] + (j0 + j) * ls[0]];
      fn(buf, out + o + j0, m);
    }
  });
}

void kNeg(const Task& t, ThreadPool& p) { anyUnary(t, p, [](auto v) { return -v; }); }
void kAbs(const Task& t, ThreadPool& p) { anyUnary(t, p, [](auto v) { return std::abs(v); }); }
void kSquare(const Task& t, ThreadPool& p) { anyUnary(t, p, [](auto v) { return v * v; }); }
void kSign(const Task& t, ThreadPool& p) {
  anyUnary(t, p, [](auto v) -> decltype(v) { return v > 0 ? 1 : v < 0 ? -1 : v; });
}
void kExp(const Task& t, ThreadPool& p) { vectorUnary(t, p, vmath().exp); }
void kLog(const Task& t, ThreadPool& p) { floatUnary(t, p, [](float v) { return std::log(v); }); }
void kSqrt(const Task& t, ThreadPool& p) { floatUnary(t, p, [](float v) { return std::sqrt(v); }); }
void kRsqrt(const Task& t, ThreadPool& p) {
  floatUnary(t, p, [](float v) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(v))); });
}
void kTanh(const Task& t, ThreadPool& p) { vectorUnary(t, p, vmath().tanh); }
void kSigmoid(const Task& t, ThreadPool& p) { vectorUnary(t, p, vmath().sigmoid); }
void kRelu(const Task& t, ThreadPool& p) { floatUnary(t, p, [](float v) { return (v > 0 || v != v) ? v : 0.0f; }); }
void kErf(const Task& t, ThreadPool& p) { vectorUnary(t, p, vmath().erf); }
void kGelu(const Task& t, ThreadPool& p) {
  const bool tanhForm = !t.attrs.empty() && t.attrs[0] != 0;
  vectorUnary(t, p, tanhForm ? vmath().geluTanh : vmath().geluErf);
}

// ---- binary ---------------------------------------------------------------------------------------------------------

template <typename T, typename R, typename F>
void binaryMap(const Task& t, ThreadPool& pool, F f) {
  const Arg& a = t.inputs[0];
  const Arg& b = t.inputs[1];
  if (a.dtype != b.dtype) throw KernelError("operands must have the same dtype");
  R* out = static_cast<R*>(t.output.data);
  const T* pa = static_cast<const T*>(a.data);
  const T* pb = static_cast<const T*>(b.data);
  rowwise<2>({&a, &b}, t.output.numel(), pool,
             [&](int64_t o, int64_t len, const std::array<int64_t, 2>& off, const std::array<int64_t, 2>& ls) {
               const T* x = pa + off[0];
               const T* y = pb + off[1];
               R* q = out + o;
               if (ls[0] == 1 && ls[1] == 1) {
                 for (int64_t j = 0; j < len; j++) q[j] = f(x[j], y[j]);
               } else if (ls[0] == 1 && ls[1] == 0) {
                 const T yv = y[0];
                 for (int64_t j = 0; j < len; j++) q[j] = f(x[j], yv);
               } else if (ls[0] == 0 && ls[1] == 1) {
                 const T xv = x[0];
                 for (int64_t j = 0; j < len; j++) q[j] = f(xv, y[j]);
               } else {
                 for (int64_t j = 0; j < len; j++) q[j] = f(x[j * ls[0]], y[j * ls[1]]);
               }
             });
}

// Arithmetic: float in float (each op rounds once, as the f64-then-f32 store of the reference), integers in double
// then wrapped.
template <typename F>
void arith(const Task& t, ThreadPool& pool, F f) {
  EITP_DISPATCH(t.inputs[0].dtype, {
    if constexpr (std::is_same_v<T, float>) binaryMap<float, float>(t, pool, [&](float x, float y) { return static_cast<float>(f(x, y)); });
    else binaryMap<T, T>(t, pool, [&](T x, T y) { return storeAs<T>(f(static_cast<double>(x), static_cast<double>(y))); });
  });
}

template <typename F>
void compare(const Task& t, ThreadPool& pool, F f) {
  EITP_DISPATCH(t.inputs[0].dtype, { binaryMap<T, uint8_t>(t, pool, [&](T x, T y) { return static_cast<uint8_t>(f(x, y) ? 1 : 0); }); });
}

// Math.pow differs from C's pow: pow(x, NaN) is NaN even for x = 1, and (+-1)^(+-Infinity) is NaN.
double jsPow(double x, double y) {
  if (y != y) return kNaN;
  if ((x == 1 || x == -1) && std::isinf(y)) return kNaN;
  return std::pow(x, y);
}

void kAdd(const Task& t, ThreadPool& p) { arith(t, p, [](auto x, auto y) { return x + y; }); }
void kSub(const Task& t, ThreadPool& p) { arith(t, p, [](auto x, auto y) { return x - y; }); }
void kMul(const Task& t, ThreadPool& p) { arith(t, p, [](auto x, auto y) { return x * y; }); }
void kDiv(const Task& t, ThreadPool& p) { arith(t, p, [](auto x, auto y) { return x / y; }); }
void kPow(const Task& t, ThreadPool& p) {
  arith(t, p, [](auto x, auto y) { return jsPow(static_cast<double>(x), static_cast<double>(y)); });
}
void kMaximum(const Task& t, ThreadPool& p) {
  arith(t, p, [](auto x, auto y) -> decltype(x) { return (x != x || y != y) ? static_cast<decltype(x)>(kNaN) : (x > y ? x : y); });
}
void kMinimum(const Task& t, ThreadPool& p) {
  arith(t, p, [](auto x, auto y) -> decltype(x) { return (x != x || y != y) ? static_cast<decltype(x)>(kNaN) : (x < y ? x : y); });
}
void kEq(const Task& t, ThreadPool& p) { compare(t, p, [](auto x, auto y) { return x == y; }); }
void kNe(const Task& t, ThreadPool& p) { compare(t, p, [](auto x, auto y) { return x != y; }); }
void kLt(const Task& t, ThreadPool& p) { compare(t, p, [](auto x, auto y) { return x < y; }); }
void kLe(const Task& t, ThreadPool& p) { compare(t, p, [](auto x, auto y) { return x <= y; }); }
void kGt(const Task& t, ThreadPool& p) { compare(t, p, [](auto x, auto y) { return x > y; }); }
void kGe(const Task& t, ThreadPool& p) { compare(t, p, [](auto x, auto y) { return x >= y; }); }

// ---- where, contiguous, cast ------------------------------------------------------------------------------------------

template <typename T>
void whereTyped(const Task& t, ThreadPool& pool) {
  const Arg& c = t.inputs[0];
  const Arg& a = t.inputs[1];
  const Arg& b = t.inputs[2];
  const uint8_t* pc = static_cast<const uint8_t*>(c.data);
  const T* pa = static_cast<const T*>(a.data);
  const T* pb = static_cast<const T*>(b.data);
  T* out = static_cast<T*>(t.output.data);
  rowwise<3>({&c, &a, &b}, t.output.numel(), pool,
             [&](int64_t o, int64_t len, const std::array<int64_t, 3>& off, const std::array<int64_t, 3>& ls) {
               for (int64_t j = 0; j < len; j++) {
                 out[o + j] = pc[off[0] + j * ls[0]] ? pa[off[1] + j * ls[1]] : pb[off[2] + j * ls[2]];
               }
             });
}

void kWhere(const Task& t, ThreadPool& p) {
  if (t.inputs[0].dtype != DType::U8) throw KernelError("the condition must be u8");
  if (t.inputs[1].dtype != t.inputs[2].dtype) throw KernelError("both branches must have the same dtype");
  EITP_DISPATCH(t.inputs[1].dtype, { whereTyped<T>(t, p); });
}

void kContiguous(const Task& t, ThreadPool& p) {
  const Arg& x = t.inputs[0];
  if (x.contiguous()) {
    const size_t sz = itemSize(x.dtype);
    std::memcpy(t.output.data, static_cast<const char*>(x.data) + x.offset * sz, sz * x.numel());
  } else {
    gather(x, t.output.data, p);
  }
}

void kCast(const Task& t, ThreadPool& pool) {
  const Arg& x = t.inputs[0];
  const DType to = t.output.dtype;
  EITP_DISPATCH(x.dtype, {
    using S = T;
    const S* src = static_cast<const S*>(x.data);
    EITP_DISPATCH(to, {
      T* out = static_cast<T*>(t.output.data);
      rowwise<1>({&x}, t.output.numel(), pool,
                 [&](int64_t o, int64_t len, const std::array<int64_t, 1>& off, const std::array<int64_t, 1>& ls) {
                   for (int64_t j = 0; j < len; j++) {
                     // float -> int truncates toward zero and wraps (Math.trunc then a typed-array store)
                     out[o + j] = storeAs<T>(static_cast<double>(src[off[0] + j * ls[0]]));
                   }
                 });
    });
  });
}

}  // namespace

std::vector<KernelEntry> elementwiseKernels() {
  return {
      {"neg", kNeg},         {"exp", kExp},         {"log", kLog},         {"sqrt", kSqrt},       {"rsqrt", kRsqrt},
      {"tanh", kTanh},       {"sigmoid", kSigmoid}, {"relu", kRelu},       {"gelu", kGelu},       {"abs", kAbs},
      {"square", kSquare},   {"erf", kErf},         {"sign", kSign},       {"add", kAdd},         {"sub", kSub},
      {"mul", kMul},         {"div", kDiv},         {"pow", kPow},         {"maximum", kMaximum}, {"minimum", kMinimum},
      {"eq", kEq},           {"ne", kNe},           {"lt", kLt},           {"le", kLe},           {"gt", kGt},
      {"ge", kGe},           {"where", kWhere},     {"contiguous", kContiguous}, {"cast", kCast},
  };
}

}  // namespace eitp
