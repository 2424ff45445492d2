// The fused training kernels (semantics: engine/backends/cpu/train-fused.ts) on dense f32 inputs, except
// activationGrad and geluGrad, which read strided operands through map_kernel. linear is the f32 matmul with its bias +
// activation epilogue (matmul.cuh, kEpiBiasAct).
//
//   cross_entropy_grad_kernel   block per row: the row max, the sum of exp, then (softmax − onehot)·scale, as the
//       forward cross_entropy_kernel; an out-of-range target is recorded in the device error record (reported at
//       the next readback) and its row is NaN;
//   ln_grad_rows_kernel   block per row: dx, and the row's mean and rstd for the column pass;
//   ln_grad_cols_kernel + col_sum2_kernel   dw = Σ g·x̂ and db = Σ g per column: partial sums per (32 columns ×
//       row chunk) block, then summed over the chunks in chunk order (no atomics, so the result is the same on
//       every run);
//   ReluGradOp / TanhGradOp / SigmoidGradOp   activationGrad's g·f′(y) for map_kernel;
//   GeluErfGradOp / GeluTanhGradOp   geluGrad's g·gelu′(x) for map_kernel (exact and tanh forms);
//   GeluErfCurvatureOp / GeluTanhCurvatureOp   its order 2, g·gelu″(x);
//   adam_step_kernel   one grid-stride pass reading p, g, m, v and writing [p′; m′; v′] (float4 when aligned).
//   sgd_step_kernel   one grid-stride pass reading p, g (and buf when momentum is on after the first step) and
//       writing [p′] or [p′; buf′] (float4 when aligned).
#pragma once
#include "common.cuh"
#include "nn.cuh"

namespace eitp {

// ---- crossEntropyGrad -------------------------------------------------------------------------------------------
// dlogits[row, j] = (softmax(row)_j − [j == target])·s, s = g/rows ('mean'), g ('sum') or g[row] ('none').
__global__ void __launch_bounds__(256) cross_entropy_grad_kernel(const float* __restrict__ logits, const int32_t* __restrict__ targets, const float* __restrict__ g, float* __restrict__ out,
                                                                 int64_t rows, int64_t classes, int scale_mode, DeviceError* err) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const float* xr = logits + row * classes;
  float* yr = out + row * classes;
  const int32_t t = targets[row];  // every thread reads it, so the bad-target exit below is block-uniform
  if (t < 0 || t >= classes) {
    if (threadIdx.x == 0) report_index_error(err, kErrCrossEntropyGrad, row, t, classes);
    for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) yr[j] = NAN;
    return;
  }
  float m, z;
  row_max_sumexp(xr, classes, scratch, m, z);
  const float s = scale_mode == kScaleNone ? g[row] : scale_mode == kScaleMean ? g[0] / static_cast<float>(rows) : g[0];
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) yr[j] = (expf(xr[j] - m) / z - (j == t ? 1.0f : 0.0f)) * s;
}

// ---- layerNormGrad ----------------------------------------------------------------------------------------------
// With x̂ = (x − μ)·rstd and gw = g·w: dx = rstd·(gw − mean(gw) − x̂·mean(gw·x̂)). Two reading passes before the
// write: Σx with Σgw, then Σ(x − μ)² with Σgw·(x − μ) (mean(gw·x̂) = rstd·Σgw·(x − μ)/d), so the variance is
// taken around the mean as in layer_norm_kernel.
__global__ void __launch_bounds__(256) ln_grad_rows_kernel(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ g, float* __restrict__ dx,
                                                           float* __restrict__ row_mu, float* __restrict__ row_rstd, int64_t d, float eps) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const float* xr = x + row * d;
  const float* gr = g + row * d;
  const float inv_d = 1.0f / static_cast<float>(d);
  float sx = 0.0f, sgw = 0.0f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    sx += xr[j];
    sgw += gr[j] * w[j];
  }
  const float mu = block_reduce(sx, AddF(), 0.0f, scratch) * inv_d;
  const float mean_gw = block_reduce(sgw, AddF(), 0.0f, scratch) * inv_d;
  float q = 0.0f, sgwc = 0.0f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    const float c = xr[j] - mu;
    q += c * c;
    sgwc += gr[j] * w[j] * c;
  }
  const float var = block_reduce(q, AddF(), 0.0f, scratch) * inv_d;
  const float rstd = 1.0f / sqrtf(var + eps);
  const float mean_gwx = block_reduce(sgwc, AddF(), 0.0f, scratch) * rstd * inv_d;
  float* dr = dx + row * d;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    const float xh = (xr[j] - mu) * rstd;
    dr[j] = rstd * (gr[j] * w[j] - mean_gw - xh * mean_gwx);
  }
  if (threadIdx.x == 0) row_mu[row] = mu, row_rstd[row] = rstd;
}

