// Kernel selection and launch shapes. The only file that names kernel instantiations; everything here is host
// code, shared verbatim by the nvcc build and the emulated g++ build (through launch-emu.cc).
#include "launch.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "../elementwise.cuh"
#include "../matmul.cuh"
#include "../reduce.cuh"
#include "../indexing.cuh"
#include "../nn.cuh"
#include "../soft-histogram.cuh"
#include "../correlation.cuh"
#include "../coherence.cuh"
#include "../matmul-int8.cuh"
#include "../train-fused.cuh"
#include "../tanh-jvp-step.cuh"
#include "../activation-density.cuh"
#include "launch-gelu-grad.h"
#include "launch-tanh-jvp-step.h"

namespace eitp {

size_t dtype_size(DType d) { return d == kU8 || d == kI8 ? 1 : 4; }
const char* dtype_name(DType d) { return d == kF32 ? "f32" : d == kI32 ? "i32" : d == kI8 ? "i8" : "u8"; }

void check(cudaError_t e, const std::string& what) {
  if (e == cudaSuccess) return;
  std::string msg = std::string(cudaGetErrorName(e)) + " (" + std::to_string(static_cast<int>(e)) + "): " + cudaGetErrorString(e) + " in " + what;
#if !defined(__CUDACC__)
  if (e == cudaErrorLaunchFailure || e == cudaErrorInvalidConfiguration) msg += ": " + eitp_emu::last_launch_error();
#endif
  throw LaunchError(msg);
}

namespace {

constexpr int kBlock = 256;

std::string shape_text(const char* kernel, dim3 g, dim3 b, size_t smem) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "kernel %s<<<(%u,%u,%u), (%u,%u,%u), %zu>>>", kernel, g.x, g.y, g.z, b.x, b.y, b.z, smem);
  return buf;
}

// The last kernel queued, kept cheaply (no formatting) so an asynchronous device error can name a suspect.
struct LastLaunch {
  const char* name = nullptr;
  dim3 grid, block;
  size_t smem = 0;
} g_last;

// EITP_CUDA_SYNC=1 waits after every launch, so a device-side fault is reported with the exact kernel.
const bool g_sync_each = [] {
  const char* e = std::getenv("EITP_CUDA_SYNC");
  return e && e[0] == '1';
}();

template <class... P, class... A>
void run(const Stream& s, const char* name, void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, A&&... args) {
  g_last = LastLaunch{name, grid, block, smem};
  check(launch(kernel, grid, block, smem, s.stream, std::forward<A>(args)...), shape_text(name, grid, block, smem));
  if (g_sync_each) check(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize after " + shape_text(name, grid, block, smem) + " (EITP_CUDA_SYNC=1)");
}

// Grid for a grid-stride loop over n items: enough blocks to fill any GPU, capped so huge n loops instead.
dim3 stride_grid(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(blocks, 1 << 16))));
}

// Threads per block for one-block-per-row kernels: a multiple of 32 (full warps for the shuffles), at most 256.
unsigned row_block(int64_t len) {
  const int64_t t = (len + 31) / 32 * 32;
  return static_cast<unsigned>(std::max<int64_t>(32, std::min<int64_t>(t, kBlock)));
}

template <class T>
In<T> in(const Operand& o) {
  return In<T>{static_cast<const T*>(o.p), o.s};
}

template <class F, class TO, class TI>
void map1(const Stream& s, const char* name, F f, void* out, int64_t n, const Shape& shape, const Operand& x) {
  run(s, name, &map_kernel<F, TO, TI>, stride_grid(n), dim3(kBlock), 0, static_cast<TO*>(out), n, shape, f, in<TI>(x));
}
template <class F, class TO, class TI>
void map2(const Stream& s, const char* name, F f, void* out, int64_t n, const Shape& shape, const Operand& a, const Operand& b) {
  run(s, name, &map_kernel<F, TO, TI, TI>, stride_grid(n), dim3(kBlock), 0, static_cast<TO*>(out), n, shape, f, in<TI>(a), in<TI>(b));
}

[[noreturn]] void unsupported(const char* op, DType dt) {
  throw LaunchError(std::string("no CUDA kernel for ") + op + " on dtype " + dtype_name(dt));
}

template <class F>
void unary_any(const Stream& s, const char* name, F f, DType dt, void* out, int64_t n, const Shape& shape, const Operand& x) {
  switch (dt) {
    case kF32: return map1<F, float, float>(s, name, f, out, n, shape, x);
    case kI32: return map1<F, int32_t, int32_t>(s, name, f, out, n, shape, x);
    case kU8: return map1<F, uint8_t, uint8_t>(s, name, f, out, n, shape, x);
    case kI8: return map1<F, int8_t, int8_t>(s, name, f, out, n, shape, x);
  }
}
template <class F>
void unary_float(const Stream& s, const char* name, F f, DType dt, void* out, int64_t n, const Shape& shape, const Operand& x) {
  if (dt != kF32) unsupported(name, dt);
  map1<F, float, float>(s, name, f, out, n, shape, x);
}
template <class F>
void arith_any(const Stream& s, const char* name, F f, DType dt, void* out, int64_t n, const Shape& shape, const Operand& a, const Operand& b) {
  switch (dt) {
    case kF32: return map2<F, float, float>(s, name, f, out, n, shape, a, b);
    case kI32: return map2<F, int32_t, int32_t>(s, name, f, out, n, shape, a, b);
    case kU8: return map2<F, uint8_t, uint8_t>(s, name, f, out, n, shape, a, b);
    case kI8: return map2<F, int8_t, int8_t>(s, name, f, out, n, shape, a, b);
  }
}
template <class F>
void compare_any(const Stream& s, const char* name, F f, DType dt, void* out, int64_t n, const Shape& shape, const Operand& a, const Operand& b) {
  switch (dt) {
    case kF32: return map2<F, uint8_t, float>(s, name, f, out, n, shape, a, b);
    case kI32: return map2<F, uint8_t, int32_t>(s, name, f, out, n, shape, a, b);
    case kU8: return map2<F, uint8_t, uint8_t>(s, name, f, out, n, shape, a, b);
    case kI8: return map2<F, uint8_t, int8_t>(s, name, f, out, n, shape, a, b);
  }
}

}  // namespace

std::string last_launch() { return g_last.name ? shape_text(g_last.name, g_last.grid, g_last.block, g_last.smem) : std::string("no kernel"); }

