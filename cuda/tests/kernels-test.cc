// Kernel logic tests on the CPU: the real kernel headers, compiled by g++ under the emulator (cuda/emu), run
// against naive host loops (the fused EIT-P and int8 kernels' tests are in eitp-kernels-test.cc, the fused training
// kernels' in train-kernels-test.cc). Built with AddressSanitizer by scripts/cuda-asan.sh, so an out-of-bounds access
// in a kernel fails the run. Shapes are ragged (not multiples of any tile) and grids have more blocks than the
// emulator's worker threads. Exit status 0 = all passed.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../addon/launch.h"
#include "../elementwise.cuh"
#include "test-util.h"

using namespace eitp;
using namespace eitp_test;

static void test_matmul(int64_t batches, int64_t m, int64_t n, int64_t k, bool transpose_a, bool broadcast_b, bool transpose_b = false) {
  auto a = randn(batches * m * k, 1), b = randn((broadcast_b ? 1 : batches) * k * n, 2);
  float *da = upload(a), *db = upload(b), *dc = device<float>(batches * m * n);
  MatmulArgs args{};
  // A stored as [batch][k][m] when transposed, read through swapped strides.
  args.a = MatOperand{da, 0, transpose_a ? 1 : k, transpose_a ? m : 1, dense()};
  // B stored as [batch][n][k] when transposed.
  args.b = MatOperand{db, 0, transpose_b ? 1 : n, transpose_b ? k : 1, dense()};
  args.a.batch.contiguous = 0;
  args.b.batch.contiguous = 0;
  args.batch = shape1(batches);
  args.a.batch.stride[0] = m * k;
  args.b.batch.stride[0] = broadcast_b ? 0 : k * n;
  args.c = dc;
  args.m = m, args.n = n, args.k = k, args.batches = batches;
  launch_matmul(stream(), args);
  int bad = 0;
  for (int64_t z = 0; z < batches; ++z)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) {
          const float av = transpose_a ? a[z * m * k + p * m + i] : a[z * m * k + i * k + p];
          acc += av * b[(broadcast_b ? 0 : z * k * n) + (transpose_b ? j * k + p : p * n + j)];
        }
        if (!close(dc[z * m * n + i * n + j], static_cast<float>(acc), 1e-4f, 1e-4f)) ++bad;
      }
  EXPECT(bad == 0, "matmul b=%ld m=%ld n=%ld k=%ld transA=%d transB=%d: %d wrong", (long)batches, (long)m, (long)n, (long)k, transpose_a, transpose_b, bad);
  cudaFree(da), cudaFree(db), cudaFree(dc);
}

static void test_reduce(int64_t outer, int64_t inner, ReduceOp op) {
  auto x = randn(outer * inner, 3);
  float *dx = upload(x), *dy = device<float>(outer);
  ReduceGeom g{};
  g.kept = shape1(outer);
  g.kstride = Strides{};
  g.kstride.stride[0] = inner;
  g.red = shape1(inner);
  g.rstride = dense();
  g.outer = outer, g.inner = inner;
  launch_reduce(stream(), op, kF32, dy, dx, g, 1.0f);
  int bad = 0;
  for (int64_t o = 0; o < outer; ++o) {
    double s = 0, mx = -INFINITY, ss = 0;
    for (int64_t r = 0; r < inner; ++r) s += x[o * inner + r], mx = std::max<double>(mx, x[o * inner + r]), ss += x[o * inner + r] * x[o * inner + r];
    double mu = s / inner, v = 0, z = 0;
    for (int64_t r = 0; r < inner; ++r) v += (x[o * inner + r] - mu) * (x[o * inner + r] - mu), z += std::exp(x[o * inner + r] - mx);
    double want = op == kSum ? s : op == kMean ? mu : op == kMax ? mx : op == kNorm ? std::sqrt(ss) : op == kVar ? v / (inner - 1) : mx + std::log(z);
    if (!close(dy[o], static_cast<float>(want), 1e-4f, 1e-4f)) ++bad;
  }
  EXPECT(bad == 0, "reduce op=%d outer=%ld inner=%ld: %d wrong", op, (long)outer, (long)inner, bad);
  cudaFree(dx), cudaFree(dy);
}