// ---- layerNormGradGrad ------------------------------------------------------------------------------------------
// out = [J o; curvature] ([2, rows, d]) for LayerNorm rows of x (engine/ops/layer-norm-grad-grad.ts): with c = x − μ,
// r = 1/√(Σc²/d + eps) and x̂ = c·r, J p = r·(p − Σp/d − x̂·⟨p, x̂⟩/d) and curvature = −(r/d)·(⟨o, J u⟩·x̂ + ⟨u, x̂⟩·J o +
// ⟨o, x̂⟩·J u), ⟨o, J u⟩ = r·(⟨o, u⟩ − Σo·Σu/d − ⟨o, x̂⟩⟨u, x̂⟩/d). Two reading passes before the writes, as
// ln_grad_rows_kernel: Σx, Σo, Σu, ⟨o, u⟩, then Σc², ⟨o, c⟩, ⟨u, c⟩ (⟨p, x̂⟩ = r·⟨p, c⟩), so the variance is
// taken around the mean; every sum a block reduction in f32.
__global__ void __launch_bounds__(256) ln_grad_grad_rows_kernel(const float* __restrict__ x, const float* __restrict__ u, const float* __restrict__ o,
                                                                float* __restrict__ out, int64_t rows, int64_t d, float eps) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const float* xr = x + row * d;
  const float* ur = u + row * d;
  const float* orow = o + row * d;
  const float inv_d = 1.0f / static_cast<float>(d);
  float sx = 0.0f, so = 0.0f, su = 0.0f, sou = 0.0f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    sx += xr[j];
    so += orow[j];
    su += ur[j];
    sou += orow[j] * ur[j];
  }
  const float mu = block_reduce(sx, AddF(), 0.0f, scratch) * inv_d;
  so = block_reduce(so, AddF(), 0.0f, scratch);
  su = block_reduce(su, AddF(), 0.0f, scratch);
  sou = block_reduce(sou, AddF(), 0.0f, scratch);
  float q = 0.0f, soc = 0.0f, suc = 0.0f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    const float c = xr[j] - mu;
    q += c * c;
    soc += orow[j] * c;
    suc += ur[j] * c;
  }
  const float r = 1.0f / sqrtf(block_reduce(q, AddF(), 0.0f, scratch) * inv_d + eps);
  const float sox = block_reduce(soc, AddF(), 0.0f, scratch) * r;
  const float sux = block_reduce(suc, AddF(), 0.0f, scratch) * r;
  const float o_ju = r * (sou - so * su * inv_d - sox * sux * inv_d);
  const float k = -r * inv_d;
  float* jr = out + row * d;
  float* cr = out + (rows + row) * d;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    const float xh = (xr[j] - mu) * r;
    const float jo = r * (orow[j] - so * inv_d - xh * sox * inv_d);
    const float ju = r * (ur[j] - su * inv_d - xh * sux * inv_d);
    jr[j] = jo;
    cr[j] = k * (o_ju * xh + sux * jo + sox * ju);
  }
}

// Block (32, 8) over 32 columns × one chunk of rows (x walks columns, so loads coalesce; y strides the rows): the
// chunk's Σ g·x̂ and Σ g per column, the 8 row-phase sums combined in a fixed order, into pw / pb [chunk][cols].
__global__ void __launch_bounds__(256) ln_grad_cols_kernel(const float* __restrict__ x, const float* __restrict__ g, const float* __restrict__ row_mu, const float* __restrict__ row_rstd, ColGeom geo,
                                                           float* __restrict__ pw, float* __restrict__ pb) {
  __shared__ float red_w[8][33], red_b[8][33];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t col = static_cast<int64_t>(blockIdx.x) * 32 + tx;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * geo.chunk, r1 = lesser(geo.rows, r0 + geo.chunk);
  const bool ok = col < geo.cols;
  float sw = 0.0f, sb = 0.0f;
  if (ok)
    for (int64_t r = r0 + ty; r < r1; r += 8) {
      const float gv = g[r * geo.cols + col];
      sw += gv * ((x[r * geo.cols + col] - row_mu[r]) * row_rstd[r]);
      sb += gv;
    }
  red_w[ty][tx] = sw;
  red_b[ty][tx] = sb;
  __syncthreads();
  if (ty == 0 && ok) {
    float tw = 0.0f, tb = 0.0f;
    for (int y = 0; y < 8; ++y) tw += red_w[y][tx], tb += red_b[y][tx];
    pw[static_cast<int64_t>(blockIdx.y) * geo.cols + col] = tw;
    pb[static_cast<int64_t>(blockIdx.y) * geo.cols + col] = tb;
  }
}

