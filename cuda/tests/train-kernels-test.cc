// Tests of the fused training kernels (train-fused.cuh, and matmul.cuh's bias + activation epilogue) under the
// emulator, against naive double-precision host loops written from the spec (the ops' contract in
// engine/ops/train-fused.ts). Shapes are ragged, grids have more blocks than the emulator's workers, layerNormGrad
// takes both its one-chunk and its multi-chunk column path, and adamStep and sgdStep both their float4 and scalar
// passes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../addon/launch-gelu-grad.h"
#include "test-util.h"

namespace eitp_test {
namespace {

// ---- crossEntropyGrad ---------------------------------------------------------------------------------------------
void test_cross_entropy_grad(int64_t rows, int64_t classes, int mode) {
  auto x = randn(rows * classes, 51);
  std::vector<int32_t> t(rows);
  for (int64_t i = 0; i < rows; ++i) t[i] = static_cast<int32_t>((i * 7 + 3) % classes);
  const auto g = randn(mode == kScaleNone ? rows : 1, 52);
  float *dx = upload(x), *dg = upload(g), *out = device<float>(rows * classes);
  int32_t* dt = upload(t);
  launch_cross_entropy_grad(stream(), out, dx, dt, dg, rows, classes, mode);
  int bad = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const double s = mode == kScaleNone ? g[i] : mode == kScaleMean ? g[0] / static_cast<double>(rows) : g[0];
    double m = -INFINITY, z = 0;
    for (int64_t j = 0; j < classes; ++j) m = std::max<double>(m, x[i * classes + j]);
    for (int64_t j = 0; j < classes; ++j) z += std::exp(x[i * classes + j] - m);
    for (int64_t j = 0; j < classes; ++j) {
      const double want = (std::exp(x[i * classes + j] - m) / z - (j == t[i])) * s;
      bad += !close(out[i * classes + j], static_cast<float>(want), 1e-5f, 1e-6f);
    }
  }
  EXPECT(bad == 0, "crossEntropyGrad rows=%ld classes=%ld mode=%d: %d wrong", (long)rows, (long)classes, mode, bad);
  EXPECT(g_err->code == 0, "crossEntropyGrad with valid targets recorded error %d", g_err->code);
  // A target out of range: recorded (op, position, value, limit) and its row is NaN; the other rows are unchanged.
  const int64_t bad_row = rows / 2;
  dt[bad_row] = static_cast<int32_t>(classes);
  std::vector<float> before(out, out + rows * classes);
  launch_cross_entropy_grad(stream(), out, dx, dt, dg, rows, classes, mode);
  EXPECT(g_err->code == kErrCrossEntropyGrad && g_err->position == bad_row && g_err->value == classes && g_err->limit == classes,
         "crossEntropyGrad bad target recorded (code %d position %lld value %lld)", g_err->code, g_err->position, g_err->value);
  int nan_row = 0, changed = 0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < classes; ++j) {
      const float v = out[i * classes + j];
      if (i == bad_row) nan_row += std::isnan(v);
      else changed += v != before[i * classes + j];
    }
  EXPECT(nan_row == classes && changed == 0, "bad target: %d of %ld NaN in its row, %d other values changed", nan_row, (long)classes, changed);
  std::memset(g_err, 0, sizeof *g_err);
  cudaFree(dx), cudaFree(dg), cudaFree(out), cudaFree(dt);
}

