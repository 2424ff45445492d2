// The body of tanh-jvp-vec for one ISA: included by tanh-jvp-vec-<isa>.cc inside `namespace eitp::tanh_jvp_vec_<isa>`
// with that ISA's compiler flags. GCC vector types of 8 doubles (one zmm, two ymm or four xmm registers), so the
// lanes, and with them the order of every sum, are the same on every ISA. The last n mod 8 values go through the same
// vector code from a zero-padded copy (a zero p contributes exactly 0 to both sums). No standard-library calls: an
// inline function emitted with AVX-512 code in one file must never be picked by the linker for another.

#define EITP_TANH_JVP_VEC_STR2(x) #x
#define EITP_TANH_JVP_VEC_STR(x) EITP_TANH_JVP_VEC_STR2(x)

namespace {

typedef double V8d __attribute__((vector_size(64)));
typedef float V8f __attribute__((vector_size(32)));

// Vectors by reference only: passing them by value would depend on the ISA's calling convention (-Wpsabi).
inline void load8(V8d& out, const float* p) {
  V8f f;
  __builtin_memcpy(&f, p, sizeof f);
  out = __builtin_convertvector(f, V8d);
}

inline void store8(float* p, const V8d& x) {
  const V8f f = __builtin_convertvector(x, V8f);
  __builtin_memcpy(p, &f, sizeof f);
}

// The n − j0 < 8 values from j0 on, padded with zeros to 8.
inline void loadTail(V8d& out, const float* p, int64_t j0, int64_t n) {
  float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t j = j0; j < n; j++) buf[j - j0] = p[j];
  load8(out, buf);
}

inline void storeTail(float* p, int64_t j0, int64_t n, const V8d& x) {
  float buf[8];
  store8(buf, x);
  for (int64_t j = j0; j < n; j++) p[j] = buf[j - j0];
}

// The 16 lanes of a and b in a fixed order: (a + b), then halves added pairwise.
inline double lanes(const V8d& a, const V8d& b) {
  const V8d s = a + b;
  return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

double sumSquares(const float* __restrict h, const float* __restrict p, int64_t n) {
  V8d acc0 = {}, acc1 = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    V8d h0, h1, p0, p1;
    load8(h0, h + j);
    load8(h1, h + j + 8);
    load8(p0, p + j);
    load8(p1, p + j + 8);
    const V8d d0 = (1.0 - h0 * h0) * p0, d1 = (1.0 - h1 * h1) * p1;
    acc0 += d0 * d0;
    acc1 += d1 * d1;
  }
  for (; j < n; j += 8) {
    V8d hv, pv;
    if (j + 8 <= n) {
      load8(hv, h + j);
      load8(pv, p + j);
    } else {
      loadTail(hv, h, j, n);
      loadTail(pv, p, j, n);
    }
    const V8d d = (1.0 - hv * hv) * pv;
    acc0 += d * d;
  }
  return lanes(acc0, acc1);
}

void scale(const float* __restrict h, float* __restrict y, int64_t n, double inv) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    V8d hv, pv;
    load8(hv, h + j);
    load8(pv, y + j);
    store8(y + j, (1.0 - hv * hv) * pv * inv);
  }
  if (j < n) {
    V8d hv, pv;
    loadTail(hv, h, j, n);
    loadTail(pv, y, j, n);
    storeTail(y, j, n, (1.0 - hv * hv) * pv * inv);
  }
}

void gradSums(const float* __restrict h, const float* __restrict p, const float* __restrict gu, int64_t n, double* sums) {
  V8d ss0 = {}, ss1 = {}, dot0 = {}, dot1 = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    V8d h0, h1, p0, p1, g0, g1;
    load8(h0, h + j);
    load8(h1, h + j + 8);
    load8(p0, p + j);
    load8(p1, p + j + 8);
    load8(g0, gu + j);
    load8(g1, gu + j + 8);
    const V8d d0 = (1.0 - h0 * h0) * p0, d1 = (1.0 - h1 * h1) * p1;
    ss0 += d0 * d0;
    ss1 += d1 * d1;
    dot0 += d0 * g0;
    dot1 += d1 * g1;
  }
  for (; j < n; j += 8) {
    V8d hv, pv, gv;
    if (j + 8 <= n) {
      load8(hv, h + j);
      load8(pv, p + j);
      load8(gv, gu + j);
    } else {
      loadTail(hv, h, j, n);
      loadTail(pv, p, j, n);
      loadTail(gv, gu, j, n);
    }
    const V8d d = (1.0 - hv * hv) * pv;
    ss0 += d * d;
    dot0 += d * gv;
  }
  sums[0] = lanes(ss0, ss1);
  sums[1] = lanes(dot0, dot1);
}

// One block of 8: slope = 1 − h², u = slope·p·inv, dδ = (gu + u·c)·inv.
inline void gradBlock(const V8d& hv, const V8d& pv, const V8d& gv, double inv, double c, V8d& dp, V8d& dh) {
  const V8d slope = 1.0 - hv * hv;
  const V8d u = slope * pv * inv;
  const V8d dDelta = (gv + u * c) * inv;
  dp = slope * dDelta;
  dh = -2.0 * hv * pv * dDelta;
}

void gradOut(const float* __restrict h, const float* __restrict gu, float* __restrict dp, float* __restrict ph, int64_t n,
             double inv, double c) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    V8d hv, pv, gv, a, b;
    load8(hv, h + j);
    load8(pv, ph + j);
    load8(gv, gu + j);
    gradBlock(hv, pv, gv, inv, c, a, b);
    store8(dp + j, a);
    store8(ph + j, b);
  }
  if (j < n) {
    V8d hv, pv, gv, a, b;
    loadTail(hv, h, j, n);
    loadTail(pv, ph, j, n);
    loadTail(gv, gu, j, n);
    gradBlock(hv, pv, gv, inv, c, a, b);
    storeTail(dp, j, n, a);
    storeTail(ph, j, n, b);
  }
}

}  // namespace

TanhJvpVec table() { return {EITP_TANH_JVP_VEC_STR(EITP_TANH_JVP_VEC_NS), sumSquares, scale, gradSums, gradOut}; }
