// The coherence loss's kernels, following engine/backends/cpu/eitp-fused.ts: correlation (R = ẐᵀẐ/N of the
// column-standardised z), correlationGrad (dz from z and the cotangent gR), and the fused loss: coherence
// (‖R − I‖_F²/(d(d − 1)) in the SYRK's epilogue, R never stored) and coherenceGrad (the Gram recomputed, its epilogue
// writing S = 4g(R − I)/(N d(d − 1)) in place of correlationGrad's (gR + gRᵀ)/N); for N ≤ d/2 both take the rows'
// Gram ẐẐᵀ [N, N] instead (rowGramPath). Column statistics are summed in double,
// the column means of the backward in double over f32 sums of a dozen rows; Ẑ is f32 for the products.
//
// correlation is a SYRK: R is symmetric, so only the micro-kernel tiles on or above the diagonal are computed (about
// half the Gram's flops; of a diagonal tile whose left half lies below the diagonal, only the right half) and each
// upper element is written to both halves, so R is exactly symmetric. Its driver packs Ẑ straight from z
// (standardising as it packs) into the SGEMM micro-kernel's column panels, from which the ISA's panel kernel also
// reads the row panels (correlation-vec.h). The diagonal is taken in closed form, var/(var + eps), which is what
// ẐᵀẐ/N gives exactly: it keeps R_jj accurate instead of leaving it to f32 rounding. correlationGrad's product
// dẐ = Ẑ·S has its own driver too (one row panel at a time, with the backward's sums on it while it is in L1).
//
// Determinism: the row blocks of the column sums (and of the backward) and the K chunks of the SYRK depend only on
// N, d and the micro-kernel, never on the thread count; each element of a partial Gram is summed by one thread in a
// fixed order and the partials are added in chunk order; each element of dẐ is one thread's FMA chain. So results
// are the same for any EITP_THREADS.
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

