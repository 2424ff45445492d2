// The matmulInt8 op kernel, following engine/backends/cpu/quant.ts: out [M, N] = x [M, K] · (wq [N, K] · ws [N])ᵀ.
//
// 'int8' activations: each row of x is quantised as the spec says (int8-quantize.h), the inner products are exact
// integers from the int8 tiles, and out = (scale_m · ws_n) · Σ in double like the cpu kernel, so the result matches
// it bit for bit. VNNI tiles return Σ xq·(w + 128) (int8-matmul.h); 128·Σ_k xq, summed per row while quantising,
// turns that back into Σ xq·w. Few rows: dot-product tiles over the weights in place (each output a horizontal sum).
// Many rows, where the kernel has it: the weights are packed once per call into 64-channel panels and each vpdpbusd
// produces 16 outputs' partial sums (int8-matmul.h, Int8PackedPath). K is cut into slices of 2^16 so that every
// 32-bit slice sum is exact (2^16·127·255 < 2^31); slices add in 64 bits (the packed path takes K <= 2^16 only).
//
// 'f32' activations: for a few rows (memory-bound, the weights read once) the f32 tiles widen the int8 weights on
// the fly; for more rows the weights are dequantised a block of output channels at a time into f32 and the packed
// SGEMM does the product. Either way ws_n scales the f32 sum, as the spec says.
//
// Threads take (row block, output-channel block) items; each output element is computed by one tile call, so the
// result does not depend on EITP_THREADS.
#include "int8-matmul.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "gemm.h"
#include "strided.h"
#include "thread-pool.h"

