// Tests of the fused EIT-P kernels (soft histogram, correlation, tanhJvp's matmul epilogue, the FTLE tanh step, the
// activation density) and the int8 matmul under the emulator, against naive double-precision host loops written from
// the spec. Shapes are ragged, grids have more blocks than the emulator's workers, and the soft histogram's and the
// activation density's grid-stride loops take several rounds.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../addon/launch-tanh-jvp-step.h"
#include "test-util.h"

namespace eitp_test {
namespace {

// ---- soft histogram -------------------------------------------------------------------------------------------------
struct HistAttrs {
  int bins;
  double low, width, h;
};

SoftHist hist_params(int64_t n, const HistAttrs& a) {
  SoftHist p{};
  p.n = n;
  p.bins = a.bins;
  p.window = static_cast<int>(std::min(std::ceil(8 * a.h / a.width), static_cast<double>(a.bins)));
  p.low_d = a.low;
  p.width_d = a.width;
  p.low = static_cast<float>(a.low);
  p.width = static_cast<float>(a.width);
  p.inv_2h2 = static_cast<float>(1 / (2 * a.h * a.h));
  p.inv_h2 = static_cast<float>(1 / (a.h * a.h));
  return p;
}

// The spec's soft assignment of one value: softmax over its window, visit(k, a_k, (c_k − u)/h²).
template <class F>
void assign(double u, const HistAttrs& a, F visit) {
  const int reach = static_cast<int>(std::ceil(8 * a.h / a.width));
  const int nearest = static_cast<int>(std::min<double>(a.bins - 1, std::max(0.0, std::floor((u - a.low) / a.width))));
  const int lo = std::max(0, nearest - reach), hi = std::min(a.bins - 1, nearest + reach);
  std::vector<double> l(hi - lo + 1);
  double m = -INFINITY, z = 0;
  for (int k = lo; k <= hi; ++k) {
    const double d = a.low + (k + 0.5) * a.width - u;
    l[k - lo] = -d * d / (2 * a.h * a.h);
    m = std::max(m, l[k - lo]);
  }
  for (auto& v : l) z += v = std::exp(v - m);
  for (int k = lo; k <= hi; ++k) visit(k, l[k - lo] / z, (a.low + (k + 0.5) * a.width - u) / (a.h * a.h));
}

void test_soft_histogram(int64_t n, const HistAttrs& a, float spread) {
  auto u = randn(n, 11);
  for (auto& v : u) v *= spread;
  auto g = randn(a.bins, 12);
  float *du = upload(u), *dg = upload(g), *counts = device<float>(a.bins), *grad = device<float>(n);
  const SoftHist p = hist_params(n, a);
  {
    ScratchHolder scratch;
    launch_soft_histogram(stream(), counts, du, p, scratch.fn());
  }
  launch_soft_histogram_grad(stream(), grad, du, dg, p);
  std::vector<double> want(a.bins, 0.0);
  int bad_grad = 0;
  for (int64_t i = 0; i < n; ++i) {
    double gbar = 0, weighted = 0, slope = 0;
    assign(u[i], a, [&](int k, double ak, double s) {
      want[k] += ak;
      gbar += ak * g[k];
      weighted += ak * g[k] * s;
      slope += ak * s;
    });
    if (!close(grad[i], static_cast<float>(weighted - gbar * slope), 1e-4f, 1e-5f) && bad_grad++ < 5) std::printf("  u=%.9g grad %.9g want %.9g\n", u[i], grad[i], weighted - gbar * slope);
  }
  int bad = 0;
  double total = 0;
  for (int k = 0; k < a.bins; ++k) bad += !close(counts[k], static_cast<float>(want[k]), 1e-4f, 1e-4f), total += counts[k];
  EXPECT(bad == 0, "softHistogram n=%ld bins=%d: %d bins wrong", (long)n, a.bins, bad);
  // Every value's weights sum to 1, so the counts sum to n.
  EXPECT(std::fabs(total - static_cast<double>(n)) <= 1e-4 * n, "softHistogram counts sum to %f, not n = %ld", total, (long)n);
  EXPECT(bad_grad == 0, "softHistogramGrad n=%ld bins=%d: %d values wrong", (long)n, a.bins, bad_grad);
  cudaFree(du), cudaFree(dg), cudaFree(counts), cudaFree(grad);
}

// NaN values take part in no bin (and get no gradient); ±inf poison every bin of their window with NaN.
void test_soft_histogram_nonfinite() {
  const HistAttrs a{16, -2, 0.25, 0.25};
  std::vector<float> u = {0.1f, NAN, -0.7f};
  std::vector<float> g(16, 1.0f);
  float *du = upload(u), *dg = upload(g), *counts = device<float>(16), *grad = device<float>(3);
  ScratchHolder scratch;
  launch_soft_histogram(stream(), counts, du, hist_params(3, a), scratch.fn());
  launch_soft_histogram_grad(stream(), grad, du, dg, hist_params(3, a));
  double total = 0;
  for (int k = 0; k < 16; ++k) total += counts[k];
  EXPECT(std::fabs(total - 2.0) < 1e-5, "NaN values are skipped: counts sum to %f, not 2", total);
  EXPECT(grad[1] == 0.0f, "NaN value's gradient is 0, got %f", grad[1]);
  u[1] = INFINITY;
  float* du2 = upload(u);
  launch_soft_histogram(stream(), counts, du2, hist_params(3, a), scratch.fn());
  EXPECT(std::isnan(counts[15]) && !std::isnan(counts[0]), "+inf makes its window (the top bins) NaN only: %f %f", counts[15], counts[0]);
  cudaFree(du), cudaFree(du2), cudaFree(dg), cudaFree(counts), cudaFree(grad);
}

// ---- correlation ----------------------------------------------------------------------------------------------------
// Ẑ in double, from the spec: population variance, 1/sqrt(var + eps).
struct Standardized {
  std::vector<double> zh, rstd;
};
Standardized standardize(const float* z, int64_t rows, int64_t cols, double eps) {
  Standardized s{std::vector<double>(rows * cols), std::vector<double>(cols, 0.0)};
  std::vector<double> mean(cols, 0.0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) mean[j] += z[i * cols + j] / static_cast<double>(rows);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) s.rstd[j] += std::pow(z[i * cols + j] - mean[j], 2) / rows;
  for (auto& r : s.rstd) r = 1 / std::sqrt(r + eps);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) s.zh[i * cols + j] = (z[i * cols + j] - mean[j]) * s.rstd[j];
  return s;
}

