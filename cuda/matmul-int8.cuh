// matmulInt8: out [M, N] = x [M, K] · (wq·ws)ᵀ with int8 weights wq [N, K] (one row per output channel) and f32
// scales ws [N] (semantics: engine/backends/cpu/quant.ts). Both operands are K-contiguous ("NT" layout).
//
// 'f32' activations: mm_i8w_kernel, a 128×128 tile with 8×8 outputs per thread (the register blocking of
//   matmul.cuh); the int8 weights are widened to f32 on their way into shared memory, ws scales the epilogue.
// 'int8' activations:
//   quantize_rows_kernel   one block per row: amax (block reduction), codes clamp(rint(x·127/amax), ±127)
//                          packed four to a 32-bit word, row pitch padded to a multiple of 4 words (16 bytes);
//   pack_int8_kernel       the weights into the same padded word layout, when K is not a multiple of 16 or wq
//                          is not 16-byte aligned (otherwise they are read in place);
//   mm_dp4a_kernel         an integer GEMM on those words: __dp4a (four 8-bit products + add per instruction),
//                          exact 32-bit accumulation, (sx_m·ws_n)·acc in the epilogue.
// Ragged edges are zero-filled in shared memory (zero codes add nothing) and masked on store.
#pragma once
#include "common.cuh"

namespace eitp {

constexpr int kQTile = 128;  // output tile side
constexpr int kQThreads = 256;

// Row (column) of the i-th element of a thread's 8×8 sub-tile: two halves of 4, half a tile apart, so a warp's
// shared-memory reads are conflict-free 16-byte vectors (as in matmul.cuh).
EITP_HD int q_sub(int t, int i) { return i < 4 ? t * 4 + i : kQTile / 2 + t * 4 + i - 4; }

// ---- 'f32' activations ---------------------------------------------------------------------------------------------
// kVec: K % 4 == 0, x 16-byte and wq 4-byte aligned: each thread stages one float4 of x and one int8×4 word of wq.
template <bool kVec>
__global__ void __launch_bounds__(kQThreads) mm_i8w_kernel(const float* __restrict__ x, const int8_t* __restrict__ wq, const float* __restrict__ ws, float* __restrict__ out, int64_t M, int64_t N, int64_t K) {
  constexpr int BK = 8;
  __shared__ __align__(16) float As[2][BK][kQTile];
  __shared__ __align__(16) float Bs[2][BK][kQTile];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * kQTile, col0 = static_cast<int64_t>(blockIdx.x) * kQTile;
  const int64_t tiles = (K + BK - 1) / BK;
  float ra[4], rb[4];
  // Staging: vector mode takes row tid/2, k (tid%2)*4..+3; scalar mode element e = tid + 256 l at (e/8, e%8).
  auto load = [&](int64_t k0) {
    if constexpr (kVec) {
      const int r = tid >> 1, kk = (tid & 1) * 4;
      const int64_t gk = k0 + kk;
      float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (row0 + r < M && gk < K) v = *reinterpret_cast<const float4*>(x + (row0 + r) * K + gk);
      ra[0] = v.x, ra[1] = v.y, ra[2] = v.z, ra[3] = v.w;
      int w = 0;
      if (col0 + r < N && gk < K) w = *reinterpret_cast<const int*>(wq + (col0 + r) * K + gk);
#pragma unroll
      for (int q = 0; q < 4; ++q) rb[q] = static_cast<float>(static_cast<int8_t>(static_cast<uint32_t>(w) >> (8 * q)));
    } else {
#pragma unroll
      for (int l = 0; l < 4; ++l) {
        const int e = tid + l * kQThreads, r = e / BK, kk = e % BK;
        const int64_t gk = k0 + kk;
        ra[l] = (row0 + r < M && gk < K) ? x[(row0 + r) * K + gk] : 0.0f;
        rb[l] = (col0 + r < N && gk < K) ? static_cast<float>(wq[(col0 + r) * K + gk]) : 0.0f;
      }
    }
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      const int e = tid + l * kQThreads;
      const int r = kVec ? tid >> 1 : e / BK, kk = kVec ? (tid & 1) * 4 + l : e % BK;
      As[buf][kk][r] = ra[l];
      Bs[buf][kk][r] = rb[l];
    }
  };
  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;
  load(0);
  store(0);
  __syncthreads();
  for (int64_t t = 0; t < tiles; ++t) {
    const int cur = static_cast<int>(t & 1);
    const bool more = t + 1 < tiles;
    if (more) load((t + 1) * BK);
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      const float4 a0 = *reinterpret_cast<const float4*>(&As[cur][kk][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[cur][kk][kQTile / 2 + ty * 4]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[cur][kk][tx * 4]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[cur][kk][kQTile / 2 + tx * 4]);
      const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] += a[i] * b[j];
    }
    if (more) store(cur ^ 1);
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int64_t r = row0 + q_sub(ty, i);
    if (r >= M) continue;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int64_t c = col0 + q_sub(tx, j);
      if (c < N) out[r * N + c] = ws[c] * acc[i][j];
    }
  }
}

// ---- 'int8' activations --------------------------------------------------------------------------------------------
EITP_DEV uint32_t pack_code(int code, int q) { return (static_cast<uint32_t>(code) & 0xffu) << (8 * q); }

