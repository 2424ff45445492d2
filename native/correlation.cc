// The coherence loss's kernels, following engine/backends/cpu/eitp-fused.ts: correlation (R = ẐᵀẐ/N of the
// column-standardised z) and correlationGrad (dz from z and the cotangent gR). Column statistics and the column
// means of the backward are summed in double; Ẑ is f32 for the products.
//
// correlation is a SYRK: R is symmetric, so only the micro-kernel tiles on or above the diagonal are computed (about
// half the Gram's flops) and each upper element is written to both halves, so R is exactly symmetric. Its driver
// packs Ẑ straight from z (standardising as it packs) into the SGEMM micro-kernel's panel layouts. The diagonal
// is taken in closed form, var/(var + eps), which is what ẐᵀẐ/N gives exactly: it keeps R_jj accurate instead of
// leaving it to f32 rounding.
//
// Determinism: the row blocks of the column sums (and of the backward) and the K chunks of the SYRK depend only on
// N, d and the micro-kernel, never on the thread count; each element of a partial Gram is summed by one thread in a
// fixed order and the partials are added in chunk order; the SGEMM gives each element of C one thread. So results are
// the same for any EITP_THREADS.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>
#include <vector>

#include "common.h"
#include "correlation-vec.h"
#include "gemm.h"
#include "strided.h"
#include "thread-pool.h"