// ---- layerNormGrad -------------------------------------------------------------------------------------------------
void test_layer_norm_grad(int64_t rows, int64_t d, int64_t offset) {
  const float eps = 1e-5f;
  auto x = randn(offset + rows * d, 53), w = randn(d, 54), g = randn(rows * d, 55);
  float *dx = upload(x), *dw = upload(w), *dg = upload(g), *out = device<float>((rows + 2) * d);
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    ScratchHolder scratch;
    launch_layer_norm_grad(stream(), out, dx + offset, dw, dg, rows, d, eps, scratch.fn());
    if (run == 0) first.assign(out, out + (rows + 2) * d);
  }
  // Deterministic: the column sums have a fixed order, so a second run is bit-identical.
  EXPECT(std::memcmp(first.data(), out, first.size() * sizeof(float)) == 0, "layerNormGrad rows=%ld d=%ld: two runs differ", (long)rows, (long)d);
  std::vector<double> sw(d, 0.0), sb(d, 0.0), xh(d);
  int bad = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const float* xr = x.data() + offset + i * d;
    const float* gr = g.data() + i * d;
    double mu = 0, var = 0, mgw = 0, mgwx = 0;
    for (int64_t j = 0; j < d; ++j) mu += xr[j];
    mu /= d;
    for (int64_t j = 0; j < d; ++j) var += (xr[j] - mu) * (xr[j] - mu);
    const double rstd = 1 / std::sqrt(var / d + eps);
    for (int64_t j = 0; j < d; ++j) {
      xh[j] = (xr[j] - mu) * rstd;
      mgw += static_cast<double>(gr[j]) * w[j] / d;
      mgwx += static_cast<double>(gr[j]) * w[j] * xh[j] / d;
      sw[j] += gr[j] * xh[j];
      sb[j] += gr[j];
    }
    for (int64_t j = 0; j < d; ++j) bad += !close(out[i * d + j], static_cast<float>(rstd * (static_cast<double>(gr[j]) * w[j] - mgw - xh[j] * mgwx)), 1e-4f, 1e-4f);
  }
  int bad_cols = 0;
  for (int64_t j = 0; j < d; ++j) {
    bad_cols += !close(out[rows * d + j], static_cast<float>(sw[j]), 1e-4f, 1e-4f);
    bad_cols += !close(out[(rows + 1) * d + j], static_cast<float>(sb[j]), 1e-4f, 1e-4f);
  }
  EXPECT(bad == 0 && bad_cols == 0, "layerNormGrad rows=%ld d=%ld: %d dx and %d dw/db wrong", (long)rows, (long)d, bad, bad_cols);
  cudaFree(dx), cudaFree(dw), cudaFree(dg), cudaFree(out);
}

// ---- activationGrad -------------------------------------------------------------------------------------------------
void test_activation_grad(int act, int64_t rows, int64_t cols) {
  auto z = randn(rows * cols, 56), g = randn(cols, 57);
  std::vector<float> y(rows * cols);
  for (int64_t e = 0; e < rows * cols; ++e)
    y[e] = act == kActRelu ? std::max(z[e], 0.0f) : act == kActTanh ? std::tanh(z[e]) : 1.0f / (1.0f + std::exp(-z[e]));
  float *dy = upload(y), *dg = upload(g), *out = device<float>(rows * cols);
  // y read transposed (stored [cols][rows]) is exercised by the JS suites; here g is broadcast along the rows.
  Shape shape{};
  shape.rank = 2, shape.dim[0] = rows, shape.dim[1] = cols;
  Strides gs{};
  gs.stride[0] = 0, gs.stride[1] = 1;
  launch_activation_grad(stream(), act, out, rows * cols, shape, Operand{dy, dense()}, Operand{dg, gs});
  int bad = 0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const double yv = y[i * cols + j];
      const double slope = act == kActRelu ? (yv > 0) : act == kActTanh ? 1 - yv * yv : yv * (1 - yv);
      bad += !close(out[i * cols + j], static_cast<float>(g[j] * slope), 1e-6f, 1e-7f);
    }
  EXPECT(bad == 0, "activationGrad act=%d %ldx%ld: %d wrong", act, (long)rows, (long)cols, bad);
  cudaFree(dy), cudaFree(dg), cudaFree(out);
}

// ---- geluGrad --------------------------------------------------------------------------------------------------------
// gelu′ in double from its closed forms: Φ(x) = erfc(−x/√2)/2 (no cancellation for x ≪ 0), and the tanh form's
// derivative 0.5(1 + th) + 0.5x(1 − th²)·√(2/π)(1 + 3c·x²).
double gelu_slope(double x, bool tanh_approx) {
  const double k = std::sqrt(2 / M_PI), c = 0.044715;
  if (tanh_approx) {
    const double th = std::tanh(k * (x + c * x * x * x));
    return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * k * (1 + 3 * c * x * x);
  }
  return 0.5 * std::erfc(-x * M_SQRT1_2) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
}

