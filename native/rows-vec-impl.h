// The body of rows-vec (rows-vec.h) for one ISA: included by rows-vec-<isa>.cc inside `namespace eitp::rows_vec_<isa>`
// with that ISA's compiler flags. GCC vector types of the ISA's width: VF floats, VD doubles (half as many lanes), VH
// the floats of one VD. Internal linkage only and no standard-library template (an inline function emitted with
// AVX-512 code in one file must never be picked by the linker for another); log is libm's, sqrt the builtin, which
// -fno-math-errno makes one instruction.
//
// Set by the including file: EITP_ROWS_VEC_NS (the ISA's name), EITP_ROWS_VEC_VBYTES (bytes per vector) and, for
// AVX-512, EITP_ROWS_VEC_SCALEF (scale by vscalefps).

#define EITP_ROWS_VEC_STR2(x) #x
#define EITP_ROWS_VEC_STR(x) EITP_ROWS_VEC_STR2(x)

namespace {

#include "exp-reduced.h"

constexpr int kLanes = EITP_ROWS_VEC_VBYTES / 4;
constexpr int kDLanes = EITP_ROWS_VEC_VBYTES / 8;
typedef float VF __attribute__((vector_size(EITP_ROWS_VEC_VBYTES)));
typedef int32_t VI __attribute__((vector_size(EITP_ROWS_VEC_VBYTES)));
typedef double VD __attribute__((vector_size(EITP_ROWS_VEC_VBYTES)));
typedef float VH __attribute__((vector_size(EITP_ROWS_VEC_VBYTES / 2)));

// Unaligned, aliasing loads and stores (no address of a register value taken, so tiles stay in registers).
template <typename X, typename T>
inline X loadv(const T* p) {
  typedef T U __attribute__((vector_size(sizeof(X)), aligned(sizeof(T)), may_alias));
  return *reinterpret_cast<const U*>(p);
}
template <typename X, typename T>
inline void storev(T* p, X v) {
  typedef T U __attribute__((vector_size(sizeof(X)), aligned(sizeof(T)), may_alias));
  *reinterpret_cast<U*>(p) = v;
}

template <typename X, typename S>
inline X splat(S s) {
  return s - X{};  // s − 0 is s for every s (−0 included): just the broadcast
}

inline VD toD(VH h) { return __builtin_convertvector(h, VD); }
inline VH toF(VD d) { return __builtin_convertvector(d, VH); }

// Vectors of N lanes of T, and the halves of one: register shuffles (through memory, a 512-bit store read back as
// two 256-bit halves stalls store forwarding, which cost more than the arithmetic of a short row).
template <typename T, int N>
struct VecOf {
  typedef T type __attribute__((vector_size(N * sizeof(T))));
};
template <typename T, int N>
using Vec = typename VecOf<T, N>::type;
template <int... I>
struct Seq {};
template <int N>
using MakeSeq = Seq<__integer_pack(N)...>;

template <typename T, int N, int... I>
inline Vec<T, N / 2> lowHalf(Vec<T, N> v, Seq<I...>) {
  return __builtin_shufflevector(v, v, I...);
}
template <typename T, int N, int... I>
inline Vec<T, N / 2> highHalf(Vec<T, N> v, Seq<I...>) {
  return __builtin_shufflevector(v, v, (I + N / 2)...);
}
template <typename T, int N>
inline Vec<T, N / 2> lowHalf(Vec<T, N> v) { return lowHalf<T, N>(v, MakeSeq<N / 2>{}); }
template <typename T, int N>
inline Vec<T, N / 2> highHalf(Vec<T, N> v) { return highHalf<T, N>(v, MakeSeq<N / 2>{}); }

// Lane reductions by halving (a fixed order, so the same result for the same lanes): sum, max (NaN-blind: NaN is
// tracked apart), or.
template <typename T, int N>
inline T laneSum(Vec<T, N> v) {
  if constexpr (N == 1) return v[0];
  else return laneSum<T, N / 2>(lowHalf<T, N>(v) + highHalf<T, N>(v));
}
template <int N>
inline float laneMax(Vec<float, N> v) {
  if constexpr (N == 1) return v[0];
  else {
    const Vec<float, N / 2> a = lowHalf<float, N>(v), b = highHalf<float, N>(v);
    return laneMax<N / 2>(a > b ? a : b);
  }
}
template <int N>
inline int32_t laneOr(Vec<int32_t, N> v) {
  if constexpr (N == 1) return v[0];
  else return laneOr<N / 2>(lowHalf<int32_t, N>(v) | highHalf<int32_t, N>(v));
}

inline double hsum(VD v) { return laneSum<double, kDLanes>(v); }

constexpr float kInf = __builtin_inff();

// 2^e for e in [-126, 127], per lane.
inline VF pow2(VI e) { return reinterpret_cast<VF>((e + 127) << 23); }

// vmath's expf (vmath-impl.h expOne) on a vector, operation for operation: n = round(x / ln 2), r = x − n ln 2,
// exp(r) by a degree-6 polynomial, times 2^n in two factors (one vscalefps on AVX-512: the same bits); NaN
// propagates, overflow to Inf. One difference: below x = −87 (results under 1.7e-38) the result is 0, and the lanes
// are computed at −87, where everything stays normal.
// An arithmetic result in the subnormal range costs a microcode assist (over 100 cycles) per instruction, and
// softmax rows are full of such arguments: the causal mask's −1e9, and the padding of a row's last vector.
inline VF expV(VF x) {
  VF xc = x > -87.0f ? x : splat<VF>(-87.0f);
  xc = xc < 88.7228394f ? xc : splat<VF>(88.7228394f);
  const ExpReduced<VF> e = expReduced(xc);
#ifdef EITP_ROWS_VEC_SCALEF
  // e.er · 2^n by one vscalefps: on the clamped range the product is normal or overflows, so the two exact factors
  // below and this single rounding give the same bits (as in vmath-impl.h; checked on all 2^32 float inputs), in 1
  // instruction instead of 8.
  VF y = __builtin_ia32_scalefps512_mask(e.er, e.fn, e.er, static_cast<uint16_t>(0xffff), 4);
#else
  VF y = e.er;
  const VI n = __builtin_convertvector(e.fn, VI);
  const VI h = n >> 1;
  y = y * pow2(h) * pow2(n - h);
#endif
  y = x > 88.7228394f ? splat<VF>(kInf) : y;
  y = x < -87.0f ? VF{} : y;
  return x != x ? x : y;
}

template <int... I>
inline VI iotaOf(Seq<I...>) {
  return VI{I...};
}

// The last rem < kLanes floats of a row as a vector, the lanes past the row's end set to `fill`. With `room` (floats of
// the call's rows from p on) for a whole vector, it is loaded and the extra lanes replaced in registers; otherwise the
// floats go through memory (a store-forwarding stall, at the last rows of a call only).
inline VF loadTail(const float* p, int64_t rem, float fill, int64_t room) {
  if (room >= kLanes) return iotaOf(MakeSeq<kLanes>{}) < static_cast<int32_t>(rem) ? loadv<VF>(p) : splat<VF>(fill);
  float t[kLanes];
  for (int l = 0; l < kLanes; l++) t[l] = l < rem ? p[l] : fill;
  return loadv<VF>(t);
}

// Stores the first rem lanes of v. With room for a whole vector, all of it: the floats past the row's end belong to
// the next rows of the same call, which are written in full after this one.
inline void storeTail(float* p, VF v, int64_t rem, int64_t room) {
  if (room >= kLanes) {
    storev(p, v);
    return;
  }
  float t[kLanes];
  storev(t, v);
  for (int64_t l = 0; l < rem; l++) p[l] = t[l];
}

// Math.max over the row: NaN if any element is NaN.
inline float rowMax(const float* x, int64_t len, int64_t room) {
  VF m = splat<VF>(-kInf);
  VI nan = VI{};
  int64_t j = 0;
  for (; j + kLanes <= len; j += kLanes) {
    const VF v = loadv<VF>(x + j);
    m = v > m ? v : m;
    nan |= v != v;
  }
  if (j < len) {
    const VF v = loadTail(x + j, len - j, -kInf, room - j);
    m = v > m ? v : m;
    nan |= v != v;
  }
  return laneOr<kLanes>(nan) ? __builtin_nanf("") : laneMax<kLanes>(m);
}

// Adds the lanes of v to two double accumulators (low half, high half).
inline void addD(VF v, VD& lo, VD& hi) {
  lo += toD(lowHalf<float, kLanes>(v));
  hi += toD(highHalf<float, kLanes>(v));
}

// e = exp(x − m) of the row into y (when y is not null), and Σe in double. Lanes past the row's end contribute
// exp(−∞ − m) = 0 (or NaN only when m is NaN or −∞, where every element of the row is NaN anyway).
inline double expSum(const float* x, float* y, int64_t len, float m, int64_t room) {
  const VF mv = splat<VF>(m);
  VD lo = VD{}, hi = VD{};
  int64_t j = 0;
  for (; j + kLanes <= len; j += kLanes) {
    const VF e = expV(loadv<VF>(x + j) - mv);
    if (y) storev(y + j, e);
    addD(e, lo, hi);
  }
  if (j < len) {
    const VF e = expV(loadTail(x + j, len - j, -kInf, room - j) - mv);
    if (y) storeTail(y + j, e, len - j, room - j);
    addD(e, lo, hi);
  }
  return hsum(lo) + hsum(hi);
}

// softmax, logSumExp, crossEntropyGrad, layerNorm and layerNormGrad take rows in groups of kGroup, each phase of a row (max,
// exponentials and their sum, the write; or statistics, then the write) done for every row of the group before the
// next phase, the loops over the group unrolled. A short row's phases form one long dependency chain (lane
// reductions, the exp polynomial, a division, a square root), and rows one after another overlapped only in part in
// the out-of-order window. Measured on AVX-512 (this file alone, medians of 5 alternated runs): layerNorm [768, 32]
// −15 %, layerNormGrad −23 %, softmax [1536, 24] −16 %; softmaxGrad's row (one dot product) gained nothing and is
// left as it was. Each row's operations and their order are unchanged, so a row's result is the same bits whether
// it ran in a group or alone, wherever the thread pool cut the rows.
constexpr int kGroup = 4;

// A group's size as a type, so that a group's per-row arrays and loops have a constant size.
template <int N>
struct GroupSize {
  static constexpr int value = N;
};

// Calls group(GroupSize<R>{}, first row) for groups of kGroup rows, then for the last rows one at a time.
template <typename G>
inline void inGroups(int64_t rows, G&& group) {
  int64_t i = 0;
  for (; i + kGroup <= rows; i += kGroup) group(GroupSize<kGroup>{}, i);
  for (; i < rows; i++) group(GroupSize<1>{}, i);
}

// The softmax (or logSoftmax) write of one row from its max m and Σe (e already in y).
inline void softmaxFinish(const float* x, float* y, int64_t len, int log, float m, double sum) {
  int64_t j = 0;
  if (log) {
    const double lse = m + __builtin_log(sum);
    const VD lv = splat<VD>(lse);
    for (; j + kDLanes <= len; j += kDLanes) storev(y + j, toF(toD(loadv<VH>(x + j)) - lv));
    for (; j < len; j++) y[j] = static_cast<float>(x[j] - lse);
  } else {
    const float inv = static_cast<float>(1 / sum);
    const VF iv = splat<VF>(inv);
    for (; j + kLanes <= len; j += kLanes) storev(y + j, loadv<VF>(y + j) * iv);
    if (j + kDLanes <= len) {
      storev(y + j, loadv<VH>(y + j) * lowHalf<float, kLanes>(iv));
      j += kDLanes;
    }
    for (; j < len; j++) y[j] *= inv;
  }
}

// The first two phases of a group of R rows of len from x (room: floats from the group's first row to the end of the
// call's rows): each row's max m, then its exponentials e = exp(x − m) into y (unless y is null) and their sum.
// Rows in order: a row's tail store may spill into the next row's y, which that row's exponentials then overwrite.
template <int R>
inline void groupMaxExpSum(const float* x, float* y, int64_t len, int64_t room, float (&m)[R], double (&sum)[R]) {
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) m[r] = rowMax(x + r * len, len, room - r * len);
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) sum[r] = expSum(x + r * len, y ? y + r * len : nullptr, len, m[r], room - r * len);
}

