// The tanh layer's Jacobian-vector kernels (engine/backends/cpu/eitp-fused.ts, engine/backends/cpu/tanh-jvp-step.ts):
//   tanhJvp:         out = (1 − h²) ⊙ (v Wᵀ)
//   tanhJvpStep:     y = [δ/‖δ‖ | ln‖δ‖] per row, with δ = (1 − h²) ⊙ p and p = v Wᵀ
//   tanhJvpStepGrad: z = [dp, dh] from the cotangent gy of y
// Each product is the packed SGEMM reading v [B, in] and w [out, in] through their strides (w transposed in place, no
// copy), written straight into the output; a per-row pass then finishes each row in double while it is in L1 (the
// SIMD passes of tanh-jvp-vec.h). The step ops need no scratch memory: p lands in y's first `out`
// columns (row stride out + 1), or in z's dh half, and each row pass overwrites it in place.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "gemm.h"
#include "tanh-jvp-vec.h"
#include "thread-pool.h"

namespace eitp {

namespace {

struct LayerDims {
  int64_t b, rows, cols;  // B, out, in
};

// h [B, out], v [B, in] and w [out, in] (the first three inputs), all f32 like every other input of the op.
LayerDims checkLayer(const Task& t, size_t arity) {
  if (t.inputs.size() != arity) throw KernelError("expected " + std::to_string(arity) + " inputs, got " + std::to_string(t.inputs.size()));
  for (const Arg& a : t.inputs) {
    if (a.dtype != DType::F32) throw KernelError(std::string("every input must be f32, got ") + dtypeName(a.dtype));
  }
  const Arg& h = t.inputs[0];
  const Arg& v = t.inputs[1];
  const Arg& w = t.inputs[2];
  if (h.rank() != 2 || v.rank() != 2 || w.rank() != 2 || h.shape[0] != v.shape[0] || w.shape[0] != h.shape[1] ||
      w.shape[1] != v.shape[1]) {
    throw KernelError("needs h [B, out], v [B, in] and w [out, in]");
  }
  if (t.output.dtype != DType::F32) throw KernelError(std::string("the output must be f32, got ") + dtypeName(t.output.dtype));
  return {h.shape[0], h.shape[1], v.shape[1]};
}

// C = v Wᵀ [B, out] with row stride ldc: B = wᵀ [in, out] has element (k, j) at w[j, k], so its row stride is w's
// column stride and vice versa.
void product(const Task& t, const LayerDims& d, float* c, int64_t ldc, ThreadPool& pool) {
  const Arg& v = t.inputs[1];
  const Arg& w = t.inputs[2];
  sgemm(d.b, d.rows, d.cols, v.ptr<float>(), v.strides[0], v.strides[1], w.ptr<float>(), w.strides[1], w.strides[0], c, ldc, pool, true);
}

// Rows per chunk of the row passes: about 16K elements, so B = 64 rows of 256 finish on the calling thread (waking a
// worker costs more than the passes) and only large batches are split.
int64_t rowGrain(int64_t rows) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(rows, 1)); }

// Row i of an [R, C] operand as a contiguous array: in place when its columns are adjacent (the usual case, whatever
// the row stride), else gathered into `buf` (C floats).
const float* rowOf(const Arg& a, int64_t i, std::vector<float>& buf) {
  const float* r = a.ptr<float>() + i * a.strides[0];
  if (a.strides[1] == 1) return r;
  const int64_t c = a.shape[1];
  buf.resize(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; j++) buf[j] = r[j * a.strides[1]];
  return buf.data();
}

void kTanhJvp(const Task& t, ThreadPool& pool) {
  const LayerDims d = checkLayer(t, 3);
  float* out = static_cast<float*>(t.output.data);
  product(t, d, out, d.rows, pool);
  const Arg& h = t.inputs[0];
  const TanhJvpVec& vec = tanhJvpVec();
  // (1 − h²)·p per row with the step ops' SIMD pass (a scale of exactly 1): the scalar loop in double it replaces
  // took a quarter of the kernel at B = 64, out = in = 256, and made the fused op slower than its composite.
  pool.parallelRange(d.b, rowGrain(d.rows), [&](int64_t b0, int64_t b1) {
    std::vector<float> hBuf;
    for (int64_t i = b0; i < b1; i++) vec.scale(rowOf(h, i, hBuf), out + i * d.rows, d.rows, 1.0);
  });
}

void kTanhJvpStep(const Task& t, ThreadPool& pool) {
  const LayerDims d = checkLayer(t, 3);
  const Arg& o = t.output;
  if (o.rank() != 2 || o.shape[0] != d.b || o.shape[1] != d.rows + 1) throw KernelError("the output must be [B, out + 1]");
  float* y = static_cast<float*>(o.data);
  product(t, d, y, d.rows + 1, pool);
  const Arg& h = t.inputs[0];
  const TanhJvpVec& vec = tanhJvpVec();
  pool.parallelRange(d.b, rowGrain(d.rows), [&](int64_t b0, int64_t b1) {
    std::vector<float> hBuf;
    for (int64_t i = b0; i < b1; i++) {
      const float* hr = rowOf(h, i, hBuf);
      float* yr = y + i * (d.rows + 1);  // p on entry
      // g = 0 (a zero tangent row) gives 0·∞ = NaN directions and ln 0 = −∞, as the reference's 0/0 and log(0) do.
      const double g = std::sqrt(vec.sumSquares(hr, yr, d.rows));
      vec.scale(hr, yr, d.rows, 1 / g);
      yr[d.rows] = static_cast<float>(std::log(g));
    }
  });
}

void kTanhJvpStepGrad(const Task& t, ThreadPool& pool) {
  const LayerDims d = checkLayer(t, 4);
  const Arg& gy = t.inputs[3];
  if (gy.rank() != 2 || gy.shape[0] != d.b || gy.shape[1] != d.rows + 1) throw KernelError("gy must be [B, out + 1]");
  const Arg& o = t.output;
  if (o.rank() != 3 || o.shape[0] != 2 || o.shape[1] != d.b || o.shape[2] != d.rows) throw KernelError("the output must be [2, B, out]");
  float* dp = static_cast<float*>(o.data);
  float* dh = dp + d.b * d.rows;
  product(t, d, dh, d.rows, pool);
  const Arg& h = t.inputs[0];
  const TanhJvpVec& vec = tanhJvpVec();
  pool.parallelRange(d.b, rowGrain(d.rows), [&](int64_t b0, int64_t b1) {
    std::vector<float> hBuf, gBuf;
    for (int64_t i = b0; i < b1; i++) {
      const float* hr = rowOf(h, i, hBuf);
      const float* gr = rowOf(gy, i, gBuf);  // [ḡ_u | ḡ_ℓ]
      float* ph = dh + i * d.rows;  // p on entry
      double sums[2];
      vec.gradSums(hr, ph, gr, d.rows, sums);
      // dδ = (ḡ_u − u s + u ḡ_ℓ)/g with u = δ/g and s = u·ḡ_u = (δ·ḡ_u)/g.
      const double g = std::sqrt(sums[0]);
      const double inv = 1 / g;
      vec.gradOut(hr, gr, dp + i * d.rows, ph, d.rows, inv, static_cast<double>(gr[d.rows]) - sums[1] * inv);
    }
  });
}

}  // namespace

std::vector<KernelEntry> tanhJvpKernels() {
  return {{"tanhJvp", kTanhJvp}, {"tanhJvpStep", kTanhJvpStep}, {"tanhJvpStepGrad", kTanhJvpStepGrad}};
}

}  // namespace eitp
