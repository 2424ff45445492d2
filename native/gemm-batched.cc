// The driver of gemm-batched.h: which products it takes, the copy of each product's B into a zero-padded
// n-contiguous panel, and the split of the batch over the threads.
#include "gemm-batched.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "isa.h"
#include "thread-pool.h"
#include "transpose-columns.h"

namespace eitp {

namespace {

const GemmBatched& gemmBatched() {
  static const GemmBatched table = EITP_ISA_TABLE(gemm_batched);
  return table;
}

// EITP_GEMM_BATCHED=0 sends batched products back to the per-product path (to compare the two).
bool batchedPathOn() {
  static const bool on = [] {
    const char* env = std::getenv("EITP_GEMM_BATCHED");
    return !(env && std::strcmp(env, "0") == 0);
  }();
  return on;
}

constexpr int64_t kMaxColumns = 64;
constexpr int64_t kMaxPanelFloats = 8192;  // 32 KiB: the panel stays in L1 while the product runs

// Copies B[k x n] (element (p, j) at b[p·rsb + j·csb]) into out[k x ldb], columns [n, ldb) zeroed.
void packPanel(const GemmBatched& kb, int64_t k, int64_t n, const float* b, int64_t rsb, int64_t csb, float* out, int64_t ldb) {
  if (csb == 1) {
    kb.packRows(k, n, b, rsb, out, ldb);
    return;
  }
  for (int64_t p = 0; p < k; p++) std::memset(out + p * ldb + n, 0, sizeof(float) * (ldb - n));
  int64_t j = 0;
  // A k-contiguous B (a transposed view, rsb = 1): four columns at a time
  if (rsb == 1) {
    for (; j + 4 <= n; j += 4) copyFourColumnsTransposed(b + j * csb, csb, 0, k, out + j, ldb);
  }
  for (; j < n; j++) {
    for (int64_t p = 0; p < k; p++) out[p * ldb + j] = b[p * rsb + j * csb];
  }
}

// Per-thread panel buffer (kMaxPanelFloats floats), allocated on a thread's first batched product: a 32 KiB
// thread_local array would sit in the addon's static TLS block, which every thread of the process gets.
float* threadPanel() {
  thread_local std::unique_ptr<float[]> panel;
  if (!panel) panel.reset(new float[kMaxPanelFloats]);
  return panel.get();
}

}  // namespace

bool sgemmBatchedSmall(int64_t batches, int64_t m, int64_t n, int64_t k, const float* a, const std::vector<int64_t>& aOffsets,
                       int64_t rsa, int64_t csa, const float* b, const std::vector<int64_t>& bOffsets, int64_t rsb, int64_t csb,
                       float* c, ThreadPool& pool, bool parallel) {
  if (!batchedPathOn() || batches < 1 || m < 1 || n < 1 || n > kMaxColumns) return false;
  const GemmBatched& kb = gemmBatched();
  const int64_t ldb = (n + kb.pad - 1) / kb.pad * kb.pad;
  if (k * ldb > kMaxPanelFloats) return false;
  auto range = [&](int64_t b0, int64_t b1) {
    float* panel = threadPanel();
    for (int64_t bi = b0; bi < b1; bi++) {
      packPanel(kb, k, n, b + bOffsets[bi], rsb, csb, panel, ldb);
      kb.product(m, n, k, a + aOffsets[bi], rsa, csa, panel, ldb, c + bi * m * n, n);
    }
  };
  // Waking a thread costs about 10 us: below ~2^18 multiply-adds in all, one thread does the whole batch.
  const double flops = static_cast<double>(m) * n * k * batches;
  if (parallel && pool.threads() > 1 && batches > 1 && flops >= (1 << 18)) {
    pool.parallelRange(batches, 1, range);
  } else {
    range(0, batches);
  }
  return true;
}

}  // namespace eitp