// gelu″ (geluGrad's order 2) in double: φ(x)(2 − x²) exactly, (1 − th²)·(a′ + 3c√(2/π)x² − x·th·a′²) for the tanh
// form (a′ = √(2/π)(1 + 3c·x²)); 0 where φ or 1 − th² is 0 (the limit at ±∞).
double gelu_curvature(double x, bool tanh_approx) {
  const double k = std::sqrt(2 / M_PI), c = 0.044715;
  if (tanh_approx) {
    const double th = std::tanh(k * (x + c * x * x * x)), s = 1 - th * th, du = k * (1 + 3 * c * x * x);
    return s == 0 ? 0 : s * (du + 3 * c * k * x * x - x * th * du * du);
  }
  const double pdf = std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
  return pdf == 0 ? 0 : pdf * (2 - x * x);
}

// x [rows, cols] read transposed (stored [cols][rows], from an offset) and g broadcast along the rows (stride 0),
// so both operands go through map_kernel's strided indexing. x holds randn values, the saturated range of tanh and
// erf (±5.2 … ±30), 0, NaN and huge finite values. order 1: g·gelu′(x), 2: g·gelu″(x).
void test_gelu_grad(bool tanh_approx, int64_t rows, int64_t cols, int order = 1) {
  const int64_t n = rows * cols, offset = 3;
  auto xs = randn(offset + n, 61);
  const float special[] = {10.0f, -10.0f, 30.0f, -30.0f, 5.2f, -5.2f, 4.0f, -4.0f, -0.7518f, 0.0f, -0.0f, NAN, 1e20f, -1e20f, 3e38f, -3e38f};
  for (size_t i = 0; i < sizeof special / sizeof *special && i < static_cast<size_t>(n); ++i) xs[offset + i * 7 % n] = special[i];
  const auto g = randn(cols, 62);
  float *dx = upload(xs), *dg = upload(g), *out = device<float>(n);
  Shape shape{};
  shape.rank = 2, shape.dim[0] = rows, shape.dim[1] = cols;
  Strides xst{}, gst{};
  xst.offset = offset, xst.stride[0] = 1, xst.stride[1] = rows;
  gst.stride[0] = 0, gst.stride[1] = 1;
  launch_gelu_grad(stream(), tanh_approx, order, out, n, shape, Operand{dx, xst}, Operand{dg, gst});
  const char* what = order == 2 ? (tanh_approx ? "tanh order 2" : "erf order 2") : (tanh_approx ? "tanh" : "erf");
  int bad = 0, nan_in = 0, nan_out = 0;
  double worst = 0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const float x = xs[offset + j * rows + i];
      const float got = out[i * cols + j];
      const double want = g[j] * (order == 2 ? gelu_curvature(x, tanh_approx) : gelu_slope(x, tanh_approx));
      if (std::isnan(x)) {
        ++nan_in, nan_out += std::isnan(got);
        continue;
      }
      // f32 tanh / erf near saturation leave an absolute error of a few 1e-7 in 1 ± th: atol scales with |g|
      const bool ok = close(got, static_cast<float>(want), 1e-5f, 1e-6f * std::fabs(g[j]) + 1e-30f);
      bad += !ok;
      if (!ok && bad <= 5) std::printf("  geluGrad %s x=%.9g g=%.9g: got %.9g want %.9g\n", what, x, g[j], got, want);
      worst = std::max(worst, std::fabs(got - want) / std::fabs(g[j]));
    }
  EXPECT(bad == 0, "geluGrad %s %ldx%ld: %d wrong (worst |error|/|g| %.3g)", what, (long)rows, (long)cols, bad, worst);
  EXPECT(nan_out == nan_in, "geluGrad %s: %d of %d NaN inputs gave NaN", what, nan_out, nan_in);
  cudaFree(dx), cudaFree(dg), cudaFree(out);
}

