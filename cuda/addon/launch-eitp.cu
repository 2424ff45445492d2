// Kernel selection and launch shapes of the fused EIT-P terms: softHistogram, correlation, coherence and
// activationDensity (each with its backward), and the FTLE's tanh step. With launch.cu (the generic ops) the only
// files that name kernel instantiations; the helpers both use are in launch-common.h. Everything here is host code,
// shared verbatim by the nvcc build and the emulated g++ build (through launch-eitp-emu.cc).
#include "launch.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "../soft-histogram.cuh"
#include "../correlation.cuh"
#include "../coherence.cuh"
#include "../tanh-jvp-step.cuh"
#include "../activation-density.cuh"
#include "launch-tanh-jvp-step.h"
#include "launch-common.h"

namespace eitp {

// ---- fused EIT-P terms -------------------------------------------------------------------------------------------
namespace {
// The soft histogram's grid cap (a full wave of 256-thread blocks on 132 SMs is about 1056).
constexpr int64_t kHistMaxBlocks = 1024;
// Dynamic shared memory the kernels here ask for at most (the default limit is 48 KiB, static arrays included).
constexpr size_t kDynSharedMax = 40 * 1024;

struct ColStats {
  ColGeom g;
  float *mu, *rstd;
};
ColStats column_stats(const Stream& s, const float* z, int64_t rows, int64_t cols, float eps, const Scratch& scratch) {
  const int64_t across = (cols + 31) / 32;
  ColStats st{col_geom(rows, cols, across, 64, 8), take<float>(scratch, cols), take<float>(scratch, cols)};
  float* pmean = take<float>(scratch, st.g.chunks * cols);
  float* pm2 = take<float>(scratch, st.g.chunks * cols);
  if (st.g.chunks > 65535) throw LaunchError("column statistics with more than 65535 row chunks");
  run(s, "col_stats", &col_stats_kernel, dim3(grid_dim(across, "col_stats"), static_cast<unsigned>(st.g.chunks)), dim3(32, 8), 0, z, st.g, pmean, pm2);
  run(s, "col_stats_finalize", &col_stats_finalize_kernel, dim3(grid_dim((cols + kBlock - 1) / kBlock, "col_stats_finalize")), dim3(kBlock), 0, pmean, pm2, st.g, eps, st.mu, st.rstd);
  return st;
}

// ẐᵀẐ as per-chunk partial tiles of the upper triangle: part[chunk][tile pair][64][64].
struct GramParts {
  ColGeom g;
  int nt, tiles;
  float* part;
};
GramParts gram_parts(const Stream& s, const float* z, const ColStats& st, int64_t rows, int64_t cols, const Scratch& scratch) {
  const int64_t nt = (cols + kGramTile - 1) / kGramTile, tiles = nt * (nt + 1) / 2;
  if (tiles > 0x7fffffffLL) throw LaunchError("correlation: too many Gram tiles");
  GramParts gp{col_geom(rows, cols, tiles, 4 * kGramSlice, kGramSlice), static_cast<int>(nt), static_cast<int>(tiles), nullptr};
  gp.part = take<float>(scratch, gp.g.chunks * tiles * kGramTile * kGramTile);
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(gp.g.chunks));
  const bool vec = cols % 4 == 0 && reinterpret_cast<uintptr_t>(z) % 16 == 0;
  if (vec) run(s, "gram_partial<vec>", &gram_partial_kernel<true>, grid, dim3(kGramThreads), 0, z, st.mu, st.rstd, gp.g, gp.nt, gp.part);
  else run(s, "gram_partial", &gram_partial_kernel<false>, grid, dim3(kGramThreads), 0, z, st.mu, st.rstd, gp.g, gp.nt, gp.part);
  return gp;
}

// R [cols, cols] = ẐᵀẐ/N (exactly symmetric): the column statistics st, the SYRK, the chunk sums and mirror store.
void gram_matrix(const Stream& s, float* r, const float* z, const ColStats& st, int64_t rows, int64_t cols, const Scratch& scratch) {
  const GramParts gp = gram_parts(s, z, st, rows, cols, scratch);
  const dim3 grid(static_cast<unsigned>(gp.tiles), kStoreSubs * kStoreSubs);
  run(s, "gram_store", &gram_store_kernel, grid, dim3(kStoreSub * kStoreSub), 0, gp.part, gp.g.chunks, gp.tiles, gp.nt, cols, static_cast<float>(rows), r);
}

// Ẑ = (z − μ)·rstd [rows, cols] in scratch.
float* standardized(const Stream& s, const float* z, const ColStats& st, int64_t rows, int64_t cols, const Scratch& scratch) {
  float* zhat = take<float>(scratch, rows * cols);
  run(s, "standardize", &standardize_kernel, stride_grid(rows * cols), dim3(kBlock), 0, z, st.mu, st.rstd, st.g, zhat);
  return zhat;
}

// c [m, n] = a [m, k] · b [k, n] with the f32 matmul: a dense row-major, b row-major or (bT) the transpose of a dense
// row-major [n, k].
void product(const Stream& s, float* c, const float* a, const float* b, bool bT, int64_t m, int64_t n, int64_t k) {
  MatmulArgs mm{};
  mm.a = MatOperand{a, 0, k, 1, Strides{}};
  mm.b = bT ? MatOperand{b, 0, 1, k, Strides{}} : MatOperand{b, 0, n, 1, Strides{}};
  mm.c = c;
  mm.m = m, mm.n = n, mm.k = k;
  mm.batch.rank = 0;
  mm.batches = 1;
  launch_matmul(s, mm);
}

// dz from dẐ (in dz) per column, layerNorm's backward in place: dz = r (dẐ − mean dẐ − Ẑ mean(dẐ Ẑ)).
void column_backward(const Stream& s, float* dz, const float* zhat, const ColStats& st, int64_t rows, int64_t cols, const Scratch& scratch) {
  float* pa = take<float>(scratch, st.g.chunks * cols);
  float* pab = take<float>(scratch, st.g.chunks * cols);
  float* ma = take<float>(scratch, cols);
  float* mab = take<float>(scratch, cols);
  run(s, "col_dot", &col_dot_kernel, dim3(grid_dim((cols + 31) / 32, "col_dot"), static_cast<unsigned>(st.g.chunks)), dim3(32, 8), 0, dz, zhat, st.g, pa, pab);
  run(s, "col_mean2", &col_mean2_kernel, dim3(grid_dim((cols + kBlock - 1) / kBlock, "col_mean2")), dim3(kBlock), 0, pa, pab, st.g, ma, mab);
  run(s, "correlation_grad_out", &correlation_grad_out_kernel, stride_grid(rows * cols), dim3(kBlock), 0, dz, zhat, st.rstd, ma, mab, st.g);
}

// dz of a loss through R, given the symmetric S = (gR + gRᵀ)/N [cols, cols]: dẐ = Ẑ·S with the f32 matmul, then
// column_backward.
void correlation_backward(const Stream& s, float* dz, const float* z, const ColStats& st, const float* sym, int64_t rows, int64_t cols, const Scratch& scratch) {
  const float* zhat = standardized(s, z, st, rows, cols, scratch);
  product(s, dz, zhat, sym, false, rows, cols, cols);
  column_backward(s, dz, zhat, st, rows, cols, scratch);
}
}  // namespace