void softmax(const float* x, float* y, int64_t rows, int64_t len, int log) {
  inGroups(rows, [&](auto size, int64_t i0) {
    constexpr int R = decltype(size)::value;
    const float* xr = x + i0 * len;
    float* yr = y + i0 * len;
    const int64_t room = (rows - i0) * len;  // floats from the group's first row to the end of the call's rows
    float m[R];
    double sum[R];
    groupMaxExpSum<R>(xr, yr, len, room, m, sum);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) softmaxFinish(xr + r * len, yr + r * len, len, log, m[r], sum[r]);
  });
}

// Adds the lane products of a and b (exact in double) to two double accumulators (low half, high half).
inline void dotD(VF a, VF b, VD& lo, VD& hi) {
  lo += toD(lowHalf<float, kLanes>(a)) * toD(lowHalf<float, kLanes>(b));
  hi += toD(highHalf<float, kLanes>(a)) * toD(highHalf<float, kLanes>(b));
}

void softmaxGrad(const float* y, const float* g, float* out, int64_t rows, int64_t len) {
  for (int64_t i = 0; i < rows; i++, y += len, g += len, out += len) {
    const int64_t room = (rows - i) * len;
    // s = Σ g·y: whole vectors, then the tail with the lanes past the row's end read as 0 (0·0 adds nothing).
    VD lo = VD{}, hi = VD{};
    int64_t j = 0;
    for (; j + kLanes <= len; j += kLanes) dotD(loadv<VF>(y + j), loadv<VF>(g + j), lo, hi);
    if (j < len) dotD(loadTail(y + j, len - j, 0.0f, room - j), loadTail(g + j, len - j, 0.0f, room - j), lo, hi);
    const double s = hsum(lo) + hsum(hi);
    // out = y·(g − s) in double, half a float vector (one double vector) at a time.
    const VD sv = splat<VD>(s);
    for (j = 0; j + kDLanes <= len; j += kDLanes) {
      storev(out + j, toF(toD(loadv<VH>(y + j)) * (toD(loadv<VH>(g + j)) - sv)));
    }
    for (; j < len; j++) out[j] = static_cast<float>(y[j] * (g[j] - s));
  }
}