void launch_unary(const Stream& s, Unary op, DType dt, void* out, int64_t n, const Shape& shape, const Operand& x, int attr) {
  if (n == 0) return;
  switch (op) {
    case Unary::Neg: return unary_any(s, "neg", NegF(), dt, out, n, shape, x);
    case Unary::Abs: return unary_any(s, "abs", AbsF(), dt, out, n, shape, x);
    case Unary::Square: return unary_any(s, "square", SquareF(), dt, out, n, shape, x);
    case Unary::Sign: return unary_any(s, "sign", SignF(), dt, out, n, shape, x);
    case Unary::Exp: return unary_float(s, "exp", ExpF(), dt, out, n, shape, x);
    case Unary::Log: return unary_float(s, "log", LogF(), dt, out, n, shape, x);
    case Unary::Sqrt: return unary_float(s, "sqrt", SqrtF(), dt, out, n, shape, x);
    case Unary::Rsqrt: return unary_float(s, "rsqrt", RsqrtF(), dt, out, n, shape, x);
    case Unary::Tanh: return unary_float(s, "tanh", TanhF(), dt, out, n, shape, x);
    case Unary::Sigmoid: return unary_float(s, "sigmoid", SigmoidF(), dt, out, n, shape, x);
    case Unary::Relu: return unary_float(s, "relu", ReluF(), dt, out, n, shape, x);
    case Unary::Erf: return unary_float(s, "erf", ErfF(), dt, out, n, shape, x);
    case Unary::Gelu: return unary_float(s, "gelu", GeluF{attr}, dt, out, n, shape, x);
  }
}

void launch_binary(const Stream& s, Binary op, DType dt, void* out, int64_t n, const Shape& shape, const Operand& a, const Operand& b) {
  if (n == 0) return;
  switch (op) {
    case Binary::Add: return arith_any(s, "add", AddOp(), dt, out, n, shape, a, b);
    case Binary::Sub: return arith_any(s, "sub", SubOp(), dt, out, n, shape, a, b);
    case Binary::Mul: return arith_any(s, "mul", MulOp(), dt, out, n, shape, a, b);
    case Binary::Maximum: return arith_any(s, "maximum", MaximumOp(), dt, out, n, shape, a, b);
    case Binary::Minimum: return arith_any(s, "minimum", MinimumOp(), dt, out, n, shape, a, b);
    case Binary::Div:
      if (dt != kF32) unsupported("div", dt);
      return map2<DivOp, float, float>(s, "div", DivOp(), out, n, shape, a, b);
    case Binary::Pow:
      if (dt != kF32) unsupported("pow", dt);
      return map2<PowOp, float, float>(s, "pow", PowOp(), out, n, shape, a, b);
    case Binary::Eq: return compare_any(s, "eq", EqOp(), dt, out, n, shape, a, b);
    case Binary::Ne: return compare_any(s, "ne", NeOp(), dt, out, n, shape, a, b);
    case Binary::Lt: return compare_any(s, "lt", LtOp(), dt, out, n, shape, a, b);
    case Binary::Le: return compare_any(s, "le", LeOp(), dt, out, n, shape, a, b);
    case Binary::Gt: return compare_any(s, "gt", GtOp(), dt, out, n, shape, a, b);
    case Binary::Ge: return compare_any(s, "ge", GeOp(), dt, out, n, shape, a, b);
  }
}

void launch_where(const Stream& s, DType dt, void* out, int64_t n, const Shape& shape, const Operand& c, const Operand& a, const Operand& b) {
  if (n == 0) return;
  if (dtype_size(dt) == 1) {
    run(s, "where", &map_kernel<WhereOp, uint8_t, uint8_t, uint8_t, uint8_t>, stride_grid(n), dim3(kBlock), 0, static_cast<uint8_t*>(out), n, shape, WhereOp(), in<uint8_t>(c), in<uint8_t>(a), in<uint8_t>(b));
  } else {
    run(s, "where", &map_kernel<WhereOp, uint32_t, uint8_t, uint32_t, uint32_t>, stride_grid(n), dim3(kBlock), 0, static_cast<uint32_t*>(out), n, shape, WhereOp(), in<uint8_t>(c), in<uint32_t>(a), in<uint32_t>(b));
  }
}

namespace {
template <class TO>
void cast_from(const Stream& s, DType from, void* out, int64_t n, const Shape& shape, const Operand& x) {
  switch (from) {
    case kF32: return map1<CastOp<TO>, TO, float>(s, "cast", CastOp<TO>(), out, n, shape, x);
    case kI32: return map1<CastOp<TO>, TO, int32_t>(s, "cast", CastOp<TO>(), out, n, shape, x);
    case kU8: return map1<CastOp<TO>, TO, uint8_t>(s, "cast", CastOp<TO>(), out, n, shape, x);
    case kI8: return map1<CastOp<TO>, TO, int8_t>(s, "cast", CastOp<TO>(), out, n, shape, x);
  }
}
}  // namespace

void launch_cast(const Stream& s, DType to, DType from, void* out, int64_t n, const Shape& shape, const Operand& x) {
  if (n == 0) return;
  switch (to) {
    case kF32: return cast_from<float>(s, from, out, n, shape, x);
    case kI32: return cast_from<int32_t>(s, from, out, n, shape, x);
    case kU8: return cast_from<uint8_t>(s, from, out, n, shape, x);
    case kI8: return cast_from<int8_t>(s, from, out, n, shape, x);
  }
}

void launch_copy(const Stream& s, DType dt, void* out, int64_t n, const Shape& shape, const Operand& x) {
  if (n == 0) return;
  if (dtype_size(dt) == 1) map1<CopyOp, uint8_t, uint8_t>(s, "contiguous", CopyOp(), out, n, shape, x);
  else map1<CopyOp, uint32_t, uint32_t>(s, "contiguous", CopyOp(), out, n, shape, x);
}

// ---- reductions ----------------------------------------------------------------------------------------------
namespace {
// A block per output once there is enough to reduce for a block's threads; a thread per output otherwise.
bool block_mode(const ReduceGeom& g) { return g.inner >= 64; }

template <class T>
void reduce_typed(const Stream& s, ReduceOp op, void* out, const void* in, const ReduceGeom& g) {
  const auto* x = static_cast<const T*>(in);
  auto* y = static_cast<T*>(out);
  if (block_mode(g)) {
    run(s, "reduce<block>", &reduce_kernel<true, T>, dim3(static_cast<unsigned>(g.outer)), dim3(row_block(g.inner)), 0, x, g, y, static_cast<int>(op));
  } else {
    run(s, "reduce<thread>", &reduce_kernel<false, T>, dim3(static_cast<unsigned>((g.outer + kBlock - 1) / kBlock)), dim3(kBlock), 0, x, g, y, static_cast<int>(op));
  }
}
}  // namespace