void launch_soft_histogram(const Stream& s, float* counts, const float* u, const SoftHist& p, const Scratch& scratch) {
  if (p.bins <= 0) return;
  if (p.n == 0) {
    check(cudaMemsetAsync(counts, 0, static_cast<size_t>(p.bins) * sizeof(float), s.stream), "cudaMemsetAsync (softHistogram of no values)");
    return;
  }
  const int64_t blocks = std::min<int64_t>((p.n + kHistThreads - 1) / kHistThreads, kHistMaxBlocks);
  // One histogram per warp: in shared memory when it fits, else in a global spill area (any number of bins).
  const size_t hist_bytes = static_cast<size_t>(kHistWarps) * p.bins * sizeof(float);
  const bool shared = hist_bytes <= kDynSharedMax;
  float* spill = shared ? nullptr : take<float>(scratch, blocks * kHistWarps * p.bins);
  float* partial = take<float>(scratch, blocks * p.bins);
  run(s, shared ? "soft_hist_partial" : "soft_hist_partial<global histograms>", &soft_hist_partial_kernel, dim3(static_cast<unsigned>(blocks)), dim3(kHistThreads), shared ? hist_bytes : 0, u, p, spill, partial);
  run(s, "soft_hist_reduce", &soft_hist_reduce_kernel, dim3(grid_dim((p.bins + 31) / 32, "soft_hist_reduce")), dim3(32, 8), 0, partial, blocks, p.bins, counts);
}