// R = ẐᵀẐ/N in double.
std::vector<double> gram_ref(const Standardized& st, int64_t rows, int64_t cols) {
  std::vector<double> r(cols * cols, 0.0);
  for (int64_t j = 0; j < cols; ++j)
    for (int64_t k = 0; k < cols; ++k) {
      double acc = 0;
      for (int64_t i = 0; i < rows; ++i) acc += st.zh[i * cols + j] * st.zh[i * cols + k];
      r[j * cols + k] = acc / rows;
    }
  return r;
}

// dz through R for S = (gR + gRᵀ)/N: dẐ = Ẑ·S, then layerNorm's backward per column. `scale` gets max |r dẐ|, the
// size the gradient's absolute tolerance is measured against.
std::vector<double> correlation_backward_ref(const Standardized& st, const std::vector<double>& s, int64_t rows, int64_t cols, double& scale) {
  const auto& zh = st.zh;
  std::vector<double> dzh(rows * cols, 0.0), ma(cols, 0.0), mab(cols, 0.0), dz(rows * cols);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < cols; ++k) acc += zh[i * cols + k] * s[k * cols + j];
      dzh[i * cols + j] = acc;
      ma[j] += acc / rows;
      mab[j] += acc * zh[i * cols + j] / rows;
    }
  scale = 0;
  for (int64_t e = 0; e < rows * cols; ++e) scale = std::max(scale, std::fabs(dzh[e] * st.rstd[e % cols]));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) dz[i * cols + j] = st.rstd[j] * (dzh[i * cols + j] - ma[j] - zh[i * cols + j] * mab[j]);
  return dz;
}

