// The body of correlation-vec for one ISA: included by correlation-vec-<isa>.cc inside
// `namespace eitp::correlation_vec_<isa>` with that ISA's compiler flags. Plain loops over j (the contiguous axis)
// for the vectoriser. No standard-library calls: an inline function emitted with AVX-512 code in one file must never
// be picked by the linker for another.

#define EITP_CORRELATION_VEC_STR2(x) #x
#define EITP_CORRELATION_VEC_STR(x) EITP_CORRELATION_VEC_STR2(x)

namespace {

void moments(const float* __restrict z, int64_t rows, int64_t d, const float* __restrict shift, double* __restrict acc) {
  double* __restrict sq = acc + d;
  for (int64_t i = 0; i < rows; i++) {
    const float* __restrict zr = z + i * d;
    for (int64_t j = 0; j < d; j++) {
      const double c = static_cast<double>(zr[j]) - static_cast<double>(shift[j]);
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

// MRt and NRt: the micro-kernel's MR and NR when known at compile time (the panel rows become a few vector moves),
// else 0.
template <int MRt, int NRt>
void packPanels(const PanelPack& pp, int64_t i0, int64_t kc) {
  const int64_t mr = MRt > 0 ? MRt : pp.mr, nr = NRt > 0 ? NRt : pp.nr;
  const int64_t c0 = pp.h0 * nr, d = pp.d;
  const int64_t cEnd = pp.g1 * mr > pp.nPanels * nr ? pp.g1 * mr : pp.nPanels * nr;
  float* __restrict row = pp.row;
  for (int64_t j = d; j < cEnd; j++) row[j - c0] = 0.0f;
  for (int64_t p = 0; p < kc; p++) {
    standardize(pp.z + (i0 + p) * d, d, 1, c0, d, pp.hi, pp.lo, pp.scale, row, 0);
    for (int64_t g = pp.g0; g < pp.g1; g++) {
      float* __restrict dst = pp.ap + (g - pp.g0) * kc * mr + p * mr;
      const float* __restrict src = row + g * mr - c0;
      for (int64_t r = 0; r < mr; r++) dst[r] = src[r];
    }
    for (int64_t h = pp.h0; h < pp.nPanels; h++) {
      float* __restrict dst = pp.bp + (h - pp.h0) * kc * nr + p * nr;
      const float* __restrict src = row + h * nr - c0;
      for (int64_t c = 0; c < nr; c++) dst[c] = src[c];
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

void gradSums(const float* __restrict p, const float* __restrict zhat, int64_t rows, int64_t d, double* __restrict acc) {
  double* __restrict cross = acc + d;
  for (int64_t i = 0; i < rows; i++) {
    const float* __restrict pr = p + i * d;
    const float* __restrict zr = zhat + i * d;
    for (int64_t j = 0; j < d; j++) {
      const double v = pr[j];
      acc[j] += v;
      cross[j] += v * static_cast<double>(zr[j]);
    }
  }
}

void gradOut(const float* __restrict p, const float* __restrict zhat, int64_t rows, int64_t d, const float* __restrict scale,
             const float* __restrict meanG, const float* __restrict meanGZ, float* __restrict out) {
  for (int64_t i = 0; i < rows; i++) {
    const float* __restrict pr = p + i * d;
    const float* __restrict zr = zhat + i * d;
    float* __restrict o = out + i * d;
    for (int64_t j = 0; j < d; j++) o[j] = scale[j] * ((pr[j] - meanG[j]) - zr[j] * meanGZ[j]);
  }
}

void add(float* __restrict dst, const float* __restrict src, int64_t n) {
  for (int64_t k = 0; k < n; k++) dst[k] += src[k];
}

}  // namespace

CorrelationVec table() {
  return {EITP_CORRELATION_VEC_STR(EITP_CORRELATION_VEC_NS), moments, standardize, pack, gradSums, gradOut, add};
}