// Sums two [chunks][cols] partial arrays over the chunks, in chunk order.
__global__ void __launch_bounds__(256) col_sum2_kernel(const float* __restrict__ pa, const float* __restrict__ pb, int64_t chunks, int64_t cols, float* __restrict__ sa, float* __restrict__ sb) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= cols) return;
  float a = 0.0f, b = 0.0f;
  for (int64_t c = 0; c < chunks; ++c) a += pa[c * cols + j], b += pb[c * cols + j];
  sa[j] = a;
  sb[j] = b;
}

// ---- activationGrad: g·f′ from the output y ----------------------------------------------------------------------
struct ReluGradOp {
  EITP_HD float operator()(float y, float g) const { return g * (y > 0.0f ? 1.0f : 0.0f); }
};
struct TanhGradOp {
  EITP_HD float operator()(float y, float g) const { return g * (1.0f - y * y); }
};
struct SigmoidGradOp {
  EITP_HD float operator()(float y, float g) const { return g * (y * (1.0f - y)); }
};

// ---- geluGrad: g·gelu′ from the input x -----------------------------------------------------------------------------
// Exact: gelu′(x) = Φ(x) + x·φ(x), Φ through the same erff as the forward GeluF (elementwise.cuh), so the pair is
// consistent. |x| > ~14.5 gives φ = 0 and Φ ∈ {0, 1}; x = ±∞ is ∞·0 = NaN, as in the f64 reference.
struct GeluErfGradOp {
  EITP_HD float operator()(float x, float g) const {
    const float cdf = 0.5f * (1.0f + erff(x * 0.7071067811865476f));
    const float pdf = 0.3989422804014327f * expf(-0.5f * x * x);
    return g * (cdf + x * pdf);
  }
};
// tanh form: with a = √(2/π)(x + c·x³) and th = tanh(a), gelu′ = 0.5(1 + th) + 0.5x(1 − th²)·√(2/π)(1 + 3c·x²).
// 1 ± th are taken as 2σ(±2a) from e = exp(−2|a|) rather than from tanhf: tanhf rounds to ±1 for |a| > ~9 (|x| > ~5.2)
// and 1 + th then cancels to 0 while the true term (about 1e-6 there) is still far above f32 resolution. So
// gelu′ = σ(2a) + 2x·σ(2a)σ(−2a)·√(2/π)(1 + 3c·x²), σ(2a)σ(−2a) = e/(1 + e)². Once e underflows, 2x·σσ is exactly 0
// while the last factor overflows for |x| > ~5e19: the term is then 0 (its value in the f64 reference) instead of
// 0·∞ = NaN. A NaN x, or x = ±∞ (∞·0), still gives NaN, as in the reference.
struct GeluTanhGradOp {
  EITP_HD float operator()(float x, float g) const {
    const float a = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    const float e = expf(-2.0f * fabsf(a));
    const float r = 1.0f / (1.0f + e);
    const float sig = a >= 0.0f ? r : e * r;  // σ(2a); a NaN a takes e·r = NaN
    const float t = x * (2.0f * e * r * r);  // 2σσ ≤ 0.5 first: 2x alone overflows for |x| > 1.7e38
    const float tail = t == 0.0f ? 0.0f : t * (0.7978845608028654f * (1.0f + 3.0f * 0.044715f * x * x));
    return g * (sig + tail);
  }
};

// geluGrad's order 2, g·gelu″(x). Exact: φ(x)(2 − x²), 0 once φ underflows (x² may have overflowed: not 0·∞).
struct GeluErfCurvatureOp {
  EITP_HD float operator()(float x, float g) const {
    const float pdf = 0.3989422804014327f * expf(-0.5f * x * x);
    return g * (pdf == 0.0f ? 0.0f : pdf * (2.0f - x * x));
  }
};
// Tanh form: gelu″ = (1 − th²)·(a′ + 3c√(2/π)·x² − x·th·a′²), a′ = √(2/π)(1 + 3c·x²), with σ(±2a) from
// e = exp(−2|a|) as above: 1 − th² = 4σ(2a)σ(−2a) = 4e/(1 + e)², th = σ(2a) − σ(−2a). 0 once that product underflows
// (±∞ included: the limit, as in the reference); a NaN x gives NaN.
struct GeluTanhCurvatureOp {
  EITP_HD float operator()(float x, float g) const {
    const float a = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    const float e = expf(-2.0f * fabsf(a));
    const float r = 1.0f / (1.0f + e);
    const float up = a >= 0.0f ? r : e * r;
    const float down = a >= 0.0f ? e * r : r;
    const float both = e * r * r;
    if (both == 0.0f) return g * 0.0f;
    const float du = 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * x * x);
    return g * (4.0f * both * (du + 0.10703222440890037f * x * x - x * (up - down) * du * du));
  }
};

