// The soft histogram of EIT-P's parameter entropy and its backward (semantics: engine/backends/cpu/eitp-fused.ts).
// Value u takes part in the bins of its nearest bin ± window with weights a_k = softmax_k(−(u − c_k)²/(2h²));
// counts_k = Σ_i a_ik.
//
// Forward, deterministic (no float atomics, so a histogram is bit-identical from run to run on a given grid):
//   1. soft_hist_partial_kernel: each warp takes 32 values at a time; every lane finds its value's window (and
//      offset from its nearest centre), the max logit and 1/Σexp, stages them in shared memory, then the warp walks the 32 values one by one with its
//      lanes spread over the value's window (32 consecutive bins per step), adding into a histogram that only
//      this warp writes, each bin only by one lane: no atomics and no block barriers in the loop. The warps'
//      histograms (shared memory, or a global spill area when bins × warps does not fit) are summed in warp
//      order into one partial histogram per block.
//   2. soft_hist_reduce_kernel: sums the blocks' partial histograms in block order (coalesced: 32 bins × 8 rows
//      of blocks per thread block).
// The grid is capped at a fixed count (independent of the device), so the summation order depends only on n.
//
// Backward: one grid-stride pass, g staged in shared memory; per value three walks over its window (max logit, then
// the softmax's normaliser, then the gradient), in a form centred on the heaviest bin that keeps f32 accurate.
#pragma once
#include "common.cuh"

namespace eitp {

constexpr int kHistThreads = 256;
constexpr int kHistWarps = kHistThreads / 32;

// One value's place on the histogram: its window of bins [lo, hi] (empty for NaN, which the reference skips), its
// nearest bin n and t = u − c_n. Logits use c_k − u = (k − n)·width − t: t is taken once per value in double (the
// attributes as given, not rounded to f32), so a histogram whose bandwidth is tiny next to |c| keeps f32 accuracy;
// (k − n)·width is small and exact to f32 rounding.
struct HistValue {
  int lo, hi, n;
  float t;
};

EITP_DEV HistValue hist_value(float u, const SoftHist& p) {
  if (is_nan(u)) return HistValue{0, -1, 0, 0.0f};
  const float f = floorf((u - p.low) / p.width);
  // Compared as floats first: ±inf and huge values clamp without an out-of-range float-to-int conversion.
  const int n = f >= static_cast<float>(p.bins - 1) ? p.bins - 1 : (f > 0.0f ? static_cast<int>(f) : 0);
  const float t = static_cast<float>(static_cast<double>(u) - (p.low_d + (n + 0.5) * p.width_d));
  return HistValue{greater(0, n - p.window), lesser(p.bins - 1, n + p.window), n, t};
}

// ±inf values have t = ±inf: every logit is −inf and every weight NaN afterwards, as in the reference.
EITP_DEV float hist_logit(const HistValue& v, int k, const SoftHist& p) {
  const float d = static_cast<float>(k - v.n) * p.width - v.t;
  return -(d * d) * p.inv_2h2;
}

// The largest logit of the window (the softmax's shift) and its bin.
EITP_DEV float hist_max(const HistValue& v, const SoftHist& p, int* top) {
  float m = -INFINITY;
  *top = v.lo;
  for (int k = v.lo; k <= v.hi; ++k) {
    const float l = hist_logit(v, k, p);
    if (l > m) m = l, *top = k;
  }
  return m;
}

__global__ void __launch_bounds__(kHistThreads) soft_hist_partial_kernel(const float* __restrict__ u, SoftHist p, float* __restrict__ spill, float* __restrict__ partial) {
  EITP_DYN_SHARED(float, smem);
  // One value per lane, staged for its warp: its logit shift, 1/Σexp and window.
  __shared__ float s_t[kHistWarps][32], s_m[kHistWarps][32], s_iz[kHistWarps][32];
  __shared__ int s_n[kHistWarps][32], s_lo[kHistWarps][32], s_hi[kHistWarps][32];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int bins = p.bins;
  float* block_hist = spill ? spill + static_cast<int64_t>(blockIdx.x) * kHistWarps * bins : smem;
  float* hist = block_hist + warp * bins;
  for (int k = lane; k < bins; k += 32) hist[k] = 0.0f;

  const int64_t stride = static_cast<int64_t>(gridDim.x) * kHistThreads;
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kHistThreads + warp * 32; base < p.n; base += stride) {
    const int64_t i = base + lane;
    HistValue v{0, -1, 0, 0.0f};
    float m = 0.0f, iz = 0.0f;
    if (i < p.n) {
      v = hist_value(u[i], p);
      int top;
      m = hist_max(v, p, &top);
      float z = 0.0f;
      for (int k = v.lo; k <= v.hi; ++k) z += expf(hist_logit(v, k, p) - m);
      iz = 1.0f / z;
    }
    s_t[warp][lane] = v.t, s_m[warp][lane] = m, s_iz[warp][lane] = iz;
    s_n[warp][lane] = v.n, s_lo[warp][lane] = v.lo, s_hi[warp][lane] = v.hi;
    __syncwarp();
    const int count = static_cast<int>(lesser<int64_t>(32, p.n - base));
    for (int e = 0; e < count; ++e) {
      const HistValue ve{s_lo[warp][e], s_hi[warp][e], s_n[warp][e], s_t[warp][e]};
      const float me = s_m[warp][e], ize = s_iz[warp][e];
      // Warp-uniform bounds: lanes cover 32 consecutive bins per step; lanes outside the window idle.
      for (int k0 = ve.lo & ~31; k0 <= ve.hi; k0 += 32) {
        const int k = k0 + lane;
        if (k >= ve.lo && k <= ve.hi) hist[k] += expf(hist_logit(ve, k, p) - me) * ize;
      }
    }
    __syncwarp();  // the staging slots are rewritten by the next round
  }
  __syncthreads();
  for (int k = threadIdx.x; k < bins; k += kHistThreads) {
    float s = 0.0f;
    for (int w = 0; w < kHistWarps; ++w) s += block_hist[w * bins + k];
    partial[static_cast<int64_t>(blockIdx.x) * bins + k] = s;
  }
}