// Per thread: the packed panels of one SYRK block (or of a backward row panel), and a row panel of Ẑ (backward). Per
// calling (stream) thread: the partial Grams, and the packed S and (only if dz shared memory with z) dẐ (backward).
thread_local Scratch tlsPanels;
thread_local Scratch tlsPartials;
thread_local Scratch tlsZhat;
thread_local Scratch tlsProduct;
thread_local Scratch tlsPackedS;
thread_local Scratch tlsZhatAll;  // Ẑ whole and the rows' Gram, for N ≤ d/2 (rowGramPath)
thread_local Scratch tlsRowGram;
// Per calling thread, grown and never shrunk (fresh large vectors each call cost page faults): the column sums'
// partials and S before packing.
thread_local std::vector<double> tlsSums;
thread_local std::vector<float> tlsSym;

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
std::vector<double> columnSums(int64_t n, int64_t d, ThreadPool& pool, bool parallel, F f) {
  const int64_t rows = std::max<int64_t>(64, (n + 63) / 64);
  const int64_t blocks = (n + rows - 1) / rows;
  std::vector<double>& partial = tlsSums;
  if (partial.size() < static_cast<size_t>(blocks * W * d)) partial.resize(static_cast<size_t>(blocks * W * d));
  std::fill_n(partial.begin(), blocks * W * d, 0.0);
  auto block = [&](int64_t b, int) { f(b * rows, std::min(n, (b + 1) * rows), partial.data() + b * W * d); };
  if (parallel) {
    pool.parallelFor(blocks, block);
  } else {
    for (int64_t b = 0; b < blocks; b++) block(b, 0);
  }
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
ColumnStats columnStats(const float* z, int64_t n, int64_t d, double eps, ThreadPool& pool, bool parallel) {
  const CorrelationVec& vec = correlationVec();
  const std::vector<double> sums =
      columnSums<2>(n, d, pool, parallel, [&](int64_t i0, int64_t i1, double* acc) { vec.moments(z + i0 * d, i1 - i0, d, z, acc); });
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
  // Split K only from ~4M multiply-adds (a function of N and d, never of `parallel` or the threads: it decides the sums).
  const bool splitK = static_cast<double>(n) * static_cast<double>(d) * static_cast<double>(d) / 2 >= (1 << 22);
  p.chunks = splitK ? std::min<int64_t>({8, std::max<int64_t>(1, n / 512), byMemory}) : 1;
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

// Whether the SYRK (and its column statistics) run over the pool: below ~4M multiply-adds a hand-off costs more than
// it saves (at N = 64, d = 256, 2M of them took 52 µs on one thread and 60–66 µs over two). Only who computes which
// tiles depends on it, never a sum's order (planSyrk splits K by N and d alone).
bool syrkParallel(int64_t n, int64_t d) { return static_cast<double>(n) * static_cast<double>(d) * static_cast<double>(d) / 2 >= (1 << 22); }

// R's rows in blocks of 32, the unit of the SYRK's epilogues.
constexpr int64_t kEpilogueRows = 32;

// The upper triangle of G = ẐᵀẐ for z [n, d] standardised with s: the chunks' partial Grams, then
// epilogue(jb, j0, j1, g, ldc) for each block jb of R's rows [j0, j1) (over the pool when parallel), once the
// partials of those rows are added (in chunk order) into the first: G_jk at g[j·ldc + k], valid for k > j.
template <typename Epilogue>
void upperGram(const float* z, int64_t n, int64_t d, const ColumnStats& s, ThreadPool& pool, bool parallel, Epilogue epilogue) {
  const CorrelationVec& vec = correlationVec();
  const MicroKernel& uk = activeMicroKernel();
  const int MR = uk.mr, NR = uk.nr;
  // With the ISA's panel kernel (the SGEMM's tile), A is read from the packed B panels where it can be: only the row
  // panels that straddle two column panels are packed a second time.
  const bool panelA = vec.panelKernel != nullptr && vec.kernelMr == MR && vec.kernelNr == NR;
  const SyrkPlan plan = planSyrk(uk, n, d, parallel, pool.threads());
  const int64_t groups = static_cast<int64_t>(plan.groupStart.size()) - 1;
  const int64_t partialSize = plan.tileRows * plan.ldc;
  std::unique_ptr<float[]> partialsOwned;
  float* partials = scratch(tlsPartials, static_cast<size_t>(plan.chunks * partialSize), partialsOwned);

  // Item (chunk c, group q): the tiles of q's row panels over c's rows, kc rows at a time: those rows of Ẑ are
  // standardised and packed (the panels stay in L2 while every tile of the group reads them), then multiplied.
  // Last chunk first: the column statistics' pass ended on the last rows, which may still be in L2.
  auto item = [&](int64_t it, int) {
    const int64_t c = plan.chunks - 1 - it / groups, q = it % groups;
    const int64_t g0 = plan.groupStart[q], g1 = plan.groupStart[q + 1];
    const int64_t h0 = firstColumnPanel(g0, MR, NR);
    const int64_t iBegin = c * plan.chunkRows, iEnd = std::min(n, iBegin + plan.chunkRows);
    const int64_t steps = (iEnd - iBegin + uk.kc - 1) / uk.kc;
    const int64_t kcMax = (iEnd - iBegin + steps - 1) / steps;  // equal blocks, at most uk.kc
    const int64_t aSize = kcMax * (g1 - g0) * MR, bSize = kcMax * (plan.nPanels - h0) * NR;
    std::unique_ptr<float[]> owned;
    float* ap = scratch(tlsPanels, static_cast<size_t>(aSize + bSize), owned);
    const PanelPack pp{z, d, s.hi.data(), s.lo.data(), s.scale.data(), MR, NR, g0, g1, h0, plan.nPanels, ap, ap + aSize, panelA};
    float* cc = partials + c * partialSize;
    for (int64_t i0 = iBegin; i0 < iEnd; i0 += kcMax) {
      const int64_t kc = std::min(kcMax, iEnd - i0);
      vec.pack(pp, i0, kc);
      const int accumulate = i0 > iBegin;
      for (int64_t g = g0; g < g1; g++) {
        auto bPanel = [&](int64_t h) { return pp.bp + (h - h0) * kc * NR; };
        const int64_t hFirst = firstColumnPanel(g, MR, NR);
        float* cg = cc + g * MR * plan.ldc;
        if (!panelA) {
          for (int64_t h = hFirst; h < plan.nPanels; h++) uk.fn(kc, ap + (g - g0) * kc * MR, bPanel(h), cg + h * NR, plan.ldc, accumulate, nullptr, 0);
          continue;
        }
        // The row panel's A from the column panel that holds its columns where it lies inside one, else its own.
        const bool inB = rowPanelInColumnPanel(g, MR, NR);
        const float* a = inB ? bPanel(hFirst) + g * MR % NR : ap + (g - g0) * kc * MR;
        const int64_t ks = inB ? NR : MR;
        // The first tile's left half lies below the diagonal when the row panel starts at or past its middle: it is
        // never read (the mirror reads the upper triangle only), so it is not computed.
        const int rightHalf = g * MR >= hFirst * NR + NR / 2;
        vec.panelKernel(kc, a, ks, bPanel(hFirst), cg + hFirst * NR, plan.ldc, accumulate, rightHalf);
        for (int64_t h = hFirst + 1; h < plan.nPanels; h++) vec.panelKernel(kc, a, ks, bPanel(h), cg + h * NR, plan.ldc, accumulate, 0);
      }
    }
  };
  const int64_t items = plan.chunks * groups;
  if (parallel) {
    pool.parallelFor(items, item);
  } else {
    for (int64_t it = 0; it < items; it++) item(it, 0);
  }

  const int64_t blockRows = (d + kEpilogueRows - 1) / kEpilogueRows;
  auto blockRow = [&](int64_t jb, int) {
    const int64_t j0 = jb * kEpilogueRows, j1 = std::min(d, j0 + kEpilogueRows);
    for (int64_t j = j0; j < j1; j++) {
      for (int64_t c = 1; c < plan.chunks; c++) vec.add(partials + j * plan.ldc + j + 1, partials + c * partialSize + j * plan.ldc + j + 1, d - j - 1);
    }
    epilogue(jb, j0, j1, static_cast<const float*>(partials), plan.ldc);
  };
  if (parallel) {
    pool.parallelFor(blockRows, blockRow);
  } else {
    for (int64_t jb = 0; jb < blockRows; jb++) blockRow(jb, 0);
  }
}

// Writes v(j, gram row j, k) to out[j·d + k] and out[k·d + j] for j < k in the block [j0, j1) x [k0, k1) (at most
// kEpilogueRows square): the upper half row by row, the lower half through a tile in L1, so its writes run along rows
// too. Writing a column of the lower half directly, 32 rows d floats apart, put every row in the same few L1 sets at
// d = 256 (a power-of-two stride) and the writes missed: the mirror took as long as the product.
template <typename V>
void mirrorBlock(float* out, int64_t d, const float* gram, int64_t ldc, int64_t j0, int64_t j1, int64_t k0, int64_t k1, V v) {
  float tile[kEpilogueRows * kEpilogueRows];
  for (int64_t j = j0; j < j1; j++) {
    const float* gj = gram + j * ldc;
    float* row = out + j * d;
    for (int64_t k = std::max(k0, j + 1); k < k1; k++) tile[(k - k0) * kEpilogueRows + (j - j0)] = row[k] = v(gj, k);
  }
  for (int64_t k = std::max(k0, j0 + 1); k < k1; k++) {
    const float* t = tile + (k - k0) * kEpilogueRows;
    std::copy(t, t + (std::min(j1, k) - j0), out + k * d + j0);
  }
}

// R = G/N into r [d, d]: R_jk = R_kj = G_jk/N for j < k, by 32 x 32 blocks on or above the diagonal, and R_jj in
// closed form.
void correlationInto(float* r, const float* z, int64_t n, int64_t d, const ColumnStats& s, ThreadPool& pool, bool parallel) {
  const double invN = 1 / static_cast<double>(n);
  upperGram(z, n, d, s, pool, parallel, [&](int64_t, int64_t j0, int64_t j1, const float* g, int64_t ldc) {
    for (int64_t j = j0; j < j1; j++) r[j * d + j] = static_cast<float>(s.var[j] * s.rstd[j] * s.rstd[j]);
    for (int64_t k0 = j0; k0 < d; k0 += kEpilogueRows) {
      mirrorBlock(r, d, g, ldc, j0, j1, k0, std::min(d, k0 + kEpilogueRows), [&](const float* gj, int64_t k) { return static_cast<float>(gj[k] * invN); });
    }
  });
}

void kCorrelation(const Task& t, ThreadPool& pool) {
  int64_t n, d;
  checkZ(t.inputs[0], n, d);
  const bool parallel = syrkParallel(n, d);
  Dense<float> zd(t.inputs[0], pool);
  const ColumnStats s = columnStats(zd.get(), n, d, epsAttr(t), pool, parallel);
  correlationInto(static_cast<float*>(t.output.data), zd.get(), n, d, s, pool, parallel);
}

// N ≤ d/2 (a batch of 64 rows of 256 features): the coherence loss and its backward go through the rows' Gram
// K = ẐẐᵀ [N, N] instead of the columns' [d, d]. ‖R − I‖² = ‖K‖²/N² − 2 tr(K)/N + d, and Ẑ(R − I) = (K/N − I)·Ẑ:
// N²d multiply-adds forward and 2N²d backward instead of d²N/2 and 3d²N/2, and no d×d matrix at all. R has rank
// ≤ N ≤ d/2 there, so R − I has d − N ≥ d/2 eigenvalues −1 and ‖R − I‖² ≥ d/2: the three terms do not cancel to
// a small difference. Nor does (K/N − I)·Ẑ: Ẑ's rows lie in R's range, where its eigenvalues average d/N ≥ 2.
bool rowGramPath(int64_t n, int64_t d) { return 2 * n <= d; }

// Ẑ [n, d] (row stride d) into out, by blocks of 64 rows.
void standardizeAll(const float* z, int64_t n, int64_t d, const ColumnStats& s, float* out, ThreadPool& pool, bool parallel) {
  const CorrelationVec& vec = correlationVec();
  const int64_t blocks = (n + 63) / 64;
  auto block = [&](int64_t b, int) {
    const int64_t i0 = b * 64, rows = std::min<int64_t>(64, n - i0);
    vec.standardize(z + i0 * d, d, rows, 0, d, s.hi.data(), s.lo.data(), s.scale.data(), out + i0 * d, d);
  };
  if (parallel) {
    pool.parallelFor(blocks, block);
  } else {
    for (int64_t b = 0; b < blocks; b++) block(b, 0);
  }
}

// K = ẐẐᵀ [n, n] into k, from Ẑ standardised into zh.
void rowGram(const float* zh, int64_t n, int64_t d, float* k, ThreadPool& pool, bool parallel) {
  sgemm(n, n, d, zh, d, 1, zh, 1, d, k, n, pool, parallel);
}

// L = ‖R − I‖_F²/(d(d − 1)) in the SYRK's epilogue: each R_jk = G_jk/N (j < k) squared in f32 and summed per row in
// f32 (a row is at most d terms of one sign), counted twice (R is symmetric), plus (R_jj − 1)² from the closed-form
// diagonal; the rows summed in double per block of rows, the blocks added in order, so the value does not depend on
// the thread count. R is never stored.
void kCoherence(const Task& t, ThreadPool& pool) {
  int64_t n, d;
  checkZ(t.inputs[0], n, d);
  const bool parallel = syrkParallel(n, d);
  Dense<float> zd(t.inputs[0], pool);
  const ColumnStats s = columnStats(zd.get(), n, d, epsAttr(t), pool, parallel);
  const double dd = static_cast<double>(d) * static_cast<double>(d - 1);
  if (rowGramPath(n, d)) {
    std::unique_ptr<float[]> zhOwned, kOwned;
    float* zh = scratch(tlsZhatAll, static_cast<size_t>(n * d), zhOwned);
    float* k = scratch(tlsRowGram, static_cast<size_t>(n * n), kOwned);
    standardizeAll(zd.get(), n, d, s, zh, pool, parallel);
    rowGram(zh, n, d, k, pool, parallel);
    double squares = 0, trace = 0;
    for (int64_t i = 0; i < n; i++) {
      trace += k[i * n + i];
      for (int64_t j = 0; j < n; j++) squares += static_cast<double>(k[i * n + j]) * k[i * n + j];
    }
    const double nn = static_cast<double>(n);
    static_cast<float*>(t.output.data)[0] = static_cast<float>((squares / (nn * nn) - 2 * trace / nn + static_cast<double>(d)) / dd);
    return;
  }
  const double invN = 1 / static_cast<double>(n);
  std::vector<double> partial(static_cast<size_t>((d + kEpilogueRows - 1) / kEpilogueRows), 0.0);
  upperGram(zd.get(), n, d, s, pool, parallel, [&](int64_t jb, int64_t j0, int64_t j1, const float* g, int64_t ldc) {
    const float invNf = static_cast<float>(invN);
    double acc = 0;
    for (int64_t j = j0; j < j1; j++) {
      const double diag = s.var[j] * s.rstd[j] * s.rstd[j] - 1;
      // four accumulators: independent adds the compiler can keep in flight (it may not reorder one float sum)
      float off[4] = {0, 0, 0, 0};
      const float* gj = g + j * ldc;
      int64_t k = j + 1;
      for (; k + 4 <= d; k += 4) {
        for (int q = 0; q < 4; q++) {
          const float r = gj[k + q] * invNf;
          off[q] += r * r;
        }
      }
      for (; k < d; k++) {
        const float r = gj[k] * invNf;
        off[0] += r * r;
      }
      acc += diag * diag + 2 * (static_cast<double>(off[0] + off[1]) + static_cast<double>(off[2] + off[3]));
    }
    partial[jb] = acc;
  });
  double total = 0;
  for (double v : partial) total += v;
  static_cast<float*>(t.output.data)[0] = static_cast<float>(total / dd);
}

// The calling thread's [d, d] buffer for S before packing (grown, never shrunk).
float* symRows(int64_t d) {
  if (tlsSym.size() < static_cast<size_t>(d * d)) tlsSym.resize(static_cast<size_t>(d * d));
  return tlsSym.data();
}

// S [d, d] as NR-column panels for the micro-kernel: K (the rows of S) cut into blocks of at most uk.kc rows as the
// SGEMM cuts it, panel h of the block at row pc at out + pc·ldb + h·kc·NR, zero beyond column d. By 32-row blocks
// over the pool: fill(j0, j1, rows) writes rows [j0, j1) of S into rows (symRows, row stride d; a no-op where S is
// there already), which are then packed.
template <typename Fill>
void packS(int64_t d, int nr, int64_t kcMax, float* out, ThreadPool& pool, bool parallel, Fill fill) {
  float* const sym = symRows(d);
  constexpr int64_t B = 32;
  const int64_t panels = (d + nr - 1) / nr, ldb = panels * nr;
  auto rowBlock = [&](int64_t jb, int) {
    const int64_t j0 = jb * B, j1 = std::min(d, j0 + B);
    fill(j0, j1, sym);
    for (int64_t j = j0; j < j1; j++) {
      const int64_t pc = j / kcMax * kcMax, kc = std::min(kcMax, d - pc);
      for (int64_t h = 0; h < panels; h++) {
        const int64_t cols = std::min<int64_t>(nr, d - h * nr);
        float* dst = out + pc * ldb + h * kc * nr + (j - pc) * nr;
        std::copy_n(sym + j * d + h * nr, cols, dst);
        std::fill(dst + cols, dst + nr, 0.0f);
      }
    }
  };
  const int64_t blocks = (d + B - 1) / B;
  if (parallel) {
    pool.parallelFor(blocks, rowBlock);
  } else {
    for (int64_t jb = 0; jb < blocks; jb++) rowBlock(jb, 0);
  }
}

// S = (gR + gRᵀ)·(1/N) in double, rounded to f32 once: each 32 x 32 block of gRᵀ is transposed into L1 first, so the
// sums run along contiguous rows (a multiply instead of a division per element: the division took longer than all
// the rest). S_kj adds the same two values as S_jk, so S is exactly symmetric.
void packSymmetrized(const float* g, int64_t n, int64_t d, int nr, int64_t kcMax, float* out, ThreadPool& pool, bool parallel) {
  constexpr int64_t B = 32;
  const double invN = 1 / static_cast<double>(n);
  packS(d, nr, kcMax, out, pool, parallel, [&](int64_t j0, int64_t j1, float* sym) {
    float t[B * B];
    for (int64_t k0 = 0; k0 < d; k0 += B) {
      const int64_t k1 = std::min(d, k0 + B);
      for (int64_t k = k0; k < k1; k++) {
        for (int64_t j = j0; j < j1; j++) t[(j - j0) * B + k - k0] = g[k * d + j];
      }
      for (int64_t j = j0; j < j1; j++) {
        const float* gr = g + j * d;
        const float* tr = t + (j - j0) * B - k0;
        float* sr = sym + j * d;
        for (int64_t k = k0; k < k1; k++) sr[k] = static_cast<float>((static_cast<double>(gr[k]) + tr[k]) * invN);
      }
    }
  });
}

// dz_ij = r_j (dẐ_ij − mean_i dẐ_ij − Ẑ_ij mean_i(dẐ_ij Ẑ_ij)) with dẐ = Ẑ·S. By row blocks (a function of N, d and the
// tile only), in two passes. First, one row panel (MR rows) at a time: its Ẑ standardised into L1, its rows of
// dẐ = Ẑ·S (S packed once for all blocks), and the column sums of dẐ and dẐ·Ẑ over those rows while both are still in
// L1. Then, with the means, dz from dẐ and Ẑ standardised again from z (the same f32 values) in one loop. Only dẐ goes
// through memory; Ẑ is never stored whole. The product's tiles: the ISA's in-place-A kernel (correlation-vec.h)
// reads the panel's Ẑ rows where they are, else the SGEMM micro-kernel reads them packed; either way each element is
// the SGEMM's FMA chain.
// The backward's product tile (the ISA's in-place-A kernel where it has one, else the SGEMM micro-kernel's) and S's
// packed layout.
struct GradPlan {
  bool inPlace;
  int MR, NR;
  int64_t kcMax, nPanels, ldb;
};

GradPlan planGrad(int64_t d) {
  const CorrelationVec& vec = correlationVec();
  const MicroKernel& uk = activeMicroKernel();
  GradPlan p;
  p.inPlace = vec.rowKernel != nullptr;
  p.MR = p.inPlace ? vec.kernelMr : uk.mr;
  p.NR = p.inPlace ? vec.kernelNr : uk.nr;
  p.kcMax = std::min<int64_t>(uk.kc, d);
  p.nPanels = (d + p.NR - 1) / p.NR;
  p.ldb = p.nPanels * p.NR;
  return p;
}

// Whether the backward runs over the pool (only who runs which row blocks depends on it).
bool gradParallel(int64_t n, int64_t d) { return static_cast<double>(n) * static_cast<double>(d) * static_cast<double>(d) >= (1 << 21); }

void backwardFromS(float* dz, const float* z, int64_t n, int64_t d, const ColumnStats& s, const GradPlan& gp, const float* sp,
                   ThreadPool& pool, bool parallel);

void kCorrelationGrad(const Task& t, ThreadPool& pool) {
  int64_t n, d;
  checkZ(t.inputs[0], n, d);
  const Arg& ga = t.inputs[1];
  if (ga.dtype != DType::F32 || ga.rank() != 2 || ga.shape[0] != d || ga.shape[1] != d) throw KernelError("gR must be an f32 [d, d]");
  const bool parallel = gradParallel(n, d);
  Dense<float> zd(t.inputs[0], pool);
  const ColumnStats s = columnStats(zd.get(), n, d, epsAttr(t), pool, parallel);
  const GradPlan gp = planGrad(d);
  std::unique_ptr<float[]> sOwned;
  float* sp = scratch(tlsPackedS, static_cast<size_t>(d * gp.ldb), sOwned);
  {
    Dense<float> gd(ga, pool);
    packSymmetrized(gd.get(), n, d, gp.NR, gp.kcMax, sp, pool, parallel);
  }
  backwardFromS(static_cast<float*>(t.output.data), zd.get(), n, d, s, gp, sp, pool, parallel);
}

// The coherence loss's backward: R from the SYRK (as correlation computes it) into scratch, then
// S = 4g(R − I)/(N d(d − 1)) (∂L/∂R = 2g(R − I)/(d(d − 1)) is symmetric, so (gR + gRᵀ)/N doubles it), in double and
// rounded once, then correlation's backward. g is read here, on the stream: the host never waits for it.
// The backward's column means mean_i dẐ_ij and mean_i dẐ_ij·Ẑ_ij from per-block sums (2d doubles per block, added in
// block order), rounded to f32 for the epilogue.
struct GradMeans {
  std::vector<float> g, gz;
};

GradMeans gradMeans(const std::vector<double>& partial, int64_t blocks, int64_t n, int64_t d) {
  std::vector<double> sums(static_cast<size_t>(2 * d), 0.0);
  for (int64_t b = 0; b < blocks; b++) {
    for (int64_t j = 0; j < 2 * d; j++) sums[j] += partial[b * 2 * d + j];
  }
  GradMeans m{std::vector<float>(static_cast<size_t>(d)), std::vector<float>(static_cast<size_t>(d))};
  for (int64_t j = 0; j < d; j++) {
    m.g[j] = static_cast<float>(sums[j] / static_cast<double>(n));
    m.gz[j] = static_cast<float>(sums[d + j] / static_cast<double>(n));
  }
  return m;
}

// dz for N ≤ d/2 (rowGramPath): dẐ = scale·Ẑ(R − I) = (scale/N·K − scale·I)·Ẑ as one product with the [N, N] matrix,
// then layerNorm's backward per column over row blocks of 64 (sums per block in double, added in order: a function
// of N and d only).
void coherenceGradRows(float* dz, const float* z, int64_t n, int64_t d, const ColumnStats& s, double scale, ThreadPool& pool,
                       bool parallel) {
  const CorrelationVec& vec = correlationVec();
  std::unique_ptr<float[]> zhOwned, kOwned, pOwned;
  float* zh = scratch(tlsZhatAll, static_cast<size_t>(n * d), zhOwned);
  float* k = scratch(tlsRowGram, static_cast<size_t>(n * n), kOwned);
  standardizeAll(z, n, d, s, zh, pool, parallel);
  rowGram(zh, n, d, k, pool, parallel);
  const double perN = scale / static_cast<double>(n);
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < n; j++) k[i * n + j] = static_cast<float>(k[i * n + j] * perN - (i == j ? scale : 0.0));
  }
  // dẐ into dz itself unless dz shares memory with z (never for a fresh output; see backwardFromS)
  const bool overlap = dz < z + n * d && z < dz + n * d;
  float* p = overlap ? scratch(tlsProduct, static_cast<size_t>(n * d), pOwned) : dz;
  sgemm(n, d, n, k, n, 1, zh, d, 1, p, d, pool, parallel);
  const int64_t blocks = (n + 63) / 64;
  std::vector<double> partial(static_cast<size_t>(blocks * 2 * d), 0.0);
  for (int64_t b = 0; b < blocks; b++) {
    const int64_t i0 = b * 64, rows = std::min<int64_t>(64, n - i0);
    // gradSums adds f32 sums of a dozen rows at a time to the double accumulators
    for (int64_t r0 = i0; r0 < i0 + rows; r0 += 12) vec.gradSums(p + r0 * d, zh + r0 * d, std::min<int64_t>(12, i0 + rows - r0), d, partial.data() + b * 2 * d);
  }
  const GradMeans means = gradMeans(partial, blocks, n, d);
  vec.gradOut(p, z, n, d, s.hi.data(), s.lo.data(), s.scale.data(), means.g.data(), means.gz.data());
  if (overlap) std::copy_n(p, n * d, dz);
}