void test_correlation(int64_t rows, int64_t cols, int64_t offset) {
  auto z = randn(offset + rows * cols, 21);
  // correlated columns: column j also carries a share of column 0
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 1; j < cols; ++j) z[offset + i * cols + j] += 0.3f * z[offset + i * cols];
  const float eps = 1e-5f;
  const auto gr = randn(cols * cols, 22);  // not symmetric: the backward must use gR + gRᵀ
  float *dz = upload(z), *dgr = upload(gr), *r = device<float>(cols * cols), *r2 = device<float>(cols * cols), *grad = device<float>(rows * cols);
  for (float* out : {r, r2}) {
    ScratchHolder scratch;
    launch_correlation(stream(), out, dz + offset, rows, cols, eps, scratch.fn());
  }
  {
    ScratchHolder scratch;
    launch_correlation_grad(stream(), grad, dz + offset, dgr, rows, cols, eps, scratch.fn());
  }
  const Standardized st = standardize(z.data() + offset, rows, cols, eps);
  const std::vector<double> want = gram_ref(st, rows, cols);
  int bad = 0, asym = 0;
  for (int64_t j = 0; j < cols; ++j)
    for (int64_t k = 0; k < cols; ++k) {
      bad += !close(r[j * cols + k], static_cast<float>(want[j * cols + k]), 1e-4f, 1e-5f);
      asym += std::memcmp(&r[j * cols + k], &r[k * cols + j], sizeof(float)) != 0;
    }
  EXPECT(bad == 0, "correlation %ldx%ld: %d wrong", (long)rows, (long)cols, bad);
  EXPECT(asym == 0, "correlation %ldx%ld: %d entries differ from their mirror image (R must be bitwise symmetric)", (long)rows, (long)cols, asym);
  EXPECT(std::memcmp(r, r2, cols * cols * sizeof(float)) == 0, "correlation %ldx%ld differs between two runs", (long)rows, (long)cols);
  // S = (gR + gRᵀ)/N
  std::vector<double> sym(cols * cols);
  for (int64_t j = 0; j < cols; ++j)
    for (int64_t k = 0; k < cols; ++k) sym[j * cols + k] = (static_cast<double>(gr[j * cols + k]) + gr[k * cols + j]) / rows;
  double scale = 0;
  const std::vector<double> dzw = correlation_backward_ref(st, sym, rows, cols, scale);
  bad = 0;
  for (int64_t e = 0; e < rows * cols; ++e) bad += !close(grad[e], static_cast<float>(dzw[e]), 1e-3f, static_cast<float>(1e-4 * scale));
  EXPECT(bad == 0, "correlationGrad %ldx%ld: %d wrong", (long)rows, (long)cols, bad);
  cudaFree(dz), cudaFree(dgr), cudaFree(r), cudaFree(r2), cudaFree(grad);
}

// ---- coherence ------------------------------------------------------------------------------------------------------
// L = Σ (R − I)²/(d(d − 1)) and its gradient for the cotangent g (a device scalar), against the double reference, and
// the gradient against correlationGrad fed ∂L/∂R = 2g(R − I)/(d(d − 1)) built from the kernel's own R.
void test_coherence(int64_t rows, int64_t cols, int64_t offset, float g) {
  auto z = randn(offset + rows * cols, 25);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 1; j < cols; ++j) z[offset + i * cols + j] += 0.4f * z[offset + i * cols];
  const float eps = 1e-5f;
  float *dz = upload(z), *dg = upload(std::vector<float>{0.0f, g}), *loss = device<float>(2), *grad = device<float>(rows * cols);
  float *r = device<float>(cols * cols), *dgr = device<float>(cols * cols), *grad_corr = device<float>(rows * cols);
  for (float* out : {loss, loss + 1}) {
    ScratchHolder scratch;
    launch_coherence(stream(), out, dz + offset, rows, cols, eps, scratch.fn());
  }
  {
    ScratchHolder scratch;
    launch_coherence_grad(stream(), grad, dz + offset, dg + 1, rows, cols, eps, scratch.fn());
    launch_correlation(stream(), r, dz + offset, rows, cols, eps, scratch.fn());
    const double k = 2.0 * g / (static_cast<double>(cols) * (cols - 1));
    for (int64_t e = 0; e < cols * cols; ++e) dgr[e] = static_cast<float>((r[e] - (e % (cols + 1) == 0 ? 1.0 : 0.0)) * k);
    launch_correlation_grad(stream(), grad_corr, dz + offset, dgr, rows, cols, eps, scratch.fn());
  }
  const Standardized st = standardize(z.data() + offset, rows, cols, eps);
  std::vector<double> s = gram_ref(st, rows, cols);
  double want = 0;
  for (int64_t e = 0; e < cols * cols; ++e) {
    const double res = s[e] - (e % (cols + 1) == 0 ? 1.0 : 0.0);
    want += res * res;
    s[e] = 4.0 * g * res / (static_cast<double>(rows) * cols * (cols - 1));
  }
  want /= static_cast<double>(cols) * (cols - 1);
  EXPECT(close(loss[0], static_cast<float>(want), 1e-4f, 1e-7f), "coherence %ldx%ld: %.9g, want %.9g", (long)rows, (long)cols, loss[0], want);
  EXPECT(std::memcmp(&loss[0], &loss[1], sizeof(float)) == 0, "coherence %ldx%ld differs between two runs: %.9g, %.9g", (long)rows, (long)cols, loss[0], loss[1]);
  double scale = 0;
  const std::vector<double> dzw = correlation_backward_ref(st, s, rows, cols, scale);
  int bad = 0, bad_corr = 0;
  for (int64_t e = 0; e < rows * cols; ++e) {
    bad += !close(grad[e], static_cast<float>(dzw[e]), 1e-3f, static_cast<float>(1e-4 * scale));
    bad_corr += !close(grad[e], grad_corr[e], 1e-3f, static_cast<float>(1e-4 * scale));
  }
  EXPECT(bad == 0, "coherenceGrad %ldx%ld g=%g: %d wrong", (long)rows, (long)cols, g, bad);
  EXPECT(bad_corr == 0, "coherenceGrad %ldx%ld g=%g: %d differ from correlationGrad with gR = 2g(R - I)/(d(d - 1))", (long)rows, (long)cols, g, bad_corr);
  cudaFree(dz), cudaFree(dg), cudaFree(loss), cudaFree(grad), cudaFree(r), cudaFree(dgr), cudaFree(grad_corr);
}