void logSumExp(const float* x, double* lse, int64_t rows, int64_t len) {
  inGroups(rows, [&](auto size, int64_t i0) {
    constexpr int R = decltype(size)::value;
    const float* xr = x + i0 * len;
    const int64_t room = (rows - i0) * len;
    float m[R];
    double sum[R];
    groupMaxExpSum<R>(xr, nullptr, len, room, m, sum);
    for (int r = 0; r < R; r++) lse[i0 + r] = m[r] + __builtin_log(sum[r]);
  });
}

void crossEntropyGrad(const float* x, float* y, int64_t rows, int64_t classes, const int64_t* targets, const double* scales,
                      int64_t scaleStride) {
  inGroups(rows, [&](auto size, int64_t i0) {
    constexpr int R = decltype(size)::value;
    const float* xr = x + i0 * classes;
    float* yr = y + i0 * classes;
    const int64_t room = (rows - i0) * classes;
    float m[R];
    double sum[R];
    groupMaxExpSum<R>(xr, yr, classes, room, m, sum);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      float* yi = yr + r * classes;
      const double inv = 1 / sum[r];
      const double scale = scales[(i0 + r) * scaleStride];
      const int64_t t = targets[i0 + r];
      const double atTarget = (yi[t] * inv - 1) * scale;  // softmax − 1 at the target, before the row is overwritten
      const double f = inv * scale;
      const VD fv = splat<VD>(f);
      int64_t j = 0;
      for (; j + kDLanes <= classes; j += kDLanes) storev(yi + j, toF(toD(loadv<VH>(yi + j)) * fv));
      for (; j < classes; j++) yi[j] = static_cast<float>(yi[j] * f);
      yi[t] = static_cast<float>(atTarget);
    }
  });
}

