// The body of soft-histogram-vec for one ISA: included by soft-histogram-vec-<isa>.cc inside
// `namespace eitp::soft_histogram_vec_<isa>` with that ISA's compiler flags. One value per lane, EITP_SHV_LANES lanes
// (one register of floats); every operation is lane-wise, so the lane count changes no result. No standard-library
// calls: an inline function emitted with AVX-512 code in one file must never be picked by the linker for another.

#define EITP_SHV_STR2(x) #x
#define EITP_SHV_STR(x) EITP_SHV_STR2(x)

namespace {

constexpr int kL = EITP_SHV_LANES;
typedef float Vf __attribute__((vector_size(4 * kL)));
typedef int32_t Vi __attribute__((vector_size(4 * kL)));
typedef double Vd __attribute__((vector_size(8 * kL)));
constexpr int64_t kMaxSpan = 2 * kSoftHistogramVecMaxReach + 1;

// Vectors by reference only: passing them by value would depend on the ISA's calling convention (-Wpsabi).
inline void load(Vf& v, const float* p) { __builtin_memcpy(&v, p, sizeof v); }
inline void store(float* p, const Vf& v) { __builtin_memcpy(p, &v, sizeof v); }

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

// kL values of one bin c0: their offsets t and e^{±2αt}.
struct Group {
  Vf t, r, ri;
};

// The values u[0, count) of bin c0 (count ≤ kL; a short group's last lanes repeat its first value, and the callers
// drop what those lanes compute).
inline void prepare(const SoftHistogramVecParams& p, const float* u, int64_t count, int32_t c0, Group& v) {
  Vf x;
  if (count == kL) {
    load(x, u);
  } else {
    for (int l = 0; l < kL; l++) x[l] = u[l < count ? l : 0];
  }
  const Vd xd = __builtin_convertvector(x, Vd);
  // The cpu kernel's floor((u − low)/Δ) in double, by the reciprocal, as groupByBin found c0 (a division's latency
  // held up every group; at a bin boundary the nearest bin may differ by one, which moves t by one and the window's
  // far end by a bin of weight < e^−32).
  const Vd q = (xd - p.low) * p.invWidth;
  const Vd td = (q - static_cast<double>(c0)) - 0.5;
  v.t = __builtin_convertvector(td, Vf);
  const Vf a = __builtin_convertvector(td * p.twoAlpha, Vf);
  const Vf na = -a;
  expv(v.r, a);
  expv(v.ri, na);
}

// e[(W + m)·kL + l] for m = −W..W: lane l's weight of bin c0 + m relative to c0's (0 outside the bins), and their
// sum. Once a chain leaves the bins it stays at 0.
inline void weights(const SoftHistogramVecParams& p, const Group& v, int32_t c0, float* __restrict e, Vf& total) {
  const int w = p.reach;
  Vf up = Vf{} + 1.0f, dn = up, su = Vf{}, sd = Vf{};
  store(e + w * kL, up);
  for (int m = 0; m < w; m++) {
    const float q = p.q[m];
    up = c0 < p.bins - 1 - m ? up * (v.r * q) : Vf{};
    dn = c0 > m ? dn * (v.ri * q) : Vf{};
    su += up;
    sd += dn;
    store(e + (w + m + 1) * kL, up);
    store(e + (w - m - 1) * kL, dn);
  }
  total = (1.0f + su) + sd;
}

// Groups the values of u[0, n) that take this path by nearest bin, stably: bin c's values at sorted[start[c] ..
// start[c + 1]) with their indices in order. The others' indices go to edge; returns their number. The bin is
// prepare()'s, computed the same way (in double, by the reciprocal, truncated), so a value lands in the bin its lane
// will compute.
int64_t groupByBin(const SoftHistogramVecParams& p, const float* u, int64_t n, const SoftHistogramVecScratch& s, int32_t* edge) {
  const int32_t bins = p.bins;
  int32_t* start = s.start;
  for (int32_t c = 0; c <= bins; c++) start[c] = 0;
  int64_t skipped = 0;
  for (int64_t i = 0; i < n; i++) {
    const double q = (static_cast<double>(u[i]) - p.low) * p.invWidth;
    if (q >= 0.0 && q < static_cast<double>(bins)) {
      const int32_t c = static_cast<int32_t>(q);
      s.nearest[i] = c;
      start[c + 1]++;
    } else {
      s.nearest[i] = -1;
      edge[skipped++] = static_cast<int32_t>(i);
    }
  }
  for (int32_t c = 0; c < bins; c++) start[c + 1] += start[c];
  // start[c] serves as bin c's cursor while placing, which leaves it at bin c + 1's start: shifted back after
  for (int64_t i = 0; i < n; i++) {
    const int32_t c = s.nearest[i];
    if (c < 0) continue;
    const int32_t at = start[c]++;
    s.sorted[at] = u[i];
    s.order[at] = static_cast<int32_t>(i);
  }
  for (int32_t c = bins; c > 0; c--) start[c] = start[c - 1];
  start[0] = 0;
  return skipped;
}

// Values per accumulator group: 16 whatever kL, so that each accumulator lane adds the same values in the same order
// on every ISA.
constexpr int kAccLanes = kSoftHistogramVecAccLanes;
static_assert(kAccLanes % kL == 0, "the accumulator group is a whole number of registers");

// Groups an accumulator lane adds in f32 before the sums go into the f64 lane histogram: f32 sums of at most this
// many weights (each ≤ 1), so their rounding stays near 1e-6 of a count.
constexpr int kFlushGroups = 64;

int64_t forward(const SoftHistogramVecParams& p, const float* u, int64_t n, double* __restrict hist, const SoftHistogramVecScratch& s, int32_t* edge) {
  const int64_t span = 2 * p.reach + 1;
  const int64_t skipped = groupByBin(p, u, n, s, edge);
  float e[kMaxSpan * kL];
  // a bin's f32 sums: accumulator lane a of window bin k at [k·kAccLanes + a]
  float acc[kMaxSpan * kAccLanes];
  double* const lanes = s.laneHist;
  for (int32_t c = 0; c < p.bins; c++) {
    const int64_t begin = s.start[c], end = s.start[c + 1];
    if (begin == end) continue;
    // The bin's window is rows c .. c + 2W of the padded lane histogram (row c + k is bin c − W + k).
    double* const rows = lanes + c * kAccLanes;
    const auto flush = [&] {
      for (int64_t k = 0; k < span * kAccLanes; k++) {
        rows[k] += acc[k];
        acc[k] = 0.0f;
      }
    };
    for (int64_t k = 0; k < span * kAccLanes; k++) acc[k] = 0.0f;
    int groups = 0;
    for (int64_t j0 = begin; j0 < end; j0 += kAccLanes) {
      for (int a0 = 0; a0 < kAccLanes && j0 + a0 < end; a0 += kL) {
        const int64_t count = end - (j0 + a0) < kL ? end - (j0 + a0) : kL;
        Group v;
        prepare(p, s.sorted + j0 + a0, count, c, v);
        Vf total;
        weights(p, v, c, e, total);
        Vf inv = 1.0f / total;
        for (int64_t l = count; l < kL; l++) inv[l] = 0.0f;  // a short group's repeated lanes add exact zeros
        for (int64_t k = 0; k < span; k++) {
          Vf x, sum;
          load(x, e + k * kL);
          load(sum, acc + k * kAccLanes + a0);
          store(acc + k * kAccLanes + a0, sum + x * inv);
        }
      }
      if (++groups == kFlushGroups) flush(), groups = 0;
    }
    flush();
  }
  // The lanes' sums into hist, lane by lane in order; the lane histogram is left zero for the next call.
  const int64_t padded = p.bins + 2 * p.reach;
  for (int64_t i = 0; i < padded; i++) {
    double t = 0.0;
    for (int a = 0; a < kAccLanes; a++) {
      t += lanes[i * kAccLanes + a];
      lanes[i * kAccLanes + a] = 0.0;
    }
    hist[i] += t;
  }
  return skipped;
}

// du = slope·Σ_m a_m (g_m − ḡ)(m − t) with ḡ = Σ_m a_m g_m: the covariance form, so a nearly flat g does not cancel
// two large sums in f32.
int64_t backward(const SoftHistogramVecParams& p, const float* u, int64_t n, const float* __restrict g, float* du, const SoftHistogramVecScratch& s, int32_t* edge) {
  const int64_t span = 2 * p.reach + 1;
  const int64_t skipped = groupByBin(p, u, n, s, edge);
  float e[kMaxSpan * kL];
  for (int32_t c = 0; c < p.bins; c++) {
    const int64_t begin = s.start[c], end = s.start[c + 1];
    // the bin's window of the padded cotangent: element c + k is bin c − W + k
    const float* gw = g + c;
    for (int64_t j = begin; j < end; j += kL) {
      const int64_t count = end - j < kL ? end - j : kL;
      Group v;
      prepare(p, s.sorted + j, count, c, v);
      Vf total;
      weights(p, v, c, e, total);
      Vf eg = Vf{};
      for (int64_t k = 0; k < span; k++) {
        Vf es;
        load(es, e + k * kL);
        eg += es * gw[k];
      }
      const Vf gbar = eg / total;
      Vf cov = Vf{};
      for (int64_t k = 0; k < span; k++) {
        Vf es;
        load(es, e + k * kL);
        cov += es * (gw[k] - gbar) * (static_cast<float>(k - p.reach) - v.t);
      }
      const Vf d = cov / total * p.slope;
      float dl[kL];
      __builtin_memcpy(dl, &d, sizeof dl);
      for (int64_t l = 0; l < count; l++) du[s.order[j + l]] = dl[l];
    }
  }
  return skipped;
}

}  // namespace

SoftHistogramVec table() { return {EITP_SHV_STR(EITP_SHV_NS), forward, backward}; }