void launch_soft_histogram_grad(const Stream& s, float* du, const float* u, const float* g, const SoftHist& p) {
  if (p.n == 0 || p.bins <= 0) return;
  const size_t g_bytes = static_cast<size_t>(p.bins) * sizeof(float);
  const bool shared = g_bytes <= kDynSharedMax;
  run(s, "soft_hist_grad", &soft_hist_grad_kernel, stride_grid(p.n), dim3(kBlock), shared ? g_bytes : 0, u, g, p, static_cast<int>(shared), du);
}

void launch_correlation(const Stream& s, float* r, const float* z, int64_t rows, int64_t cols, float eps, const Scratch& scratch) {
  if (rows < 2 || cols < 2) throw LaunchError("correlation needs at least 2 rows and 2 columns");
  gram_matrix(s, r, z, column_stats(s, z, rows, cols, eps, scratch), rows, cols, scratch);
}

void launch_correlation_grad(const Stream& s, float* dz, const float* z, const float* g, int64_t rows, int64_t cols, float eps, const Scratch& scratch) {
  if (rows < 2 || cols < 2) throw LaunchError("correlationGrad needs at least 2 rows and 2 columns");
  const ColStats st = column_stats(s, z, rows, cols, eps, scratch);
  // S = (gR + gRᵀ)/N: gR is any [d, d] cotangent, not necessarily symmetric.
  float* sym = take<float>(scratch, cols * cols);
  run(s, "sym_scaled", &sym_scaled_kernel, stride_grid(cols * cols), dim3(kBlock), 0, g, cols, static_cast<float>(rows), sym);
  correlation_backward(s, dz, z, st, sym, rows, cols, scratch);
}

// ---- the coherence loss on R, or on the rows' Gram for N ≤ d/2 (coherence.cuh) ------------------------------------
namespace {
// N ≤ d/2 (a batch of 64 rows of 256 features): K = ẐẐᵀ [N, N], N²d multiply-adds forward and 2N²d backward
// where R takes d²N/2 and 3d²N/2 (native/correlation.cc's rowGramPath). R has rank ≤ N ≤ d/2 there, so
// ‖R − I‖² ≥ d/2: the loss's terms do not cancel.
bool row_gram_path(int64_t rows, int64_t cols) { return 2 * rows <= cols; }

// K = ẐẐᵀ [rows, rows] in scratch, from Ẑ [rows, cols].
float* row_gram(const Stream& s, const float* zhat, int64_t rows, int64_t cols, const Scratch& scratch) {
  float* k = take<float>(scratch, rows * rows);
  product(s, k, zhat, zhat, true, rows, rows, cols);
  return k;
}
}  // namespace

