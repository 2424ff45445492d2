// The correlation matrix R = ẐᵀẐ/N of z [N, d]'s columns (Ẑ the column-standardised z) and its backward
// dz = f(z, gR) (semantics: engine/backends/cpu/eitp-fused.ts). Every sum has a fixed order for a given shape
// (partial results per row chunk, combined in chunk order; no float atomics), so results are deterministic.
//
//   col_stats_kernel + col_stats_finalize_kernel   μ_j and r_j = 1/sqrt(var_j + eps): per (32 columns × row
//       chunk) block a two-pass mean / centred sum of squares, merged over chunks with Chan's formula;
//   gram_partial_kernel   ẐᵀẐ over one row chunk for one 64×64 tile pair of the upper triangle only (a SYRK: the
//       tiles below the diagonal are never computed), standardising z on its way into shared memory; split over
//       row chunks so that a small d still fills the GPU (d = 256 is only 10 tile pairs);
//   gram_store_kernel   sums the chunks' tiles in chunk order, divides by N and writes each value to both R[j, k]
//       and R[k, j] (through a shared-memory transpose, so both writes are coalesced): R is exactly symmetric;
//   the backward: sym_scaled_kernel for S = (gR + gRᵀ)/N, standardize_kernel, the f32 matmul (matmul.cuh) for
//       dẐ = Ẑ·S, then col_dot_kernel + col_mean2_kernel for mean_i dẐ and mean_i dẐ·Ẑ, and
//       correlation_grad_out_kernel for dz = r (dẐ − mean dẐ − Ẑ mean(dẐ Ẑ)).
#pragma once
#include "common.cuh"

namespace eitp {

constexpr int kGramTile = 64;    // columns of z per side of a Gram tile
constexpr int kGramSlice = 16;   // rows of z per shared-memory slice
constexpr int kGramThreads = 256;  // 16 × 16 threads, 4 × 4 outputs each

// ---- column statistics ------------------------------------------------------------------------------------------
// Block (32, 8) over 32 columns × one chunk of rows: x walks columns (coalesced), y strides the rows.
__global__ void __launch_bounds__(256) col_stats_kernel(const float* __restrict__ z, ColGeom g, float* __restrict__ pmean, float* __restrict__ pm2) {
  __shared__ float red[8][33];
  __shared__ float s_mean[32];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t col = static_cast<int64_t>(blockIdx.x) * 32 + tx;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * g.chunk, r1 = lesser(g.rows, r0 + g.chunk);
  const bool ok = col < g.cols;
  float s = 0.0f;
  if (ok)
    for (int64_t r = r0 + ty; r < r1; r += 8) s += z[r * g.cols + col];
  red[ty][tx] = s;
  __syncthreads();
  if (ty == 0) {
    float t = 0.0f;
    for (int y = 0; y < 8; ++y) t += red[y][tx];
    s_mean[tx] = t / static_cast<float>(r1 - r0);
  }
  __syncthreads();
  const float mu = s_mean[tx];
  float q = 0.0f;
  if (ok)
    for (int64_t r = r0 + ty; r < r1; r += 8) {
      const float d = z[r * g.cols + col] - mu;
      q += d * d;
    }
  red[ty][tx] = q;  // red's first use was read before the barrier above
  __syncthreads();
  if (ty == 0 && ok) {
    float t = 0.0f;
    for (int y = 0; y < 8; ++y) t += red[y][tx];
    pmean[static_cast<int64_t>(blockIdx.y) * g.cols + col] = mu;
    pm2[static_cast<int64_t>(blockIdx.y) * g.cols + col] = t;
  }
}

// Merges the chunks' (mean, M2) in chunk order (Chan et al.), then r_j = 1/sqrt(M2/N + eps).
__global__ void __launch_bounds__(256) col_stats_finalize_kernel(const float* __restrict__ pmean, const float* __restrict__ pm2, ColGeom g, float eps, float* __restrict__ mu, float* __restrict__ rstd) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= g.cols) return;
  float na = 0.0f, mean = 0.0f, m2 = 0.0f;
  for (int64_t c = 0; c < g.chunks; ++c) {
    const float nb = static_cast<float>(lesser(g.chunk, g.rows - c * g.chunk));
    const float n = na + nb;
    const float delta = pmean[c * g.cols + j] - mean;
    mean += delta * (nb / n);
    m2 += pm2[c * g.cols + j] + delta * delta * (na * (nb / n));
    na = n;
  }
  mu[j] = mean;
  rstd[j] = 1.0f / sqrtf(m2 / static_cast<float>(g.rows) + eps);
}

