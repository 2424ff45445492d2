// The streaming passes of the correlation kernels (native/correlation.cc) over row-major [rows, d] blocks, compiled
// once per ISA (baseline, AVX2, AVX-512) and chosen at run time by cpuid like vmath (EITP_SIMD caps it). Around the
// SYRK and the SGEMM these passes are what is left, and baseline SSE2 code (two doubles per instruction for the column
// sums) made them as slow as half the product. Built with -ffp-contract=off: each element is rounded the same way by
// every ISA and by the SIMD body and the scalar tail, so results do not depend on how the columns or rows are cut.
#pragma once

#include <cstdint>

namespace eitp {

// Rows of Ẑ packed for the SGEMM micro-kernel (gemm.h): as MR-row panels of Ẑᵀ for row panels [g0, g1) and as
// NR-column panels from column panel h0 on, both k-major and zero beyond column d.
struct PanelPack {
  const float* z;  // z, row-major with row stride d
  int64_t d;
  const float *hi, *lo, *scale;  // Ẑ_ij = ((z_ij − hi_j) − lo_j)·scale_j
  int mr, nr;
  int64_t g0, g1, h0, nPanels;
  float *ap, *bp;  // the panels: (g1 − g0)·kc·mr and (nPanels − h0)·kc·nr floats
  float* row;      // scratch: max(g1·mr, nPanels·nr) − h0·nr floats
};

struct CorrelationVec {
  const char* isa;
  // acc[j] += c and acc[d + j] += c² (in double) for c = z_ij − shift_j, over rows [0, rows) of z (row stride d).
  void (*moments)(const float* z, int64_t rows, int64_t d, const float* shift, double* acc);
  // out[i·ldo + j − j0] = ((z_ij − hi_j) − lo_j)·scale_j for rows [0, rows) of z (row stride ldz), columns [j0, j1).
  void (*standardize)(const float* z, int64_t ldz, int64_t rows, int64_t j0, int64_t j1, const float* hi, const float* lo,
                      const float* scale, float* out, int64_t ldo);
  // Packs rows [i0, i0 + kc) of Ẑ (see PanelPack).
  void (*pack)(const PanelPack& pp, int64_t i0, int64_t kc);
  // acc[j] += p_ij and acc[d + j] += p_ij·ẑ_ij (in double) over rows [0, rows) of p and ẑ (row stride d).
  void (*gradSums)(const float* p, const float* zhat, int64_t rows, int64_t d, double* acc);
  // out_ij = scale_j·((p_ij − meanG_j) − ẑ_ij·meanGZ_j) over rows [0, rows) (row stride d).
  void (*gradOut)(const float* p, const float* zhat, int64_t rows, int64_t d, const float* scale, const float* meanG,
                  const float* meanGZ, float* out);
  // dst[k] += src[k] for k in [0, n).
  void (*add)(float* dst, const float* src, int64_t n);
};

const CorrelationVec& correlationVec();

namespace correlation_vec_generic { CorrelationVec table(); }
#ifdef EITP_X86
namespace correlation_vec_avx2 { CorrelationVec table(); }
namespace correlation_vec_avx512 { CorrelationVec table(); }
#endif

}  // namespace eitp
