// Kernel selection and launch shapes of the generic ops (elementwise, cast/copy, reductions, matmul, nn, quantised
// matmul, fused training ops, indexing and structure). With launch-eitp.cu (the fused EIT-P terms) the only files
// that name kernel instantiations; the helpers both use are in launch-common.h. Everything here is host code,
// shared verbatim by the nvcc build and the emulated g++ build (through launch-emu.cc).
#include "launch.h"

#include <algorithm>
#include <cstdlib>

#include "../elementwise.cuh"
#include "../matmul.cuh"
#include "../reduce.cuh"
#include "../indexing.cuh"
#include "../nn.cuh"
#include "../matmul-int8.cuh"
#include "../train-fused.cuh"
#include "launch-gelu-grad.h"
#include "launch-common.h"

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

// The one last-launch record and EITP_CUDA_SYNC flag of both launch files (launch-common.h).
LastLaunch g_last;
const bool g_sync_each = [] {
  const char* e = std::getenv("EITP_CUDA_SYNC");
  return e && e[0] == '1';
}();

namespace {

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

void launch_softmax_grad_grad(const Stream& s, float* out, const float* y, const float* g, const float* o, int64_t outer, int64_t len, int64_t inner) {
  if (outer * len * inner == 0) return;
  const int64_t blocks = inner == 1 ? outer : (outer * inner + kBlock - 1) / kBlock;
  if (blocks > 0x7fffffffLL) throw LaunchError("softmaxGradGrad: more than 2^31 - 1 blocks");
  if (inner == 1) {
    run(s, "softmax_grad_grad_rows", &softmax_grad_grad_rows_kernel, dim3(static_cast<unsigned>(blocks)), dim3(row_block(len)), 0, y, g, o, out, len, outer * len);
  } else {
    run(s, "softmax_grad_grad_lines", &softmax_grad_grad_lines_kernel, dim3(static_cast<unsigned>(blocks)), dim3(kBlock), 0, y, g, o, out, outer, len, inner);
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

void launch_layer_norm_grad_grad(const Stream& s, float* out, const float* x, const float* u, const float* o, int64_t rows, int64_t d, float eps) {
  if (rows == 0 || d == 0) return;
  run(s, "ln_grad_grad_rows", &ln_grad_grad_rows_kernel, dim3(grid_dim(rows, "layerNormGradGrad")), dim3(row_block(d)), 0, x, u, o, out, rows, d, eps);
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

void launch_gelu_grad(const Stream& s, bool tanh_approx, int order, float* out, int64_t n, const Shape& shape, const Operand& x, const Operand& g) {
  if (n == 0) return;
  if (order == 2) {
    if (tanh_approx) return map2<GeluTanhCurvatureOp, float, float>(s, "gelu_curvature<tanh>", GeluTanhCurvatureOp(), out, n, shape, x, g);
    return map2<GeluErfCurvatureOp, float, float>(s, "gelu_curvature<erf>", GeluErfCurvatureOp(), out, n, shape, x, g);
  }
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