// ---- the Gram matrix ----------------------------------------------------------------------------------------------
// Tile pair t of the upper triangle (tj <= tk) of an nt × nt tile grid, row by row.
EITP_DEV void gram_tile_pair(int t, int nt, int& tj, int& tk) {
  tj = 0;
  while (t >= nt - tj) t -= nt - tj, ++tj;
  tk = tj + t;
}

// Four standardised values of z row `row`, columns col0 + c .. col0 + c + 3 (zeros outside the rows of this chunk
// or the columns). kVec: cols % 4 == 0 and z 16-byte aligned, so the four are one float4, wholly in or out.
template <bool kVec>
EITP_DEV void gram_load(float (&r)[4], const float* __restrict__ z, const ColGeom& g, int64_t row, int64_t row_end, int64_t col0, int c, const float* smu, const float* sr) {
  const int64_t col = col0 + c;
  if (row >= row_end) {
    r[0] = r[1] = r[2] = r[3] = 0.0f;
    return;
  }
  const float* p = z + row * g.cols + col;
  if constexpr (kVec) {
    if (col < g.cols) {
      const float4 v = *reinterpret_cast<const float4*>(p);
      r[0] = (v.x - smu[c]) * sr[c], r[1] = (v.y - smu[c + 1]) * sr[c + 1], r[2] = (v.z - smu[c + 2]) * sr[c + 2], r[3] = (v.w - smu[c + 3]) * sr[c + 3];
    } else {
      r[0] = r[1] = r[2] = r[3] = 0.0f;
    }
  } else {
#pragma unroll
    for (int q = 0; q < 4; ++q) r[q] = col + q < g.cols ? (p[q] - smu[c + q]) * sr[c + q] : 0.0f;
  }
}