// ---- matmulInt8 -----------------------------------------------------------------------------------------------------
// The spec's quantisation in f32 (the kernel's arithmetic exactly): codes, then (sx·ws)·Σ as the kernel rounds it.
std::vector<float> int8_reference(const std::vector<float>& x, const std::vector<int8_t>& wq, const std::vector<float>& ws, int64_t m, int64_t n, int64_t k) {
  std::vector<float> out(m * n);
  for (int64_t i = 0; i < m; ++i) {
    float amax = 0;
    for (int64_t p = 0; p < k; ++p) amax = std::max(amax, std::fabs(x[i * k + p]));
    const float inv = amax == 0 ? 0.0f : 127.0f / amax, sx = amax / 127.0f;
    std::vector<int> codes(k);
    for (int64_t p = 0; p < k; ++p) codes[p] = std::min(127, std::max(-127, static_cast<int>(std::nearbyint(x[i * k + p] * inv))));
    for (int64_t j = 0; j < n; ++j) {
      int64_t acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += static_cast<int64_t>(codes[p]) * wq[j * k + p];
      out[i * n + j] = (sx * ws[j]) * static_cast<float>(acc);
    }
  }
  return out;
}

void test_matmul_int8(int64_t m, int64_t n, int64_t k, int64_t wq_offset) {
  auto x = randn(m * k, 31), ws = randn(n, 32);
  for (auto& s : ws) s = 0.01f * std::fabs(s) + 1e-3f;
  for (int64_t p = 0; p < k; ++p) x[3 % m * k + p] = 0.0f;  // an all-zero row: scale 0, output 0
  if (m > 1 && k > 4) {
    // Row 1 has amax 127, so inv = 1 and its codes are rint(x): exact ties, which round to even.
    x[k] = 127.0f, x[k + 1] = 2.5f, x[k + 2] = 3.5f, x[k + 3] = -0.5f, x[k + 4] = -1.5f;
  }
  std::vector<int8_t> wq(wq_offset + n * k);
  std::mt19937 gen(33);
  for (auto& w : wq) w = static_cast<int8_t>(static_cast<int>(gen() % 255) - 127);
  float *dx = upload(x), *dws = upload(ws), *out = device<float>(m * n);
  int8_t* dwq = upload(wq);
  const std::vector<int8_t> w(wq.begin() + wq_offset, wq.end());
  for (const bool int8 : {false, true}) {
    {
      ScratchHolder scratch;
      launch_matmul_int8(stream(), out, dx, dwq + wq_offset, dws, m, n, k, int8, scratch.fn());
    }
    int bad = 0;
    if (int8) {
      // Exact: the same f32 quantisation, exact integer sums, the same rounding of the epilogue.
      const auto want = int8_reference(x, w, ws, m, n, k);
      for (int64_t e = 0; e < m * n; ++e) bad += out[e] != want[e];
    } else {
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double acc = 0;
          for (int64_t p = 0; p < k; ++p) acc += static_cast<double>(x[i * k + p]) * w[j * k + p];
          bad += !close(out[i * n + j], static_cast<float>(ws[j] * acc), 1e-4f, 1e-4f);
        }
    }
    EXPECT(bad == 0, "matmulInt8 %s m=%ld n=%ld k=%ld wq offset %ld: %d wrong", int8 ? "int8" : "f32", (long)m, (long)n, (long)k, (long)wq_offset, bad);
  }
  cudaFree(dx), cudaFree(dws), cudaFree(out), cudaFree(dwq);
}