// μ and rstd = 1/√(var + eps) of a row, in double: lane-wise partial sums over whole VH chunks, then the lanes, then
// the remaining floats in order.
inline void rowStats(const float* a, int64_t d, double eps, double& mu, double& rstd) {
  const int64_t dv = d - d % kDLanes;
  VD s = VD{};
  for (int64_t j = 0; j < dv; j += kDLanes) s += toD(loadv<VH>(a + j));
  double sum = hsum(s);
  for (int64_t j = dv; j < d; j++) sum += a[j];
  mu = sum / static_cast<double>(d);
  const VD muv = splat<VD>(mu);
  VD q = VD{};
  for (int64_t j = 0; j < dv; j += kDLanes) {
    const VD c = toD(loadv<VH>(a + j)) - muv;
    q += c * c;
  }
  double var = hsum(q);
  for (int64_t j = dv; j < d; j++) var += (a[j] - mu) * (a[j] - mu);
  rstd = 1 / __builtin_sqrt(var / static_cast<double>(d) + eps);
}

void layerNorm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t d, double eps) {
  const int64_t dv = d - d % kDLanes;
  inGroups(rows, [&](auto size, int64_t i0) {
    constexpr int R = decltype(size)::value;
    double mu[R], rstd[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) rowStats(x + (i0 + r) * d, d, eps, mu[r], rstd[r]);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      const float* xr = x + (i0 + r) * d;
      float* yr = y + (i0 + r) * d;
      const VD muv = splat<VD>(mu[r]), rv = splat<VD>(rstd[r]);
      for (int64_t j = 0; j < dv; j += kDLanes) {
        const VD v = (toD(loadv<VH>(xr + j)) - muv) * rv * toD(loadv<VH>(gamma + j)) + toD(loadv<VH>(beta + j));
        storev(yr + j, toF(v));
      }
      for (int64_t j = dv; j < d; j++) yr[j] = static_cast<float>((xr[j] - mu[r]) * rstd[r] * gamma[j] + beta[j]);
    }
  });
}