// Block (t, s): the 64×64 tile pair t of ẐᵀẐ summed over row chunk s, written to part[s][t][64][64].
template <bool kVec>
__global__ void __launch_bounds__(kGramThreads) gram_partial_kernel(const float* __restrict__ z, const float* __restrict__ mu, const float* __restrict__ rstd, ColGeom g, int nt, float* __restrict__ part) {
  __shared__ __align__(16) float As[2][kGramSlice][kGramTile];
  __shared__ __align__(16) float Bs[2][kGramSlice][kGramTile];
  __shared__ float s_mu[2][kGramTile], s_r[2][kGramTile];
  int tj, tk;
  gram_tile_pair(static_cast<int>(blockIdx.x), nt, tj, tk);
  const bool diag = tj == tk;  // block-uniform: the B tile is the A tile
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
  const int64_t cj = static_cast<int64_t>(tj) * kGramTile, ck = static_cast<int64_t>(tk) * kGramTile;
  if (tid < 2 * kGramTile) {
    const int side = tid / kGramTile, c = tid % kGramTile;
    const int64_t col = (side ? ck : cj) + c;
    s_mu[side][c] = col < g.cols ? mu[col] : 0.0f;
    s_r[side][c] = col < g.cols ? rstd[col] : 0.0f;
  }
  __syncthreads();

  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * g.chunk, r1 = lesser(g.rows, r0 + g.chunk);
  const int64_t slices = (r1 - r0 + kGramSlice - 1) / kGramSlice;
  const int lr = tid >> 4, lc = (tid & 15) * 4;  // this thread stages row lr, columns lc..lc+3 of each slice
  float ra[4], rb[4] = {0.0f, 0.0f, 0.0f, 0.0f};  // rb stays unused in diagonal tiles
  float acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] = 0.0f;

  gram_load<kVec>(ra, z, g, r0 + lr, r1, cj, lc, s_mu[0], s_r[0]);
  *reinterpret_cast<float4*>(&As[0][lr][lc]) = make_float4(ra[0], ra[1], ra[2], ra[3]);
  if (!diag) {
    gram_load<kVec>(rb, z, g, r0 + lr, r1, ck, lc, s_mu[1], s_r[1]);
    *reinterpret_cast<float4*>(&Bs[0][lr][lc]) = make_float4(rb[0], rb[1], rb[2], rb[3]);
  }
  __syncthreads();
  for (int64_t s = 0; s < slices; ++s) {
    const int cur = static_cast<int>(s & 1);
    const bool more = s + 1 < slices;
    // The next slice's global loads are issued before this slice's arithmetic.
    if (more) {
      const int64_t row = r0 + (s + 1) * kGramSlice + lr;
      gram_load<kVec>(ra, z, g, row, r1, cj, lc, s_mu[0], s_r[0]);
      if (!diag) gram_load<kVec>(rb, z, g, row, r1, ck, lc, s_mu[1], s_r[1]);
    }
    const float(*A)[kGramTile] = As[cur];
    const float(*B)[kGramTile] = diag ? As[cur] : Bs[cur];
#pragma unroll
    for (int kk = 0; kk < kGramSlice; ++kk) {
      // A reads: two addresses per warp (broadcast); B reads: 16 consecutive float4s (conflict-free).
      const float4 a4 = *reinterpret_cast<const float4*>(&A[kk][ty * 4]);
      const float4 b4 = *reinterpret_cast<const float4*>(&B[kk][tx * 4]);
      const float a[4] = {a4.x, a4.y, a4.z, a4.w}, b[4] = {b4.x, b4.y, b4.z, b4.w};
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
    }
    // The other buffer was last read during the previous slice, which ended with a barrier.
    if (more) {
      *reinterpret_cast<float4*>(&As[cur ^ 1][lr][lc]) = make_float4(ra[0], ra[1], ra[2], ra[3]);
      if (!diag) *reinterpret_cast<float4*>(&Bs[cur ^ 1][lr][lc]) = make_float4(rb[0], rb[1], rb[2], rb[3]);
    }
    __syncthreads();
  }
  float* o = part + (static_cast<int64_t>(blockIdx.y) * gridDim.x + blockIdx.x) * (kGramTile * kGramTile);
#pragma unroll
  for (int i = 0; i < 4; ++i) *reinterpret_cast<float4*>(&o[(ty * 4 + i) * kGramTile + tx * 4]) = make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
}

// R from the chunks' partial tiles. Block (t, q): the 16×16 sub-tile q = (a, b) of tile pair t, one element a
// thread, summed over the chunks in order and divided by N. In a diagonal tile pair only the sub-tiles with a <= b
// run, and a diagonal sub-tile takes every value from its upper element; every other sub-tile writes its values to
// R[j, k] and, transposed through shared memory, to R[k, j]. So each R[j, k] = R[k, j] comes from one sum.
constexpr int kStoreSub = 16;                                 // sub-tile side
constexpr int kStoreSubs = kGramTile / kStoreSub;             // sub-tiles per tile side
__global__ void __launch_bounds__(kStoreSub * kStoreSub) gram_store_kernel(const float* __restrict__ part, int64_t chunks, int tiles, int nt, int64_t cols, float rows, float* __restrict__ r) {
  __shared__ float s[kStoreSub][kStoreSub + 1];
  int tj, tk;
  gram_tile_pair(static_cast<int>(blockIdx.x), nt, tj, tk);
  const int a = static_cast<int>(blockIdx.y) / kStoreSubs, b = static_cast<int>(blockIdx.y) % kStoreSubs;
  if (tj == tk && a > b) return;  // the whole block: the mirror image of sub-tile (b, a)
  const int y = threadIdx.x / kStoreSub, x = threadIdx.x % kStoreSub;
  const int e = (a * kStoreSub + y) * kGramTile + b * kStoreSub + x;
  float sum = 0.0f;
  for (int64_t c = 0; c < chunks; ++c) sum += part[(c * tiles + blockIdx.x) * (kGramTile * kGramTile) + e];
  s[y][x] = sum / rows;
  __syncthreads();
  const int64_t j0 = static_cast<int64_t>(tj) * kGramTile + a * kStoreSub, k0 = static_cast<int64_t>(tk) * kGramTile + b * kStoreSub;
  if (tj == tk && a == b) {
    if (j0 + y < cols && k0 + x < cols) r[(j0 + y) * cols + k0 + x] = y <= x ? s[y][x] : s[x][y];
    return;
  }
  if (j0 + y < cols && k0 + x < cols) r[(j0 + y) * cols + k0 + x] = s[y][x];
  if (k0 + y < cols && j0 + x < cols) r[(k0 + y) * cols + j0 + x] = s[x][y];
}