void launch_reduce(const Stream& s, ReduceOp op, DType dt, void* out, const void* in, const ReduceGeom& g, float correction) {
  if (g.outer == 0) return;
  if (g.outer > 0x7fffffffLL) throw LaunchError("reduction with more than 2^31 outputs");
  if (op == kLogsumexp || op == kVar) {
    if (dt != kF32) unsupported(op == kVar ? "var" : "logsumexp", dt);
    const auto* x = static_cast<const float*>(in);
    auto* y = static_cast<float*>(out);
    if (block_mode(g)) {
      run(s, "reduce2<block>", &reduce2_kernel<true>, dim3(static_cast<unsigned>(g.outer)), dim3(row_block(g.inner)), 0, x, g, y, static_cast<int>(op), correction);
    } else {
      run(s, "reduce2<thread>", &reduce2_kernel<false>, dim3(static_cast<unsigned>((g.outer + kBlock - 1) / kBlock)), dim3(kBlock), 0, x, g, y, static_cast<int>(op), correction);
    }
    return;
  }
  if ((op == kMean || op == kNorm) && dt != kF32) unsupported(op == kMean ? "mean" : "norm", dt);
  switch (dt) {
    case kF32: return reduce_typed<float>(s, op, out, in, g);
    case kI32: return reduce_typed<int32_t>(s, op, out, in, g);
    case kU8: return reduce_typed<uint8_t>(s, op, out, in, g);
    case kI8: return reduce_typed<int8_t>(s, op, out, in, g);
  }
}

namespace {
template <class T>
void argmax_typed(const Stream& s, int32_t* out, const void* in, const ReduceGeom& g) {
  const auto* x = static_cast<const T*>(in);
  if (block_mode(g)) {
    run(s, "argmax<block>", &argmax_kernel<true, T>, dim3(static_cast<unsigned>(g.outer)), dim3(row_block(g.inner)), 0, x, g, out);
  } else {
    run(s, "argmax<thread>", &argmax_kernel<false, T>, dim3(static_cast<unsigned>((g.outer + kBlock - 1) / kBlock)), dim3(kBlock), 0, x, g, out);
  }
}
}  // namespace

void launch_argmax(const Stream& s, DType dt, int32_t* out, const void* in, const ReduceGeom& g) {
  if (g.outer == 0) return;
  if (g.outer > 0x7fffffffLL) throw LaunchError("argmax with more than 2^31 outputs");
  switch (dt) {
    case kF32: return argmax_typed<float>(s, out, in, g);
    case kI32: return argmax_typed<int32_t>(s, out, in, g);
    case kU8: return argmax_typed<uint8_t>(s, out, in, g);
    case kI8: return argmax_typed<int8_t>(s, out, in, g);
  }
}

// ---- matmul ----------------------------------------------------------------------------------------------------
namespace {
// float4 loads need the innermost stride 1 and every row start 16-byte aligned.
bool vec_ok(const MatOperand& o, int64_t inner_extent, const Shape& batch) {
  if (o.cs != 1 || inner_extent % 4 != 0 || o.rs % 4 != 0 || o.offset % 4 != 0) return false;
  if (reinterpret_cast<uintptr_t>(o.p) % 16 != 0) return false;
  for (int d = 0; d < batch.rank; ++d)
    if (o.batch.stride[d] % 4 != 0) return false;
  return true;
}

template <int BM, int BN, int BK, int TM, int TN, bool VA, bool VB, int Epi = kEpiPlain>
void matmul_tiles(const Stream& s, const char* name, const MatmulArgs& a) {
  constexpr int kThreads = (BM / TM) * (BN / TN);
  const int64_t gy = (a.m + BM - 1) / BM, gx = (a.n + BN - 1) / BN;
  if (gy > 65535) throw LaunchError("matmul with more than 65535 row tiles (M too large)");
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(std::min<int64_t>(a.batches, 65535)));
  run(s, name, &matmul_kernel<BM, BN, BK, TM, TN, VA, VB, Epi>, grid, dim3(kThreads), 0, a);
}

// tanhJvp's fused epilogue: B is wᵀ (a transposed view, never float4-loadable), so only A's load mode varies.
void matmul_tanh_jvp(const Stream& s, const MatmulArgs& a) {
  if (a.m * a.n >= 256 * 256) {
    if (vec_ok(a.a, a.k, a.batch)) return matmul_tiles<128, 128, 8, 8, 8, true, false, kEpiTanhJvp>(s, "matmul<128x128,vec A,tanhJvp>", a);
    return matmul_tiles<128, 128, 8, 8, 8, false, false, kEpiTanhJvp>(s, "matmul<128x128,tanhJvp>", a);
  }
  matmul_tiles<32, 32, 8, 2, 2, false, false, kEpiTanhJvp>(s, "matmul<32x32,tanhJvp>", a);
}

// Kernel names per epilogue, for the launch-error messages (static strings: the last launch keeps the pointer).
struct MatmulNames {
  const char *vec_ab, *vec_a, *vec_b, *large, *small;
};
constexpr MatmulNames kPlainNames{"matmul<128x128,vec A,vec B>", "matmul<128x128,vec A>", "matmul<128x128,vec B>", "matmul<128x128>", "matmul<32x32>"};
constexpr MatmulNames kLinearNames{"linear<128x128,vec A,vec B>", "linear<128x128,vec A>", "linear<128x128,vec B>", "linear<128x128>", "linear<32x32>"};

// Large products: 128×128 tiles, 8×8 per thread. Small ones (many tests, tiny layers): 32×32 tiles, 2×2 per
// thread, so a 7×5 product does not leave 99% of a 128×128 tile idle.
template <int Epi>
void matmul_any(const Stream& s, const MatmulArgs& a, const MatmulNames& names) {
  if (a.m * a.n >= 256 * 256) {
    const bool va = vec_ok(a.a, a.k, a.batch), vb = vec_ok(a.b, a.n, a.batch);
    if (va && vb) return matmul_tiles<128, 128, 8, 8, 8, true, true, Epi>(s, names.vec_ab, a);
    if (va) return matmul_tiles<128, 128, 8, 8, 8, true, false, Epi>(s, names.vec_a, a);
    if (vb) return matmul_tiles<128, 128, 8, 8, 8, false, true, Epi>(s, names.vec_b, a);
    return matmul_tiles<128, 128, 8, 8, 8, false, false, Epi>(s, names.large, a);
  }
  matmul_tiles<32, 32, 8, 2, 2, false, false, Epi>(s, names.small, a);
}
}  // namespace

