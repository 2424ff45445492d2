// The thermodynamic term's activation density and its backward (semantics: engine/backends/cpu/activation-density.ts):
//   activationDensity     ρ = (1/n)·Σ_i a_i²/(a_i² + c),  c = τ² + eps;
//   activationDensityGrad out_i = g·2·a_i·c/(a_i² + c)²/n.
// τ and g are one-element device tensors read inside the kernels (reading them back to the host would stall the
// training step); eps arrives as the attribute's double.
//
// Forward, deterministic (no float atomics, so ρ is bit-identical from run to run):
//   1. density_partial_kernel: grid-stride over a (float4 loads when a is dense and 16-byte aligned, else read
//      through its strides); each thread accumulates in double, the block reduces with warp shuffles and shared
//      memory, and writes one partial sum per block. The grid depends only on n and is capped at
//      kDensityMaxBlocks, so the order of every sum depends only on n.
//   2. finish_partials_kernel (partials.cuh): one block sums the (at most kDensityMaxBlocks) partials in a fixed
//      order and divides by n in double.
// Backward: one grid-stride elementwise pass (float4 loads and stores on the dense aligned path).
//
// Both use x = a/√c (as a·(1/√c), one rounding of 1/√c per launch): a²/(a² + c) = x²/(x² + 1) and
// 2ac/(a² + c)² = (2/√c)·x/(x² + 1)², so neither a² (overflows f32 for |a| > 1.8e19) nor c (underflows for tiny
// τ² + eps) is formed in f32. Where x² is not finite (|a| ≫ √c, ±∞, NaN, c = 0, or 1/√c beyond f32), the element
// takes the reference's formula in double instead: the rare inputs get the reference's value (1 for huge |a|,
// NaN for ±∞ and for a = 0 with c = 0), the common ones one f32 division.
#pragma once
#include "common.cuh"
#include "partials.cuh"

namespace eitp {

constexpr int kDensityThreads = 256;
// At most this many partial sums: the finishing pass is one block. 1024 blocks of 256 threads are about one full
// wave on an H100 / H200 (132 SMs × 2048 threads).
constexpr int kDensityMaxBlocks = 1024;

// The per-launch constants, from the device-resident τ (and g). Thread 0 of each block computes them and shares
// them through shared memory: the double division and square root are slow on GPUs with few FP64 units, and one
// warp per block doing them costs an eighth of every warp doing them.
struct DensityConst {
  double c;     // τ² + eps, as the reference takes it
  float inv_s;  // 1/√c rounded to f32; ∞ (c = 0, or 1/√c beyond f32) or NaN (c = ∞ or NaN) sends every element to
                // the fallback, whose double arithmetic gives the reference's NaNs and limits
};

EITP_DEV DensityConst density_const(const float* tau, double eps) {
  const double t = static_cast<double>(*tau);
  const double c = t * t + eps;
  return DensityConst{c, c < INFINITY ? static_cast<float>(1.0 / sqrt(c)) : NAN};
}

// The reference's a²/(a² + c) in double, for the elements whose x² is not a finite f32.
EITP_DEV float density_term_ref(float a, double c) {
  const double a2 = static_cast<double>(a) * a;
  return static_cast<float>(a2 / (a2 + c));
}

EITP_DEV float density_term(float a, const DensityConst& k) {
  const float x = a * k.inv_s;
  const float x2 = x * x;
  if (x2 < INFINITY) return x2 / (x2 + 1.0f);  // false for NaN too
  return density_term_ref(a, k.c);
}

template <bool Vec>
__global__ void __launch_bounds__(kDensityThreads) density_partial_kernel(const float* __restrict__ a, Shape shape, Strides st, int64_t n, const float* __restrict__ tau, double eps,
                                                                         double* __restrict__ partial) {
  __shared__ double scratch[32];
  __shared__ DensityConst s_k;
  if (threadIdx.x == 0) s_k = density_const(tau, eps);
  __syncthreads();
  const DensityConst k = s_k;
  const int64_t step = static_cast<int64_t>(gridDim.x) * kDensityThreads;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * kDensityThreads + threadIdx.x;
  double acc = 0.0;
  if constexpr (Vec) {
    // Dense from st.offset, 16-byte aligned: n/4 float4 loads (a quarter of the double adds), then the last n % 4
    // elements, one each for the first threads of the grid.
    const float* base = a + st.offset;
    const float4* a4 = reinterpret_cast<const float4*>(base);
    const int64_t n4 = n / 4;
#pragma unroll 4
    for (int64_t i = first; i < n4; i += step) {
      const float4 v = a4[i];
      acc += static_cast<double>((density_term(v.x, k) + density_term(v.y, k)) + (density_term(v.z, k) + density_term(v.w, k)));
    }
    if (first < n - 4 * n4) acc += static_cast<double>(density_term(base[4 * n4 + first], k));
  } else {
    for (int64_t i = first; i < n; i += step) acc += static_cast<double>(density_term(a[strided_index(shape, st, i)], k));
  }
  const double total = block_reduce(acc, AddF(), 0.0, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

// Backward constants: the launch's DensityConst and k2 = 2g/(n√c) rounded to f32, so out = k2·x/(x² + 1)².
struct DensityGradConst {
  DensityConst d;
  double g_over_n;  // g/n, for the fallback
  float k2;
};

EITP_DEV DensityGradConst density_grad_const(const float* tau, const float* g, double eps, int64_t n) {
  const DensityConst d = density_const(tau, eps);
  const double gn = static_cast<double>(*g) / static_cast<double>(n);
  return DensityGradConst{d, gn, static_cast<float>(2.0 * gn / sqrt(d.c))};
}

EITP_DEV float density_grad_term(float a, const DensityGradConst& k) {
  const float x = a * k.d.inv_s;
  const float x2 = x * x;
  // r = 1/(x² + 1) once, then (x·r)·r: x·r ≤ 1/2, so nothing overflows where the value is an f32.
  if (x2 < INFINITY && fabsf(k.k2) < INFINITY) {
    const float r = 1.0f / (x2 + 1.0f);
    return k.k2 * ((x * r) * r);
  }
  // The reference's 2ac/(a² + c)²·g/n in double (huge |a|, ±∞, NaN, c = 0, or a g/√c beyond f32).
  const double ad = a, den = ad * ad + k.d.c;
  return static_cast<float>(2.0 * ad * k.d.c / (den * den) * k.g_over_n);
}

template <bool Vec>
__global__ void __launch_bounds__(256) density_grad_kernel(const float* __restrict__ a, Shape shape, Strides st, int64_t n, const float* __restrict__ tau, const float* __restrict__ g,
                                                           double eps, float* __restrict__ out) {
  __shared__ DensityGradConst s_k;
  if (threadIdx.x == 0) s_k = density_grad_const(tau, g, eps, n);
  __syncthreads();
  const DensityGradConst k = s_k;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if constexpr (Vec) {
    const float* base = a + st.offset;
    const float4* a4 = reinterpret_cast<const float4*>(base);
    float4* o4 = reinterpret_cast<float4*>(out);
    const int64_t n4 = n / 4;
    for (int64_t i = first; i < n4; i += step) {
      const float4 v = a4[i];
      o4[i] = make_float4(density_grad_term(v.x, k), density_grad_term(v.y, k), density_grad_term(v.z, k), density_grad_term(v.w, k));
    }
    const int64_t t = 4 * n4 + first;
    if (t < n) out[t] = density_grad_term(base[t], k);
  } else {
    for (int64_t i = first; i < n; i += step) out[i] = density_grad_term(a[strided_index(shape, st, i)], k);
  }
}

}  // namespace eitp
