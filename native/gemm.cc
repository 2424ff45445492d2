// The GEMM driver (BLIS/GotoBLAS loop order): for each nc-wide block of B and kc-deep slice of K, pack B; for each
// mc-tall block of A, pack A; then sweep the micro-kernel over the packed panels. Threads take disjoint regions of
// C and pack their own panels, so they never synchronise inside a product. The last kc block of each tile applies
// the optional epilogue (bias + activation) as it stores C. Products of few rows (m <= 16) with B contiguous along
// one axis go to the unpacked kernels of gemm-small.h instead. Also the `matmul` op kernel, whose batches of small
// products go to gemm-batched.h.
#include "gemm.h"

#ifdef EITP_X86
#include <xmmintrin.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common.h"
#include "gemm-batched.h"
#include "gemm-small.h"
#include "transpose-columns.h"
#include "isa.h"
#include "thread-pool.h"
#include "vmath.h"

namespace eitp {

namespace {

// EITP_GEMM_KC/MC/NC override the cache blocking (for tuning on a new CPU).
void applyBlockingOverrides(MicroKernel& uk) {
  auto get = [](const char* name, int fallback, int multiple) {
    const char* v = std::getenv(name);
    int n = v ? std::atoi(v) : 0;
    return n > 0 ? (n + multiple - 1) / multiple * multiple : fallback;
  };
  uk.kc = get("EITP_GEMM_KC", uk.kc, 1);
  uk.mc = get("EITP_GEMM_MC", uk.mc, uk.mr);
  uk.nc = get("EITP_GEMM_NC", uk.nc, uk.nr);
}

MicroKernel pickMicroKernelByCpu() {
#ifdef EITP_X86
  if (activeIsa() == Isa::Avx512) return avx512MicroKernel();
  if (activeIsa() == Isa::Avx2) return avx2MicroKernel();
#endif
  return genericMicroKernel();
}

// The small-m kernels (gemm-small.h) of the micro-kernel's instruction set.
const GemmSmall& gemmSmall() {
  static const GemmSmall table = EITP_ISA_TABLE(gemm_small);
  return table;
}

MicroKernel pickMicroKernel() {
  MicroKernel uk = pickMicroKernelByCpu();
  applyBlockingOverrides(uk);
  return uk;
}

// Packs rows [0, mc) x k-slice [0, kc) of A (already offset) into MR-row panels, zero-padding the last panel.
void packA(const MicroKernel& uk, int64_t mc, int64_t kc, const float* a, int64_t rsa, int64_t csa, float* out) {
  const int MR = uk.mr;
  for (int64_t i = 0; i < mc; i += MR) {
    const int64_t rows = std::min<int64_t>(MR, mc - i);
    float* panel = out + i * kc;
    if (csa == 1) {
      // Rows contiguous along k, as B's columns in a transposed view: four rows at a time through 4 x 4 register
      // transposes, over 64-deep slices of k so that the panel slice being written (64 x MR floats) stays in L1.
      // Element by element, this copy cost about as much as the micro-kernel itself when n is small (one or two
      // column panels: n = 32 or 64, the char-GPT's and the MLP's layers), since each value of A then takes part in
      // only n multiply-adds.
      for (int64_t p0 = 0; p0 < kc; p0 += 64) {
        const int64_t p1 = std::min<int64_t>(kc, p0 + 64);
        int64_t r = 0;
        for (; r + 4 <= rows; r += 4) copyFourColumnsTransposed(a + (i + r) * rsa, rsa, p0, p1, panel + r, MR);
        for (; r < rows; r++) {
          const float* src = a + (i + r) * rsa;
          for (int64_t p = p0; p < p1; p++) panel[p * MR + r] = src[p];
        }
      }
    } else {
      for (int64_t p = 0; p < kc; p++) {
        const float* src = a + p * csa + i * rsa;
        for (int64_t r = 0; r < rows; r++) panel[p * MR + r] = src[r * rsa];
      }
    }
    for (int64_t r = rows; r < MR; r++) {
      for (int64_t p = 0; p < kc; p++) panel[p * MR + r] = 0.0f;
    }
  }
}

// Packs k-slice [0, kc) x columns [0, nc) of B (already offset) into NR-column panels, zero-padding the last one.
void packB(const MicroKernel& uk, int64_t kc, int64_t nc, const float* b, int64_t rsb, int64_t csb, float* out) {
  const int NR = uk.nr;
  for (int64_t j = 0; j < nc; j += NR) {
    const int64_t cols = std::min<int64_t>(NR, nc - j);
    float* panel = out + j * kc;
    if (csb == 1) {
      for (int64_t p = 0; p < kc; p++) {
        const float* src = b + p * rsb + j;
        float* dst = panel + p * NR;
        std::memcpy(dst, src, sizeof(float) * cols);
        for (int64_t c = cols; c < NR; c++) dst[c] = 0.0f;
      }
    } else {
      // B read column by column (a transposed view: rsb = 1), over 64-deep slices of k: the slice of the panel
      // being written (64 x NR floats) stays in L1, where a whole kc x NR panel (up to 48 KiB) would not.
      for (int64_t p0 = 0; p0 < kc; p0 += 64) {
        const int64_t p1 = std::min<int64_t>(kc, p0 + 64);
        int64_t c = 0;
        if (rsb == 1) {
          for (; c + 4 <= cols; c += 4) copyFourColumnsTransposed(b + (j + c) * csb, csb, p0, p1, panel + c, NR);
        }
        for (; c < cols; c++) {
          const float* src = b + (j + c) * csb;
          for (int64_t p = p0; p < p1; p++) panel[p * NR + c] = src[p * rsb];
        }
      }
      for (int64_t c = cols; c < NR; c++) {
        for (int64_t p = 0; p < kc; p++) panel[p * NR + c] = 0.0f;
      }
    }
  }
}

// Per-thread packing buffers, 64-byte aligned, grown on demand.
struct PackBuffers {
  float* a = nullptr;
  float* b = nullptr;
  size_t aSize = 0, bSize = 0;
  ~PackBuffers() {
    std::free(a);
    std::free(b);
  }
  static float* grow(float*& p, size_t& size, size_t want) {
    if (size < want) {
      std::free(p);
      size_t bytes = (want * sizeof(float) + 63) / 64 * 64;
      p = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!p) {
        size = 0;
        throw KernelError("out of memory allocating GEMM packing buffers");
      }
      size = want;
    }
    return p;
  }
};

thread_local PackBuffers tlsPack;

// The tanh/sigmoid part of an epilogue (bias and relu happen in the micro-kernel): vmath over each row of a tile
// just stored, while it is in L1. The same vmath function as the tanh and sigmoid ops, so results match them.
using RowFn = void (*)(const float*, float*, int64_t);

RowFn epilogueRowFn(const Epilogue* ep) {
  if (!ep) return nullptr;
  if (ep->activation == Activation::Tanh) return vmath().tanh;
  if (ep->activation == Activation::Sigmoid) return vmath().sigmoid;
  return nullptr;
}

// Sweeps the micro-kernel over packed A rows [0, mc) and packed B columns [jb, je) of the current block. The A
// micro-panel stays in L1 while B micro-panels stream from L2/L3. `ep` (the last K block only) is the epilogue,
// its bias already offset to the block's first column.
void macroKernel(const MicroKernel& uk, int64_t kc, int64_t mc, int64_t jb, int64_t je, const float* pa, const float* pb,
                 float* c, int64_t ldc, int accumulate, const Epilogue* ep) {
  const int MR = uk.mr, NR = uk.nr;
  const float* bias = ep ? ep->bias : nullptr;
  const int relu = ep && ep->activation == Activation::Relu;
  const RowFn rowFn = epilogueRowFn(ep);
  alignas(64) float tile[32 * 32];
  for (int64_t ir = 0; ir < mc; ir += MR) {
    const int64_t mr = std::min<int64_t>(MR, mc - ir);
    for (int64_t jr = jb; jr < je; jr += NR) {
      const int64_t nr = std::min<int64_t>(NR, je - jr);
      float* cij = c + ir * ldc + jr;
      const float* tb = bias ? bias + jr : nullptr;
      if (nr == NR) {
        uk.rows[mr](kc, pa + ir * kc, pb + jr * kc, cij, ldc, accumulate, tb, relu);
      } else {
        // Edge tile (fewer than NR columns left): compute the full tile into a scratch block, then copy the valid
        // part (with the epilogue's bias and relu, in the micro-kernel's order: acc + C, + bias, relu).
        uk.fn(kc, pa + ir * kc, pb + jr * kc, tile, NR, 0, nullptr, 0);
        for (int64_t r = 0; r < mr; r++) {
          for (int64_t q = 0; q < nr; q++) {
            float v = accumulate ? tile[r * NR + q] + cij[r * ldc + q] : tile[r * NR + q];
            if (tb) v += tb[q];
            if (relu) v = !(v <= 0) ? v : 0.0f;
            cij[r * ldc + q] = v;
          }
        }
      }
      if (rowFn) {
        for (int64_t r = 0; r < mr; r++) rowFn(cij + r * ldc, cij + r * ldc, nr);
      }
    }
  }
}

// C = act(bias) for an empty inner dimension (k = 0): the product is all zeros.
void epilogueOfZeros(int64_t m, int64_t n, float* c, int64_t ldc, const Epilogue* ep) {
  const RowFn rowFn = epilogueRowFn(ep);
  for (int64_t i = 0; i < m; i++) {
    float* row = c + i * ldc;
    for (int64_t j = 0; j < n; j++) {
      const float v = ep && ep->bias ? 0.0f + ep->bias[j] : 0.0f;
      row[j] = ep && ep->activation == Activation::Relu ? (v > 0 ? v : 0.0f) : v;
    }
    if (rowFn) rowFn(row, row, n);
  }
}

// Boundary `part` of [0, extent) cut into `parts` pieces aligned to `unit` (balanced to within one unit).
inline int64_t cut(int64_t extent, int64_t unit, int64_t parts, int64_t part) {
  const int64_t units = (extent + unit - 1) / unit;
  return std::min(extent, units * part / parts * unit);
}

// How C is cut into work items: mBlocks row blocks x nChunks column chunks of each nc-wide block.
struct Split {
  int64_t mBlocks;
  int64_t nChunks;
};

// Picks the cut with the shortest estimated critical path, in micro-tile units: items run in rounds of `threads`,
// an item costs its tiles plus one unit per A panel it packs (packing an MR x kc panel costs about what one tile's
// FMAs do) and, when items pack their own B (itemsPackB), one per B panel, plus a unit of hand-off per item.
// Balance matters most for skinny products: 64 rows cut into 4 blocks of 1, 2, 1 and 2 panels leave one of 2
// threads with 4 panels of work, where 2 blocks of 3 panels take 3 each. Row blocks stay at most MC rows (the A
// block lives in L2).
Split chooseSplit(int64_t m, int64_t nc, const MicroKernel& uk, int threads, bool itemsPackB) {
  const int64_t mPanels = (m + uk.mr - 1) / uk.mr, nPanels = (nc + uk.nr - 1) / uk.nr;
  const int64_t panelsPerMc = std::max<int64_t>(1, uk.mc / uk.mr);
  const int64_t aMin = (mPanels + panelsPerMc - 1) / panelsPerMc;
  if (threads <= 1) return {aMin, 1};
  Split best{aMin, 1};
  double bestCost = 1e300;
  for (int64_t a = aMin; a <= mPanels; a++) {
    const int64_t rows = (mPanels + a - 1) / a;
    if (a > aMin && (mPanels + a - 2) / (a - 1) == rows) continue;  // same block height as a - 1: no better
    for (int64_t b = 1; b <= nPanels; b++) {
      const int64_t cols = (nPanels + b - 1) / b;
      if (b > 1 && (nPanels + b - 2) / (b - 1) == cols) continue;
      const int64_t items = a * b;
      const int64_t rounds = (items + threads - 1) / threads;
      const int64_t packing = rows + (itemsPackB ? cols : 0);
      const double cost = static_cast<double>(rounds) * static_cast<double>(rows * cols + packing) + static_cast<double>(items) / threads;
      if (cost < bestCost) {
        bestCost = cost;
        best = {a, b};
      }
    }
  }
  return best;
}

// Products up to this many multiply-adds (EITP_GEMM_SPLIT_MFLOP, in millions) run as independent items.
double independentItemsMaxFlops() {
  static const double v = [] {
    const char* env = std::getenv("EITP_GEMM_SPLIT_MFLOP");
    return (env ? std::atof(env) : 32.0) * 1e6;
  }();
  return v;
}

// The K block depth: KC, or the even split of k into one block fewer when that is at most a quarter deeper than
// KC (k = 784 with KC = 384: two blocks of 392 rather than 384, 384 and a 16-deep block that costs a full pass
// over C).
int64_t balancedKc(int64_t k, int64_t KC) {
  int64_t blocks = (k + KC - 1) / KC;
  if (blocks > 1 && (k + blocks - 2) / (blocks - 1) <= KC + KC / 4) blocks--;
  return (k + blocks - 1) / blocks;
}

// Small-path products of at least this many multiply-adds (EITP_GEMM_SMALL_SPLIT_MFLOP, in millions) split their
// columns over the pool's threads. Measured on 2 threads (kernel medians): 8 x 2048 x 2048 (32 M) ran 1.4-1.6x faster
// split; 16 x 1024 x 1024 (16 M) and smaller products ran at 0.4-1.0x the speed of one thread (waking a thread costs
// about 10 us, and both share the memory bandwidth these products are bound by).
double smallPathSplitFlops() {
  static const double v = [] {
    const char* env = std::getenv("EITP_GEMM_SMALL_SPLIT_MFLOP");
    return (env ? std::atof(env) : 24.0) * 1e6;
  }();
  return v;
}

// The largest m that takes the small path (EITP_GEMM_SMALL_M; 0 turns it off). Measured on one thread against the
// packed path (kernel medians, k = n = 256, 512, 1024): m <= 8 ran 2-13x faster, 9 to 16 rows (two row blocks, B
// read twice) 1.2-2.8x, 24 and 32 rows between 0.9x and 1.6x (too close to call on a shared machine), so 16.
int64_t smallPathMaxRows() {
  static const int64_t v = [] {
    const char* env = std::getenv("EITP_GEMM_SMALL_M");
    const int64_t rows = env ? std::atoi(env) : 16;
    return std::max<int64_t>(0, rows);
  }();
  return v;
}

// Products of m <= smallPathMaxRows() rows with B contiguous along n (axpy) or along k (dot), straight from the
// operands (gemm-small.h): no packing. Rows go in blocks of at most kGemmSmallMaxRows, each reading B once; threads
// take column chunks of C. Returns false (nothing done) for a B strided both ways, which goes to the packed path.
bool sgemmSmall(int64_t m, int64_t n, int64_t k, const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb,
                int64_t csb, float* c, int64_t ldc, ThreadPool& pool, bool parallel, const Epilogue* ep);

// Tall products with a few columns (W·v, the path norm's matrix-vector products; Wᵀ·g in their backward): Cᵀ = Bᵀ·Aᵀ
// has at most kGemmSmallMaxRows rows, so the small kernels compute it reading A once where it lies. The packed
// path would pad n = 1 to a whole micro-tile (16 columns on AVX2: 16x the arithmetic) and pack all of A, both
// several times the product itself (256 x 256 by 256 x 1: 93 us packed). Cᵀ goes straight to C when it is C's only
// column, else through a scratch block. No epilogue here (a bias per column of C would be per row of Cᵀ).
bool sgemmTransposedSmall(int64_t m, int64_t n, int64_t k, const float* a, int64_t rsa, int64_t csa, const float* b,
                          int64_t rsb, int64_t csb, float* c, int64_t ldc, ThreadPool& pool, bool parallel,
                          const Epilogue* ep) {
  if (ep || n > kGemmSmallMaxRows || m <= n || (rsa != 1 && csa != 1)) return false;
  if (n == 1 && ldc == 1) return sgemmSmall(1, m, k, b, csb, rsb, a, csa, rsa, c, m, pool, parallel, nullptr);
  // the caller's buffer, shared by the threads that write its column chunks (the small path never packs B)
  float* ct = PackBuffers::grow(tlsPack.b, tlsPack.bSize, static_cast<size_t>(n * m));
  if (!sgemmSmall(n, m, k, b, csb, rsb, a, csa, rsa, ct, m, pool, parallel, nullptr)) return false;
  for (int64_t i = 0; i < m; i++) {
    for (int64_t j = 0; j < n; j++) c[i * ldc + j] = ct[j * m + i];
  }
  return true;
}

bool sgemmSmall(int64_t m, int64_t n, int64_t k, const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb,
                int64_t csb, float* c, int64_t ldc, ThreadPool& pool, bool parallel, const Epilogue* ep) {
  if (m > smallPathMaxRows()) return sgemmTransposedSmall(m, n, k, a, rsa, csa, b, rsb, csb, c, ldc, pool, parallel, ep);
  // More than one row block reads B more than once: the packed path, where it splits the product over threads
  // (m·n·k >= 2^22 and parallel on more than one), was faster (16 x 1024 x 1024 on 2 threads: 414 against 578 us).
  const double flops = static_cast<double>(m) * n * k;
  if (m > kGemmSmallMaxRows && parallel && pool.threads() > 1 && flops >= (1 << 22)) return false;
  // A B with both strides 1 is a single row or column (k = 1 or n = 1): dot for a column longer than it is wide.
  const bool axpy = csb == 1 && !(rsb == 1 && n < k);
  if (!axpy && rsb != 1) return false;
  const GemmSmall& ks = gemmSmall();
  // dot reads A's rows as vectors: a strided A (m x k floats, small next to B's k x n) is copied first.
  const float* ad = a;
  int64_t lda = rsa;
  if (!axpy && csa != 1) {
    float* copy = PackBuffers::grow(tlsPack.a, tlsPack.aSize, static_cast<size_t>(m * k));
    for (int64_t i = 0; i < m; i++) {
      for (int64_t p = 0; p < k; p++) copy[i * k + p] = a[i * rsa + p * csa];
    }
    ad = copy;
    lda = k;
  }
  const float* bias = ep ? ep->bias : nullptr;
  const int relu = ep && ep->activation == Activation::Relu;
  const RowFn rowFn = epilogueRowFn(ep);
  // Rows in blocks of at most kGemmSmallMaxRows (the kernels' register tiles), of balanced heights.
  const int64_t rowBlocks = (m + kGemmSmallMaxRows - 1) / kGemmSmallMaxRows;
  auto columns = [&](int64_t j0, int64_t j1) {
    const float* bj = bias ? bias + j0 : nullptr;
    for (int64_t rb = 0; rb < rowBlocks; rb++) {
      const int64_t i0 = m * rb / rowBlocks, i1 = m * (rb + 1) / rowBlocks;
      float* cb = c + i0 * ldc + j0;
      if (axpy) {
        ks.axpy(i1 - i0, j1 - j0, k, a + i0 * rsa, rsa, csa, b + j0, rsb, cb, ldc, bj, relu);
      } else {
        ks.dot(i1 - i0, j1 - j0, k, ad + i0 * lda, lda, b + j0 * csb, csb, cb, ldc, bj, relu);
      }
    }
    // tanh and sigmoid on the m x (j1 - j0) block just stored (a few KiB, still in L1), by the same vmath as the ops.
    if (rowFn) {
      for (int64_t i = 0; i < m; i++) rowFn(c + i * ldc + j0, c + i * ldc + j0, j1 - j0);
    }
  };
  const int64_t strips = (n + ks.strip - 1) / ks.strip;
  int64_t chunks = parallel ? std::min<int64_t>(pool.threads(), strips) : 1;
  if (flops < smallPathSplitFlops()) chunks = 1;
  if (chunks <= 1) {
    columns(0, n);
  } else {
    pool.parallelFor(chunks, [&](int64_t part, int) {
      const int64_t j0 = cut(n, ks.strip, chunks, part), j1 = cut(n, ks.strip, chunks, part + 1);
      if (j0 < j1) columns(j0, j1);
    });
  }
  return true;
}

}  // namespace

