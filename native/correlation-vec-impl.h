// The body of correlation-vec for one ISA: included by correlation-vec-<isa>.cc inside
// `namespace eitp::correlation_vec_<isa>` with that ISA's compiler flags. Plain loops over j (the contiguous axis)
// for the vectoriser, and GCC vector types where accumulators must stay in registers. No standard-library calls: an
// inline function emitted with AVX-512 code in one file must never be picked by the linker for another.
//
// EITP_CORRELATION_VEC_STRIP (set by the including file): the column sums run over strips of 8·STRIP columns whose
// accumulators stay in registers for all the rows of a block (4 with 32 vector registers, 2 with 16, 1 for SSE2),
// instead of loading and storing each accumulator once per element. Each column's sum still takes the rows in order.
// EITP_CORRELATION_VEC_ROW_KERNEL (optional): the ISA's row and panel kernels (correlation-vec.h), their tile's rows
// and columns.

#define EITP_CORRELATION_VEC_STR2(x) #x
#define EITP_CORRELATION_VEC_STR(x) EITP_CORRELATION_VEC_STR2(x)

namespace {

typedef double V8d __attribute__((vector_size(64)));
typedef float V8f __attribute__((vector_size(32)));
constexpr int kStripVectors = EITP_CORRELATION_VEC_STRIP;
constexpr int64_t kStrip = 8 * kStripVectors;

// Vectors by reference only: passing them by value would depend on the ISA's calling convention (-Wpsabi).
inline void load8d(V8d& out, const float* p) {
  V8f f;
  __builtin_memcpy(&f, p, sizeof f);
  out = __builtin_convertvector(f, V8d);
}

void moments(const float* __restrict z, int64_t rows, int64_t d, const float* __restrict shift, double* __restrict acc) {
  double* __restrict sq = acc + d;
  int64_t j0 = 0;
  for (; j0 + kStrip <= d; j0 += kStrip) {
    V8d s[kStripVectors], q[kStripVectors], sh[kStripVectors];
    for (int v = 0; v < kStripVectors; v++) {
      __builtin_memcpy(&s[v], acc + j0 + 8 * v, sizeof(V8d));
      __builtin_memcpy(&q[v], sq + j0 + 8 * v, sizeof(V8d));
      load8d(sh[v], shift + j0 + 8 * v);
    }
    for (int64_t i = 0; i < rows; i++) {
      for (int v = 0; v < kStripVectors; v++) {
        V8d c;
        load8d(c, z + i * d + j0 + 8 * v);
        c -= sh[v];
        s[v] += c;
        q[v] += c * c;
      }
    }
    for (int v = 0; v < kStripVectors; v++) {
      __builtin_memcpy(acc + j0 + 8 * v, &s[v], sizeof(V8d));
      __builtin_memcpy(sq + j0 + 8 * v, &q[v], sizeof(V8d));
    }
  }
  for (int64_t i = 0; i < rows; i++) {
    for (int64_t j = j0; j < d; j++) {
      const double c = static_cast<double>(z[i * d + j]) - static_cast<double>(shift[j]);
      acc[j] += c;
      sq[j] += c * c;
    }
  }
}

void standardize(const float* __restrict z, int64_t ldz, int64_t rows, int64_t j0, int64_t j1, const float* __restrict hi,
                 const float* __restrict lo, const float* __restrict scale, float* __restrict out, int64_t ldo) {
  for (int64_t i = 0; i < rows; i++) {
    const float* __restrict zr = z + i * ldz;
    float* __restrict o = out + i * ldo;
    for (int64_t j = j0; j < j1; j++) o[j - j0] = ((zr[j] - hi[j]) - lo[j]) * scale[j];
  }
}

// Columns [j0, j0 + W) of Ẑ's rows [i0, i0 + kc) into dst[p·W + c], zero beyond column d. The row's W values
// become W/8 eight-lane operations (then 4 lanes, then single ones) with the columns' hi, lo and scale held in
// registers across the rows; plain loops over so few values were assembled lane by lane.
template <int W>
void packSliceFixed(const PanelPack& pp, int64_t j0, int64_t i0, int64_t kc, float* __restrict dst) {
  typedef float V4f __attribute__((vector_size(16)));
  constexpr int kV8 = W / 8, kV4 = (W % 8) / 4, kRest = W % 4;
  V8f h8[kV8 > 0 ? kV8 : 1], l8[kV8 > 0 ? kV8 : 1], s8[kV8 > 0 ? kV8 : 1];
  V4f h4, l4, s4;
  for (int v = 0; v < kV8; v++) {
    __builtin_memcpy(&h8[v], pp.hi + j0 + 8 * v, sizeof(V8f));
    __builtin_memcpy(&l8[v], pp.lo + j0 + 8 * v, sizeof(V8f));
    __builtin_memcpy(&s8[v], pp.scale + j0 + 8 * v, sizeof(V8f));
  }
  if (kV4) {
    __builtin_memcpy(&h4, pp.hi + j0 + 8 * kV8, sizeof(V4f));
    __builtin_memcpy(&l4, pp.lo + j0 + 8 * kV8, sizeof(V4f));
    __builtin_memcpy(&s4, pp.scale + j0 + 8 * kV8, sizeof(V4f));
  }
  const int64_t d = pp.d;
  for (int64_t p = 0; p < kc; p++) {
    const float* zr = pp.z + (i0 + p) * d + j0;
    float* o = dst + p * W;
    for (int v = 0; v < kV8; v++) {
      V8f x;
      __builtin_memcpy(&x, zr + 8 * v, sizeof x);
      x = ((x - h8[v]) - l8[v]) * s8[v];
      __builtin_memcpy(o + 8 * v, &x, sizeof x);
    }
    if (kV4) {
      V4f x;
      __builtin_memcpy(&x, zr + 8 * kV8, sizeof x);
      x = ((x - h4) - l4) * s4;
      __builtin_memcpy(o + 8 * kV8, &x, sizeof x);
    }
    for (int c = W - kRest; c < W; c++) o[c] = ((zr[c] - pp.hi[j0 + c]) - pp.lo[j0 + c]) * pp.scale[j0 + c];
  }
}

// The same for any width, and for the slice that reaches past column d (zero there).
void packSliceAny(const PanelPack& pp, int64_t j0, int64_t w, int64_t i0, int64_t kc, float* __restrict dst) {
  const int64_t valid = pp.d - j0 < w ? pp.d - j0 : w;
  for (int64_t p = 0; p < kc; p++) {
    const float* __restrict zr = pp.z + (i0 + p) * pp.d + j0;
    float* __restrict o = dst + p * w;
    for (int64_t c = 0; c < valid; c++) o[c] = ((zr[c] - pp.hi[j0 + c]) - pp.lo[j0 + c]) * pp.scale[j0 + c];
    for (int64_t c = valid; c < w; c++) o[c] = 0.0f;
  }
}

template <int Wt>
void packSlice(const PanelPack& pp, int64_t j0, int64_t w, int64_t i0, int64_t kc, float* dst) {
  if (Wt > 0 && j0 + Wt <= pp.d) packSliceFixed<Wt>(pp, j0, i0, kc, dst);
  else packSliceAny(pp, j0, w, i0, kc, dst);
}

// MRt and NRt: the micro-kernel's MR and NR when known at compile time, else 0. Panel by panel over all the rows,
// each panel's slice written contiguously (writing every panel's few values row by row instead scattered the stores
// over the whole packed block, 4 KiB apart, and took as long as a third of the product); the column panels first,
// which read each line of z once, then the row panels that are packed too, from lines still in L2.
template <int MRt, int NRt>
void packPanels(const PanelPack& pp, int64_t i0, int64_t kc) {
  const int64_t mr = MRt > 0 ? MRt : pp.mr, nr = NRt > 0 ? NRt : pp.nr;
  for (int64_t h = pp.h0; h < pp.nPanels; h++) packSlice<NRt>(pp, h * nr, nr, i0, kc, pp.bp + (h - pp.h0) * kc * nr);
  for (int64_t g = pp.g0; g < pp.g1; g++) {
    if (!pp.aFromB || !rowPanelInColumnPanel(g, static_cast<int>(mr), static_cast<int>(nr))) {
      packSlice<MRt>(pp, g * mr, mr, i0, kc, pp.ap + (g - pp.g0) * kc * mr);
    }
  }
}

// The shapes of the micro-kernels in native/gemm-*.cc, else the general loops.
void pack(const PanelPack& pp, int64_t i0, int64_t kc) {
  if (pp.mr == 12 && pp.nr == 32) packPanels<12, 32>(pp, i0, kc);
  else if (pp.mr == 6 && pp.nr == 16) packPanels<6, 16>(pp, i0, kc);
  else if (pp.mr == 4 && pp.nr == 16) packPanels<4, 16>(pp, i0, kc);
  else packPanels<0, 0>(pp, i0, kc);
}

// Over a few rows (one row panel of the product: their values are still in L1) the sums are taken in f32, then
// added to the double accumulators: one widening per column instead of two per element, which cost more than the
// rest of the pass. A dozen f32 terms lose less than the f32 rounding of dẐ itself.
void gradSums(const float* __restrict p, const float* __restrict zhat, int64_t rows, int64_t d, double* __restrict acc) {
  double* __restrict cross = acc + d;
  int64_t j0 = 0;
  for (; j0 + kStrip <= d; j0 += kStrip) {
    V8f s[kStripVectors] = {}, q[kStripVectors] = {};
    for (int64_t i = 0; i < rows; i++) {
      for (int v = 0; v < kStripVectors; v++) {
        V8f x, zx;
        __builtin_memcpy(&x, p + i * d + j0 + 8 * v, sizeof x);
        __builtin_memcpy(&zx, zhat + i * d + j0 + 8 * v, sizeof zx);
        s[v] += x;
        q[v] += x * zx;
      }
    }
    for (int v = 0; v < kStripVectors; v++) {
      V8d a, c;
      __builtin_memcpy(&a, acc + j0 + 8 * v, sizeof a);
      __builtin_memcpy(&c, cross + j0 + 8 * v, sizeof c);
      a += __builtin_convertvector(s[v], V8d);
      c += __builtin_convertvector(q[v], V8d);
      __builtin_memcpy(acc + j0 + 8 * v, &a, sizeof a);
      __builtin_memcpy(cross + j0 + 8 * v, &c, sizeof c);
    }
  }
  for (int64_t j = j0; j < d; j++) {
    float s = 0, q = 0;
    for (int64_t i = 0; i < rows; i++) {
      s += p[i * d + j];
      q += p[i * d + j] * zhat[i * d + j];
    }
    acc[j] += s;
    cross[j] += q;
  }
}

void gradOut(float* __restrict p, const float* __restrict z, int64_t rows, int64_t d, const float* __restrict hi,
             const float* __restrict lo, const float* __restrict scale, const float* __restrict meanG, const float* __restrict meanGZ) {
  for (int64_t i = 0; i < rows; i++) {
    float* __restrict pr = p + i * d;
    const float* __restrict zr = z + i * d;
    for (int64_t j = 0; j < d; j++) {
      const float zh = ((zr[j] - hi[j]) - lo[j]) * scale[j];
      pr[j] = scale[j] * ((pr[j] - meanG[j]) - zh * meanGZ[j]);
    }
  }
}

void add(float* __restrict dst, const float* __restrict src, int64_t n) {
  for (int64_t k = 0; k < n; k++) dst[k] += src[k];
}

}  // namespace

#ifdef EITP_CORRELATION_VEC_ROW_KERNEL
CorrelationVec table() {
  return {EITP_CORRELATION_VEC_STR(EITP_CORRELATION_VEC_NS), moments, standardize, pack, gradSums, gradOut, add, EITP_CORRELATION_VEC_ROW_KERNEL};
}
#else
CorrelationVec table() {
  return {EITP_CORRELATION_VEC_STR(EITP_CORRELATION_VEC_NS), moments, standardize, pack, gradSums, gradOut, add, nullptr, nullptr, 0, 0};
}
#endif