// out[k] = Σ_b partial[b][k], b in order. Block (32, 8): x picks the bin (coalesced rows), y strides the blocks.
__global__ void __launch_bounds__(256) soft_hist_reduce_kernel(const float* __restrict__ partial, int64_t blocks, int bins, float* __restrict__ out) {
  __shared__ float red[8][33];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int k = blockIdx.x * 32 + tx;
  float s = 0.0f;
  if (k < bins)
    for (int64_t b = ty; b < blocks; b += 8) s += partial[b * bins + k];
  red[ty][tx] = s;
  __syncthreads();
  if (ty == 0 && k < bins) {
    float t = 0.0f;
    for (int y = 0; y < 8; ++y) t += red[y][tx];
    out[k] = t;
  }
}

// du_i = Σ_k a_ik (g_k − ḡ_i)(c_k − u_i)/h². g comes from shared memory when it fits (g_shared, block-uniform).
// Evaluated around the window's heaviest bin n (largest logit): since Σ_k a_k (g_k − ḡ) = 0,
//   du = Σ_k a_k (δ_k − s)(k − n)·width/h²,  δ_k = g_k − g_n,  s = Σ_k a_k δ_k (= ḡ − g_n),
// in which bin n's term is exactly 0. The direct form multiplies the rounding error of g_n − ḡ (two nearly equal
// numbers when one bin dominates, e.g. u outside the histogram's range) by (c_n − u)/h², which costs f32 several
// digits; this form keeps every term small and accurate.
__global__ void __launch_bounds__(256) soft_hist_grad_kernel(const float* __restrict__ u, const float* __restrict__ g, SoftHist p, int g_shared, float* __restrict__ du) {
  EITP_DYN_SHARED(float, smem);
  const float* gs = g;
  if (g_shared) {
    for (int k = threadIdx.x; k < p.bins; k += blockDim.x) smem[k] = g[k];
    __syncthreads();
    gs = smem;
  }
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += step) {
    const HistValue v = hist_value(u[i], p);
    if (v.lo > v.hi) {
      du[i] = 0.0f;  // NaN: no bins, no gradient (as the reference)
      continue;
    }
    int top;
    const float m = hist_max(v, p, &top);
    const float gn = gs[top];
    float z = 0.0f, zd = 0.0f;
    for (int k = v.lo; k <= v.hi; ++k) {
      const float e = expf(hist_logit(v, k, p) - m);
      z += e;
      zd += e * (gs[k] - gn);
    }
    const float shift = zd / z;
    float acc = 0.0f;
    for (int k = v.lo; k <= v.hi; ++k) {
      const float e = expf(hist_logit(v, k, p) - m);
      acc += e * ((gs[k] - gn) - shift) * (static_cast<float>(k - top) * p.width);
    }
    du[i] = acc / z * p.inv_h2;
  }
}

}  // namespace eitp