// The emulator's integer intrinsics give the GPU's results.
void test_int8_intrinsics() {
  const auto pack = [](int a, int b, int c, int d) {
    return static_cast<int>((static_cast<uint32_t>(a) & 0xff) | (static_cast<uint32_t>(b) & 0xff) << 8 | (static_cast<uint32_t>(c) & 0xff) << 16 | (static_cast<uint32_t>(d) & 0xff) << 24);
  };
  EXPECT(__dp4a(pack(1, -2, 127, -128), pack(3, 4, -127, -128), 10) == 10 + 3 - 8 - 16129 + 16384, "__dp4a signed bytes");
  EXPECT(__dp4a(pack(127, 127, 127, 127), pack(127, 127, 127, 127), INT_MAX) == static_cast<int>(static_cast<uint32_t>(INT_MAX) + 4u * 16129u), "__dp4a wraps like the hardware");
  EXPECT(__float2int_rn(2.5f) == 2 && __float2int_rn(3.5f) == 4 && __float2int_rn(-2.5f) == -2 && __float2int_rn(-0.5f) == 0, "__float2int_rn ties to even");
  EXPECT(__float2int_rn(NAN) == 0 && __float2int_rn(1e10f) == INT_MAX && __float2int_rn(-1e10f) == INT_MIN, "__float2int_rn NaN and saturation");
}

// ---- tanhJvp: the f32 matmul with (1 − h²) fused into its epilogue --------------------------------------------------
void test_tanh_jvp(int64_t b, int64_t out_f, int64_t in_f) {
  auto v = randn(b * in_f, 41), w = randn(out_f * in_f, 42), h = randn(b * out_f, 43);
  for (auto& y : h) y = std::tanh(y);
  float *dv = upload(v), *dw = upload(w), *dh = upload(h), *out = device<float>(b * out_f);
  MatmulArgs a{};
  a.m = b, a.n = out_f, a.k = in_f;
  a.batch.rank = 0;
  a.batches = 1;
  a.a = MatOperand{dv, 0, in_f, 1, Strides{}};
  a.b = MatOperand{dw, 0, 1, in_f, Strides{}};  // wᵀ read in place
  a.c = out;
  a.h = dh;
  launch_matmul(stream(), a);
  int bad = 0;
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < out_f; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < in_f; ++p) acc += static_cast<double>(v[i * in_f + p]) * w[j * in_f + p];
      const double y = h[i * out_f + j];
      bad += !close(out[i * out_f + j], static_cast<float>((1 - y * y) * acc), 1e-4f, 1e-4f);
    }
  EXPECT(bad == 0, "tanhJvp b=%ld out=%ld in=%ld: %d wrong", (long)b, (long)out_f, (long)in_f, bad);
  cudaFree(dv), cudaFree(dw), cudaFree(dh), cudaFree(out);
}

// ---- tanhJvpStep / tanhJvpStepGrad: a block per row, GEMV + row norm in one launch --------------------------------
struct StepCase {
  int64_t b, out_f, in_f;
  int64_t v_rs, v_cs;  // v's strides in its buffer (row b, column k at b·v_rs + k·v_cs)
  int64_t w_offset;    // w's element offset: 1 makes its rows misaligned for float4
  int64_t zero_row;    // a row of v set to zero (g = 0: NaN direction, −∞ log norm), or −1
};

// Equal (NaN, ±∞ included) or within atol + rtol·|want|.
bool step_close(float got, double want, double rtol, double atol) {
  if (std::isnan(got) && std::isnan(want)) return true;
  if (static_cast<double>(got) == want) return true;
  return std::fabs(got - want) <= atol + rtol * std::fabs(want);
}