static void test_argmax(int64_t outer, int64_t inner) {
  auto x = randn(outer * inner, 4);
  if (inner > 3) x[2] = NAN, x[inner + 1] = x[inner + 3];  // a NaN to ignore and a tie to break by index
  float* dx = upload(x);
  int32_t* dy = device<int32_t>(outer);
  ReduceGeom g{};
  g.kept = shape1(outer);
  g.kstride.stride[0] = inner;
  g.red = shape1(inner);
  g.rstride = dense();
  g.outer = outer, g.inner = inner;
  launch_argmax(stream(), kF32, dy, dx, g);
  int bad = 0;
  for (int64_t o = 0; o < outer; ++o) {
    int64_t best = 0;
    for (int64_t r = 1; r < inner; ++r)
      if (x[o * inner + r] > x[o * inner + best]) best = r;
    if (dy[o] != best) ++bad;
  }
  EXPECT(bad == 0, "argmax outer=%ld inner=%ld: %d wrong", (long)outer, (long)inner, bad);
  cudaFree(dx), cudaFree(dy);
}

static void test_softmax_layernorm() {
  const int64_t rows = 37, len = 300;
  auto x = randn(rows * len, 5), w = randn(len, 6), b = randn(len, 7);
  float *dx = upload(x), *dy = device<float>(rows * len), *dw = upload(w), *db = upload(b);
  launch_softmax(stream(), dy, dx, rows, len, 1, false);
  int bad = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double m = -INFINITY, z = 0;
    for (int64_t j = 0; j < len; ++j) m = std::max<double>(m, x[r * len + j]);
    for (int64_t j = 0; j < len; ++j) z += std::exp(x[r * len + j] - m);
    for (int64_t j = 0; j < len; ++j) bad += !close(dy[r * len + j], static_cast<float>(std::exp(x[r * len + j] - m) / z));
  }
  EXPECT(bad == 0, "softmax rows: %d wrong", bad);
  launch_layer_norm(stream(), dy, dx, dw, db, rows, len, 1e-5f);
  bad = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double mu = 0, v = 0;
    for (int64_t j = 0; j < len; ++j) mu += x[r * len + j];
    mu /= len;
    for (int64_t j = 0; j < len; ++j) v += (x[r * len + j] - mu) * (x[r * len + j] - mu);
    const double rstd = 1 / std::sqrt(v / len + 1e-5);
    for (int64_t j = 0; j < len; ++j) bad += !close(dy[r * len + j], static_cast<float>((x[r * len + j] - mu) * rstd * w[j] + b[j]), 1e-4f, 1e-4f);
  }
  EXPECT(bad == 0, "layerNorm: %d wrong", bad);
  cudaFree(dx), cudaFree(dy), cudaFree(dw), cudaFree(db);
}

// softmaxGrad over dense [outer, len, inner] against a double reference. y is a softmax along the axis (as in
// training); with nan_at >= 0, g[nan_at] (or y[nan_at]) is NaN, which must turn exactly its own line NaN. The f32
// dot's rounding is relative to Σ |g·y| over the line, so each element's tolerance is |y|·(|g| + Σ |g·y|) times a
// small factor.
static void test_softmax_grad(int64_t outer, int64_t len, int64_t inner, unsigned seed, int64_t nan_at = -1, bool nan_in_y = false) {
  const int64_t n = outer * len * inner;
  // at least one element each, so that an empty launch still gets real (unread) buffers
  const size_t alloc = static_cast<size_t>(std::max<int64_t>(n, 1));
  auto x = randn(alloc, seed), g = randn(alloc, seed + 1);
  std::vector<float> y(alloc);
  for (int64_t p = 0; p < outer; ++p)
    for (int64_t q = 0; q < inner; ++q) {
      const int64_t s = p * len * inner + q;
      double m = -INFINITY, z = 0;
      for (int64_t j = 0; j < len; ++j) m = std::max<double>(m, x[s + j * inner]);
      for (int64_t j = 0; j < len; ++j) z += std::exp(x[s + j * inner] - m);
      for (int64_t j = 0; j < len; ++j) y[s + j * inner] = static_cast<float>(std::exp(x[s + j * inner] - m) / z);
    }
  if (nan_at >= 0) (nan_in_y ? y : g)[nan_at] = NAN;
  float *dy = upload(y), *dg = upload(g), *dout = device<float>(alloc);
  launch_softmax_grad(stream(), dout, dy, dg, outer, len, inner);
  int bad = 0, nans = 0;
  for (int64_t p = 0; p < outer; ++p)
    for (int64_t q = 0; q < inner; ++q) {
      const int64_t s = p * len * inner + q;
      double dot = 0, mag = 0;
      for (int64_t j = 0; j < len; ++j) dot += static_cast<double>(g[s + j * inner]) * y[s + j * inner], mag += std::fabs(static_cast<double>(g[s + j * inner]) * y[s + j * inner]);
      for (int64_t j = 0; j < len; ++j) {
        const int64_t i = s + j * inner;
        const double want = y[i] * (g[i] - dot), got = dout[i];
        if (std::isnan(want) || std::isnan(got)) {
          bad += std::isnan(want) != std::isnan(got);
          nans += std::isnan(got);
          continue;
        }
        bad += !(std::fabs(got - want) <= 1e-5 * std::fabs(y[i]) * (std::fabs(g[i]) + mag) + 1e-30);
      }
    }
  EXPECT(bad == 0, "softmaxGrad outer=%ld len=%ld inner=%ld: %d wrong", (long)outer, (long)len, (long)inner, bad);
  EXPECT(nans == (nan_at >= 0 ? len : 0), "softmaxGrad outer=%ld len=%ld inner=%ld: %d NaN outputs, want %ld", (long)outer, (long)len, (long)inner, nans, (long)(nan_at >= 0 ? len : 0));
  cudaFree(dy), cudaFree(dg), cudaFree(dout);
}