// ---- adamStep -----------------------------------------------------------------------------------------------------
EITP_DEV void adam_one(float p, float g, float m, float v, const AdamParams& a, float& p1, float& m1, float& v1) {
  const float gr = a.weight_decay != 0.0f ? g + a.weight_decay * p : g;
  m1 = a.beta1 * m + a.one_minus_beta1 * gr;
  v1 = a.beta2 * v + a.one_minus_beta2 * gr * gr;
  p1 = a.decay * p - (m1 / (sqrtf(v1) / a.bias2_sqrt + a.eps)) * a.step_size;
}

// out = [p′; m′; v′], each n long. kVec: n % 4 == 0 and every pointer 16-byte aligned, so the pass runs over float4s.
// The output is not __restrict__: each element is read before it is written by the same thread, so an update in
// place (inputs that are views of the output) stays correct.
template <bool kVec>
__global__ void __launch_bounds__(256) adam_step_kernel(const float* p, const float* g, const float* m, const float* v, float* out, int64_t n, AdamParams a) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if constexpr (kVec) {
    float4* po = reinterpret_cast<float4*>(out);
    const int64_t n4 = n / 4;
    for (int64_t i = first; i < n4; i += step) {
      const float4 pv = reinterpret_cast<const float4*>(p)[i], gv = reinterpret_cast<const float4*>(g)[i];
      const float4 mv = reinterpret_cast<const float4*>(m)[i], vv = reinterpret_cast<const float4*>(v)[i];
      float4 p1, m1, v1;
      adam_one(pv.x, gv.x, mv.x, vv.x, a, p1.x, m1.x, v1.x);
      adam_one(pv.y, gv.y, mv.y, vv.y, a, p1.y, m1.y, v1.y);
      adam_one(pv.z, gv.z, mv.z, vv.z, a, p1.z, m1.z, v1.z);
      adam_one(pv.w, gv.w, mv.w, vv.w, a, p1.w, m1.w, v1.w);
      po[i] = p1;
      po[n4 + i] = m1;
      po[2 * n4 + i] = v1;
    }
  } else {
    for (int64_t i = first; i < n; i += step) adam_one(p[i], g[i], m[i], v[i], a, out[i], out[n + i], out[2 * n + i]);
  }
}

// ---- sgdStep -------------------------------------------------------------------------------------------------------
// d = g + wd·p; with momentum, b1 = first ? d : μ·b + (1 − dampening)·d and d = nesterov ? d + μ·b1 : b1; p1 = p − lr·d.
// b is only meaningful when a.read_buf; b1 only when a.use_momentum.
EITP_DEV void sgd_one(float p, float g, float b, const SgdParams& a, float& p1, float& b1) {
  float d = a.weight_decay != 0.0f ? g + a.weight_decay * p : g;
  if (a.use_momentum) {
    b1 = a.read_buf ? a.momentum * b + a.one_minus_dampening * d : d;
    d = a.nesterov ? d + a.momentum * b1 : b1;
  }
  p1 = p - a.lr * d;
}

// out = [p′] or [p′; buf′], each n long; buf is dereferenced only when a.read_buf (it may be null otherwise). kVec:
// n % 4 == 0 and every pointer used 16-byte aligned. As in adam_step_kernel, nothing is __restrict__ and each element
// is read before the same thread writes it, so p and buf may be views of out (the optimizer's packed state).
template <bool kVec>
__global__ void __launch_bounds__(256) sgd_step_kernel(const float* p, const float* g, const float* buf, float* out, int64_t n, SgdParams a) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if constexpr (kVec) {
    float4* po = reinterpret_cast<float4*>(out);
    const int64_t n4 = n / 4;
    for (int64_t i = first; i < n4; i += step) {
      const float4 pv = reinterpret_cast<const float4*>(p)[i], gv = reinterpret_cast<const float4*>(g)[i];
      const float4 bv = a.read_buf ? reinterpret_cast<const float4*>(buf)[i] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      float4 p1, b1 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      sgd_one(pv.x, gv.x, bv.x, a, p1.x, b1.x);
      sgd_one(pv.y, gv.y, bv.y, a, p1.y, b1.y);
      sgd_one(pv.z, gv.z, bv.z, a, p1.z, b1.z);
      sgd_one(pv.w, gv.w, bv.w, a, p1.w, b1.w);
      po[i] = p1;
      if (a.use_momentum) po[n4 + i] = b1;
    }
  } else {
    for (int64_t i = first; i < n; i += step) {
      float p1, b1 = 0.0f;
      sgd_one(p[i], g[i], a.read_buf ? buf[i] : 0.0f, a, p1, b1);
      out[i] = p1;
      if (a.use_momentum) out[n + i] = b1;
    }
  }
}

}  // namespace eitp