const MicroKernel& activeMicroKernel() {
  static const MicroKernel uk = pickMicroKernel();
  return uk;
}

// Threads share each packed block of B (packed cooperatively), then take (row block, column chunk) items of C
// dynamically, each packing its own block of A: no redundant packing, and a thread slowed by another process on
// its core just takes fewer items.
void sgemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb,
           int64_t csb, float* c, int64_t ldc, ThreadPool& pool, bool parallel, const Epilogue* epilogue) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    epilogueOfZeros(m, n, c, ldc, epilogue);
    return;
  }
  if (sgemmSmall(m, n, k, a, rsa, csa, b, rsb, csb, c, ldc, pool, parallel, epilogue)) return;
  const MicroKernel& uk = activeMicroKernel();
  const int MR = uk.mr, NR = uk.nr;
  int threads = parallel ? pool.threads() : 1;
  // Below ~8 MFLOP (128^3) handing work to another thread costs more than it saves.
  if (static_cast<double>(m) * n * k < (1 << 22)) threads = 1;
  if (threads > 1 && static_cast<double>(m) * n * k <= independentItemsMaxFlops()) {
    // A small product: one parallel region of independent sequential GEMMs, each on its own block of C, packing
    // its own panels. Redundant packing is cheap at this size; the two barriers per K block of the shared-B path
    // below (tens of microseconds when a thread has to be woken) are not: 64x784 times 784x256 ran 1.05x faster on
    // 2 threads than on 1 that way, and 1.2x like this (median 247 -> 202 us).
    const Split items = chooseSplit(m, n, uk, threads, true);
    pool.parallelFor(items.mBlocks * items.nChunks, [&](int64_t item, int) {
      const int64_t mb = item / items.nChunks, nb = item % items.nChunks;
      const int64_t i0 = cut(m, MR, items.mBlocks, mb), i1 = cut(m, MR, items.mBlocks, mb + 1);
      const int64_t j0 = cut(n, NR, items.nChunks, nb), j1 = cut(n, NR, items.nChunks, nb + 1);
      if (i0 >= i1 || j0 >= j1) return;
      Epilogue sub;
      if (epilogue) sub = {epilogue->bias ? epilogue->bias + j0 : nullptr, epilogue->activation};
      sgemm(i1 - i0, j1 - j0, k, a + i0 * rsa, rsa, csa, b + j0 * csb, rsb, csb, c + i0 * ldc + j0, ldc, pool, false,
            epilogue ? &sub : nullptr);
    });
    return;
  }
  const int64_t NC = uk.nc;
  const int64_t ncMaxAll = std::min<int64_t>(NC, (n + NR - 1) / NR * NR);
  const Split split = chooseSplit(m, ncMaxAll, uk, threads, false);
  const int64_t mBlocks = split.mBlocks, nChunks = split.nChunks;
  const int64_t KC = balancedKc(k, uk.kc);
  const int64_t kcMax = std::min<int64_t>(KC, k);
  const int64_t mcMax = cut(m, MR, mBlocks, 1) + MR;
  float* pb = PackBuffers::grow(tlsPack.b, tlsPack.bSize, static_cast<size_t>(kcMax * ncMaxAll));
  auto forEach = [&](int64_t count, const std::function<void(int64_t, int)>& fn) {
    if (threads == 1) {
      for (int64_t i = 0; i < count; i++) fn(i, 0);
    } else {
      pool.parallelFor(count, fn);
    }
  };
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = std::min<int64_t>(NC, n - jc);
    const int64_t panels = (nc + NR - 1) / NR;
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = std::min<int64_t>(KC, k - pc);
      const int accumulate = pc > 0;
      // Only the last K block may apply the epilogue: before it, C holds partial sums.
      Epilogue blockEp;
      const bool withEp = epilogue && pc + kc == k;
      if (withEp) blockEp = {epilogue->bias ? epilogue->bias + jc : nullptr, epilogue->activation};
      const Epilogue* ep = withEp ? &blockEp : nullptr;
      const float* bsrc = b + pc * rsb + jc * csb;
      const int64_t packParts = std::min<int64_t>(threads, panels);
      forEach(packParts, [&](int64_t part, int) {
        const int64_t lo = cut(nc, NR, packParts, part), hi = cut(nc, NR, packParts, part + 1);
        if (lo < hi) packB(uk, kc, hi - lo, bsrc + lo * csb, rsb, csb, pb + lo * kc);
      });
      forEach(mBlocks * nChunks, [&](int64_t item, int) {
        const int64_t mb = item / nChunks, nb = item % nChunks;
        const int64_t i0 = cut(m, MR, mBlocks, mb), i1 = cut(m, MR, mBlocks, mb + 1);
        const int64_t j0 = cut(nc, NR, nChunks, nb), j1 = cut(nc, NR, nChunks, nb + 1);
        if (i0 >= i1 || j0 >= j1) return;
        float* pa = PackBuffers::grow(tlsPack.a, tlsPack.aSize, static_cast<size_t>(kcMax * std::max(mcMax, i1 - i0 + MR)));
        packA(uk, i1 - i0, kc, a + i0 * rsa + pc * csa, rsa, csa, pa);
        macroKernel(uk, kc, i1 - i0, j0, j1, pa, pb, c + i0 * ldc + jc, ldc, accumulate, ep);
      });
    }
  }
}