namespace eitp {

namespace {

// K per integer tile call: 2^16 · 127 · 255 < 2^31, so even the offset sums Σ xq·(w + 128) fit in 32 bits.
constexpr int64_t kSliceK = int64_t{1} << 16;
// When 'int8' activations take the packed-weight path (where the kernel has one). Packing costs about one pass over
// the weights; it pays off once enough rows share it, sooner for short K, where the dot-product tiles spend a larger
// share on their horizontal sums (measured: 16 rows at K = 256, about 100 at K = 1024).
inline bool usePackedPath(int64_t m, int64_t k) { return m >= 64 || (m >= 16 && k <= 512); }
// From this many rows on, 'f32' activations use dequantise + SGEMM instead of the on-the-fly tiles.
constexpr int64_t kSgemmMinRows = 128;

Int8Kernels pickByCpu() {
  std::string cap, want;
  if (const char* e = std::getenv("EITP_SIMD")) cap = e;
  if (const char* e = std::getenv("EITP_INT8_KERNEL")) want = e;
  Int8Kernels chosen = genericInt8Kernels();
#ifdef EITP_X86
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avxVnni = avx2 && __builtin_cpu_supports("avxvnni");
  const bool avx512Vnni = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  if (want == "generic") return chosen;
  if (want == "avx2" && avx2) return avx2Int8Kernels();
  if (want == "avxvnni" && avxVnni) return avxVnniInt8Kernels();
  if (want == "avx512vnni" && avx512Vnni) return avx512VnniInt8Kernels();
  if (cap == "generic") return chosen;
  if (avx2) chosen = avx2Int8Kernels();
  if (cap == "avx2") return chosen;
  if (avxVnni) chosen = avxVnniInt8Kernels();
  if (avx512Vnni) chosen = avx512VnniInt8Kernels();
#endif
  return chosen;
}

// Boundary `part` of [0, extent) cut into `parts` pieces aligned to `unit`.
inline int64_t cut(int64_t extent, int64_t unit, int64_t parts, int64_t part) {
  const int64_t units = (extent + unit - 1) / unit;
  return std::min(extent, units * part / parts * unit);
}

// Runs tile(m0, mr, n0, nr) over [0, m) x [0, n) in mr x nr tiles: items of (row block, channel block) spread over
// the pool, channels outer within an item so that a tile's weight rows stay in L1 while the block's activation rows
// (rowBytes each, kept within ~32 KiB) stream past.
template <typename Tile>
void forEachTile(int64_t m, int64_t n, int mr, int nr, int64_t rowBytes, double work, ThreadPool& pool, Tile tile) {
  int64_t mb = std::max<int64_t>(mr, (32768 / std::max<int64_t>(rowBytes, 1)) / mr * mr);
  mb = std::min(mb, (m + mr - 1) / mr * mr);
  const int64_t mBlocks = (m + mb - 1) / mb;
  const int threads = work < static_cast<double>(1 << 20) ? 1 : pool.threads();
  // Channel blocks: ~4 items per thread at least, each a multiple of nr.
  const int64_t nTiles = (n + nr - 1) / nr;
  const int64_t nBlocks = std::max<int64_t>(1, std::min<int64_t>(nTiles, (4 * threads + mBlocks - 1) / mBlocks));
  auto item = [&](int64_t it, int) {
    const int64_t bi = it / nBlocks, bj = it % nBlocks;
    const int64_t i0 = bi * mb, i1 = std::min(m, i0 + mb);
    const int64_t j0 = cut(n, nr, nBlocks, bj), j1 = cut(n, nr, nBlocks, bj + 1);
    for (int64_t j = j0; j < j1; j += nr) {
      for (int64_t i = i0; i < i1; i += mr) tile(i, static_cast<int>(std::min<int64_t>(mr, i1 - i)), j, static_cast<int>(std::min<int64_t>(nr, j1 - j)));
    }
  };
  if (threads == 1) {
    for (int64_t it = 0; it < mBlocks * nBlocks; it++) item(it, 0);
  } else {
    pool.parallelFor(mBlocks * nBlocks, item);
  }
}

// The packed-weight path (int8-matmul.h) for x [m, k] with S8 codes (rows ldx apart, zero-padded to a multiple of
// 4): pack the panels, then items of (row block, panel range), each panel multiplied by the block's rows in
// micro-tiles; `epilogue(i, j0, sums, count)` turns a row's sums for channels [j0, j0 + count) into outputs.
template <typename Epilogue>
void packedProduct(const Int8PackedPath& pk, const int8_t* codes, int64_t ldx, const int8_t* w, int64_t m, int64_t n, int64_t k,
                   ThreadPool& pool, Epilogue epilogue) {
  const int64_t P = pk.cols, R = pk.rows;
  const int64_t groups = (k + 3) / 4, panels = (n + P - 1) / P;
  const int64_t panelBytes = groups * 4 * P;
  // (Uninitialised: pack() writes every byte.)
  std::unique_ptr<uint8_t[]> packed(new uint8_t[static_cast<size_t>(panels * panelBytes)]);
  // Below ~1M multiply-adds a hand-off to the other threads costs more than it saves.
  const bool parallel = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) >= static_cast<double>(1 << 20);
  auto forEach = [&](int64_t count, const std::function<void(int64_t, int)>& fn) {
    if (parallel) pool.parallelFor(count, fn);
    else for (int64_t i = 0; i < count; i++) fn(i, 0);
  };
  forEach(panels, [&](int64_t p, int) { pk.pack(w, n, k, p * P, packed.get() + p * panelBytes); });
  // Row blocks of whole micro-tiles, ~16 KiB of codes each; panel ranges for >= 4 items per thread.
  const int64_t mb = std::min((m + R - 1) / R * R, std::max<int64_t>(R, 16384 / ldx / R * R));
  const int64_t mBlocks = (m + mb - 1) / mb;
  const int64_t pBlocks = std::max<int64_t>(1, std::min<int64_t>(panels, (4 * pool.threads() + mBlocks - 1) / mBlocks));
  forEach(mBlocks * pBlocks, [&](int64_t it, int) {
    const int64_t i0 = it / pBlocks * mb, i1 = std::min(m, i0 + mb);
    const int64_t p0 = cut(panels, 1, pBlocks, it % pBlocks), p1 = cut(panels, 1, pBlocks, it % pBlocks + 1);
    std::vector<int32_t> sums(static_cast<size_t>(R * P));
    for (int64_t p = p0; p < p1; p++) {
      const int64_t j0 = p * P, count = std::min(P, n - j0);
      for (int64_t i = i0; i < i1; i += R) {
        const int mr = static_cast<int>(std::min(R, i1 - i));
        pk.gemm(groups, codes + i * ldx, ldx, mr, packed.get() + p * panelBytes, sums.data(), P);
        for (int r = 0; r < mr; r++) epilogue(i + r, j0, sums.data() + r * P, count);
      }
    }
  });
}

void int8Activations(const Int8Kernels& kn, const float* x, const int8_t* w, const float* ws, float* out, int64_t m, int64_t n,
                     int64_t k, ThreadPool& pool) {
  const bool s8 = kn.activations == Int8Activations::S8;
  const size_t codeBytes = s8 ? 1 : 2;
  // Code rows: int8 rows padded with zeros to a multiple of 4 (the packed path reads groups of four).
  const int64_t ldx = s8 ? (k + 3) / 4 * 4 : k;
  const int64_t slices = (k + kSliceK - 1) / kSliceK;
  std::vector<double> scales(static_cast<size_t>(m));
  std::unique_ptr<uint8_t[]> codes(new uint8_t[static_cast<size_t>(m * ldx) * codeBytes]);
  // S8 tiles return Σ xq·(w + 128): 128·Σ xq per row and K slice (mod 2^32, like the sums it corrects).
  std::vector<uint32_t> correction(s8 ? static_cast<size_t>(m * slices) : 0);
  pool.parallelRange(m, std::max<int64_t>(1, 65536 / k), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      scales[r] = static_cast<double>(kn.quantizeRow(x + r * k, k, codes.get() + r * ldx * codeBytes));
      if (!s8) continue;
      int8_t* q = reinterpret_cast<int8_t*>(codes.get()) + r * ldx;
      for (int64_t p = k; p < ldx; p++) q[p] = 0;
      for (int64_t s = 0; s < slices; s++) {
        int32_t sum = 0;
        const int64_t p1 = std::min(k, (s + 1) * kSliceK);
        for (int64_t p = s * kSliceK; p < p1; p++) sum += q[p];
        correction[r * slices + s] = static_cast<uint32_t>(sum) * 128u;
      }
    }
  });
  // (scale_m · ws_n) · Σ in double, rounded once to f32: the cpu kernel's arithmetic exactly.
  auto store = [&](int64_t i, int64_t j, int64_t sum) { out[i * n + j] = static_cast<float>(scales[i] * ws[j] * static_cast<double>(sum)); };
  if (s8 && kn.packed.pack && usePackedPath(m, k) && slices == 1) {
    packedProduct(kn.packed, reinterpret_cast<const int8_t*>(codes.get()), ldx, w, m, n, k, pool,
                  [&](int64_t i, int64_t j0, const int32_t* sums, int64_t count) {
                    kn.packed.finishRow(sums, count, correction[i], scales[i], ws + j0, out + i * n + j0);
                  });
    return;
  }
  const int MR = kn.mr, NR = kn.nr;
  forEachTile(m, n, MR, NR, ldx * static_cast<int64_t>(codeBytes), static_cast<double>(m) * n * k, pool,
              [&](int64_t i0, int mr, int64_t j0, int nr) {
                int64_t acc[4 * 4] = {};
                int32_t part[4 * 4];
                for (int64_t s = 0; s < slices; s++) {
                  const int64_t p0 = s * kSliceK, len = std::min(kSliceK, k - p0);
                  kn.dotInt8(len, codes.get() + (i0 * ldx + p0) * codeBytes, ldx, w + j0 * k + p0, k, mr, nr, part, NR);
                  for (int i = 0; i < mr; i++) {
                    const uint32_t c = s8 ? correction[(i0 + i) * slices + s] : 0u;
                    for (int j = 0; j < nr; j++) acc[i * NR + j] += static_cast<int32_t>(static_cast<uint32_t>(part[i * NR + j]) - c);
                  }
                }
                for (int i = 0; i < mr; i++) {
                  for (int j = 0; j < nr; j++) store(i0 + i, j0 + j, acc[i * NR + j]);
                }
              });
}