void test_tanh_jvp_step(const StepCase& c, const char* what) {
  const int64_t b = c.b, out_f = c.out_f, in_f = c.in_f;
  // v's buffer is NaN except at the view's elements, so reading any other element poisons a whole row.
  const int64_t v_len = b && in_f ? (b - 1) * c.v_rs + (in_f - 1) * c.v_cs + 1 : 1;
  std::vector<float> v(v_len, NAN);
  const auto vals = randn(b * in_f, 51);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t k = 0; k < in_f; ++k) v[i * c.v_rs + k * c.v_cs] = i == c.zero_row ? 0.0f : vals[i * in_f + k];
  // One spare element each, so no buffer is empty when out or in is 0.
  auto w = randn(c.w_offset + out_f * in_f + 1, 52), h = randn(b * out_f + 1, 53), gy = randn(b * (out_f + 1) + 1, 54);
  for (auto& y : h) y = std::tanh(y);
  float *dv = upload(v), *dw = upload(w), *dh = upload(h), *dgy = upload(gy);
  float *y = device<float>(b * (out_f + 1) + 1), *z = device<float>(2 * b * out_f + 1);
  launch_tanh_jvp_step(stream(), y, dh, dv, c.v_rs, c.v_cs, dw + c.w_offset, b, out_f, in_f);
  launch_tanh_jvp_step_grad(stream(), z, dh, dv, c.v_rs, c.v_cs, dw + c.w_offset, dgy, b, out_f, in_f);
  int bad_u = 0, bad_l = 0, bad_dp = 0, bad_dh = 0;
  std::vector<double> p(out_f), d(out_f);
  for (int64_t i = 0; i < b; ++i) {
    double ss = 0;
    for (int64_t j = 0; j < out_f; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < in_f; ++k) acc += static_cast<double>(v[i * c.v_rs + k * c.v_cs]) * w[c.w_offset + j * in_f + k];
      const double hy = h[i * out_f + j];
      p[j] = acc, d[j] = (1 - hy * hy) * acc, ss += d[j] * d[j];
    }
    const double g = std::sqrt(ss);
    const float* yr = y + i * (out_f + 1);
    const float* gr = gy.data() + i * (out_f + 1);
    double s = 0, scale = 0;
    for (int64_t j = 0; j < out_f; ++j) {
      bad_u += !step_close(yr[j], d[j] / g, 2e-5, 1e-6);
      s += d[j] / g * gr[j];
    }
    bad_l += !step_close(yr[out_f], std::log(g), 1e-5, 1e-6);
    std::vector<double> dp(out_f), dh(out_f);
    for (int64_t j = 0; j < out_f; ++j) {
      const double u = d[j] / g, dd = (gr[j] - u * s + u * gr[out_f]) / g, hy = h[i * out_f + j];
      dp[j] = (1 - hy * hy) * dd, dh[j] = -2 * hy * p[j] * dd;
      scale = std::max({scale, std::fabs(dp[j]), std::fabs(dh[j])});
    }
    for (int64_t j = 0; j < out_f; ++j) {
      bad_dp += !step_close(z[i * out_f + j], dp[j], 1e-4, 1e-5 * scale);
      bad_dh += !step_close(z[(b + i) * out_f + j], dh[j], 1e-4, 1e-5 * scale);
    }
  }
  EXPECT(bad_u + bad_l + bad_dp + bad_dh == 0, "tanhJvpStep %s (b=%ld out=%ld in=%ld): %d directions, %d log norms, %d dp, %d dh wrong", what, (long)b, (long)out_f, (long)in_f, bad_u,
         bad_l, bad_dp, bad_dh);
  if (c.zero_row >= 0) {
    const float* yr = y + c.zero_row * (out_f + 1);
    EXPECT(std::isinf(yr[out_f]) && yr[out_f] < 0 && (out_f == 0 || std::isnan(yr[0])), "tanhJvpStep: a zero row gives a NaN direction and ln 0 = -inf, got %g, %g", out_f ? yr[0] : 0.0f,
           yr[out_f]);
  }
  cudaFree(dv), cudaFree(dw), cudaFree(dh), cudaFree(dgy), cudaFree(y), cudaFree(z);
}

// ---- activation density ---------------------------------------------------------------------------------------------
// a as stored: logical [rows, cols], either dense row-major from `offset` or transposed (column-major, strides
// {1, rows}: the view of a [cols, rows] buffer); `at` maps a logical index to its place in the buffer.
struct DensityLayout {
  int64_t rows, cols, offset;
  bool transposed;
  int64_t n() const { return rows * cols; }
  int64_t at(int64_t i) const { return transposed ? offset + (i % cols) * rows + i / cols : offset + i; }
  Operand operand(const float* buf) const {
    if (!transposed) return Operand{buf, dense(offset)};
    Strides st{};
    st.offset = offset;
    st.stride[0] = 1, st.stride[1] = rows;
    return Operand{buf, st};
  }
  Shape shape() const {
    if (!transposed) return shape1(n());
    Shape s{};
    s.rank = 2;
    s.dim[0] = rows, s.dim[1] = cols;
    return s;
  }
};

// The spec in double: c = τ² + eps, ρ = mean(a²/(a² + c)), grad_i = g·2a_i·c/(a_i² + c)²/n.
struct DensityWant {
  double rho;
  std::vector<double> grad;
};
DensityWant density_reference(const std::vector<float>& buf, const DensityLayout& l, float tau, double eps, float g) {
  const int64_t n = l.n();
  const double c = static_cast<double>(tau) * tau + eps;
  DensityWant w{0.0, std::vector<double>(n)};
  for (int64_t i = 0; i < n; ++i) {
    const double a = buf[l.at(i)], a2 = a * a;
    w.rho += a2 / (a2 + c);
    w.grad[i] = g * 2 * a * c / ((a2 + c) * (a2 + c)) / static_cast<double>(n);
  }
  w.rho /= static_cast<double>(n);
  return w;
}

// Equal to the f32 rounding of `want` (NaN, ±∞ and values beyond f32's range included) or within atol + rtol·|want|.
bool density_close(float got, double want, double rtol, double atol) {
  if (std::isnan(got) || std::isnan(want)) return std::isnan(got) && std::isnan(want);
  if (got == static_cast<float>(want)) return true;
  return std::fabs(got - want) <= atol + rtol * std::fabs(want);
}