void layerNormGrad(const float* x, const float* gamma, const float* g, float* dx, double* dw, double* db, int64_t rows,
                   int64_t d, double eps) {
  const int64_t dv = d - d % kDLanes;
  const double invD = 1 / static_cast<double>(d);
  inGroups(rows, [&](auto size, int64_t i0) {
    constexpr int R = decltype(size)::value;
    double mu[R], rstd[R], meanGw[R], meanGwX[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) rowStats(x + (i0 + r) * d, d, eps, mu[r], rstd[r]);
    // x̂ = (x − μ)·rstd; dw += g·x̂, db += g (rows in order); Σ g·γ and Σ g·γ·x̂.
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      const float* xr = x + (i0 + r) * d;
      const float* gr = g + (i0 + r) * d;
      const VD muv = splat<VD>(mu[r]), rv = splat<VD>(rstd[r]);
      VD sgw = VD{}, sgwx = VD{};
      for (int64_t j = 0; j < dv; j += kDLanes) {
        const VD xh = (toD(loadv<VH>(xr + j)) - muv) * rv;
        const VD gj = toD(loadv<VH>(gr + j));
        storev(dw + j, loadv<VD>(dw + j) + gj * xh);
        storev(db + j, loadv<VD>(db + j) + gj);
        const VD gw = gj * toD(loadv<VH>(gamma + j));
        sgw += gw;
        sgwx += gw * xh;
      }
      double mg = hsum(sgw), mgx = hsum(sgwx);
      for (int64_t j = dv; j < d; j++) {
        const double xh = (xr[j] - mu[r]) * rstd[r];
        const double gj = gr[j];
        dw[j] += gj * xh;
        db[j] += gj;
        mg += gj * gamma[j];
        mgx += gj * gamma[j] * xh;
      }
      meanGw[r] = mg * invD;
      meanGwX[r] = mgx * invD;
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      const float* xr = x + (i0 + r) * d;
      const float* gr = g + (i0 + r) * d;
      float* o = dx + (i0 + r) * d;
      const VD muv = splat<VD>(mu[r]), rv = splat<VD>(rstd[r]);
      const VD mg = splat<VD>(meanGw[r]), mgx = splat<VD>(meanGwX[r]);
      for (int64_t j = 0; j < dv; j += kDLanes) {
        const VD xh = (toD(loadv<VH>(xr + j)) - muv) * rv;
        const VD gw = toD(loadv<VH>(gr + j)) * toD(loadv<VH>(gamma + j));
        storev(o + j, toF(rv * (gw - mg - xh * mgx)));
      }
      for (int64_t j = dv; j < d; j++) {
        const double xh = (xr[j] - mu[r]) * rstd[r];
        o[j] = static_cast<float>(rstd[r] * (static_cast<double>(gr[j]) * gamma[j] - meanGw[r] - xh * meanGwX[r]));
      }
    }
  });
}