namespace {

// Element offset of matrix `batch` of a batched operand (batch index decomposed over the leading axes).
int64_t batchOffset(const Arg& x, int64_t batch) {
  int64_t off = x.offset;
  for (int d = x.rank() - 3; d >= 0; d--) {
    off += (batch % x.shape[d]) * x.strides[d];
    batch /= x.shape[d];
  }
  return off;
}

void kMatmul(const Task& t, ThreadPool& pool) {
  const Arg& a = t.inputs[0];
  const Arg& b = t.inputs[1];
  if (a.dtype != DType::F32 || b.dtype != DType::F32) throw KernelError("native matmul supports f32 only");
  const int r = a.rank();
  if (r < 2 || b.rank() != r) throw KernelError("operands need equal rank >= 2");
  const int64_t m = a.shape[r - 2], k = a.shape[r - 1], n = b.shape[r - 1];
  if (b.shape[r - 2] != k) throw KernelError("inner dimensions do not match");
  int64_t batches = 1;
  for (int d = 0; d < r - 2; d++) batches *= a.shape[d];
  const float* pa = static_cast<const float*>(a.data);
  const float* pb = static_cast<const float*>(b.data);
  float* pc = static_cast<float*>(t.output.data);
  // Batches of small products: one B panel per product, no packing of A (gemm-batched.h).
  if (batches > 1) {
    std::vector<int64_t> aOff(static_cast<size_t>(batches)), bOff(static_cast<size_t>(batches));
    for (int64_t bi = 0; bi < batches; bi++) {
      aOff[bi] = batchOffset(a, bi);
      bOff[bi] = batchOffset(b, bi);
    }
    if (sgemmBatchedSmall(batches, m, n, k, pa, aOff, a.strides[r - 2], a.strides[r - 1], pb, bOff, b.strides[r - 2],
                          b.strides[r - 1], pc, pool, true)) {
      return;
    }
  }
  auto one = [&](int64_t bi, bool parallel) {
    sgemm(m, n, k, pa + batchOffset(a, bi), a.strides[r - 2], a.strides[r - 1], pb + batchOffset(b, bi), b.strides[r - 2],
          b.strides[r - 1], pc + bi * m * n, n, pool, parallel);
  };
  // Batches go to the threads when there are enough of them and enough work: waking a thread costs about 10 us,
  // more than 8 batches of a 24 x 16 by 16 x 24 attention product take on one (17.6 -> 9.4 us per call measured).
  if (batches >= pool.threads() && batches > 1 && static_cast<double>(m) * n * k * batches >= (1 << 18)) {
    pool.parallelFor(batches, [&](int64_t bi, int) { one(bi, false); });
  } else {
    for (int64_t bi = 0; bi < batches; bi++) one(bi, true);
  }
}

}  // namespace

std::vector<KernelEntry> matmulKernels() { return {{"matmul", kMatmul}}; }

}  // namespace eitp