namespace eitp {

namespace {

// A grow-only float buffer: repeated calls reuse the memory instead of faulting in fresh pages each time.
struct Scratch {
  float* p = nullptr;
  size_t size = 0;
  ~Scratch() { std::free(p); }
};

// Per thread: the packed panels of one SYRK block, and a row block of Ẑ (backward). Per calling (stream) thread: the
// partial Grams, and dẐ (backward).
thread_local Scratch tlsPanels;
thread_local Scratch tlsPartials;
thread_local Scratch tlsZhat;
thread_local Scratch tlsProduct;

// `want` floats: from `cache` up to 4M floats (16 MiB, kept for the next call), larger ones in `owned` for this
// call only, so that one huge call does not hold its memory for good.
float* scratch(Scratch& cache, size_t want, std::unique_ptr<float[]>& owned) {
  if (want > (size_t{1} << 22)) {
    owned.reset(new float[want]);
    return owned.get();
  }
  if (cache.size < want) {
    std::free(cache.p);
    cache.size = 0;
    cache.p = static_cast<float*>(std::aligned_alloc(64, (want * sizeof(float) + 63) / 64 * 64));
    if (!cache.p) throw KernelError("out of memory allocating correlation scratch");
    cache.size = want;
  }
  return cache.p;
}

// Per-column sums over the rows of z, W accumulators per column (acc[w·d + j]) in double: f(i0, i1, acc) adds rows
// [i0, i1) to its block's partial (row blocks are a function of n only), then the partials are added in block order.
template <int W, typename F>
std::vector<double> columnSums(int64_t n, int64_t d, ThreadPool& pool, F f) {
  const int64_t rows = std::max<int64_t>(64, (n + 63) / 64);
  const int64_t blocks = (n + rows - 1) / rows;
  std::vector<double> partial(static_cast<size_t>(blocks * W * d), 0.0);
  pool.parallelFor(blocks, [&](int64_t b, int) { f(b * rows, std::min(n, (b + 1) * rows), partial.data() + b * W * d); });
  std::vector<double> total(static_cast<size_t>(W * d), 0.0);
  for (int64_t b = 0; b < blocks; b++) {
    for (int64_t j = 0; j < W * d; j++) total[j] += partial[b * W * d + j];
  }
  return total;
}

// Per column of z [n, d]: population variance and 1/sqrt(var + eps), with the mean split as hi + lo floats and 1/σ
// as a float, so that Ẑ = ((z − hi) − lo)·r is computed in f32 (correlation-vec's standardize): z − hi is exact
// near the mean, so each Ẑ is within an ulp or two of the double value rounded.
struct ColumnStats {
  std::vector<double> var, rstd;
  std::vector<float> hi, lo, scale;
};

// One pass: sums of c and c² for c = z − z₀ (row 0 as the shift, so that the sum of squares does not cancel
// against a large mean), var = E[c²] − E[c]².
ColumnStats columnStats(const float* z, int64_t n, int64_t d, double eps, ThreadPool& pool) {
  const CorrelationVec& vec = correlationVec();
  const std::vector<double> sums =
      columnSums<2>(n, d, pool, [&](int64_t i0, int64_t i1, double* acc) { vec.moments(z + i0 * d, i1 - i0, d, z, acc); });
  ColumnStats s;
  s.var.resize(static_cast<size_t>(d));
  s.rstd.resize(static_cast<size_t>(d));
  s.hi.resize(static_cast<size_t>(d));
  s.lo.resize(static_cast<size_t>(d));
  s.scale.resize(static_cast<size_t>(d));
  const double invN = 1 / static_cast<double>(n);
  for (int64_t j = 0; j < d; j++) {
    const double m = sums[j] * invN;
    const double v = sums[d + j] * invN - m * m;
    s.var[j] = v < 0 ? 0 : v;  // rounding can leave a zero variance slightly negative; NaN stays NaN
    s.rstd[j] = 1 / std::sqrt(s.var[j] + eps);
    const double mean = z[j] + m;
    s.hi[j] = static_cast<float>(mean);
    s.lo[j] = static_cast<float>(mean - s.hi[j]);
    s.scale[j] = static_cast<float>(s.rstd[j]);
  }
  return s;
}

double epsAttr(const Task& t) {
  if (t.attrs.size() != 1) throw KernelError("expected the attribute eps");
  return t.attrs[0];
}

// Checks z [N, d] (f32, N >= 2, d >= 2) and returns N and d.
void checkZ(const Arg& za, int64_t& n, int64_t& d) {
  if (za.dtype != DType::F32) throw KernelError(std::string("z must be f32, got ") + dtypeName(za.dtype));
  if (za.rank() != 2 || za.shape[0] < 2 || za.shape[1] < 2) throw KernelError("z must be [N, d] with N >= 2 and d >= 2");
  n = za.shape[0];
  d = za.shape[1];
}

// The SYRK's plan. The Gram is cut into the micro-kernel's MR x NR tiles; K (the N rows) into `chunks` equal
// chunks, each summed into its own partial Gram so that chunks run in parallel without sharing an accumulator; the
// row panels into `groups` of about equal tile count, so that few chunks still feed every thread. Chunks decide
// how the sums are split, so they depend on N and d only; groups just share out tiles (any grouping gives the same
// sums), so they follow the thread count.
struct SyrkPlan {
  int64_t mPanels, nPanels;  // MR-row panels and NR-column panels covering d
  int64_t tileRows, ldc;     // a partial Gram is [mPanels·MR, nPanels·NR]
  int64_t chunks, chunkRows;
  std::vector<int64_t> groupStart;  // row panel boundaries, groups + 1 entries
};

// The first column panel with a tile on or above the diagonal, for row panel g.
inline int64_t firstColumnPanel(int64_t g, int mr, int nr) { return g * mr / nr; }

SyrkPlan planSyrk(const MicroKernel& uk, int64_t n, int64_t d, bool parallel, int threads) {
  SyrkPlan p;
  p.mPanels = (d + uk.mr - 1) / uk.mr;
  p.nPanels = (d + uk.nr - 1) / uk.nr;
  p.tileRows = p.mPanels * uk.mr;
  p.ldc = p.nPanels * uk.nr;
  // Up to 8 chunks of at least 512 rows (adding a partial costs about what 1/N of the product does, so chunks are
  // few), and at most 4M floats (16 MiB) of partial Grams.
  const int64_t byMemory = std::max<int64_t>(1, (int64_t{1} << 22) / (p.tileRows * p.ldc));
  p.chunks = parallel ? std::min<int64_t>({8, std::max<int64_t>(1, n / 512), byMemory}) : 1;
  p.chunkRows = (n + p.chunks - 1) / p.chunks;
  p.chunks = (n + p.chunkRows - 1) / p.chunkRows;
  std::vector<int64_t> tiles(static_cast<size_t>(p.mPanels));
  int64_t total = 0;
  for (int64_t g = 0; g < p.mPanels; g++) total += tiles[g] = p.nPanels - firstColumnPanel(g, uk.mr, uk.nr);
  const int64_t groups = parallel ? std::min<int64_t>(p.mPanels, (2 * threads + p.chunks - 1) / p.chunks) : 1;
  p.groupStart.push_back(0);
  int64_t seen = 0;
  for (int64_t g = 0; g < p.mPanels; g++) {
    seen += tiles[g];
    const int64_t q = static_cast<int64_t>(p.groupStart.size());
    if (q < groups && seen * groups >= q * total) p.groupStart.push_back(g + 1);
  }
  if (p.groupStart.back() != p.mPanels) p.groupStart.push_back(p.mPanels);
  return p;
}

void kCorrelation(const Task& t, ThreadPool& pool) {
  int64_t n, d;
  checkZ(t.inputs[0], n, d);
  const double eps = epsAttr(t);
  Dense<float> zd(t.inputs[0], pool);
  const float* z = zd.get();
  const ColumnStats s = columnStats(z, n, d, eps, pool);
  const CorrelationVec& vec = correlationVec();

  const MicroKernel& uk = activeMicroKernel();
  const int MR = uk.mr, NR = uk.nr;
  // Below ~4M multiply-adds a hand-off to the pool costs more than it saves. (A function of N and d only: it also
  // decides the chunks.)
  const bool parallel = static_cast<double>(n) * static_cast<double>(d) * static_cast<double>(d) / 2 >= (1 << 22);
  const SyrkPlan plan = planSyrk(uk, n, d, parallel, pool.threads());
  const int64_t groups = static_cast<int64_t>(plan.groupStart.size()) - 1;
  const int64_t partialSize = plan.tileRows * plan.ldc;
  std::unique_ptr<float[]> partialsOwned;
  float* partials = scratch(tlsPartials, static_cast<size_t>(plan.chunks * partialSize), partialsOwned);

  // Item (chunk c, group q): the tiles of q's row panels over c's rows, kc rows at a time: those rows of Ẑ are
  // standardised and packed (the panels stay in L2 while every tile of the group reads them), then multiplied.
  auto item = [&](int64_t it, int) {
    const int64_t c = it / groups, q = it % groups;
    const int64_t g0 = plan.groupStart[q], g1 = plan.groupStart[q + 1];
    const int64_t h0 = firstColumnPanel(g0, MR, NR);
    const int64_t iBegin = c * plan.chunkRows, iEnd = std::min(n, iBegin + plan.chunkRows);
    const int64_t steps = (iEnd - iBegin + uk.kc - 1) / uk.kc;
    const int64_t kcMax = (iEnd - iBegin + steps - 1) / steps;  // equal blocks, at most uk.kc
    const int64_t aSize = kcMax * (g1 - g0) * MR, bSize = kcMax * (plan.nPanels - h0) * NR;
    const int64_t rowSize = std::max(g1 * MR, plan.ldc) - h0 * NR;
    std::unique_ptr<float[]> owned;
    float* ap = scratch(tlsPanels, static_cast<size_t>(aSize + bSize + rowSize), owned);
    const PanelPack pp{z, d, s.hi.data(), s.lo.data(), s.scale.data(), MR, NR, g0, g1, h0, plan.nPanels, ap, ap + aSize, ap + aSize + bSize};
    float* cc = partials + c * partialSize;
    for (int64_t i0 = iBegin; i0 < iEnd; i0 += kcMax) {
      const int64_t kc = std::min(kcMax, iEnd - i0);
      vec.pack(pp, i0, kc);
      const int accumulate = i0 > iBegin;
      for (int64_t g = g0; g < g1; g++) {
        const float* a = ap + (g - g0) * kc * MR;
        for (int64_t h = firstColumnPanel(g, MR, NR); h < plan.nPanels; h++) {
          uk.fn(kc, a, pp.bp + (h - h0) * kc * NR, cc + g * MR * plan.ldc + h * NR, plan.ldc, accumulate, nullptr, 0);
        }
      }
    }
  };
  const int64_t items = plan.chunks * groups;
  if (parallel) {
    pool.parallelFor(items, item);
  } else {
    for (int64_t it = 0; it < items; it++) item(it, 0);
  }

  // 32 x 32 blocks of R on or above the diagonal, by block rows: the partials added (in chunk order) into the first,
  // then R_jk = R_kj = G_jk/N for j < k, and R_jj in closed form. Within a block both halves' writes stay in L1.
  constexpr int64_t B = 32;
  float* r = static_cast<float*>(t.output.data);
  const double invN = 1 / static_cast<double>(n);
  auto mirrorBlockRow = [&](int64_t jb, int) {
    const int64_t j0 = jb * B, j1 = std::min(d, j0 + B);
    for (int64_t j = j0; j < j1; j++) {
      for (int64_t c = 1; c < plan.chunks; c++) vec.add(partials + j * plan.ldc + j + 1, partials + c * partialSize + j * plan.ldc + j + 1, d - j - 1);
      r[j * d + j] = static_cast<float>(s.var[j] * s.rstd[j] * s.rstd[j]);
    }
    for (int64_t k0 = j0; k0 < d; k0 += B) {
      const int64_t k1 = std::min(d, k0 + B);
      for (int64_t j = j0; j < j1; j++) {
        const float* g = partials + j * plan.ldc;
        for (int64_t k = std::max(k0, j + 1); k < k1; k++) r[j * d + k] = r[k * d + j] = static_cast<float>(g[k] * invN);
      }
    }
  };
  const int64_t blockRows = (d + B - 1) / B;
  if (parallel) {
    pool.parallelFor(blockRows, mirrorBlockRow);
  } else {
    for (int64_t jb = 0; jb < blockRows; jb++) mirrorBlockRow(jb, 0);
  }
}

// S = (gR + gRᵀ)/N; dẐ = Ẑ·S (the SGEMM); dz_ij = r_j (dẐ_ij − mean_i dẐ_ij − Ẑ_ij mean_i(dẐ_ij Ẑ_ij)).
// By row blocks (a function of N only), in two passes: Ẑ of the block standardised into L2, dẐ = Ẑ·S for the block,
// and the block's column sums of dẐ and dẐ·Ẑ while both are still in L2; then, with the means, Ẑ of the block again
// (the same f32 values) and dz. Only dẐ goes through memory; Ẑ is never stored whole.
void kCorrelationGrad(const Task& t, ThreadPool& pool) {
  int64_t n, d;
  checkZ(t.inputs[0], n, d);
  const Arg& ga = t.inputs[1];
  if (ga.dtype != DType::F32 || ga.rank() != 2 || ga.shape[0] != d || ga.shape[1] != d) throw KernelError("gR must be an f32 [d, d]");
  const double eps = epsAttr(t);
  Dense<float> zd(t.inputs[0], pool);
  const float* z = zd.get();
  const ColumnStats s = columnStats(z, n, d, eps, pool);
  const CorrelationVec& vec = correlationVec();
  std::vector<float> sym(static_cast<size_t>(d * d));
  {
    Dense<float> gd(ga, pool);
    const float* g = gd.get();
    for (int64_t j = 0; j < d; j++) {
      for (int64_t k = 0; k < d; k++) sym[j * d + k] = static_cast<float>((static_cast<double>(g[j * d + k]) + g[k * d + j]) / static_cast<double>(n));
    }
  }
  // Row blocks of at least 128 rows and about 128K elements: Ẑ and dẐ of a block (1 MiB) stay in L2, and S, which
  // the SGEMM packs again for each block, is a small part of the work.
  const int64_t rows = std::max<int64_t>(128, (131072 + d - 1) / d);
  const int64_t blocks = (n + rows - 1) / rows;
  const bool parallel = static_cast<double>(n) * static_cast<double>(d) * static_cast<double>(d) >= (1 << 22);
  auto forBlocks = [&](const std::function<void(int64_t, int)>& fn) {
    if (parallel) {
      pool.parallelFor(blocks, fn);
    } else {
      for (int64_t b = 0; b < blocks; b++) fn(b, 0);
    }
  };
  auto standardizeBlock = [&](int64_t i0, int64_t i1, std::unique_ptr<float[]>& owned) {
    float* zh = scratch(tlsZhat, static_cast<size_t>(rows * d), owned);
    vec.standardize(z + i0 * d, d, i1 - i0, 0, d, s.hi.data(), s.lo.data(), s.scale.data(), zh, d);
    return zh;
  };
  std::unique_ptr<float[]> pOwned;
  float* p = scratch(tlsProduct, static_cast<size_t>(n * d), pOwned);  // dẐ
  std::vector<double> partial(static_cast<size_t>(blocks * 2 * d), 0.0);
  forBlocks([&](int64_t b, int) {
    const int64_t i0 = b * rows, i1 = std::min(n, i0 + rows);
    std::unique_ptr<float[]> owned;
    const float* zh = standardizeBlock(i0, i1, owned);
    sgemm(i1 - i0, d, d, zh, d, 1, sym.data(), d, 1, p + i0 * d, d, pool, false);
    vec.gradSums(p + i0 * d, zh, i1 - i0, d, partial.data() + b * 2 * d);
  });
  std::vector<double> sums(static_cast<size_t>(2 * d), 0.0);
  for (int64_t b = 0; b < blocks; b++) {
    for (int64_t j = 0; j < 2 * d; j++) sums[j] += partial[b * 2 * d + j];
  }
  // The epilogue in f32 (r_j, the means and each product rounded once): dz is stored as f32 anyway.
  std::vector<float> meanG(static_cast<size_t>(d)), meanGZ(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; j++) {
    meanG[j] = static_cast<float>(sums[j] / static_cast<double>(n));
    meanGZ[j] = static_cast<float>(sums[d + j] / static_cast<double>(n));
  }
  float* dz = static_cast<float*>(t.output.data);
  forBlocks([&](int64_t b, int) {
    const int64_t i0 = b * rows, i1 = std::min(n, i0 + rows);
    std::unique_ptr<float[]> owned;
    const float* zh = standardizeBlock(i0, i1, owned);
    vec.gradOut(p + i0 * d, zh, i1 - i0, d, s.scale.data(), meanG.data(), meanGZ.data(), dz + i0 * d);
  });
}

}  // namespace

std::vector<KernelEntry> correlationKernels() { return {{"correlation", kCorrelation}, {"correlationGrad", kCorrelationGrad}}; }

}  // namespace eitp