// The saturated values one by one against their limits: gelu′ → 1 (x → +∞) and 0 (x → −∞) in both forms, NaN for a
// NaN x and for x = ±∞ (∞·0, as in the f64 reference), g scaling the result.
void test_gelu_grad_limits(bool tanh_approx) {
  const std::vector<float> x = {10.0f, -10.0f, 30.0f, -30.0f, 1e20f, -1e20f, NAN, INFINITY, -INFINITY};
  const std::vector<float> want = {-2.5f, -0.0f, -2.5f, -0.0f, -2.5f, -0.0f, NAN, NAN, NAN};
  const std::vector<float> g(x.size(), -2.5f);
  float *dx = upload(x), *dg = upload(g), *out = device<float>(x.size());
  launch_gelu_grad(stream(), tanh_approx, 1, out, static_cast<int64_t>(x.size()), shape1(static_cast<int64_t>(x.size())), Operand{dx, dense()}, Operand{dg, dense()});
  for (size_t i = 0; i < x.size(); ++i) {
    // x = −10, exact form: g·x·φ(x) ≈ 1.9e-21, within atol of the limit 0
    EXPECT(close(out[i], want[i], 0.0f, 1e-20f), "geluGrad %s limit at x=%g: got %.9g want %g", tanh_approx ? "tanh" : "erf", x[i], out[i], want[i]);
  }
  cudaFree(dx), cudaFree(dg), cudaFree(out);
}

// gelu″ → 0 at ±∞ in both forms: exactly 0 once φ or 1 − th² underflows (x² and x³ overflowing past 1e13 and 1e20
// included), for x = ±∞ too (the limit, not ∞·0); NaN for a NaN x.
void test_gelu_curvature_limits(bool tanh_approx) {
  const std::vector<float> x = {30.0f, -30.0f, 1e20f, -1e20f, 3e38f, -3e38f, NAN, INFINITY, -INFINITY};
  const std::vector<float> g(x.size(), -2.5f);
  float *dx = upload(x), *dg = upload(g), *out = device<float>(x.size());
  launch_gelu_grad(stream(), tanh_approx, 2, out, static_cast<int64_t>(x.size()), shape1(static_cast<int64_t>(x.size())), Operand{dx, dense()}, Operand{dg, dense()});
  for (size_t i = 0; i < x.size(); ++i) {
    const bool ok = std::isnan(x[i]) ? std::isnan(out[i]) : out[i] == 0.0f;
    EXPECT(ok, "geluGrad %s order 2 limit at x=%g: got %.9g", tanh_approx ? "tanh" : "erf", x[i], out[i]);
  }
  cudaFree(dx), cudaFree(dg), cudaFree(out);
}

// ---- linear: the f32 matmul with act(· + bias) in its epilogue --------------------------------------------------------
void test_linear(int64_t m, int64_t n, int64_t k, int act, bool transpose_w) {
  // (at least one element each: K = 0 leaves x and w empty)
  auto x = randn(std::max<int64_t>(m * k, 1), 58), w = randn(std::max<int64_t>(k * n, 1), 59), b = randn(n, 60);
  float *dx = upload(x), *dw = upload(w), *db = upload(b), *out = device<float>(m * n);
  MatmulArgs a{};
  a.m = m, a.n = n, a.k = k;
  a.batch.rank = 0;
  a.batches = 1;
  a.a = MatOperand{dx, 0, k, 1, Strides{}};
  // w stored [n][k] and read as its transposed view [k, n] (strides [1, k]), or stored [k][n] dense.
  a.b = transpose_w ? MatOperand{dw, 0, 1, k, Strides{}} : MatOperand{dw, 0, n, 1, Strides{}};
  a.bias = db;
  a.act = act;
  a.c = out;
  launch_matmul(stream(), a);
  int bad = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double z = b[j];
      for (int64_t p = 0; p < k; ++p) z += static_cast<double>(x[i * k + p]) * (transpose_w ? w[j * k + p] : w[p * n + j]);
      const double want = act == kActRelu ? std::max(z, 0.0) : act == kActTanh ? std::tanh(z) : act == kActSigmoid ? 1 / (1 + std::exp(-z)) : z;
      bad += !close(out[i * n + j], static_cast<float>(want), 1e-4f, 1e-4f);
    }
  EXPECT(bad == 0, "linear m=%ld n=%ld k=%ld act=%d transposed w=%d: %d wrong", (long)m, (long)n, (long)k, act, transpose_w, bad);
  cudaFree(dx), cudaFree(dw), cudaFree(db), cudaFree(out);
}