void launch_coherence(const Stream& s, float* out, const float* z, int64_t rows, int64_t cols, float eps, const Scratch& scratch) {
  if (rows < 2 || cols < 2) throw LaunchError("coherence needs at least 2 rows and 2 columns");
  const ColStats st = column_stats(s, z, rows, cols, eps, scratch);
  const bool by_rows = row_gram_path(rows, cols);
  // R [cols, cols], or K [rows, rows] read as K/N with d − N added
  const int64_t side = by_rows ? rows : cols;
  float* r;
  if (by_rows) {
    r = row_gram(s, standardized(s, z, st, rows, cols, scratch), rows, cols, scratch);
  } else {
    r = take<float>(scratch, cols * cols);
    gram_matrix(s, r, z, st, rows, cols, scratch);
  }
  // About four elements a thread until the cap: the block count (and so every sum's order) depends only on the shape.
  const int64_t per_block = 4 * kCoherenceThreads;
  const int64_t blocks = std::min<int64_t>((side * side + per_block - 1) / per_block, kCoherenceMaxBlocks);
  double* partial = take<double>(scratch, blocks);
  const float a = by_rows ? static_cast<float>(1.0 / static_cast<double>(rows)) : 1.0f;
  const double extra = by_rows ? static_cast<double>(cols - rows) : 0.0;
  run(s, "coherence_partial", &coherence_partial_kernel, dim3(static_cast<unsigned>(blocks)), dim3(kCoherenceThreads), 0, r, side, a, extra, partial);
  run(s, "coherence_finish", &finish_partials_kernel, dim3(1), dim3(kCoherenceThreads), 0, partial, static_cast<int>(blocks),
      static_cast<double>(cols) * static_cast<double>(cols - 1), out);
}

void launch_coherence_grad(const Stream& s, float* dz, const float* z, const float* g, int64_t rows, int64_t cols, float eps, const Scratch& scratch) {
  if (rows < 2 || cols < 2) throw LaunchError("coherenceGrad needs at least 2 rows and 2 columns");
  const ColStats st = column_stats(s, z, rows, cols, eps, scratch);
  const double scale = 4.0 / (static_cast<double>(rows) * static_cast<double>(cols) * static_cast<double>(cols - 1));
  if (row_gram_path(rows, cols)) {
    // K → S' = 4g(K/N − I)/(N d(d − 1)) in place, then dẐ = S'·Ẑ and the column backward
    const float* zhat = standardized(s, z, st, rows, cols, scratch);
    float* k = row_gram(s, zhat, rows, cols, scratch);
    run(s, "coherence_s", &coherence_s_kernel, stride_grid(rows * rows), dim3(kBlock), 0, k, rows, static_cast<float>(1.0 / static_cast<double>(rows)), g, scale);
    product(s, dz, k, zhat, false, rows, cols, rows);
    column_backward(s, dz, zhat, st, rows, cols, scratch);
    return;
  }
  float* sym = take<float>(scratch, cols * cols);
  gram_matrix(s, sym, z, st, rows, cols, scratch);
  // R → S = 4g(R − I)/(N d(d − 1)) in place, g read on the device.
  run(s, "coherence_s", &coherence_s_kernel, stride_grid(cols * cols), dim3(kBlock), 0, sym, cols, 1.0f, g, scale);
  correlation_backward(s, dz, z, st, sym, rows, cols, scratch);
}

// ---- the thermodynamic term's activation density ----------------------------------------------------------------
namespace {
// float4 loads (and stores) need a dense operand whose first element is 16-byte aligned.
bool density_vec(const Operand& a) { return a.s.contiguous && reinterpret_cast<uintptr_t>(static_cast<const float*>(a.p) + a.s.offset) % 16 == 0; }
}  // namespace

void launch_activation_density(const Stream& s, float* out, int64_t n, const Shape& shape, const Operand& a, const float* tau, double eps, const Scratch& scratch) {
  if (n < 1) throw LaunchError("activationDensity: a must have at least one element");
  // One float4 per thread until the grid reaches its cap: the block count (and so the summation order) depends
  // only on n.
  const int64_t per_block = 4 * kDensityThreads;
  const int64_t blocks = std::min<int64_t>((n + per_block - 1) / per_block, kDensityMaxBlocks);
  double* partial = take<double>(scratch, blocks);
  const auto* p = static_cast<const float*>(a.p);
  const dim3 grid(static_cast<unsigned>(blocks)), block(kDensityThreads);
  if (density_vec(a)) run(s, "density_partial<vec>", &density_partial_kernel<true>, grid, block, 0, p, shape, a.s, n, tau, eps, partial);
  else run(s, "density_partial", &density_partial_kernel<false>, grid, block, 0, p, shape, a.s, n, tau, eps, partial);
  run(s, "density_finish", &finish_partials_kernel, dim3(1), block, 0, partial, static_cast<int>(blocks), static_cast<double>(n), out);
}