void kCoherenceGrad(const Task& t, ThreadPool& pool) {
  int64_t n, d;
  checkZ(t.inputs[0], n, d);
  const Arg& ga = t.inputs[1];
  if (ga.dtype != DType::F32 || ga.numel() != 1) throw KernelError("g must be an f32 tensor of one element");
  const bool parallel = gradParallel(n, d);
  Dense<float> zd(t.inputs[0], pool);
  const ColumnStats s = columnStats(zd.get(), n, d, epsAttr(t), pool, parallel);
  const double g = *ga.ptr<const float>();
  const double scale = 4 * g / (static_cast<double>(n) * static_cast<double>(d) * static_cast<double>(d - 1));
  if (rowGramPath(n, d)) return coherenceGradRows(static_cast<float*>(t.output.data), zd.get(), n, d, s, scale, pool, parallel);
  // S straight from the Gram's epilogue, both halves, in f32: S_jk = G_jk·c with c = scale/N rounded once (S feeds an
  // f32 product; a double multiply and two conversions per element made this pass cost as much as the product), and
  // S_jj = (R_jj − 1)·scale from the closed-form diagonal in double.
  float* sym = symRows(d);
  const float c = static_cast<float>(scale / static_cast<double>(n));
  upperGram(zd.get(), n, d, s, pool, syrkParallel(n, d), [&](int64_t, int64_t j0, int64_t j1, const float* gram, int64_t ldc) {
    for (int64_t j = j0; j < j1; j++) sym[j * d + j] = static_cast<float>((s.var[j] * s.rstd[j] * s.rstd[j] - 1) * scale);
    for (int64_t k0 = j0; k0 < d; k0 += kEpilogueRows) {
      mirrorBlock(sym, d, gram, ldc, j0, j1, k0, std::min(d, k0 + kEpilogueRows), [&](const float* gj, int64_t k) { return gj[k] * c; });
    }
  });
  const GradPlan gp = planGrad(d);
  std::unique_ptr<float[]> sOwned;
  float* sp = scratch(tlsPackedS, static_cast<size_t>(d * gp.ldb), sOwned);
  packS(d, gp.NR, gp.kcMax, sp, pool, parallel, [](int64_t, int64_t, float*) {});
  backwardFromS(static_cast<float*>(t.output.data), zd.get(), n, d, s, gp, sp, pool, parallel);
}