// ---- adamStep ---------------------------------------------------------------------------------------------------------
// p, g, m, v at `offset` elements into one buffer each; offset 1 misaligns them (the scalar pass).
void test_adam_step(int64_t n, int64_t offset, double weight_decay, double decay) {
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, step = 0.01, bias2 = 0.05;
  auto p = randn(offset + n, 61), g = randn(offset + n, 62), m = randn(offset + n, 63), v = randn(offset + n, 64);
  for (auto& e : m) e *= 0.1f;
  for (auto& e : v) e = 0.01f * e * e;
  float *dp = upload(p), *dg = upload(g), *dm = upload(m), *dv = upload(v), *out = device<float>(3 * n);
  AdamParams a{};
  a.beta1 = static_cast<float>(beta1), a.one_minus_beta1 = static_cast<float>(1 - beta1);
  a.beta2 = static_cast<float>(beta2), a.one_minus_beta2 = static_cast<float>(1 - beta2);
  a.eps = static_cast<float>(eps), a.weight_decay = static_cast<float>(weight_decay), a.decay = static_cast<float>(decay);
  a.step_size = static_cast<float>(step), a.bias2_sqrt = static_cast<float>(bias2);
  launch_adam_step(stream(), out, dp + offset, dg + offset, dm + offset, dv + offset, n, a);
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double pi = p[offset + i], gi = g[offset + i] + weight_decay * pi;
    const double m1 = beta1 * m[offset + i] + (1 - beta1) * gi;
    const double v1 = beta2 * v[offset + i] + (1 - beta2) * gi * gi;
    const double p1 = decay * pi - m1 / (std::sqrt(v1) / bias2 + eps) * step;
    bad += !close(out[i], static_cast<float>(p1), 1e-5f, 1e-6f) + !close(out[n + i], static_cast<float>(m1), 1e-5f, 1e-7f) + !close(out[2 * n + i], static_cast<float>(v1), 1e-5f, 1e-9f);
  }
  EXPECT(bad == 0, "adamStep n=%ld offset=%ld weight decay %g decay %g: %d wrong", (long)n, (long)offset, weight_decay, decay, bad);
  cudaFree(dp), cudaFree(dg), cudaFree(dm), cudaFree(dv), cudaFree(out);
}

// ---- sgdStep -----------------------------------------------------------------------------------------------------------
struct Sgd {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, first;
};

SgdParams sgd_params(const Sgd& c) {
  SgdParams a{};
  a.lr = static_cast<float>(c.lr), a.momentum = static_cast<float>(c.momentum);
  a.one_minus_dampening = static_cast<float>(1 - c.dampening), a.weight_decay = static_cast<float>(c.weight_decay);
  a.use_momentum = c.momentum != 0, a.read_buf = c.momentum != 0 && !c.first, a.nesterov = c.nesterov;
  return a;
}

// The spec's update in double for element i: p′ and (with momentum) buf′.
void sgd_want(const Sgd& c, double p, double g, double b, double& p1, double& b1) {
  double d = g + c.weight_decay * p;
  b1 = 0;
  if (c.momentum != 0) {
    b1 = c.first ? d : c.momentum * b + (1 - c.dampening) * d;
    d = c.nesterov ? d + c.momentum * b1 : b1;
  }
  p1 = p - c.lr * d;
}

// p, g, buf at `offset` elements into one buffer each (offset 1: the scalar pass). buf is passed as null when the
// step does not read it, so a read of it would fault; the output is exactly n or 2n long, so a stray buf′ write
// past [p′] is an ASan report.
void test_sgd_step(int64_t n, int64_t offset, const Sgd& c) {
  auto p = randn(offset + n, 65), g = randn(offset + n, 66), b = randn(offset + n, 67);
  const SgdParams a = sgd_params(c);
  const int64_t rows = a.use_momentum ? 2 : 1;
  float *dp = upload(p), *dg = upload(g), *db = upload(b), *out = device<float>(rows * n);
  launch_sgd_step(stream(), out, dp + offset, dg + offset, a.read_buf ? db + offset : nullptr, n, a);
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    double p1, b1;
    sgd_want(c, p[offset + i], g[offset + i], b[offset + i], p1, b1);
    bad += !close(out[i], static_cast<float>(p1), 1e-5f, 1e-6f);
    if (a.use_momentum) bad += !close(out[n + i], static_cast<float>(b1), 1e-5f, 1e-6f);
  }
  EXPECT(bad == 0, "sgdStep n=%ld offset=%ld momentum %g dampening %g wd %g nesterov %d first %d: %d wrong", (long)n, (long)offset, c.momentum, c.dampening,
         c.weight_decay, c.nesterov, c.first, bad);
  cudaFree(dp), cudaFree(dg), cudaFree(db), cudaFree(out);
}

