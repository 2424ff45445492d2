// Fused neural-network kernels on dense inputs: softmax / logSoftmax, its backward softmaxGrad and that one's
// softmaxGradGrad, softmax
// cross-entropy and layerNorm. Rows are handled by one block each (threads stride over the row; block reductions
// combine), except softmax and softmaxGrad along a non-last axis, where each thread walks one strided line and
// neighbouring threads read neighbouring addresses. Semantics follow engine/backends/cpu/nn.ts.
#pragma once
#include "common.cuh"

namespace eitp {

// A row's max (NaN if any element is NaN) and Σ exp(x − max), reduced over the block: every thread gets both.
EITP_DEV void row_max_sumexp(const float* xr, int64_t len, float* scratch, float& m, float& z) {
  m = -INFINITY;
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x) m = MaxNanF()(m, xr[j]);
  m = block_reduce(m, MaxNanF(), -INFINITY, scratch);
  z = 0.0f;
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x) z += expf(xr[j] - m);
  z = block_reduce(z, AddF(), 0.0f, scratch);
}

// Softmax over rows of `len` contiguous elements: max, then sum of exp, then write (three passes over the row).
// Outputs are formed from x − max (exp(x − m)/z, or (x − m) − log z), never as x − (m + log z): in f32, m + log z
// drops log z when |m| is large (logits of hundreds with one dominant entry), which costs the small probabilities
// and the gradients built from them most of their digits. The reference computes in f64, where it does not matter.
__global__ void __launch_bounds__(256) softmax_rows_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t rows, int64_t len, int log_out) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const float* xr = x + row * len;
  float* yr = y + row * len;
  float m, z;
  row_max_sumexp(xr, len, scratch, m, z);
  const float lz = logf(z);
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
    const float v = xr[j] - m;
    yr[j] = log_out ? v - lz : expf(v) / z;
  }
}

// Softmax along an axis with `inner` > 1 elements after it: thread (p, q) handles the line s + j·inner.
__global__ void __launch_bounds__(256) softmax_lines_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t outer, int64_t len, int64_t inner, int log_out) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= outer * inner) return;
  const int64_t p = t / inner, q = t - p * inner;
  const int64_t s = p * len * inner + q;
  float m = -INFINITY;
  for (int64_t j = 0; j < len; ++j) m = MaxNanF()(m, x[s + j * inner]);
  float z = 0.0f;
  for (int64_t j = 0; j < len; ++j) z += expf(x[s + j * inner] - m);
  const float lz = logf(z);
  for (int64_t j = 0; j < len; ++j) {
    const float v = x[s + j * inner] - m;
    y[s + j * inner] = log_out ? v - lz : expf(v) / z;
  }
}

// softmaxGrad over rows of `len` contiguous elements: out = y ⊙ (g − Σ g ⊙ y), the dot summed in f32 over the block
// as softmax sums its exponentials; two passes over the row. A NaN anywhere in the row makes the dot, and so the
// whole row, NaN, as in the reference.
__global__ void __launch_bounds__(256) softmax_grad_rows_kernel(const float* __restrict__ y, const float* __restrict__ g, float* __restrict__ out, int64_t rows, int64_t len) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const float* yr = y + row * len;
  const float* gr = g + row * len;
  float* orow = out + row * len;
  float dot = 0.0f;
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x) dot += gr[j] * yr[j];
  dot = block_reduce(dot, AddF(), 0.0f, scratch);
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x) orow[j] = yr[j] * (gr[j] - dot);
}

// softmaxGrad along an axis with `inner` > 1 elements after it: thread (p, q) handles the line s + j·inner.
__global__ void __launch_bounds__(256) softmax_grad_lines_kernel(const float* __restrict__ y, const float* __restrict__ g, float* __restrict__ out, int64_t outer, int64_t len, int64_t inner) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= outer * inner) return;
  const int64_t p = t / inner, q = t - p * inner;
  const int64_t s = p * len * inner + q;
  float dot = 0.0f;
  for (int64_t j = 0; j < len; ++j) dot += g[s + j * inner] * y[s + j * inner];
  for (int64_t j = 0; j < len; ++j) out[s + j * inner] = y[s + j * inner] * (g[s + j * inner] - dot);
}

