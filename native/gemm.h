// Single-precision GEMM: packed, cache-blocked, with a register-blocked micro-kernel chosen at run time by cpuid.
#pragma once

#include <cstdint>

namespace eitp {

class ThreadPool;

// Computes a full MR x NR tile: C[0..MR, 0..NR] (+)= Ap[k x MR] * Bp[k x NR]. Ap and Bp are packed panels
// (k-major: MR values of A, then NR values of B, per k step). `accumulate` adds to C instead of overwriting it.
// The last K pass of a product with an epilogue also passes `bias` (the NR bias values of the tile's columns, or
// null) and `relu`: the tile is then stored as max(acc (+ C) + bias, 0), straight from the accumulators.
using MicroKernelFn = void (*)(int64_t k, const float* ap, const float* bp, float* c, int64_t ldc, int accumulate,
                               const float* bias, int relu);

struct MicroKernel {
  const char* name;
  int mr;
  int nr;
  MicroKernelFn fn;
  // Cache blocking: kc x mc block of A (L2), kc x nc block of B (L3), kc x nr micro-panel of B (L1).
  int kc;
  int mc;
  int nc;
  // rows[r] (1 <= r <= mr) computes only the first r rows of the tile, with the same arithmetic per row as fn (so the
  // same results): the last row panel of a product whose m is not a multiple of mr (64 rows on the 12-row AVX-512
  // kernel: 5 panels and 4 rows, which cost a whole panel and a copy through a scratch tile before).
  const MicroKernelFn* rows;
};

MicroKernel genericMicroKernel();
#ifdef EITP_X86
MicroKernel avx2MicroKernel();
MicroKernel avx512MicroKernel();
#endif

// The kernel used: the best one the CPU supports, capped by EITP_SIMD=generic|avx2 (to test the fallbacks).
const MicroKernel& activeMicroKernel();

// What the product does to each element of C after its last K block: C = act(A·B + bias[column]).
enum class Activation : int { None = 0, Relu = 1, Tanh = 2, Sigmoid = 3 };
struct Epilogue {
  const float* bias = nullptr;  // n values, one per column of C; null for no bias
  Activation activation = Activation::None;
};

// C[m x n] = A[m x k] * B[k x n]; A and B are read through (row, column) strides, C is dense with row stride ldc.
// `parallel` lets it split the product over the pool's threads. Products of at most 16 rows whose B is contiguous
// along n or along k skip packing (gemm-small.h); the rest are packed and blocked. With an epilogue, each tile of C gets its bias and
// activation as the last K block stores it (bias and relu in the micro-kernel's registers, tanh and sigmoid by
// vmath on the tile just stored, still in L1), so there is no second pass over C.
void sgemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb,
           int64_t csb, float* c, int64_t ldc, ThreadPool& pool, bool parallel, const Epilogue* epilogue = nullptr);

}  // namespace eitp