void launch_matmul(const Stream& s, const MatmulArgs& a) {
  if (a.batches == 0 || a.m == 0 || a.n == 0) return;
  // With K = 0 the epilogues still run: (1 − h²)·0 is NaN where h is infinite, as in the reference, and linear's
  // output is act(bias).
  if (a.h) return matmul_tanh_jvp(s, a);
  if (a.bias) {
    if (a.act < kActNone || a.act > kActSigmoid) throw LaunchError("linear: unknown activation " + std::to_string(a.act));
    return matmul_any<kEpiBiasAct>(s, a, kLinearNames);
  }
  if (a.k == 0) {
    check(cudaMemsetAsync(a.c, 0, static_cast<size_t>(a.batches * a.m * a.n) * sizeof(float), s.stream), "cudaMemsetAsync (matmul with K = 0)");
    return;
  }
  matmul_any<kEpiPlain>(s, a, kPlainNames);
}

// ---- nn ----------------------------------------------------------------------------------------------------------
void launch_softmax(const Stream& s, float* y, const float* x, int64_t outer, int64_t len, int64_t inner, bool log_out) {
  if (outer * len * inner == 0) return;
  if (inner == 1) {
    run(s, "softmax_rows", &softmax_rows_kernel, dim3(static_cast<unsigned>(outer)), dim3(row_block(len)), 0, x, y, outer, len, static_cast<int>(log_out));
  } else {
    const int64_t lines = outer * inner;
    run(s, "softmax_lines", &softmax_lines_kernel, dim3(static_cast<unsigned>((lines + kBlock - 1) / kBlock)), dim3(kBlock), 0, x, y, outer, len, inner, static_cast<int>(log_out));
  }
}

void launch_softmax_grad(const Stream& s, float* out, const float* y, const float* g, int64_t outer, int64_t len, int64_t inner) {
  if (outer * len * inner == 0) return;
  // One block per row, or one thread per line: a grid beyond gridDim.x's limit would be truncated, not refused.
  const int64_t blocks = inner == 1 ? outer : (outer * inner + kBlock - 1) / kBlock;
  if (blocks > 0x7fffffffLL) throw LaunchError("softmaxGrad: more than 2^31 - 1 blocks");
  if (inner == 1) {
    run(s, "softmax_grad_rows", &softmax_grad_rows_kernel, dim3(static_cast<unsigned>(blocks)), dim3(row_block(len)), 0, y, g, out, outer, len);
  } else {
    run(s, "softmax_grad_lines", &softmax_grad_lines_kernel, dim3(static_cast<unsigned>(blocks)), dim3(kBlock), 0, y, g, out, outer, len, inner);
  }
}

void launch_cross_entropy(const Stream& s, float* loss, const float* logits, const int32_t* targets, int64_t rows, int64_t classes) {
  if (rows == 0) return;
  run(s, "cross_entropy", &cross_entropy_kernel, dim3(static_cast<unsigned>(rows)), dim3(row_block(classes)), 0, logits, targets, loss, rows, classes, s.err);
}

void launch_layer_norm(const Stream& s, float* y, const float* x, const float* w, const float* b, int64_t rows, int64_t d, float eps) {
  if (rows == 0 || d == 0) return;
  run(s, "layer_norm", &layer_norm_kernel, dim3(static_cast<unsigned>(rows)), dim3(row_block(d)), 0, x, w, b, y, rows, d, eps);
}

// ---- fused EIT-P terms -------------------------------------------------------------------------------------------
namespace {
// The multi-pass kernels split their work into a fixed number of blocks (not the device's SM count), so the order
// of every floating-point sum, and so the result, depends only on the shape. 512 blocks fill an H100 / H200
// (132 SMs) about four deep.
constexpr int64_t kFillBlocks = 512;
// The soft histogram's grid cap (a full wave of 256-thread blocks on 132 SMs is about 1056).
constexpr int64_t kHistMaxBlocks = 1024;
// Dynamic shared memory the kernels here ask for at most (the default limit is 48 KiB, static arrays included).
constexpr size_t kDynSharedMax = 40 * 1024;

template <class T>
T* take(const Scratch& scratch, int64_t count) {
  return static_cast<T*>(scratch(static_cast<size_t>(count) * sizeof(T)));
}

unsigned grid_dim(int64_t n, const char* what) {
  if (n > 0x7fffffffLL) throw LaunchError(std::string(what) + ": more than 2^31 - 1 blocks");
  return static_cast<unsigned>(n);
}

// Rows per chunk for kernels that give each (column tile × row chunk) a block: about kFillBlocks blocks in all,
// at least `min_rows` rows each, a multiple of `multiple`.
ColGeom col_geom(int64_t rows, int64_t cols, int64_t across, int64_t min_rows, int64_t multiple) {
  const int64_t want = std::max<int64_t>(1, kFillBlocks / std::max<int64_t>(1, across));
  int64_t chunk = std::max((rows + want - 1) / want, min_rows);
  chunk = (chunk + multiple - 1) / multiple * multiple;
  return ColGeom{rows, cols, chunk, (rows + chunk - 1) / chunk};
}

struct ColStats {
  ColGeom g;
  float *mu, *rstd;
};
ColStats column_stats(const Stream& s, const float* z, int64_t rows, int64_t cols, float eps, const Scratch& scratch) {
  const int64_t across = (cols + 31) / 32;
  ColStats st{col_geom(rows, cols, across, 64, 8), take<float>(scratch, cols), take<float>(scratch, cols)};
  float* pmean = take<float>(scratch, st.g.chunks * cols);
  float* pm2 = take<float>(scratch, st.g.chunks * cols);
  if (st.g.chunks > 65535) throw LaunchError("column statistics with more than 65535 row chunks");
  run(s, "col_stats", &col_stats_kernel, dim3(grid_dim(across, "col_stats"), static_cast<unsigned>(st.g.chunks)), dim3(32, 8), 0, z, st.g, pmean, pm2);
  run(s, "col_stats_finalize", &col_stats_finalize_kernel, dim3(grid_dim((cols + kBlock - 1) / kBlock, "col_stats_finalize")), dim3(kBlock), 0, pmean, pm2, st.g, eps, st.mu, st.rstd);
  return st;
}

// ẐᵀẐ as per-chunk partial tiles of the upper triangle: part[chunk][tile pair][64][64].
struct GramParts {
  ColGeom g;
  int nt, tiles;
  float* part;
};
GramParts gram_parts(const Stream& s, const float* z, const ColStats& st, int64_t rows, int64_t cols, const Scratch& scratch) {
  const int64_t nt = (cols + kGramTile - 1) / kGramTile, tiles = nt * (nt + 1) / 2;
  if (tiles > 0x7fffffffLL) throw LaunchError("correlation: too many Gram tiles");
  GramParts gp{col_geom(rows, cols, tiles, 4 * kGramSlice, kGramSlice), static_cast<int>(nt), static_cast<int>(tiles), nullptr};
  gp.part = take<float>(scratch, gp.g.chunks * tiles * kGramTile * kGramTile);
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(gp.g.chunks));
  const bool vec = cols % 4 == 0 && reinterpret_cast<uintptr_t>(z) % 16 == 0;
  if (vec) run(s, "gram_partial<vec>", &gram_partial_kernel<true>, grid, dim3(kGramThreads), 0, z, st.mu, st.rstd, gp.g, gp.nt, gp.part);
  else run(s, "gram_partial", &gram_partial_kernel<false>, grid, dim3(kGramThreads), 0, z, st.mu, st.rstd, gp.g, gp.nt, gp.part);
  return gp;
}

