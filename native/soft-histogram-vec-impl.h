// The body of soft-histogram-vec for one ISA: included by soft-histogram-vec-<isa>.cc inside
// `namespace eitp::soft_histogram_vec_<isa>` with that ISA's compiler flags. One value per lane, EITP_SHV_LANES lanes
// (one register of floats); every operation is lane-wise, so the lane count changes no result. The including file may
// define EITP_SHV_GATHER(out, base, idx) (out[l] = base[idx[l]]) with its ISA's gather instruction. No
// standard-library calls: an inline function emitted with AVX-512 code in one file must never be picked by the linker
// for another.

#define EITP_SHV_STR2(x) #x
#define EITP_SHV_STR(x) EITP_SHV_STR2(x)

namespace {

constexpr int kL = EITP_SHV_LANES;
typedef float Vf __attribute__((vector_size(4 * kL)));
typedef int32_t Vi __attribute__((vector_size(4 * kL)));
typedef double Vd __attribute__((vector_size(8 * kL)));
typedef int64_t Vl __attribute__((vector_size(8 * kL)));
constexpr int64_t kMaxSpan = 2 * kSoftHistogramVecMaxReach + 1;

// Vectors by reference only: passing them by value would depend on the ISA's calling convention (-Wpsabi).
inline void load(Vf& v, const float* p) { __builtin_memcpy(&v, p, sizeof v); }
inline void store(float* p, const Vf& v) { __builtin_memcpy(p, &v, sizeof v); }

#ifndef EITP_SHV_GATHER
#define EITP_SHV_GATHER(out, base, idx) \
  for (int l_ = 0; l_ < kL; l_++) (out)[l_] = (base)[(idx)[l_]]
#endif

// e^x for |x| ≤ 2·kSoftHistogramVecMaxAlpha (the only arguments here, so no clamping): x = n·ln 2 + r with
// |r| ≤ ln 2 / 2 (ln 2 in two parts, the first exact times any such n), e^r by its Taylor series to r⁷/7! (next term
// < 3e-9), times 2^n built in the exponent bits (|n| ≤ 116: a normal float).
inline void expv(Vf& y, const Vf& x) {
  const Vf shifter = Vf{} + 12582912.0f;  // 1.5·2^23: adding and subtracting it rounds to an integer
  const Vf n = (x * 1.44269504088896341f + shifter) - shifter;
  const Vf r = (x - n * 0.693359375f) - n * -2.12194440054690583e-4f;
  Vf p = Vf{} + 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const Vi bits = (__builtin_convertvector(n, Vi) + 127) << 23;
  Vf scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  y = p * scale;
}

// A group of kL values: their nearest bins, offsets and e^{±2αt}; `inside` is −1 where the value takes this path.
struct Group {
  Vi c0, inside;
  Vf t, r, ri;
};

// Lanes from `count` on (a short last group) are NaN, which is never inside.
inline void prepare(const SoftHistogramVecParams& p, const float* u, int64_t count, Group& v) {
  Vf x;
  if (count == kL) {
    load(x, u);
  } else {
    for (int l = 0; l < kL; l++) x[l] = l < count ? u[l] : __builtin_nanf("");
  }
  const Vd xd = __builtin_convertvector(x, Vd);
  // The cpu kernel's floor((u − low)/Δ) in double, by the reciprocal (a division's latency held up every group; at a
  // bin boundary the nearest bin may differ by one, which moves t by one and the window's far end by a bin of weight
  // < e^−32). For q in [0, bins) truncation is the floor.
  const Vd q = (xd - p.low) * p.invWidth;
  const Vl in = (q >= Vd{}) & (q < Vd{} + static_cast<double>(p.bins));
  const Vd qs = in ? q : Vd{};
  v.c0 = __builtin_convertvector(qs, Vi);
  const Vd td = (qs - __builtin_convertvector(v.c0, Vd)) - 0.5;
  v.t = __builtin_convertvector(td, Vf);
  const Vf a = __builtin_convertvector(td * p.twoAlpha, Vf);
  const Vf na = -a;
  expv(v.r, a);
  expv(v.ri, na);
  v.inside = __builtin_convertvector(in, Vi);
}

// e[(W + m)·kL + l] for m = −W..W: lane l's weight of bin c0 + m relative to its nearest bin's (0 outside the bins),
// and their sum.
inline void weights(const SoftHistogramVecParams& p, const Group& v, float* __restrict e, Vf& total) {
  const int w = p.reach;
  Vf up = Vf{} + 1.0f, dn = up, su = Vf{}, sd = Vf{};
  store(e + w * kL, up);
  for (int m = 0; m < w; m++) {
    const float q = p.q[m];
    up = up * (v.r * q);
    up = v.c0 < Vi{} + (p.bins - 1 - m) ? up : Vf{};
    dn = dn * (v.ri * q);
    dn = v.c0 > Vi{} + m ? dn : Vf{};
    su += up;
    sd += dn;
    store(e + (w + m + 1) * kL, up);
    store(e + (w - m - 1) * kL, dn);
  }
  total = (1.0f + su) + sd;
}

// h[s] += a[s·kL] for s < span, one double at a time: consecutive values' rows overlap at other offsets, where
// vector loads of what vector stores just wrote could not be forwarded (the vectoriser's version stalled on that).
__attribute__((noinline, optimize("no-tree-vectorize"))) void addRow(double* __restrict h, const float* __restrict a, int64_t span) {
  for (int64_t s = 0; s < span; s++) h[s] += a[s * kL];
}

int64_t forward(const SoftHistogramVecParams& p, const float* u, int64_t n, double* __restrict hist, int64_t copy, int32_t* edge) {
  const int64_t span = 2 * p.reach + 1;
  float e[kMaxSpan * kL];
  int64_t skipped = 0;
  for (int64_t i = 0; i < n; i += kL) {
    const int64_t count = n - i < kL ? n - i : kL;
    Group v;
    prepare(p, u + i, count, v);
    Vf total;
    weights(p, v, e, total);
    const Vf inv = 1.0f / total;
    for (int64_t s = 0; s < span; s++) {
      Vf x;
      load(x, e + s * kL);
      store(e + s * kL, x * inv);
    }
    // The scatter is per value: lanes' windows overlap, so a vector scatter would lose additions.
    int32_t c0[kL], inside[kL];  // as scalars (reading a register's lanes one by one costs a shuffle each)
    __builtin_memcpy(c0, &v.c0, sizeof c0);
    __builtin_memcpy(inside, &v.inside, sizeof inside);
    for (int l = 0; l < count; l++) {
      if (inside[l]) addRow(hist + (l & 1) * copy + c0[l], e + l, span);
      else edge[skipped++] = static_cast<int32_t>(i + l);
    }
  }
  return skipped;
}

// du = slope·Σ_m a_m (g_m − ḡ)(m − t) with ḡ = Σ_m a_m g_m: the covariance form, so a nearly flat g does not cancel
// two large sums in f32.
int64_t backward(const SoftHistogramVecParams& p, const float* u, int64_t n, const float* __restrict g, float* du, int32_t* edge) {
  const int64_t span = 2 * p.reach + 1;
  float e[kMaxSpan * kL], gw[kMaxSpan * kL];
  int64_t skipped = 0;
  for (int64_t i = 0; i < n; i += kL) {
    const int64_t count = n - i < kL ? n - i : kL;
    Group v;
    prepare(p, u + i, count, v);
    Vf total;
    weights(p, v, e, total);
    Vf eg = Vf{};
    for (int64_t s = 0; s < span; s++) {
      Vf gs, es;
      EITP_SHV_GATHER(gs, g + s, v.c0);
      load(es, e + s * kL);
      eg += es * gs;
      store(gw + s * kL, gs);
    }
    const Vf gbar = eg / total;
    Vf cov = Vf{};
    for (int64_t s = 0; s < span; s++) {
      Vf gs, es;
      load(gs, gw + s * kL);
      load(es, e + s * kL);
      cov += es * (gs - gbar) * (static_cast<float>(s - p.reach) - v.t);
    }
    const Vf d = cov / total * p.slope;
    float dl[kL];
    int32_t inside[kL];
    __builtin_memcpy(dl, &d, sizeof dl);
    __builtin_memcpy(inside, &v.inside, sizeof inside);
    for (int l = 0; l < count; l++) {
      if (inside[l]) du[i + l] = dl[l];
      else edge[skipped++] = static_cast<int32_t>(i + l);
    }
  }
  return skipped;
}

}  // namespace

SoftHistogramVec table() { return {EITP_SHV_STR(EITP_SHV_NS), forward, backward}; }