void f32Activations(const Int8Kernels& kn, const float* x, const int8_t* w, const float* ws, float* out, int64_t m, int64_t n,
                    int64_t k, ThreadPool& pool) {
  if (m < kSgemmMinRows) {
    const int NR = kn.nr;
    forEachTile(m, n, kn.mr, NR, k * 4, static_cast<double>(m) * n * k, pool, [&](int64_t i0, int mr, int64_t j0, int nr) {
      float part[4 * 4];
      kn.dotF32(k, x + i0 * k, k, w + j0 * k, k, mr, nr, part, NR);
      for (int i = 0; i < mr; i++) {
        for (int j = 0; j < nr; j++) out[(i0 + i) * n + j0 + j] = ws[j0 + j] * part[i * NR + j];
      }
    });
    return;
  }
  // Blocks of output channels dequantised to f32, [nb, k], up to ~4 MiB. The SGEMM reads them as B = blockᵀ through
  // strides (its packing transposes them; a separate transpose here measured slower).
  const int64_t rowsPerBlock = std::min(n, std::max<int64_t>(64, (int64_t{1} << 20) / k));
  std::unique_ptr<float[]> wf(new float[static_cast<size_t>(rowsPerBlock * k)]);
  for (int64_t j0 = 0; j0 < n; j0 += rowsPerBlock) {
    const int64_t nb = std::min(rowsPerBlock, n - j0);
    const int8_t* src = w + j0 * k;
    pool.parallelRange(nb * k, 65536, [&](int64_t e0, int64_t e1) {
      for (int64_t e = e0; e < e1; e++) wf[e] = static_cast<float>(src[e]);
    });
    sgemm(m, nb, k, x, k, 1, wf.get(), 1, k, out + j0, n, pool, true);
  }
  pool.parallelRange(m, std::max<int64_t>(1, 65536 / n), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      for (int64_t j = 0; j < n; j++) out[r * n + j] *= ws[j];
    }
  });
}

