// The streaming passes of the correlation kernels (native/correlation.cc) over row-major [rows, d] blocks, and on
// AVX-512 their micro-kernels, compiled once per ISA (baseline, AVX2, AVX-512) and chosen at run time by cpuid like
// vmath (EITP_SIMD caps it). Around the products these passes are what is left, and baseline SSE2 code (two doubles
// per instruction for the column sums) made them as slow as half the product. Built with -ffp-contract=off: each
// element is rounded the same way by every ISA and by the SIMD body and the scalar tail, so results do not depend on
// how the columns or rows are cut (the micro-kernels' FMAs are explicit intrinsics).
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
  // Set when the tiles read A with the panel kernel (below): the row panels that lie inside one NR-column panel are
  // read from there (k stride NR) and are not packed as MR-row panels.
  bool aFromB;
};

// Whether row panel g (columns [g·mr, g·mr + mr) of Ẑ) lies inside one NR-column panel, which then holds its values
// k-major with stride nr. (static: each ISA's file gets its own copy, never one compiled for another ISA.)
static inline bool rowPanelInColumnPanel(int64_t g, int mr, int nr) { return (g * mr) % nr + mr <= nr; }

// Micro-kernels with the SGEMM micro-kernel's tile (MR x NR) and the same FMA chain per element, so a product is the
// same with either, but reading A where it already is: C[MR x NR] (+)= A·Bp over k steps, Bp a packed NR-column panel
// (k-major). The row kernel reads A's row r at step p from a[r·lda + p] (rows of a row-major block: no transposed
// copy); the panel kernel from a[r + p·ks] (ks = MR for a packed MR-row panel, NR for MR rows inside an NR-column
// panel), and with `rightHalf` computes (and stores) only the tile's columns [NR/2, NR).
using RowKernelFn = void (*)(int64_t k, const float* a, int64_t lda, const float* bp, float* c, int64_t ldc, int accumulate);
using PanelKernelFn = void (*)(int64_t k, const float* a, int64_t ks, const float* bp, float* c, int64_t ldc, int accumulate,
                               int rightHalf);

struct CorrelationVec {
  const char* isa;
  // acc[j] += c and acc[d + j] += c² (in double) for c = z_ij − shift_j, over rows [0, rows) of z (row stride d).
  void (*moments)(const float* z, int64_t rows, int64_t d, const float* shift, double* acc);
  // out[i·ldo + j − j0] = ((z_ij − hi_j) − lo_j)·scale_j for rows [0, rows) of z (row stride ldz), columns [j0, j1).
  void (*standardize)(const float* z, int64_t ldz, int64_t rows, int64_t j0, int64_t j1, const float* hi, const float* lo,
                      const float* scale, float* out, int64_t ldo);
  // Packs rows [i0, i0 + kc) of Ẑ (see PanelPack).
  void (*pack)(const PanelPack& pp, int64_t i0, int64_t kc);
  // acc[j] += Σ_i p_ij and acc[d + j] += Σ_i p_ij·ẑ_ij over rows [0, rows) of p and ẑ (row stride d): the sums over
  // these rows in f32 (meant for a dozen rows), added to the double accumulators.
  void (*gradSums)(const float* p, const float* zhat, int64_t rows, int64_t d, double* acc);
  // p_ij ← scale_j·((p_ij − meanG_j) − ẑ_ij·meanGZ_j) in place over rows [0, rows) (row stride d), with ẑ_ij
  // standardised from z here (the same f32 operations as standardize).
  void (*gradOut)(float* p, const float* z, int64_t rows, int64_t d, const float* hi, const float* lo, const float* scale,
                  const float* meanG, const float* meanGZ);
  // dst[k] += src[k] for k in [0, n).
  void (*add)(float* dst, const float* src, int64_t n);
  // The micro-kernels above and their tile, where the ISA has them (AVX-512); else null and 0.
  RowKernelFn rowKernel;
  PanelKernelFn panelKernel;
  int kernelMr, kernelNr;
};

const CorrelationVec& correlationVec();

namespace correlation_vec_generic { CorrelationVec table(); }
#ifdef EITP_X86
namespace correlation_vec_avx2 { CorrelationVec table(); }
namespace correlation_vec_avx512 { CorrelationVec table(); }
#endif

}  // namespace eitp