// R [cols, cols] = ẐᵀẐ/N (exactly symmetric): the column statistics st, the SYRK, the chunk sums and mirror store.
void gram_matrix(const Stream& s, float* r, const float* z, const ColStats& st, int64_t rows, int64_t cols, const Scratch& scratch) {
  const GramParts gp = gram_parts(s, z, st, rows, cols, scratch);
  const dim3 grid(static_cast<unsigned>(gp.tiles), kStoreSubs * kStoreSubs);
  run(s, "gram_store", &gram_store_kernel, grid, dim3(kStoreSub * kStoreSub), 0, gp.part, gp.g.chunks, gp.tiles, gp.nt, cols, static_cast<float>(rows), r);
}

// dz of a loss through R, given the symmetric S = (gR + gRᵀ)/N [cols, cols]: dẐ = Ẑ·S with the f32 matmul, then per
// column layerNorm's backward dz = r (dẐ − mean dẐ − Ẑ mean(dẐ Ẑ)).
void correlation_backward(const Stream& s, float* dz, const float* z, const ColStats& st, const float* sym, int64_t rows, int64_t cols, const Scratch& scratch) {
  float* zhat = take<float>(scratch, rows * cols);
  run(s, "standardize", &standardize_kernel, stride_grid(rows * cols), dim3(kBlock), 0, z, st.mu, st.rstd, st.g, zhat);
  MatmulArgs mm{};
  mm.a = MatOperand{zhat, 0, cols, 1, Strides{}};
  mm.b = MatOperand{sym, 0, cols, 1, Strides{}};
  mm.c = dz;
  mm.m = rows, mm.n = cols, mm.k = cols;
  mm.batch.rank = 0;
  mm.batches = 1;
  launch_matmul(s, mm);
  float* pa = take<float>(scratch, st.g.chunks * cols);
  float* pab = take<float>(scratch, st.g.chunks * cols);
  float* ma = take<float>(scratch, cols);
  float* mab = take<float>(scratch, cols);
  run(s, "col_dot", &col_dot_kernel, dim3(grid_dim((cols + 31) / 32, "col_dot"), static_cast<unsigned>(st.g.chunks)), dim3(32, 8), 0, dz, zhat, st.g, pa, pab);
  run(s, "col_mean2", &col_mean2_kernel, dim3(grid_dim((cols + kBlock - 1) / kBlock, "col_mean2")), dim3(kBlock), 0, pa, pab, st.g, ma, mab);
  run(s, "correlation_grad_out", &correlation_grad_out_kernel, stride_grid(rows * cols), dim3(kBlock), 0, dz, zhat, st.rstd, ma, mab, st.g);
}
}  // namespace

void launch_soft_histogram(const Stream& s, float* counts, const float* u, const SoftHist& p, const Scratch& scratch) {
  if (p.bins <= 0) return;
  if (p.n == 0) {
    check(cudaMemsetAsync(counts, 0, static_cast<size_t>(p.bins) * sizeof(float), s.stream), "cudaMemsetAsync (softHistogram of no values)");
    return;
  }
  const int64_t blocks = std::min<int64_t>((p.n + kHistThreads - 1) / kHistThreads, kHistMaxBlocks);
  // One histogram per warp: in shared memory when it fits, else in a global spill area (any number of bins).
  const size_t hist_bytes = static_cast<size_t>(kHistWarps) * p.bins * sizeof(float);
  const bool shared = hist_bytes <= kDynSharedMax;
  float* spill = shared ? nullptr : take<float>(scratch, blocks * kHistWarps * p.bins);
  float* partial = take<float>(scratch, blocks * p.bins);
  run(s, shared ? "soft_hist_partial" : "soft_hist_partial<global histograms>", &soft_hist_partial_kernel, dim3(static_cast<unsigned>(blocks)), dim3(kHistThreads), shared ? hist_bytes : 0, u, p, spill, partial);
  run(s, "soft_hist_reduce", &soft_hist_reduce_kernel, dim3(grid_dim((p.bins + 31) / 32, "soft_hist_reduce")), dim3(32, 8), 0, partial, blocks, p.bins, counts);
}

void launch_soft_histogram_grad(const Stream& s, float* du, const float* u, const float* g, const SoftHist& p) {
  if (p.n == 0 || p.bins <= 0) return;
  const size_t g_bytes = static_cast<size_t>(p.bins) * sizeof(float);
  const bool shared = g_bytes <= kDynSharedMax;
  run(s, "soft_hist_grad", &soft_hist_grad_kernel, stride_grid(p.n), dim3(kBlock), shared ? g_bytes : 0, u, g, p, static_cast<int>(shared), du);
}

void launch_correlation(const Stream& s, float* r, const float* z, int64_t rows, int64_t cols, float eps, const Scratch& scratch) {
  if (rows < 2 || cols < 2) throw LaunchError("correlation needs at least 2 rows and 2 columns");
  gram_matrix(s, r, z, column_stats(s, z, rows, cols, eps, scratch), rows, cols, scratch);
}