// Runs both kernels on `buf` as laid out by `l` (τ and g as one-element views at an offset inside their buffers) and
// checks them against the double reference; the forward twice, bitwise equal.
void check_density(const char* what, const std::vector<float>& buf, const DensityLayout& l, float tau, double eps, float g) {
  const int64_t n = l.n();
  const std::vector<float> tau_buf = {NAN, NAN, tau}, g_buf = {NAN, g};
  float *da = upload(buf), *dtau = upload(tau_buf), *dg = upload(g_buf), *rho = device<float>(2), *grad = device<float>(n);
  {
    ScratchHolder scratch;
    launch_activation_density(stream(), rho, n, l.shape(), l.operand(da), dtau + 2, eps, scratch.fn());
    launch_activation_density(stream(), rho + 1, n, l.shape(), l.operand(da), dtau + 2, eps, scratch.fn());
  }
  launch_activation_density_grad(stream(), grad, n, l.shape(), l.operand(da), dtau + 2, dg + 1, eps);
  const DensityWant want = density_reference(buf, l, tau, eps, g);
  double scale = 0;
  for (const double v : want.grad) scale = std::isfinite(v) ? std::max(scale, std::fabs(v)) : scale;
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (density_close(grad[i], want.grad[i], 1e-5, 1e-6 * scale)) continue;
    if (bad++ < 5) std::printf("  %s: a[%ld] = %.9g: grad %.9g, want %.9g\n", what, (long)i, buf[l.at(i)], grad[i], want.grad[i]);
  }
  EXPECT(density_close(rho[0], want.rho, 1e-6, 1e-9), "activationDensity %s (n=%ld): %.9g, want %.12g", what, (long)n, rho[0], want.rho);
  EXPECT(std::memcmp(rho, rho + 1, sizeof(float)) == 0, "activationDensity %s: two runs differ (%.9g, %.9g)", what, rho[0], rho[1]);
  EXPECT(bad == 0, "activationDensityGrad %s (n=%ld): %d of %ld wrong", what, (long)n, bad, (long)n);
  cudaFree(da), cudaFree(dtau), cudaFree(dg), cudaFree(rho), cudaFree(grad);
}

// randn scaled values in a NaN-filled buffer, so an element read outside the view poisons the result.
void test_activation_density(const char* what, const DensityLayout& l, float spread, float tau, double eps, float g) {
  const auto vals = randn(l.n(), 61);
  std::vector<float> buf(l.offset + l.n() + 3, NAN);
  for (int64_t i = 0; i < l.n(); ++i) buf[l.at(i)] = spread * vals[i];
  check_density(what, buf, l, tau, eps, g);
}

// Values the f32 fast path cannot take (the fallback's double arithmetic) and the NaN rules of the reference.
void test_activation_density_special() {
  const DensityLayout flat5{1, 5, 0, false};
  // a = 0 with τ = 0, eps = 1e-30: density 0 and gradient 0, exactly.
  check_density("zeros, tau 0, eps 1e-30", std::vector<float>(5, 0.0f), flat5, 0.0f, 1e-30, 1.0f);
  // |a| ≫ √c (x² overflows f32), tiny |a| and a moderate one, from float4 and scalar tail elements.
  check_density("huge and tiny values", {1e30f, -3e38f, 1e-30f, 0.7f, 2e19f, -1e-38f, 5.0f}, {1, 7, 0, false}, 1.0f, 0.0, -2.5f);
  // τ far below every |a|: every x² overflows, 1/√c is still an f32.
  test_activation_density("tau 1e-30, eps 0", {1, 1031, 0, false}, 1.0f, 1e-30f, 0.0, 1.0f);
  // c = 0: a ≠ 0 gives 1 and gradient 0; with one a = 0 (0/0) the density is NaN, as is that element's gradient.
  check_density("c = 0", {1.0f, -2.0f, 3.0f, 0.5f, 1e-20f}, flat5, 0.0f, 0.0, 1.0f);
  check_density("c = 0 with a zero", {1.0f, -2.0f, 0.0f, 0.5f, 1e-20f}, flat5, 0.0f, 0.0, 1.0f);
  // NaN and ±∞ in a make the density NaN; only their own gradients are NaN.
  std::vector<float> poisoned = randn(4099, 62);
  poisoned[2050] = NAN;
  check_density("a NaN", poisoned, {1, 4099, 0, false}, 0.3f, 1e-3, 1.0f);
  poisoned[2050] = 1.0f, poisoned[4098] = -INFINITY;
  check_density("-inf in the tail", poisoned, {1, 4099, 0, false}, 0.3f, 1e-3, 1.0f);
  // NaN τ: everything NaN.
  check_density("tau NaN", {1.0f, 2.0f, 3.0f}, {1, 3, 0, false}, NAN, 0.0, 1.0f);
}

}  // namespace

