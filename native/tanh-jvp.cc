// tanhJvp: out = (1 − h²) ⊙ (v Wᵀ), the Jacobian-vector step of a tanh layer (engine/backends/cpu/eitp-fused.ts).
// The product is the packed SGEMM reading v [B, in] and w [out, in] through their strides (w transposed in place,
// no copy); the (1 − h²) factor is applied in double in a second, parallel pass over the output.
#include "common.h"
#include "gemm.h"
#include "strided.h"
#include "thread-pool.h"

namespace eitp {

namespace {

void kTanhJvp(const Task& t, ThreadPool& pool) {
  const Arg& h = t.inputs[0];
  const Arg& v = t.inputs[1];
  const Arg& w = t.inputs[2];
  for (const Arg& a : t.inputs) {
    if (a.dtype != DType::F32) throw KernelError(std::string("every input must be f32, got ") + dtypeName(a.dtype));
  }
  if (h.rank() != 2 || v.rank() != 2 || w.rank() != 2 || h.shape[0] != v.shape[0] || w.shape[0] != h.shape[1] ||
      w.shape[1] != v.shape[1]) {
    throw KernelError("needs h [B, out], v [B, in] and w [out, in]");
  }
  const int64_t b = h.shape[0], rows = h.shape[1], cols = v.shape[1];
  float* out = static_cast<float*>(t.output.data);
  // B = wᵀ [in, out]: element (k, j) is w[j, k], so its row stride is w's column stride and vice versa.
  sgemm(b, rows, cols, v.ptr<float>(), v.strides[0], v.strides[1], w.ptr<float>(), w.strides[1], w.strides[0], out, rows, pool, true);
  Dense<float> hd(h, pool);
  const float* y = hd.get();
  pool.parallelRange(b * rows, 32768, [&](int64_t e0, int64_t e1) {
    for (int64_t e = e0; e < e1; e++) {
      const double yy = y[e];
      out[e] = static_cast<float>((1 - yy * yy) * static_cast<double>(out[e]));
    }
  });
}

}  // namespace

std::vector<KernelEntry> tanhJvpKernels() { return {{"tanhJvp", kTanhJvp}}; }

}  // namespace eitp
