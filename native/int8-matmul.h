// matmulInt8 tiles: dot products of a few activation rows with a few int8 weight rows, all contiguous along K
// (weights are [N, K], one row per output channel). One set per instruction set, chosen at run time by cpuid:
// AVX-512 VNNI (vpdpbusd), AVX-VNNI (its 256-bit VEX form), AVX2 (vpmaddwd on sign-extended 16-bit values) and
// portable C++. The integer tiles are exact (wrapping 32-bit arithmetic; the driver keeps K per call small enough
// that the true sums fit).
#pragma once

#include <cstdint>

namespace eitp {

// How a kernel wants the quantised activations xq ∈ [−127, 127] stored.
enum class Int8Activations {
  I16,  // int16_t xq (AVX2, generic: vpmaddwd / plain multiplies on 16-bit values)
  // int8_t xq, and the tile returns Σ xq·(w + 128): VNNI multiplies u8 by s8, so the tile flips the weights' sign
  // bit (w + 128 as u8, one xor per load) and the driver subtracts 128·Σ xq, a per-row sum of the activations.
  // (The other way round, u8 activations xq + 128, would need 128·Σ w per output channel: a pass over all weights.)
  S8,
};

// out[i * ldo + j] = Σ_{p < k} a_i[p] · w_j[p] (mod 2^32; with S8 activations Σ a_i[p] · (w_j[p] + 128)) for i < mr,
// j < nr; row i of a starts at a + i * lda elements of the kernel's activation type, row j of w at w + j * ldw.
// mr <= MR and nr <= NR of the kernel.
using Int8TileFn = void (*)(int64_t k, const void* a, int64_t lda, const int8_t* w, int64_t ldw, int mr, int nr, int32_t* out,
                            int64_t ldo);

// out[i * ldo + j] = Σ_{p < k} x_i[p] · float(w_j[p]), accumulated in f32 (the 'f32' activations of small M).
using F32TileFn = void (*)(int64_t k, const float* x, int64_t ldx, const int8_t* w, int64_t ldw, int mr, int nr, float* out,
                           int64_t ldo);

// Quantises one row of k activations into codes (the kernel's activation type) as int8-quantize.h defines it;
// returns the row's scale amax/127 (0 for an all-zero row, NaN if the row holds a NaN).
using QuantizeRowFn = float (*)(const float* x, int64_t k, void* codes);

// The packed-weight path for many rows (S8 activations only). The weights, sign bit flipped (w + 128 as u8), are
// packed once per call into panels of `cols` output channels in which each group of four K values of a channel is
// one 32-bit lane: one vpdpbusd then multiplies 16 channels by a broadcast group of four activations, and the sums
// land in their output lanes (no horizontal reductions, no per-load sign flips).
struct Int8PackedPath {
  int cols;  // output channels per panel
  int rows;  // activation rows per micro-tile
  // Packs channels [j0, j0 + cols) of w [n, k] into panel (ceil(k/4) groups of cols·4 bytes); channels past n and K
  // values past k are packed as zero weights.
  void (*pack)(const int8_t* w, int64_t n, int64_t k, int64_t j0, uint8_t* panel);
  // out[i * ldo + c] = Σ_p x_i[p]·(w_c[p] + 128) (mod 2^32) over the panel's groups, for i < mr <= rows and every c
  // < cols; rows of x are padded with zero codes to a multiple of 4.
  void (*gemm)(int64_t groups, const int8_t* x, int64_t ldx, int mr, const uint8_t* panel, int32_t* out, int64_t ldo);
  // out[j] = f32((scale · ws[j]) · (sums[j] − correction)) for j < count, the sum taken mod 2^32 and the arithmetic
  // in double: the cpu kernel's rounding exactly.
  void (*finishRow)(const int32_t* sums, int64_t count, uint32_t correction, double scale, const float* ws, float* out);
};

struct Int8Kernels {
  const char* name;
  Int8Activations activations;
  int mr;  // tile rows (activation rows) and columns (weight rows), for both tile functions
  int nr;
  Int8TileFn dotInt8;
  F32TileFn dotF32;
  QuantizeRowFn quantizeRow;
  Int8PackedPath packed;  // pack == nullptr where the kernel has none
};

Int8Kernels genericInt8Kernels();
#ifdef EITP_X86
Int8Kernels avx2Int8Kernels();
Int8Kernels avxVnniInt8Kernels();
Int8Kernels avx512VnniInt8Kernels();
// AVX2 quantisation into int8 codes (for the AVX-VNNI kernels, which share the AVX2 file's f32 tile).
float quantizeRowS8Avx2(const float* x, int64_t k, void* codes);
#endif

// The kernels used: the best the CPU supports (avx512-vnni > avx-vnni > avx2 > generic). EITP_SIMD=generic|avx2
// caps them like the SGEMM; EITP_INT8_KERNEL=generic|avx2|avxvnni|avx512vnni picks one (if the CPU has it; it takes
// precedence over EITP_SIMD), to test every path on one machine.
const Int8Kernels& activeInt8Kernels();

}  // namespace eitp