void layerNormGradGrad(const float* x, const float* u, const float* o, float* jo, float* curv, int64_t rows, int64_t d,
                       double eps) {
  const int64_t dv = d - d % kDLanes;
  const double invD = 1 / static_cast<double>(d);
  for (int64_t i = 0; i < rows; i++) {
    const float* xr = x + i * d;
    const float* ur = u + i * d;
    const float* orow = o + i * d;
    double mu, r;
    rowStats(xr, d, eps, mu, r);
    const VD muv = splat<VD>(mu), rv = splat<VD>(r);
    VD vo = VD{}, vu = VD{}, vox = VD{}, vux = VD{}, vou = VD{};
    for (int64_t j = 0; j < dv; j += kDLanes) {
      const VD xh = (toD(loadv<VH>(xr + j)) - muv) * rv;
      const VD oj = toD(loadv<VH>(orow + j)), uj = toD(loadv<VH>(ur + j));
      vo += oj;
      vu += uj;
      vox += oj * xh;
      vux += uj * xh;
      vou += oj * uj;
    }
    double so = hsum(vo), su = hsum(vu), sox = hsum(vox), sux = hsum(vux), sou = hsum(vou);
    for (int64_t j = dv; j < d; j++) {
      const double xh = (xr[j] - mu) * r;
      so += orow[j];
      su += ur[j];
      sox += orow[j] * xh;
      sux += ur[j] * xh;
      sou += static_cast<double>(orow[j]) * ur[j];
    }
    // J p = r·(p − Σp/d − x̂·⟨p, x̂⟩/d); ⟨o, J u⟩ = r·(⟨o, u⟩ − Σo·Σu/d − ⟨o, x̂⟩⟨u, x̂⟩/d); curv = c·(…), c = −r/d
    const double oJu = r * (sou - so * su * invD - sox * sux * invD);
    const double c = -r * invD;
    const double mo = so * invD, mU = su * invD, mox = sox * invD, mux = sux * invD;
    const VD mov = splat<VD>(mo), muu = splat<VD>(mU), moxv = splat<VD>(mox), muxv = splat<VD>(mux);
    const VD ojuv = splat<VD>(oJu), cv = splat<VD>(c), suxv = splat<VD>(sux), soxv = splat<VD>(sox);
    float* jr = jo + i * d;
    float* cr = curv + i * d;
    for (int64_t j = 0; j < dv; j += kDLanes) {
      const VD xh = (toD(loadv<VH>(xr + j)) - muv) * rv;
      const VD jov = rv * (toD(loadv<VH>(orow + j)) - mov - xh * moxv);
      const VD juv = rv * (toD(loadv<VH>(ur + j)) - muu - xh * muxv);
      storev(jr + j, toF(jov));
      storev(cr + j, toF(cv * (ojuv * xh + suxv * jov + soxv * juv)));
    }
    for (int64_t j = dv; j < d; j++) {
      const double xh = (xr[j] - mu) * r;
      const double joj = r * (orow[j] - mo - xh * mox);
      const double juj = r * (ur[j] - mU - xh * mux);
      jr[j] = static_cast<float>(joj);
      cr[j] = static_cast<float>(c * (oJu * xh + sux * joj + sox * juj));
    }
  }
}

// Column sums, kColumnVectors double vectors of columns at a time held in registers down all the rows: independent
// accumulators (one add latency per row for that many vectors) and one pass over x. A column's values are still added
// one by one in row order, so the sums are the same as a scalar loop's, whatever the ISA or the column split.
constexpr int kColumnVectors = 4;

void sumColumns(const float* x, int64_t ld, int64_t rows, int64_t cols, double* acc) {
  int64_t j = 0;
  for (; j + kColumnVectors * kDLanes <= cols; j += kColumnVectors * kDLanes) {
    VD a[kColumnVectors];
    for (int k = 0; k < kColumnVectors; k++) a[k] = loadv<VD>(acc + j + k * kDLanes);
    for (int64_t r = 0; r < rows; r++) {
      const float* p = x + r * ld + j;
      for (int k = 0; k < kColumnVectors; k++) a[k] += toD(loadv<VH>(p + k * kDLanes));
    }
    for (int k = 0; k < kColumnVectors; k++) storev(acc + j + k * kDLanes, a[k]);
  }
  for (; j + kDLanes <= cols; j += kDLanes) {
    VD a = loadv<VD>(acc + j);
    for (int64_t r = 0; r < rows; r++) a += toD(loadv<VH>(x + r * ld + j));
    storev(acc + j, a);
  }
  for (; j < cols; j++) {
    double a = acc[j];
    for (int64_t r = 0; r < rows; r++) a += x[r * ld + j];
    acc[j] = a;
  }
}

}  // namespace

RowsVec table() {
  return {EITP_ROWS_VEC_STR(EITP_ROWS_VEC_NS), softmax, softmaxGrad, logSumExp, crossEntropyGrad, layerNorm, layerNormGrad,
          layerNormGradGrad, sumColumns};
}
