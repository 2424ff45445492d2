// The GEMM's path for batches of small products (attention's q·kᵀ and p·v, [B·H] products of 24 x 16 by 16 x 24 and
// the like, and the transposed-operand products of their backward). The packed path pays per product for packing
// both operands and for edge tiles computed in scratch (n = 24 is an edge tile of a 32-wide micro-kernel), several
// times the arithmetic at this size. Here each product copies only its B (k x n, at most a few KiB, kept in L1) into
// a zero-padded n-contiguous panel, transposing it when B is k-contiguous, and the kernel reads A where it lies by
// broadcasts, any strides. The kernel is compiled once per ISA (baseline, AVX2, AVX-512); a batch's products go to
// the pool's threads whole, so each element of C is computed the same way for any thread count.
#pragma once

#include <cstdint>
#include <vector>

namespace eitp {

class ThreadPool;

struct GemmBatched {
  const char* isa;
  // C[m x n] (row stride ldc) = A[m x k] (element (i, p) at a[i·rsa + p·csa]) · Bp[k x n], Bp n-contiguous with row
  // stride ldb, a multiple of `pad`, and zero in columns [n, ldb). Sums in f32, the k steps in order, one
  // accumulator per element of C (as the packed micro-kernel does).
  void (*product)(int64_t m, int64_t n, int64_t k, const float* a, int64_t rsa, int64_t csa, const float* bp, int64_t ldb,
                  float* c, int64_t ldc);
  // Copies B[k x n] (row stride rsb, columns contiguous) into out[k x ldb], zeroing columns [n, ldb).
  void (*packRows)(int64_t k, int64_t n, const float* b, int64_t rsb, float* out, int64_t ldb);
  // Floats per vector: Bp's row stride is a multiple of it (the kernel reads whole vectors).
  int pad;
};

namespace gemm_batched_generic { GemmBatched table(); }
#ifdef EITP_X86
namespace gemm_batched_avx2 { GemmBatched table(); }
namespace gemm_batched_avx512 { GemmBatched table(); }
#endif

// The batched products C_b = A_b·B_b (b < batches) with A_b at a + aOffsets[b] through strides (rsa, csa), B_b at
// b + bOffsets[b] through (rsb, csb), C_b dense at c + b·m·n. Takes products with n <= 64 and a B of at most 8192
// floats (k·n, padded; it stays in L1), any batch count and any strides; returns false (nothing done) otherwise, or
// when EITP_GEMM_BATCHED=0 turns the path off. `parallel` lets it give the products to the pool's threads.
bool sgemmBatchedSmall(int64_t batches, int64_t m, int64_t n, int64_t k, const float* a, const std::vector<int64_t>& aOffsets,
                       int64_t rsa, int64_t csa, const float* b, const std::vector<int64_t>& bOffsets, int64_t rsb, int64_t csb,
                       float* c, ThreadPool& pool, bool parallel);

}  // namespace eitp