// S = (g + gᵀ)/N for g [cols, cols]: exactly symmetric (the sum is commutative).
__global__ void __launch_bounds__(256) sym_scaled_kernel(const float* __restrict__ g, int64_t cols, float rows, float* __restrict__ s) {
  const int64_t n = cols * cols, step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t j = i / cols, k = i % cols;
    s[i] = (g[i] + g[k * cols + j]) / rows;
  }
}

// ---- the backward's elementwise and column passes ---------------------------------------------------------------
__global__ void __launch_bounds__(256) standardize_kernel(const float* __restrict__ z, const float* __restrict__ mu, const float* __restrict__ rstd, ColGeom g, float* __restrict__ zhat) {
  const int64_t n = g.rows * g.cols, step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t j = i % g.cols;
    zhat[i] = (z[i] - mu[j]) * rstd[j];
  }
}

// Per (32 columns × row chunk): Σ a and Σ a·b over the chunk's rows, like col_stats_kernel's layout.
__global__ void __launch_bounds__(256) col_dot_kernel(const float* __restrict__ a, const float* __restrict__ b, ColGeom g, float* __restrict__ pa, float* __restrict__ pab) {
  __shared__ float red[2][8][33];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t col = static_cast<int64_t>(blockIdx.x) * 32 + tx;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * g.chunk, r1 = lesser(g.rows, r0 + g.chunk);
  const bool ok = col < g.cols;
  float sa = 0.0f, sab = 0.0f;
  if (ok)
    for (int64_t r = r0 + ty; r < r1; r += 8) {
      const float x = a[r * g.cols + col];
      sa += x;
      sab += x * b[r * g.cols + col];
    }
  red[0][ty][tx] = sa, red[1][ty][tx] = sab;
  __syncthreads();
  if (ty == 0 && ok) {
    float ta = 0.0f, tab = 0.0f;
    for (int y = 0; y < 8; ++y) ta += red[0][y][tx], tab += red[1][y][tx];
    pa[static_cast<int64_t>(blockIdx.y) * g.cols + col] = ta;
    pab[static_cast<int64_t>(blockIdx.y) * g.cols + col] = tab;
  }
}

__global__ void __launch_bounds__(256) col_mean2_kernel(const float* __restrict__ pa, const float* __restrict__ pab, ColGeom g, float* __restrict__ ma, float* __restrict__ mab) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= g.cols) return;
  float sa = 0.0f, sab = 0.0f;
  for (int64_t c = 0; c < g.chunks; ++c) sa += pa[c * g.cols + j], sab += pab[c * g.cols + j];
  ma[j] = sa / static_cast<float>(g.rows);
  mab[j] = sab / static_cast<float>(g.rows);
}

// dz = r (dẐ − mean dẐ − Ẑ·mean(dẐ Ẑ)), in place over dẐ.
__global__ void __launch_bounds__(256) correlation_grad_out_kernel(float* __restrict__ dz, const float* __restrict__ zhat, const float* __restrict__ rstd, const float* __restrict__ ma, const float* __restrict__ mab, ColGeom g) {
  const int64_t n = g.rows * g.cols, step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t j = i % g.cols;
    dz[i] = rstd[j] * (dz[i] - ma[j] - zhat[i] * mab[j]);
  }
}

}  // namespace eitp