void launch_correlation_grad(const Stream& s, float* dz, const float* z, const float* g, int64_t rows, int64_t cols, float eps, const Scratch& scratch) {
  if (rows < 2 || cols < 2) throw LaunchError("correlationGrad needs at least 2 rows and 2 columns");
  const ColStats st = column_stats(s, z, rows, cols, eps, scratch);
  // S = (gR + gRᵀ)/N: gR is any [d, d] cotangent, not necessarily symmetric.
  float* sym = take<float>(scratch, cols * cols);
  run(s, "sym_scaled", &sym_scaled_kernel, stride_grid(cols * cols), dim3(kBlock), 0, g, cols, static_cast<float>(rows), sym);
  correlation_backward(s, dz, z, st, sym, rows, cols, scratch);
}

// ---- the coherence loss on R (coherence.cuh) ----------------------------------------------------------------------
void launch_coherence(const Stream& s, float* out, const float* z, int64_t rows, int64_t cols, float eps, const Scratch& scratch) {
  if (rows < 2 || cols < 2) throw LaunchError("coherence needs at least 2 rows and 2 columns");
  float* r = take<float>(scratch, cols * cols);
  gram_matrix(s, r, z, column_stats(s, z, rows, cols, eps, scratch), rows, cols, scratch);
  // About four elements a thread until the cap: the block count (and so every sum's order) depends only on d.
  const int64_t per_block = 4 * kCoherenceThreads;
  const int64_t blocks = std::min<int64_t>((cols * cols + per_block - 1) / per_block, kCoherenceMaxBlocks);
  double* partial = take<double>(scratch, blocks);
  run(s, "coherence_partial", &coherence_partial_kernel, dim3(static_cast<unsigned>(blocks)), dim3(kCoherenceThreads), 0, r, cols, partial);
  run(s, "coherence_finish", &finish_partials_kernel, dim3(1), dim3(kCoherenceThreads), 0, partial, static_cast<int>(blocks),
      static_cast<double>(cols) * static_cast<double>(cols - 1), out);
}

void launch_coherence_grad(const Stream& s, float* dz, const float* z, const float* g, int64_t rows, int64_t cols, float eps, const Scratch& scratch) {
  if (rows < 2 || cols < 2) throw LaunchError("coherenceGrad needs at least 2 rows and 2 columns");
  const ColStats st = column_stats(s, z, rows, cols, eps, scratch);
  float* sym = take<float>(scratch, cols * cols);
  gram_matrix(s, sym, z, st, rows, cols, scratch);
  // R → S = 4g(R − I)/(N d(d − 1)) in place, g read on the device.
  const double scale = 4.0 / (static_cast<double>(rows) * static_cast<double>(cols) * static_cast<double>(cols - 1));
  run(s, "coherence_s", &coherence_s_kernel, stride_grid(cols * cols), dim3(kBlock), 0, sym, cols, g, scale);
  correlation_backward(s, dz, z, st, sym, rows, cols, scratch);
}

// ---- the thermodynamic term's activation density ----------------------------------------------------------------
namespace {
// float4 loads (and stores) need a dense operand whose first element is 16-byte aligned.
bool density_vec(const Operand& a) { return a.s.contiguous && reinterpret_cast<uintptr_t>(static_cast<const float*>(a.p) + a.s.offset) % 16 == 0; }
}  // namespace

void launch_activation_density(const Stream& s, float* out, int64_t n, const Shape& shape, const Operand& a, const float* tau, double eps, const Scratch& scratch) {
  if (n < 1) throw LaunchError("activationDensity: a must have at least one element");
  // One float4 per thread until the grid reaches its cap: the block count (and so the summation order) depends
  // only on n.
  const int64_t per_block = 4 * kDensityThreads;
  const int64_t blocks = std::min<int64_t>((n + per_block - 1) / per_block, kDensityMaxBlocks);
  double* partial = take<double>(scratch, blocks);
  const auto* p = static_cast<const float*>(a.p);
  const dim3 grid(static_cast<unsigned>(blocks)), block(kDensityThreads);
  if (density_vec(a)) run(s, "density_partial<vec>", &density_partial_kernel<true>, grid, block, 0, p, shape, a.s, n, tau, eps, partial);
  else run(s, "density_partial", &density_partial_kernel<false>, grid, block, 0, p, shape, a.s, n, tau, eps, partial);
  run(s, "density_finish", &finish_partials_kernel, dim3(1), block, 0, partial, static_cast<int>(blocks), static_cast<double>(n), out);
}

void launch_activation_density_grad(const Stream& s, float* out, int64_t n, const Shape& shape, const Operand& a, const float* tau, const float* g, double eps) {
  if (n < 1) throw LaunchError("activationDensityGrad: a must have at least one element");
  const auto* p = static_cast<const float*>(a.p);
  if (density_vec(a) && reinterpret_cast<uintptr_t>(out) % 16 == 0) {
    run(s, "density_grad<vec>", &density_grad_kernel<true>, stride_grid((n + 3) / 4), dim3(kBlock), 0, p, shape, a.s, n, tau, g, eps, out);
  } else {
    run(s, "density_grad", &density_grad_kernel<false>, stride_grid(n), dim3(kBlock), 0, p, shape, a.s, n, tau, g, eps, out);
  }
}

// ---- the FTLE tanh step -------------------------------------------------------------------------------------------
namespace {
// A block per row: 4 outputs per warp step, so up to 8 warps while there are outputs for them.
dim3 step_block(int64_t out_f) {
  const int64_t warps = std::max<int64_t>(1, std::min<int64_t>((out_f + 3) / 4, kStepThreadsMax / 32));
  return dim3(static_cast<unsigned>(warps * 32));
}
size_t step_smem(int64_t in_f) { return static_cast<size_t>(std::min<int64_t>(in_f, kStepTile)) * sizeof(float); }
// float4 loads of w's rows: every row start 16-byte aligned.
bool step_vec(const float* w, int64_t in_f) { return in_f % 4 == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0; }
void check_step_dims(int64_t batch, int64_t out_f, int64_t in_f, const char* op) {
  if (batch < 0 || out_f < 0 || in_f < 0 || batch > 0x7fffffffLL || out_f > 0x7fffffffLL || in_f > 0x7fffffffLL) {
    throw LaunchError(std::string(op) + ": batch, out and in features must lie in [0, 2^31)");
  }
}
}  // namespace

void launch_tanh_jvp_step(const Stream& s, float* y, const float* h, const float* v, int64_t v_rs, int64_t v_cs, const float* w, int64_t batch, int64_t out_f, int64_t in_f) {
  check_step_dims(batch, out_f, in_f, "tanhJvpStep");
  if (batch == 0) return;
  const dim3 grid(grid_dim(batch, "tanhJvpStep")), block = step_block(out_f);
  if (step_vec(w, in_f)) run(s, "tanh_jvp_step<vec>", &tanh_jvp_step_kernel<true>, grid, block, step_smem(in_f), h, v, v_rs, v_cs, w, y, out_f, in_f);
  else run(s, "tanh_jvp_step", &tanh_jvp_step_kernel<false>, grid, block, step_smem(in_f), h, v, v_rs, v_cs, w, y, out_f, in_f);
}

