// The row loops of the fused nn kernels (softmax and its backward softmaxGrad, logSoftmax, crossEntropy and its
// backward, layerNorm, its backward and that backward's own) over contiguous rows, and the column sums of sum/mean over
// leading axes, compiled once per ISA (baseline, AVX2, AVX-512) and chosen at run time like vmath.
// At the main job's row lengths (24 attention scores, 21 classes, width 32) the scalar double loops they replace were
// latency-bound (about 200 ns for a row of 24): here a row is a few vectors, exponentials inline (the same
// Cephes-style polynomial as vmath's exp, but 0 below e^−87 instead of subnormal results, which cost a microcode
// assist each), statistics and sums in double vectors. Built with -ffp-contract=off, so an
// element's result does not depend on where it falls in a vector; rows are independent, so results are the same for
// any thread split.
#pragma once

#include <cstdint>

namespace eitp {

struct RowsVec {
  const char* isa;
  // y = softmax (log = 0) or logSoftmax (log = 1) of each of `rows` rows of `len` floats. Max in float (NaN if any
  // element is NaN), e = exp(x − max) in float, their sum in double; softmax y = e·(1/sum), logSoftmax y = x − lse
  // rounded once from double, lse = max + log(sum).
  void (*softmax)(const float* x, float* y, int64_t rows, int64_t len, int log);
  // softmax's backward: out = y·(g − s), s = Σ g·y, per row of len. The products (exact in double) and s in double,
  // each output computed in double and rounded once, as engine/backends/cpu/nn.ts does in float64.
  void (*softmaxGrad)(const float* y, const float* g, float* out, int64_t rows, int64_t len);
  // lse[i] = max + log(Σ exp(x − max)) of each row, as softmax computes it (crossEntropy's forward).
  void (*logSumExp)(const float* x, double* lse, int64_t rows, int64_t len);
  // crossEntropy's backward: y = softmax(x)·scale, then (softmax − 1)·scale at the row's target; scale of row i at
  // scales[i·scaleStride] (stride 0: one scale for all), computed in double and rounded once.
  void (*crossEntropyGrad)(const float* x, float* y, int64_t rows, int64_t classes, const int64_t* targets,
                           const double* scales, int64_t scaleStride);
  // y = (x − μ)·rstd·γ + β per row of d, μ, var and rstd = 1/√(var + eps) in double.
  void (*layerNorm)(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t d, double eps);
  // layerNorm's backward: dx per row, and dw += g·x̂, db += g accumulated in double over the rows in row order.
  void (*layerNormGrad)(const float* x, const float* gamma, const float* g, float* dx, double* dw, double* db, int64_t rows,
                        int64_t d, double eps);
  // layerNormGrad's backward (layerNormGradGrad): per row of d, jo = J o and curv = −(r/d)·(⟨o, J u⟩·x̂ + ⟨u, x̂⟩·J o +
  // ⟨o, x̂⟩·J u) for J = ∂x̂/∂x; μ, r and the row sums Σo, Σu, ⟨o, x̂⟩, ⟨u, x̂⟩, ⟨o, u⟩ in double, each output
  // computed in double and rounded once.
  void (*layerNormGradGrad)(const float* x, const float* u, const float* o, float* jo, float* curv, int64_t rows, int64_t d,
                            double eps);
  // sum and mean over the leading axes (bias gradients, [rows, ld] -> [ld]) for the columns [0, cols) of x:
  // acc[j] += x[r·ld + j] for r = 0, 1, …, rows − 1 in that order, in double (each column the reference's order).
  void (*sumColumns)(const float* x, int64_t ld, int64_t rows, int64_t cols, double* acc);
};

const RowsVec& rowsVec();

namespace rows_vec_generic { RowsVec table(); }
#ifdef EITP_X86
namespace rows_vec_avx2 { RowsVec table(); }
namespace rows_vec_avx512 { RowsVec table(); }
#endif

}  // namespace eitp