void launch_activation_density_grad(const Stream& s, float* out, int64_t n, const Shape& shape, const Operand& a, const float* tau, const float* g, double eps) {
  if (n < 1) throw LaunchError("activationDensityGrad: a must have at least one element");
  const auto* p = static_cast<const float*>(a.p);
  if (density_vec(a) && reinterpret_cast<uintptr_t>(out) % 16 == 0) {
    run(s, "density_grad<vec>", &density_grad_kernel<true>, stride_grid((n + 3) / 4), dim3(kBlock), 0, p, shape, a.s, n, tau, g, eps, out);
  } else {
    run(s, "density_grad", &density_grad_kernel<false>, stride_grid(n), dim3(kBlock), 0, p, shape, a.s, n, tau, g, eps, out);
  }
}

// ---- the FTLE tanh step -------------------------------------------------------------------------------------------
namespace {
// A block per row: 4 outputs per warp step, so up to 8 warps while there are outputs for them.
dim3 step_block(int64_t out_f) {
  const int64_t warps = std::max<int64_t>(1, std::min<int64_t>((out_f + 3) / 4, kStepThreadsMax / 32));
  return dim3(static_cast<unsigned>(warps * 32));
}
size_t step_smem(int64_t in_f) { return static_cast<size_t>(std::min<int64_t>(in_f, kStepTile)) * sizeof(float); }
// float4 loads of w's rows: every row start 16-byte aligned.
bool step_vec(const float* w, int64_t in_f) { return in_f % 4 == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0; }
void check_step_dims(int64_t batch, int64_t out_f, int64_t in_f, const char* op) {
  if (batch < 0 || out_f < 0 || in_f < 0 || batch > 0x7fffffffLL || out_f > 0x7fffffffLL || in_f > 0x7fffffffLL) {
    throw LaunchError(std::string(op) + ": batch, out and in features must lie in [0, 2^31)");
  }
}
}  // namespace

void launch_tanh_jvp_step(const Stream& s, float* y, const float* h, const float* v, int64_t v_rs, int64_t v_cs, const float* w, int64_t batch, int64_t out_f, int64_t in_f) {
  check_step_dims(batch, out_f, in_f, "tanhJvpStep");
  if (batch == 0) return;
  const dim3 grid(grid_dim(batch, "tanhJvpStep")), block = step_block(out_f);
  if (step_vec(w, in_f)) run(s, "tanh_jvp_step<vec>", &tanh_jvp_step_kernel<true>, grid, block, step_smem(in_f), h, v, v_rs, v_cs, w, y, out_f, in_f);
  else run(s, "tanh_jvp_step", &tanh_jvp_step_kernel<false>, grid, block, step_smem(in_f), h, v, v_rs, v_cs, w, y, out_f, in_f);
}

void launch_tanh_jvp_step_grad(const Stream& s, float* z, const float* h, const float* v, int64_t v_rs, int64_t v_cs, const float* w, const float* gy, int64_t batch, int64_t out_f,
                               int64_t in_f) {
  check_step_dims(batch, out_f, in_f, "tanhJvpStepGrad");
  if (batch == 0 || out_f == 0) return;  // z is empty
  const dim3 grid(grid_dim(batch, "tanhJvpStepGrad")), block = step_block(out_f);
  if (step_vec(w, in_f)) run(s, "tanh_jvp_step_grad<vec>", &tanh_jvp_step_grad_kernel<true>, grid, block, step_smem(in_f), h, v, v_rs, v_cs, w, gy, z, batch, out_f, in_f);
  else run(s, "tanh_jvp_step_grad", &tanh_jvp_step_grad_kernel<false>, grid, block, step_smem(in_f), h, v, v_rs, v_cs, w, gy, z, batch, out_f, in_f);
}

}  // namespace eitp