void kMatmulInt8(const Task& t, ThreadPool& pool) {
  const Arg& xa = t.inputs[0];
  const Arg& wa = t.inputs[1];
  const Arg& sa = t.inputs[2];
  if (xa.dtype != DType::F32 || sa.dtype != DType::F32) throw KernelError("x and the scales must be f32");
  if (wa.dtype != DType::I8) throw KernelError(std::string("weights must be i8, got ") + dtypeName(wa.dtype));
  if (xa.rank() < 1 || wa.rank() != 2 || sa.rank() != 1) throw KernelError("needs x [..., K], weights [N, K] and scales [N]");
  const int64_t k = xa.shape[xa.rank() - 1], n = wa.shape[0];
  if (wa.shape[1] != k || sa.shape[0] != n) throw KernelError("weights must be [N, K] and scales [N] for x [..., K]");
  if (t.attrs.size() != 1) throw KernelError("expected the attribute activations");
  const bool int8 = t.attrs[0] == 1;
  float* out = static_cast<float*>(t.output.data);
  const int64_t total = t.output.numel();
  if (total == 0) return;
  if (k == 0) {
    // No products: the cpu kernel writes nothing into its zero-filled output.
    std::memset(out, 0, sizeof(float) * static_cast<size_t>(total));
    return;
  }
  const int64_t m = xa.numel() / k;
  Dense<float> x(xa, pool);
  Dense<int8_t> w(wa, pool);
  Dense<float> ws(sa, pool);
  const Int8Kernels& kn = activeInt8Kernels();
  if (int8) int8Activations(kn, x.get(), w.get(), ws.get(), out, m, n, k, pool);
  else f32Activations(kn, x.get(), w.get(), ws.get(), out, m, n, k, pool);
}

}  // namespace

const Int8Kernels& activeInt8Kernels() {
  static const Int8Kernels kn = pickByCpu();
  return kn;
}

std::vector<KernelEntry> int8MatmulKernels() { return {{"matmulInt8", kMatmulInt8}}; }

}  // namespace eitp