// softmaxGradGrad (engine/ops/softmax-grad-grad.ts) over rows of `len` contiguous elements: out = [ȳ; ḡ] with
// ȳ = o ⊙ (g − Σ g ⊙ y) − g ⊙ Σ o ⊙ y and ḡ = y ⊙ (o − Σ o ⊙ y), `half` elements apart; both sums in f32 over the block.
__global__ void __launch_bounds__(256) softmax_grad_grad_rows_kernel(const float* __restrict__ y, const float* __restrict__ g, const float* __restrict__ o,
                                                                     float* __restrict__ out, int64_t len, int64_t half) {
  __shared__ float scratch[32];
  const int64_t base = static_cast<int64_t>(blockIdx.x) * len;
  float gy = 0.0f, oy = 0.0f;
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
    gy += g[base + j] * y[base + j];
    oy += o[base + j] * y[base + j];
  }
  gy = block_reduce(gy, AddF(), 0.0f, scratch);
  oy = block_reduce(oy, AddF(), 0.0f, scratch);
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
    const int64_t i = base + j;
    out[i] = o[i] * (g[i] - gy) - g[i] * oy;
    out[half + i] = y[i] * (o[i] - oy);
  }
}

// The same along an axis with `inner` > 1 elements after it: thread (p, q) handles the line s + j·inner.
__global__ void __launch_bounds__(256) softmax_grad_grad_lines_kernel(const float* __restrict__ y, const float* __restrict__ g, const float* __restrict__ o,
                                                                      float* __restrict__ out, int64_t outer, int64_t len, int64_t inner) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= outer * inner) return;
  const int64_t p = t / inner, q = t - p * inner;
  const int64_t s = p * len * inner + q, half = outer * len * inner;
  float gy = 0.0f, oy = 0.0f;
  for (int64_t j = 0; j < len; ++j) {
    gy += g[s + j * inner] * y[s + j * inner];
    oy += o[s + j * inner] * y[s + j * inner];
  }
  for (int64_t j = 0; j < len; ++j) {
    const int64_t i = s + j * inner;
    out[i] = o[i] * (g[i] - gy) - g[i] * oy;
    out[half + i] = y[i] * (o[i] - oy);
  }
}

// Per-row loss = logsumexp(row) − row[target]. An out-of-range target is recorded and gives NaN.
__global__ void __launch_bounds__(256) cross_entropy_kernel(const float* __restrict__ logits, const int32_t* __restrict__ targets, float* __restrict__ loss, int64_t rows, int64_t classes, DeviceError* err) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const float* xr = logits + row * classes;
  float m, z;
  row_max_sumexp(xr, classes, scratch, m, z);
  if (threadIdx.x != 0) return;
  const int32_t t = targets[row];
  if (t < 0 || t >= classes) {
    report_index_error(err, kErrCrossEntropy, row, t, classes);
    loss[row] = NAN;
    return;
  }
  loss[row] = (m - xr[t]) + logf(z);  // from x − m, as in softmax_rows_kernel
}

// y = (x − mean) · rstd · w + b over rows of d; the variance is taken around the mean (two passes), as the
// reference does, which avoids E[x²] − E[x]² cancellation.
__global__ void __launch_bounds__(256) layer_norm_kernel(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ b, float* __restrict__ y, int64_t rows, int64_t d, float eps) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const float* xr = x + row * d;
  float s = 0.0f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) s += xr[j];
  const float mu = block_reduce(s, AddF(), 0.0f, scratch) / static_cast<float>(d);
  float v = 0.0f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) v += (xr[j] - mu) * (xr[j] - mu);
  const float var = block_reduce(v, AddF(), 0.0f, scratch) / static_cast<float>(d);
  const float rstd = 1.0f / sqrtf(var + eps);
  float* yr = y + row * d;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) yr[j] = (xr[j] - mu) * rstd * w[j] + b[j];
}

}  // namespace eitp