// dz_ij = r_j (dẐ_ij − mean_i dẐ_ij − Ẑ_ij mean_i(dẐ_ij Ẑ_ij)) with dẐ = Ẑ·S, S packed by packS.
void backwardFromS(float* dz, const float* z, int64_t n, int64_t d, const ColumnStats& s, const GradPlan& gp, const float* sp,
                   ThreadPool& pool, bool parallel) {
  const CorrelationVec& vec = correlationVec();
  const MicroKernel& uk = activeMicroKernel();
  const bool inPlace = gp.inPlace;
  const int MR = gp.MR, NR = gp.NR;
  const int64_t kcMax = gp.kcMax, nPanels = gp.nPanels, ldb = gp.ldb;
  // Row blocks of whole row panels, about 128K elements (at least 128 rows), and at least 8 blocks where N allows (so a
  // small N such as a batch of 64 still spreads over the threads): the backward's sums are added per block (a function
  // of N, d and the tile only, never of the threads), and dz is finished block by block.
  const int64_t rows = (std::min(std::max<int64_t>(128, (131072 + d - 1) / d), (n + 7) / 8) + MR - 1) / MR * MR;
  const int64_t blocks = (n + rows - 1) / rows;
  auto forBlocks = [&](const std::function<void(int64_t, int)>& fn) {
    if (parallel) {
      pool.parallelFor(blocks, fn);
    } else {
      for (int64_t b = 0; b < blocks; b++) fn(b, 0);
    }
  };
  // dẐ goes into dz itself, which the second pass reads and overwrites element by element: a separate buffer would
  // cost a second write stream (and its read for ownership). dz is a fresh output, never z; if it ever shared
  // memory with z, dẐ would overwrite z before the second pass reads it, so then dẐ and dz take scratch memory.
  std::unique_ptr<float[]> pOwned;
  const bool overlap = dz < z + n * d && z < dz + n * d;
  float* p = overlap ? scratch(tlsProduct, static_cast<size_t>(n * d), pOwned) : dz;
  std::vector<double> partial(static_cast<size_t>(blocks * 2 * d), 0.0);
  // The passes alternate direction (statistics first to last, the product last to first, dz first to last), so that
  // each starts on rows the one before ended on, which may still be in L2.
  forBlocks([&](int64_t rb, int) {
    const int64_t b = blocks - 1 - rb;
    const int64_t i0 = b * rows, m = std::min(n, i0 + rows) - i0;
    std::unique_ptr<float[]> zhOwned, apOwned;
    // Ẑ of one row panel, zero rows past the block's end (the in-place kernel reads whole tiles).
    float* zh = scratch(tlsZhat, static_cast<size_t>(MR * d), zhOwned);
    float* ap = inPlace ? nullptr : scratch(tlsPanels, static_cast<size_t>(MR * kcMax), apOwned);
    alignas(64) float tile[32 * 32];
    for (int64_t g = 0; g * MR < m; g++) {
      const int64_t r0 = i0 + g * MR, mr = std::min<int64_t>(MR, m - g * MR);
      vec.standardize(z + r0 * d, d, mr, 0, d, s.hi.data(), s.lo.data(), s.scale.data(), zh, d);
      std::fill(zh + mr * d, zh + MR * d, 0.0f);
      for (int64_t pc = 0; pc < d; pc += kcMax) {
        const int64_t kc = std::min(kcMax, d - pc);
        const float* bk = sp + pc * ldb;
        if (!inPlace) {
          for (int64_t r = 0; r < MR; r++) {
            for (int64_t q = 0; q < kc; q++) ap[q * MR + r] = zh[r * d + pc + q];
          }
        }
        for (int64_t h = 0; h < nPanels; h++) {
          const int64_t nr = std::min<int64_t>(NR, d - h * NR);
          float* c = p + r0 * d + h * NR;
          const bool whole = mr == MR && nr == NR;
          float* out = whole ? c : tile;
          const int64_t ldo = whole ? d : NR;
          const int accumulate = whole && pc > 0;
          if (inPlace) {
            vec.rowKernel(kc, zh + pc, d, bk + h * kc * NR, out, ldo, accumulate);
          } else {
            uk.fn(kc, ap, bk + h * kc * NR, out, ldo, accumulate, nullptr, 0);
          }
          if (!whole) {
            // An edge tile went to scratch: its valid part is added to (or stored in) dẐ, as the SGEMM's edge does.
            for (int64_t r = 0; r < mr; r++) {
              for (int64_t q = 0; q < nr; q++) c[r * d + q] = pc > 0 ? tile[r * NR + q] + c[r * d + q] : tile[r * NR + q];
            }
          }
        }
      }
      // The panel's rows of dẐ and Ẑ are still in L1; the block's sums take its rows in order.
      vec.gradSums(p + r0 * d, zh, mr, d, partial.data() + b * 2 * d);
    }
  });
  // The epilogue in f32 (r_j, the means and each product rounded once): dz is stored as f32 anyway.
  const GradMeans means = gradMeans(partial, blocks, n, d);
  forBlocks([&](int64_t b, int) {
    const int64_t i0 = b * rows, m = std::min(n, i0 + rows) - i0;
    vec.gradOut(p + i0 * d, z + i0 * d, m, d, s.hi.data(), s.lo.data(), s.scale.data(), means.g.data(), means.gz.data());
  });
  if (overlap) std::copy_n(p, n * d, dz);
}

}  // namespace

std::vector<KernelEntry> correlationKernels() {
  return {{"correlation", kCorrelation}, {"correlationGrad", kCorrelationGrad}, {"coherence", kCoherence}, {"coherenceGrad", kCoherenceGrad}};
}

}  // namespace eitp
