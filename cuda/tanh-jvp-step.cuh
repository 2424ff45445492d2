// The FTLE's fused tanh-layer step (engine/ops/tanh-jvp-step.ts) and its backward, one launch each, a block per row b:
//   p = v Wᵀ, δ = (1 − h²) ⊙ p, g = ‖δ‖, u = δ/g, ℓ = ln g;
//   tanh_jvp_step_kernel       y [B, out + 1] = [u | ℓ];
//   tanh_jvp_step_grad_kernel  z [2, B, out] = [dp; dh] for gy = [ḡ_u | ḡ_ℓ] [B, out + 1]: with s = Σ u ḡ_u,
//       dδ = (ḡ_u − u s + u ḡ_ℓ)/g, dp = (1 − h²) ⊙ dδ, dh = −2h ⊙ p ⊙ dδ (p recomputed, never δ/(1 − h²)).
// Pass 1 (step_row_products): the row of v is staged in shared memory (in tiles of kStepTile, read through its
// strides, so a strided view such as the previous step's direction costs no copy); groups of kStepLanes lanes share
// one output j, each lane walking its slice of w's row j (coalesced, float4 when aligned), then a shuffle sum. The
// group's first lane runs the epilogue for j: it adds its δ² (and δ ḡ_u) to its thread's partial sums and parks δ
// (forward) or p (backward) in the output row, which serves as the row's scratch. Block reductions give Σδ² and
// Σδ ḡ_u; pass 2 walks the row with the whole block (coalesced) and writes the outputs over the parked values.
// h, w and gy are dense; h and gy row b start at b·out and b·(out + 1).
#pragma once
#include "common.cuh"

namespace eitp {

// v floats staged per pass over `in` (16 KiB of shared memory); a longer row takes several passes, the partial
// products waiting in the output row between them.
constexpr int kStepTile = 4096;
// Lanes per output: each group reads 8 floats (scalar) or 8 float4 (vector) of w's row per step, so every load
// instruction of a warp covers whole 32- or 128-byte segments; 4 outputs per warp step.
constexpr int kStepLanes = 8;
constexpr int kStepThreadsMax = 256;

EITP_HD float tanh_slope(float h) { return 1.0f - h * h; }

// p_j for every output j of row `v_row` (element k at v_row[k·v_cs]): calls epi(j, p_j) once per j, from one lane.
// Every thread of the block must call it (it stages through shared memory between barriers).
template <bool kVec, class Epi>
EITP_DEV void step_row_products(const float* __restrict__ v_row, int64_t v_cs, const float* __restrict__ w, float* part, int64_t out_f, int64_t in_f,
                                float* vs, Epi epi) {
  constexpr int kGroups = 32 / kStepLanes;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  const int sub = lane % kStepLanes;
  for (int64_t k0 = 0;; k0 += kStepTile) {
    const int kn = static_cast<int>(lesser<int64_t>(kStepTile, in_f - k0));  // 0 only when in_f == 0
    const bool last = k0 + kStepTile >= in_f;
    __syncthreads();  // every warp is done with the previous tile
    for (int k = threadIdx.x; k < kn; k += blockDim.x) vs[k] = v_row[(k0 + k) * v_cs];
    __syncthreads();
    // jb is warp-uniform, so all 32 lanes reach the shuffles; lanes past the last output add zeros.
    for (int64_t jb = static_cast<int64_t>(warp) * kGroups; jb < out_f; jb += static_cast<int64_t>(warps) * kGroups) {
      const int64_t j = jb + lane / kStepLanes;
      float acc = 0.0f;
      if (j < out_f) {
        const float* wr = w + j * in_f + k0;
        if constexpr (kVec) {
          const float4* w4 = reinterpret_cast<const float4*>(wr);
          const float4* v4 = reinterpret_cast<const float4*>(vs);
          for (int q = sub; q < kn / 4; q += kStepLanes) {
            const float4 a = w4[q], b = v4[q];
            acc += a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
          }
        } else {
          for (int k = sub; k < kn; k += kStepLanes) acc += wr[k] * vs[k];
        }
      }
#pragma unroll
      for (int m = kStepLanes / 2; m > 0; m >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, m);
      if (sub == 0 && j < out_f) {
        const float p = k0 == 0 ? acc : part[j] + acc;
        if (last) epi(j, p);
        else part[j] = p;
      }
    }
    if (last) break;
  }
}

// y [B, out + 1]: y[b, 0:out] = δ/g, y[b, out] = ln g. v row b at v + b·v_rs (+ k·v_cs).
template <bool kVec>
__global__ void __launch_bounds__(kStepThreadsMax) tanh_jvp_step_kernel(const float* __restrict__ h, const float* __restrict__ v, int64_t v_rs, int64_t v_cs,
                                                                       const float* __restrict__ w, float* __restrict__ y, int64_t out_f, int64_t in_f) {
  __shared__ float red[32];
  EITP_DYN_SHARED(float, vs);
  const int64_t b = blockIdx.x;
  const float* hr = h + b * out_f;
  float* yr = y + b * (out_f + 1);
  float ss = 0.0f;
  step_row_products<kVec>(v + b * v_rs, v_cs, w, yr, out_f, in_f, vs, [&](int64_t j, float p) {
    const float d = tanh_slope(hr[j]) * p;
    yr[j] = d;
    ss += d * d;
  });
  // block_reduce's barriers also make the parked δ visible to the whole block.
  const float g = sqrtf(block_reduce(ss, AddF(), 0.0f, red));
  for (int64_t j = threadIdx.x; j < out_f; j += blockDim.x) yr[j] = yr[j] / g;
  if (threadIdx.x == 0) yr[out_f] = logf(g);
}

// z [2, B, out] = [dp; dh] from gy [B, out + 1]. p is parked in dh's row during pass 1.
template <bool kVec>
__global__ void __launch_bounds__(kStepThreadsMax) tanh_jvp_step_grad_kernel(const float* __restrict__ h, const float* __restrict__ v, int64_t v_rs, int64_t v_cs,
                                                                            const float* __restrict__ w, const float* __restrict__ gy, float* __restrict__ z,
                                                                            int64_t batch, int64_t out_f, int64_t in_f) {
  __shared__ float red[32];
  EITP_DYN_SHARED(float, vs);
  const int64_t b = blockIdx.x;
  const float* hr = h + b * out_f;
  const float* gr = gy + b * (out_f + 1);
  float* dp = z + b * out_f;
  float* dh = z + (batch + b) * out_f;
  float ss = 0.0f, sg = 0.0f;
  step_row_products<kVec>(v + b * v_rs, v_cs, w, dh, out_f, in_f, vs, [&](int64_t j, float p) {
    const float d = tanh_slope(hr[j]) * p;
    dh[j] = p;
    ss += d * d;
    sg += d * gr[j];
  });
  const float g = sqrtf(block_reduce(ss, AddF(), 0.0f, red));
  const float s = block_reduce(sg, AddF(), 0.0f, red) / g;  // Σ u ḡ_u = Σ δ ḡ_u / g
  const float gl = gr[out_f];
  for (int64_t j = threadIdx.x; j < out_f; j += blockDim.x) {
    const float p = dh[j], y = hr[j], slope = tanh_slope(y);
    const float u = slope * p / g;
    const float dd = (gr[j] - u * s + u * gl) / g;
    dp[j] = slope * dd;
    dh[j] = -2.0f * y * p * dd;
  }
}

}  // namespace eitp