void launch_tanh_jvp_step_grad(const Stream& s, float* z, const float* h, const float* v, int64_t v_rs, int64_t v_cs, const float* w, const float* gy, int64_t batch, int64_t out_f,
                               int64_t in_f) {
  check_step_dims(batch, out_f, in_f, "tanhJvpStepGrad");
  if (batch == 0 || out_f == 0) return;  // z is empty
  const dim3 grid(grid_dim(batch, "tanhJvpStepGrad")), block = step_block(out_f);
  if (step_vec(w, in_f)) run(s, "tanh_jvp_step_grad<vec>", &tanh_jvp_step_grad_kernel<true>, grid, block, step_smem(in_f), h, v, v_rs, v_cs, w, gy, z, batch, out_f, in_f);
  else run(s, "tanh_jvp_step_grad", &tanh_jvp_step_grad_kernel<false>, grid, block, step_smem(in_f), h, v, v_rs, v_cs, w, gy, z, batch, out_f, in_f);
}

// ---- quantised matmul ----------------------------------------------------------------------------------------------
void launch_matmul_int8(const Stream& s, float* out, const float* x, const int8_t* wq, const float* ws, int64_t m, int64_t n, int64_t k, bool int8_activations, const Scratch& scratch) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    check(cudaMemsetAsync(out, 0, static_cast<size_t>(m * n) * sizeof(float), s.stream), "cudaMemsetAsync (matmulInt8 with K = 0)");
    return;
  }
  const int64_t gy = (m + kQTile - 1) / kQTile, gx = (n + kQTile - 1) / kQTile;
  if (gy > 65535) throw LaunchError("matmulInt8 with more than 65535 row tiles (M too large)");
  const dim3 grid(grid_dim(gx, "matmulInt8"), static_cast<unsigned>(gy));
  if (!int8_activations) {
    const bool vec = k % 4 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(wq) % 4 == 0;
    if (vec) run(s, "matmul_int8<f32 activations,vec>", &mm_i8w_kernel<true>, grid, dim3(kQThreads), 0, x, wq, ws, out, m, n, k);
    else run(s, "matmul_int8<f32 activations>", &mm_i8w_kernel<false>, grid, dim3(kQThreads), 0, x, wq, ws, out, m, n, k);
    return;
  }
  if (k > kInt8MaxK) throw LaunchError("matmulInt8 'int8': K = " + std::to_string(k) + " > " + std::to_string(kInt8MaxK) + " could overflow the 32-bit accumulator");
  // Rows of int8x4 words padded to 16 bytes, so the GEMM's loads are aligned int4 vectors.
  const int64_t pitch = (k + 15) / 16 * 4;
  int32_t* xq = take<int32_t>(scratch, m * pitch);
  float* sx = take<float>(scratch, m);
  run(s, "quantize_rows", &quantize_rows_kernel, dim3(grid_dim(m, "quantize_rows")), dim3(row_block(k)), 0, x, k, pitch, xq, sx);
  const int32_t* wp = reinterpret_cast<const int32_t*>(wq);
  if (k % 16 != 0 || reinterpret_cast<uintptr_t>(wq) % 16 != 0) {
    int32_t* packed = take<int32_t>(scratch, n * pitch);
    run(s, "pack_int8", &pack_int8_kernel, stride_grid(n * pitch), dim3(kBlock), 0, wq, n, k, pitch, packed);
    wp = packed;
  }
  run(s, "matmul_int8<dp4a>", &mm_dp4a_kernel, grid, dim3(kQThreads), 0, xq, wp, sx, ws, out, m, n, pitch);
}

// ---- fused training ops ---------------------------------------------------------------------------------------------
void launch_cross_entropy_grad(const Stream& s, float* out, const float* logits, const int32_t* targets, const float* g, int64_t rows, int64_t classes, int scale_mode) {
  // classes == 0 still launches: every target is then out of range, which the kernel reports.
  if (rows == 0) return;
  run(s, "cross_entropy_grad", &cross_entropy_grad_kernel, dim3(grid_dim(rows, "crossEntropyGrad")), dim3(row_block(classes)), 0, logits, targets, g, out, rows, classes, scale_mode, s.err);
}

void launch_layer_norm_grad(const Stream& s, float* out, const float* x, const float* w, const float* g, int64_t rows, int64_t d, float eps, const Scratch& scratch) {
  if (d == 0) return;
  float* dw = out + rows * d;
  float* db = dw + d;
  if (rows == 0) {
    check(cudaMemsetAsync(dw, 0, static_cast<size_t>(2 * d) * sizeof(float), s.stream), "cudaMemsetAsync (layerNormGrad of no rows)");
    return;
  }
  float* mu = take<float>(scratch, rows);
  float* rstd = take<float>(scratch, rows);
  run(s, "ln_grad_rows", &ln_grad_rows_kernel, dim3(grid_dim(rows, "layerNormGrad")), dim3(row_block(d)), 0, x, w, g, out, mu, rstd, d, eps);
  // dw, db: per (32 columns × row chunk) partial sums, then a fixed-order sum over the chunks. One chunk writes the
  // output rows directly.
  const int64_t across = (d + 31) / 32;
  const ColGeom geo = col_geom(rows, d, across, 64, 8);
  if (geo.chunks > 65535) throw LaunchError("layerNormGrad with more than 65535 row chunks");
  const bool direct = geo.chunks == 1;
  float* pw = direct ? dw : take<float>(scratch, geo.chunks * d);
  float* pb = direct ? db : take<float>(scratch, geo.chunks * d);
  run(s, "ln_grad_cols", &ln_grad_cols_kernel, dim3(grid_dim(across, "ln_grad_cols"), static_cast<unsigned>(geo.chunks)), dim3(32, 8), 0, x, g, mu, rstd, geo, pw, pb);
  if (!direct) run(s, "col_sum2", &col_sum2_kernel, dim3(grid_dim((d + kBlock - 1) / kBlock, "col_sum2")), dim3(kBlock), 0, pw, pb, geo.chunks, d, dw, db);
}