static void test_scatter_add_and_index_error() {
  const int64_t n = 1000, rows = 7, dim = 5;
  std::vector<int32_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>((i * 13) % rows);
  auto v = randn(n * dim, 8);
  int32_t* dids = upload(ids);
  float *dv = upload(v), *dout = device<float>(rows * dim);
  launch_scatter_add(stream(), dout, dids, dv, n, rows, dim);
  std::vector<double> want(rows * dim, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < dim; ++j) want[ids[i] * dim + j] += v[i * dim + j];
  int bad = 0;
  for (int64_t e = 0; e < rows * dim; ++e) bad += !close(dout[e], static_cast<float>(want[e]), 1e-4f, 1e-3f);
  EXPECT(bad == 0, "scatterAdd with atomics across blocks: %d wrong", bad);
  // An out-of-range index is recorded, not written.
  dids[500] = 99;
  launch_embedding(stream(), kF32, dout, dv, dids, 2, rows, dim);  // in range: positions 0, 1
  EXPECT(g_err->code == 0, "no index error expected yet");
  launch_scatter_add(stream(), dout, dids, dv, n, rows, dim);
  EXPECT(g_err->code == kErrScatterAdd && g_err->position == 500 && g_err->value == 99, "index error recorded (code %d pos %lld)", g_err->code, g_err->position);
  std::memset(g_err, 0, sizeof *g_err);
  cudaFree(dids), cudaFree(dv), cudaFree(dout);
}

// ---- the emulator catches misuse ------------------------------------------------------------------------------
__global__ void divergent_barrier_kernel(int* out) {
  // Two different barriers for two halves of the block: undefined on a GPU, reported by the emulator.
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}
__global__ void partial_warp_shuffle_kernel(float* out) {
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
}
__global__ void missing_barrier_kernel(float* out) {
  __shared__ float tile[64];
  tile[threadIdx.x] = static_cast<float>(threadIdx.x);
  // no __syncthreads(): under the emulator's in-order fiber schedule, thread 0 reads tile[63] before it is written
  out[threadIdx.x] = tile[63 - threadIdx.x];
}

static void test_emulator_catches_bugs() {
  int* d = device<int>(64);
  std::string msg;
  try {
    check(launch(&divergent_barrier_kernel, dim3(3), dim3(64), 0, nullptr, d), "divergent_barrier_kernel");
  } catch (const LaunchError& e) {
    msg = e.what();
  }
  EXPECT(msg.find("cudaErrorLaunchFailure") != std::string::npos && msg.find("divergent") != std::string::npos, "divergent barrier detected: %s", msg.c_str());
  msg.clear();
  try {
    check(launch(&partial_warp_shuffle_kernel, dim3(2), dim3(48), 0, nullptr, reinterpret_cast<float*>(d)), "partial_warp_shuffle_kernel");
  } catch (const LaunchError& e) {
    msg = e.what();
  }
  EXPECT(msg.find("partial warp") != std::string::npos, "partial-warp shuffle detected: %s", msg.c_str());
  msg.clear();
  try {
    check(launch(&map_kernel<CopyOp, float, float>, dim3(1), dim3(2048), 0, nullptr, reinterpret_cast<float*>(d), int64_t(1), shape1(1), CopyOp(), In<float>{reinterpret_cast<float*>(d), dense()}), "map_kernel");
  } catch (const LaunchError& e) {
    msg = e.what();
  }
  EXPECT(msg.find("cudaErrorInvalidConfiguration") != std::string::npos, "oversized block rejected: %s", msg.c_str());
  // Missing barrier: deterministic wrong values (a NaN-free but stale read shows as a mismatch).
  float* f = device<float>(64);
  for (int i = 0; i < 64; ++i) f[i] = -1;
  check(launch(&missing_barrier_kernel, dim3(1), dim3(64), 0, nullptr, f), "missing_barrier_kernel");
  int wrong = 0;
  for (int i = 0; i < 64; ++i) wrong += f[i] != static_cast<float>(63 - i);
  EXPECT(wrong > 0, "a missing __syncthreads() shows as stale reads under the in-order fiber schedule");
  cudaFree(d), cudaFree(f);
}