// Row m of x → codes in xq[m][0..pitch) (words of four int8, zero beyond K) and sx[m] = amax/127.
// f32 arithmetic as the spec says: inv = 127/amax, code = clamp(rint(x·inv), ±127); an all-zero row gets inv 0.
// NaN propagates into amax (the reference's Math.max), so such a row's codes are 0 and its scale NaN.
__global__ void __launch_bounds__(256) quantize_rows_kernel(const float* __restrict__ x, int64_t K, int64_t pitch, int32_t* __restrict__ xq, float* __restrict__ sx) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const float* xr = x + row * K;
  float amax = 0.0f;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) amax = MaxNanF()(amax, fabsf(xr[k]));
  amax = block_reduce(amax, MaxNanF(), 0.0f, scratch);
  const float inv = amax == 0.0f ? 0.0f : 127.0f / amax;
  if (threadIdx.x == 0) sx[row] = amax / 127.0f;
  for (int64_t w = threadIdx.x; w < pitch; w += blockDim.x) {
    uint32_t word = 0;
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int64_t k = 4 * w + q;
      // __float2int_rn rounds half to even and gives 0 for NaN; the clamp keeps codes symmetric.
      const int code = k < K ? lesser(127, greater(-127, __float2int_rn(xr[k] * inv))) : 0;
      word |= pack_code(code, q);
    }
    xq[row * pitch + w] = static_cast<int32_t>(word);
  }
}

// wq [rows, K] int8 → words [rows][pitch], zero-padded.
__global__ void __launch_bounds__(256) pack_int8_kernel(const int8_t* __restrict__ wq, int64_t rows, int64_t K, int64_t pitch, int32_t* __restrict__ out) {
  const int64_t n = rows * pitch, step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t r = i / pitch, w = i - r * pitch;
    uint32_t word = 0;
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int64_t k = 4 * w + q;
      if (k < K) word |= pack_code(wq[r * K + k], q);
    }
    out[i] = static_cast<int32_t>(word);
  }
}

// out[m][n] = (sx[m]·ws[n]) · Σ_w dp4a(xq[m][w], wq[n][w]); pitch % 4 == 0, rows 16-byte aligned.
// Each K-slice is 8 words (32 codes) per row: one int4 per thread per operand.
__global__ void __launch_bounds__(kQThreads) mm_dp4a_kernel(const int32_t* __restrict__ xq, const int32_t* __restrict__ wq, const float* __restrict__ sx, const float* __restrict__ ws, float* __restrict__ out, int64_t M, int64_t N, int64_t pitch) {
  constexpr int BW = 8;
  __shared__ __align__(16) int32_t As[2][BW][kQTile];
  __shared__ __align__(16) int32_t Bs[2][BW][kQTile];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * kQTile, col0 = static_cast<int64_t>(blockIdx.x) * kQTile;
  const int64_t tiles = (pitch + BW - 1) / BW;
  const int lr = tid >> 1, lw = (tid & 1) * 4;  // staged row and first word
  int4 ra, rb;
  auto load = [&](int64_t w0) {
    const int64_t w = w0 + lw;  // pitch % 4 == 0: the int4 is wholly inside or outside the row
    ra = (row0 + lr < M && w < pitch) ? *reinterpret_cast<const int4*>(xq + (row0 + lr) * pitch + w) : make_int4(0, 0, 0, 0);
    rb = (col0 + lr < N && w < pitch) ? *reinterpret_cast<const int4*>(wq + (col0 + lr) * pitch + w) : make_int4(0, 0, 0, 0);
  };
  auto store = [&](int buf) {
    As[buf][lw + 0][lr] = ra.x, As[buf][lw + 1][lr] = ra.y, As[buf][lw + 2][lr] = ra.z, As[buf][lw + 3][lr] = ra.w;
    Bs[buf][lw + 0][lr] = rb.x, Bs[buf][lw + 1][lr] = rb.y, Bs[buf][lw + 2][lr] = rb.z, Bs[buf][lw + 3][lr] = rb.w;
  };
  int acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0;
  load(0);
  store(0);
  __syncthreads();
  for (int64_t t = 0; t < tiles; ++t) {
    const int cur = static_cast<int>(t & 1);
    const bool more = t + 1 < tiles;
    if (more) load((t + 1) * BW);
#pragma unroll
    for (int kk = 0; kk < BW; ++kk) {
      const int4 a0 = *reinterpret_cast<const int4*>(&As[cur][kk][ty * 4]);
      const int4 a1 = *reinterpret_cast<const int4*>(&As[cur][kk][kQTile / 2 + ty * 4]);
      const int4 b0 = *reinterpret_cast<const int4*>(&Bs[cur][kk][tx * 4]);
      const int4 b1 = *reinterpret_cast<const int4*>(&Bs[cur][kk][kQTile / 2 + tx * 4]);
      const int a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const int b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = __dp4a(a[i], b[j], acc[i][j]);
    }
    if (more) store(cur ^ 1);
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int64_t r = row0 + q_sub(ty, i);
    if (r >= M) continue;
    const float s = sx[r];
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int64_t c = col0 + q_sub(tx, j);
      if (c < N) out[r * N + c] = (s * ws[c]) * static_cast<float>(acc[i][j]);
    }
  }
}

}  // namespace eitp