void launch_activation_grad(const Stream& s, int act, float* out, int64_t n, const Shape& shape, const Operand& y, const Operand& g) {
  if (n == 0) return;
  switch (act) {
    case kActRelu: return map2<ReluGradOp, float, float>(s, "activation_grad<relu>", ReluGradOp(), out, n, shape, y, g);
    case kActTanh: return map2<TanhGradOp, float, float>(s, "activation_grad<tanh>", TanhGradOp(), out, n, shape, y, g);
    case kActSigmoid: return map2<SigmoidGradOp, float, float>(s, "activation_grad<sigmoid>", SigmoidGradOp(), out, n, shape, y, g);
    default: throw LaunchError("activationGrad: unknown activation " + std::to_string(act));
  }
}

void launch_gelu_grad(const Stream& s, bool tanh_approx, float* out, int64_t n, const Shape& shape, const Operand& x, const Operand& g) {
  if (n == 0) return;
  if (tanh_approx) return map2<GeluTanhGradOp, float, float>(s, "gelu_grad<tanh>", GeluTanhGradOp(), out, n, shape, x, g);
  map2<GeluErfGradOp, float, float>(s, "gelu_grad<erf>", GeluErfGradOp(), out, n, shape, x, g);
}

void launch_adam_step(const Stream& s, float* out, const float* p, const float* g, const float* m, const float* v, int64_t n, const AdamParams& a) {
  if (n == 0) return;
  const auto aligned = [](const float* q) { return reinterpret_cast<uintptr_t>(q) % 16 == 0; };
  if (n % 4 == 0 && aligned(out) && aligned(p) && aligned(g) && aligned(m) && aligned(v)) {
    run(s, "adam_step<vec>", &adam_step_kernel<true>, stride_grid(n / 4), dim3(kBlock), 0, p, g, m, v, out, n, a);
  } else {
    run(s, "adam_step", &adam_step_kernel<false>, stride_grid(n), dim3(kBlock), 0, p, g, m, v, out, n, a);
  }
}

void launch_sgd_step(const Stream& s, float* out, const float* p, const float* g, const float* buf, int64_t n, const SgdParams& a) {
  if (n == 0) return;
  if (a.read_buf && buf == nullptr) throw LaunchError("sgdStep: the momentum buffer is needed but missing");
  const auto aligned = [](const float* q) { return reinterpret_cast<uintptr_t>(q) % 16 == 0; };
  if (n % 4 == 0 && aligned(out) && aligned(p) && aligned(g) && (!a.read_buf || aligned(buf))) {
    run(s, "sgd_step<vec>", &sgd_step_kernel<true>, stride_grid(n / 4), dim3(kBlock), 0, p, g, buf, out, n, a);
  } else {
    run(s, "sgd_step", &sgd_step_kernel<false>, stride_grid(n), dim3(kBlock), 0, p, g, buf, out, n, a);
  }
}

// ---- indexing and structure ----------------------------------------------------------------------------------
void launch_embedding(const Stream& s, DType dt, void* out, const void* table, const int32_t* ids, int64_t n, int64_t rows, int64_t dim) {
  if (n * dim == 0) return;
  const dim3 g = stride_grid(n * dim);
  if (dtype_size(dt) == 1) run(s, "embedding", &embedding_kernel<uint8_t>, g, dim3(kBlock), 0, static_cast<const uint8_t*>(table), ids, static_cast<uint8_t*>(out), n, rows, dim, s.err);
  else run(s, "embedding", &embedding_kernel<uint32_t>, g, dim3(kBlock), 0, static_cast<const uint32_t*>(table), ids, static_cast<uint32_t*>(out), n, rows, dim, s.err);
}

void launch_scatter_add(const Stream& s, float* out, const int32_t* ids, const float* values, int64_t n, int64_t rows, int64_t dim) {
  check(cudaMemsetAsync(out, 0, static_cast<size_t>(rows * dim) * sizeof(float), s.stream), "cudaMemsetAsync (scatterAdd)");
  if (n * dim == 0) return;
  run(s, "scatter_add", &scatter_add_kernel, stride_grid(n * dim), dim3(kBlock), 0, ids, values, out, n, rows, dim, s.err);
}

void launch_one_hot(const Stream& s, DType dt, void* out, const int32_t* ids, int64_t n, int64_t classes) {
  check(cudaMemsetAsync(out, 0, static_cast<size_t>(n * classes) * dtype_size(dt), s.stream), "cudaMemsetAsync (oneHot)");
  if (n == 0) return;
  const dim3 g = stride_grid(n);
  switch (dt) {
    case kF32: return run(s, "one_hot", &one_hot_kernel<float>, g, dim3(kBlock), 0, ids, static_cast<float*>(out), n, classes, 1.0f, s.err);
    case kI32: return run(s, "one_hot", &one_hot_kernel<int32_t>, g, dim3(kBlock), 0, ids, static_cast<int32_t*>(out), n, classes, int32_t(1), s.err);
    case kU8: return run(s, "one_hot", &one_hot_kernel<uint8_t>, g, dim3(kBlock), 0, ids, static_cast<uint8_t*>(out), n, classes, uint8_t(1), s.err);
    case kI8: return run(s, "one_hot", &one_hot_kernel<uint8_t>, g, dim3(kBlock), 0, ids, static_cast<uint8_t*>(out), n, classes, uint8_t(1), s.err);  // the same bits
  }
}

void launch_copy2d(const Stream& s, DType dt, void* dst, const void* src, int64_t rows, int64_t cols, int64_t pitch) {
  if (rows * cols == 0) return;
  const dim3 g = stride_grid(rows * cols);
  if (dtype_size(dt) == 1) run(s, "copy2d", &copy2d_kernel<uint8_t>, g, dim3(kBlock), 0, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), rows, cols, pitch);
  else run(s, "copy2d", &copy2d_kernel<uint32_t>, g, dim3(kBlock), 0, static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst), rows, cols, pitch);
}

void launch_pad(const Stream& s, DType dt, void* dst, const void* src, int64_t n, int64_t out_numel, const Shape& in_shape, const Shape& out_shape, const Shape& before) {
  check(cudaMemsetAsync(dst, 0, static_cast<size_t>(out_numel) * dtype_size(dt), s.stream), "cudaMemsetAsync (pad)");
  if (n == 0) return;
  const dim3 g = stride_grid(n);
  if (dtype_size(dt) == 1) run(s, "pad", &pad_kernel<uint8_t>, g, dim3(kBlock), 0, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), n, in_shape, out_shape, before);
  else run(s, "pad", &pad_kernel<uint32_t>, g, dim3(kBlock), 0, static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst), n, in_shape, out_shape, before);
}

}  // namespace eitp