// Reads one element past the end of its input: the sanitizer build must catch it (scripts/cuda-asan.sh checks).
__global__ void out_of_bounds_kernel(const float* in, float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i + 1];
}

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--out-of-bounds") {
    float *in = nullptr, *out = nullptr;
    check(cudaMalloc(reinterpret_cast<void**>(&in), 100 * sizeof(float)), "cudaMalloc");
    check(cudaMalloc(reinterpret_cast<void**>(&out), 100 * sizeof(float)), "cudaMalloc");
    check(launch(&out_of_bounds_kernel, dim3(4), dim3(32), 0, nullptr, in, out, 100), "out_of_bounds_kernel");
    std::printf("out-of-bounds read NOT detected\n");
    return 0;
  }
  g_err = device<DeviceError>(1);
  std::memset(g_err, 0, sizeof *g_err);
  test_matmul(1, 7, 5, 33, false, false);
  test_matmul(3, 37, 29, 19, true, true);
  test_matmul(2, 300, 261, 45, false, false);    // 128x128 tiles, ragged, scalar loads
  test_matmul(1, 260, 264, 36, false, false);    // 128x128 tiles, float4 loads, ragged M
  test_matmul(1, 257, 300, 17, true, false);     // 128x128 tiles, transposed A
  test_matmul(2, 300, 259, 21, false, false, true);  // 128x128 tiles, transposed B
  test_matmul(1, 13, 37, 40, true, false, true);     // 32x32 tiles, both transposed
  test_reduce(5, 257, kSum);
  test_reduce(300, 7, kSum);  // thread per output, more blocks than workers
  test_reduce(9, 1000, kMean);
  test_reduce(9, 100, kMax);
  test_reduce(9, 100, kNorm);
  test_reduce(33, 70, kVar);
  test_reduce(33, 10, kVar);
  test_reduce(17, 513, kLogsumexp);
  test_argmax(7, 33);
  test_argmax(11, 700);
  test_softmax_layernorm();
  test_softmax_grad(300, 7, 1, 20);        // rows shorter than a warp, 300 blocks on two workers
  test_softmax_grad(64, 24, 1, 21);        // attention-like: many short rows
  test_softmax_grad(33, 1024, 1, 22);      // T = 1024: four elements per thread of a 256-thread block
  test_softmax_grad(9, 997, 1, 23);        // odd length with a ragged tail
  test_softmax_grad(5, 1, 1, 24);          // one element per row
  test_softmax_grad(3, 17, 5, 25);         // a middle axis: thread per line
  test_softmax_grad(2, 1024, 3, 26);       // long strided lines
  test_softmax_grad(7, 33, 300, 27);       // 2100 lines: several blocks
  test_softmax_grad(9, 257, 1, 28, 4 * 257 + 100);  // NaN in g: its row only
  test_softmax_grad(3, 17, 5, 29, 85 + 5 * 6 + 2);  // NaN in g along a middle axis: its line only
  test_softmax_grad(4, 40, 1, 31, 2 * 40 + 39, true);  // NaN in y: its row only
  test_softmax_grad(0, 17, 5, 30);         // empty: nothing launched
  test_scatter_add_and_index_error();
  test_emulator_catches_bugs();
  test_eitp_kernels();
  test_train_kernels();
  if (failures) {
    std::printf("%d failure(s)\n", failures);
    return 1;
  }
  std::printf("all kernel tests passed\n");
  return 0;
}