// The optimizer's layout: p and buf are the two halves of the previous step's packed output, updated in place.
void test_sgd_step_in_place(int64_t n) {
  const Sgd c{0.05, 0.9, 0.1, 0.01, true, false};
  auto packed = randn(2 * n, 68);
  const auto g = randn(n, 69);
  float *dst = upload(packed), *dg = upload(g);
  launch_sgd_step(stream(), dst, dst, dg, dst + n, n, sgd_params(c));
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    double p1, b1;
    sgd_want(c, packed[i], g[i], packed[n + i], p1, b1);
    bad += !close(dst[i], static_cast<float>(p1), 1e-5f, 1e-6f) + !close(dst[n + i], static_cast<float>(b1), 1e-5f, 1e-6f);
  }
  EXPECT(bad == 0, "sgdStep in place n=%ld: %d wrong", (long)n, bad);
  cudaFree(dst), cudaFree(dg);
}

}  // namespace

void test_train_kernels() {
  test_cross_entropy_grad(1, 7, kScaleMean);
  test_cross_entropy_grad(300, 33, kScaleSum);    // 300 blocks on the emulator's workers
  test_cross_entropy_grad(5, 1000, kScaleNone);   // rows longer than a block
  test_layer_norm_grad(1, 33, 0);                 // one row
  test_layer_norm_grad(7, 1, 0);                  // d = 1: dx is 0
  test_layer_norm_grad(37, 257, 1);               // one row chunk (dw / db written directly), x misaligned
  test_layer_norm_grad(1000, 70, 0);              // many row chunks, summed in order by col_sum2_kernel
  for (const int act : {kActRelu, kActTanh, kActSigmoid}) test_activation_grad(act, 301, 257);
  for (const bool tanh_approx : {false, true}) {
    test_gelu_grad(tanh_approx, 1, 1);      // one element
    test_gelu_grad(tanh_approx, 3, 85);     // 255: one partial block
    test_gelu_grad(tanh_approx, 301, 257);  // 77357: 303 blocks on the emulator's workers, ragged last block
    test_gelu_grad_limits(tanh_approx);
    test_gelu_grad(tanh_approx, 3, 85, 2);
    test_gelu_grad(tanh_approx, 301, 257, 2);
    test_gelu_curvature_limits(tanh_approx);
  }
  for (const int act : {kActNone, kActRelu, kActTanh, kActSigmoid}) {
    test_linear(7, 5, 33, act, true);       // 32×32 tiles
    test_linear(300, 261, 45, act, false);  // 128×128 tiles, ragged, scalar B loads
  }
  test_linear(261, 264, 36, kActSigmoid, false);  // 128×128 tiles, float4 loads of both operands
  test_linear(260, 300, 17, kActTanh, true);      // 128×128 tiles, transposed w, K below one tile's depth twice over
  test_linear(5, 9, 0, kActTanh, false);          // K = 0: act(b)
  test_adam_step(1, 0, 0.01, 1.0);
  test_adam_step(1000, 0, 0.01, 0.995);           // float4 pass
  test_adam_step(100003, 1, 0.0, 0.999);          // scalar pass (misaligned, n % 4 != 0), 391 blocks
  const Sgd plain{0.1, 0, 0, 0, false, false}, decayed{0.1, 0, 0, 0.01, false, false};
  const Sgd first{0.1, 0.9, 0.5, 0.01, false, true}, damped{0.05, 0.9, 0.25, 0.01, false, false}, nesterov{0.05, 0.9, 0, 0, true, false};
  for (const Sgd& c : {plain, decayed, first, damped, nesterov}) {
    test_sgd_step(1, 0, c);
    test_sgd_step(1000, 0, c);    // float4 pass
    test_sgd_step(100003, 1, c);  // scalar pass (misaligned, n % 4 != 0), 391 blocks
  }
  test_sgd_step_in_place(256);  // float4 pass over the packed [p; buf]
  test_sgd_step_in_place(257);  // scalar pass (buf misaligned)
}

}  // namespace eitp_test