void test_eitp_kernels() {
  test_soft_histogram(1031, {64, -4, 0.125, 0.125}, 2.5f);      // values beyond both ends of the range
  test_soft_histogram(300001, {64, -4, 0.125, 0.125}, 1.0f);    // capped grid: each warp takes several rounds
  test_soft_histogram(5003, {33, -3, 0.2, 0.15}, 1.0f);
  test_soft_histogram(2000, {2000, -3, 0.003, 0.004}, 1.0f);    // per-warp histograms in the global spill area
  test_soft_histogram_nonfinite();
  test_correlation(2, 2, 0);       // the smallest shape: one chunk, one diagonal sub-tile
  test_correlation(67, 9, 0);      // one tile pair, scalar loads
  test_correlation(1000, 70, 1);   // 3 tile pairs (ragged), many row chunks, z not 16-byte aligned
  test_correlation(300, 132, 0);   // float4 loads, 6 tile pairs
  test_correlation(70, 257, 0);    // 15 tile pairs (the last one column wide), two row chunks
  test_coherence(2, 2, 0, 1.0f);       // each column standardises to ±1: R = ±1 (up to eps)
  test_coherence(67, 9, 1, -2.5f);     // one tile pair, z not 16-byte aligned, a negative cotangent
  test_coherence(9, 67, 0, 3.0f);      // N < d: R is rank-deficient, two tile pairs
  test_coherence(3001, 130, 0, 0.5f);  // many row chunks, 3 tile pairs, 17 partial sums of (R − I)²
  test_coherence(40, 1100, 0, 1.0f);   // 1.21M elements of R: the capped reduction grid, several rounds a thread
  test_int8_intrinsics();
  test_matmul_int8(37, 130, 67, 0);   // ragged; int8 path packs the weights (K % 16 != 0)
  test_matmul_int8(5, 9, 64, 0);      // weights read in place (K % 16 == 0, aligned); vector f32 loads
  test_matmul_int8(130, 3, 48, 3);    // misaligned weights: packed; scalar f32 loads
  test_tanh_jvp(7, 5, 33);            // 32×32 tiles
  test_tanh_jvp(300, 260, 45);        // 128×128 tiles, vector A loads, ragged
  test_tanh_jvp_step({3, 257, 9, 9, 1, 0, -1}, "ragged, out > block");
  test_tanh_jvp_step({7, 257, 67, 72, 1, 0, 2}, "row-padded v, a zero row");
  test_tanh_jvp_step({64, 512, 512, 513, 1, 0, -1}, "the previous step's direction as v, float4 w");
  test_tanh_jvp_step({5, 1000, 4, 1, 5, 0, -1}, "transposed v, 4 outputs per thread");
  test_tanh_jvp_step({4, 40, 32, 32, 1, 1, -1}, "misaligned w: scalar loads");
  test_tanh_jvp_step({3, 33, 9000, 9000, 1, 0, -1}, "three v tiles, float4 w");
  test_tanh_jvp_step({3, 70, 8195, 8195, 1, 0, 1}, "three v tiles, ragged last tile, a zero row");
  test_tanh_jvp_step({300, 5, 7, 7, 1, 0, -1}, "more blocks than workers, one warp");
  test_tanh_jvp_step({2, 5, 0, 0, 1, 0, -1}, "in = 0: every row is zero");
  test_tanh_jvp_step({3, 0, 5, 5, 1, 0, -1}, "out = 0: ln 0 only");
  test_activation_density("one element", {1, 1, 0, false}, 1.0f, 0.5f, 0.0, 1.0f);
  test_activation_density("three: the float4 path's tail only", {1, 3, 0, false}, 1.0f, 0.5f, 0.0, 1.0f);
  test_activation_density("odd n, float4 + tail", {1, 1031, 0, false}, 3.0f, 0.3f, 1e-3, -3.0f);
  test_activation_density("misaligned dense a: scalar loads", {1, 4099, 1, false}, 1.0f, 0.2f, 1e-30, 0.5f);
  test_activation_density("transposed a", {33, 129, 5, true}, 2.0f, 0.7f, 0.5, 1.0f);
  test_activation_density("capped grid, three rounds", {1, 3000017, 0, false}, 1.0f, 0.1f, 0.0, 1.0f);
  test_activation_density("transposed, capped grid", {1501, 701, 2, true}, 1.0f, 0.25f, 1e-6, 2.0f);
  test_activation_density("large tau", {1, 70001, 0, false}, 1.0f, 1e3f, 0.0, 1.0f);
  test_activation_density_special();
}

}  // namespace eitp_test
