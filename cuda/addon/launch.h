// Host-side entry points of the kernels: plain C++ functions that pick a kernel instantiation and launch it on
// the given stream. Compiled by nvcc (launch.cu, launch-eitp.cu) for the real addon and by g++ (launch-emu.cc,
// launch-eitp-emu.cc) for the emulated one. Every failed launch throws LaunchError naming the CUDA error, the
// kernel and the launch shape.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "../types.h"
#if defined(__CUDACC__) || !defined(EITP_CUDA_EMU)
#include <cuda_runtime_api.h>
#else
#include "../emu/runtime.h"
#endif

namespace eitp {

enum DType : int { kF32 = 0, kI32 = 1, kU8 = 2, kI8 = 3 };
size_t dtype_size(DType d);
const char* dtype_name(DType d);

struct LaunchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws LaunchError for a failed CUDA call, with `what` saying which call or kernel and shape.
void check(cudaError_t e, const std::string& what);

// The last kernel queued (name and launch shape): named in errors that surface asynchronously.
std::string last_launch();

struct Stream {
  cudaStream_t stream;
  DeviceError* err;  // device-side index-error record
};

struct Operand {
  const void* p;
  Strides s;
};

enum class Unary : int { Neg, Exp, Log, Sqrt, Rsqrt, Tanh, Sigmoid, Relu, Gelu, Abs, Square, Erf, Sign };
enum class Binary : int { Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge };

void launch_unary(const Stream&, Unary op, DType dt, void* out, int64_t n, const Shape& shape, const Operand& x, int attr);
// Comparisons write u8; the others write `dt`.
void launch_binary(const Stream&, Binary op, DType dt, void* out, int64_t n, const Shape& shape, const Operand& a, const Operand& b);
void launch_where(const Stream&, DType dt, void* out, int64_t n, const Shape& shape, const Operand& c, const Operand& a, const Operand& b);
void launch_cast(const Stream&, DType to, DType from, void* out, int64_t n, const Shape& shape, const Operand& x);
void launch_copy(const Stream&, DType dt, void* out, int64_t n, const Shape& shape, const Operand& x);

void launch_reduce(const Stream&, ReduceOp op, DType dt, void* out, const void* in, const ReduceGeom& g, float correction);
void launch_argmax(const Stream&, DType dt, int32_t* out, const void* in, const ReduceGeom& g);

// args.h set: tanhJvp's epilogue, C = (1 − h²) ⊙ (A·B); args.bias set: linear's, C = act(A·B + bias).
void launch_matmul(const Stream&, const MatmulArgs& args);

void launch_softmax(const Stream&, float* y, const float* x, int64_t outer, int64_t len, int64_t inner, bool log_out);
// out = y ⊙ (g − Σ g ⊙ y) along the `len` axis of dense [outer, len, inner] operands.
void launch_softmax_grad(const Stream&, float* out, const float* y, const float* g, int64_t outer, int64_t len, int64_t inner);
// out [2, outer·len·inner] = [ȳ; ḡ] of softmaxGrad(y, g) for the cotangent o along the middle extent (softmaxGradGrad).
void launch_softmax_grad_grad(const Stream&, float* out, const float* y, const float* g, const float* o, int64_t outer, int64_t len, int64_t inner);
void launch_cross_entropy(const Stream&, float* loss, const float* logits, const int32_t* targets, int64_t rows, int64_t classes);
void launch_layer_norm(const Stream&, float* y, const float* x, const float* w, const float* b, int64_t rows, int64_t d, float eps);

// Temporary device memory for the multi-kernel ops: returns a block of at least `bytes` that the caller keeps until
// the launch function returns. Kernels queued on the stream may still use it after that: the caching allocator
// hands a block out again only to work queued later on the same stream.
using Scratch = std::function<void*(size_t bytes)>;

// Fused EIT-P terms (soft-histogram.cuh, correlation.cuh, coherence.cuh) on dense f32 inputs.
void launch_soft_histogram(const Stream&, float* counts, const float* u, const SoftHist& p, const Scratch& scratch);
void launch_soft_histogram_grad(const Stream&, float* du, const float* u, const float* g, const SoftHist& p);
// r [cols, cols] = the correlation matrix of z [rows, cols]'s columns (exactly symmetric); dz [rows, cols] from gR.
void launch_correlation(const Stream&, float* r, const float* z, int64_t rows, int64_t cols, float eps, const Scratch& scratch);
void launch_correlation_grad(const Stream&, float* dz, const float* z, const float* gr, int64_t rows, int64_t cols, float eps, const Scratch& scratch);
// out[0] = ‖R − I‖_F²/(cols (cols − 1)) for that R (coherence.cuh; R only in scratch, a fixed-order reduction, so
// bit-identical from run to run); dz [rows, cols] = its gradient times g = *g, read on the device.
void launch_coherence(const Stream&, float* out, const float* z, int64_t rows, int64_t cols, float eps, const Scratch& scratch);
void launch_coherence_grad(const Stream&, float* dz, const float* z, const float* g, int64_t rows, int64_t cols, float eps, const Scratch& scratch);

// activationDensity (activation-density.cuh): out[0] = mean(a²/(a² + c)), c = τ² + eps with τ = *tau read on the
// device; a (f32, n = numel(shape) >= 1) is read through its strides. Per-block partial sums (scratch) are combined
// in a fixed order, so the result is bit-identical from run to run.
void launch_activation_density(const Stream&, float* out, int64_t n, const Shape& shape, const Operand& a, const float* tau, double eps, const Scratch& scratch);
// out (dense, n elements) = g·2ac/(a² + c)²/n with g = *g read on the device.
void launch_activation_density_grad(const Stream&, float* out, int64_t n, const Shape& shape, const Operand& a, const float* tau, const float* g, double eps);

// out [m, n] = x [m, k] · (wq·ws)ᵀ with dense operands (matmul-int8.cuh); int8_activations quantises x per row.
// K above this makes the 'int8' path's 32-bit accumulator able to overflow (127²·K >= 2^31).
constexpr int64_t kInt8MaxK = 133152;
void launch_matmul_int8(const Stream&, float* out, const float* x, const int8_t* wq, const float* ws, int64_t m, int64_t n, int64_t k, bool int8_activations, const Scratch& scratch);

// Fused training ops (train-fused.cuh) on dense f32 inputs; activationGrad reads strided operands. scale_mode is a
// CrossEntropyScale; act an Activation (relu, tanh or sigmoid for activationGrad).
void launch_cross_entropy_grad(const Stream&, float* out, const float* logits, const int32_t* targets, const float* g, int64_t rows, int64_t classes, int scale_mode);
// out [rows + 2, d] = [dx rows; dw; db].
void launch_layer_norm_grad(const Stream&, float* out, const float* x, const float* w, const float* g, int64_t rows, int64_t d, float eps, const Scratch& scratch);
// out [2, rows, d] = [J o; ∂⟨o, J u⟩/∂x] for LayerNorm rows of dense x, u, o [rows, d] (layerNormGradGrad).
void launch_layer_norm_grad_grad(const Stream&, float* out, const float* x, const float* u, const float* o, int64_t rows, int64_t d, float eps);
void launch_activation_grad(const Stream&, int act, float* out, int64_t n, const Shape& shape, const Operand& y, const Operand& g);
// out [3, n] = [p′; m′; v′].
void launch_adam_step(const Stream&, float* out, const float* p, const float* g, const float* m, const float* v, int64_t n, const AdamParams& a);
// out [1, n] = [p′] or, with a.use_momentum, [2, n] = [p′; buf′]. buf may be null unless a.read_buf.
void launch_sgd_step(const Stream&, float* out, const float* p, const float* g, const float* buf, int64_t n, const SgdParams& a);

void launch_embedding(const Stream&, DType dt, void* out, const void* table, const int32_t* ids, int64_t n, int64_t rows, int64_t dim);
void launch_scatter_add(const Stream&, float* out, const int32_t* ids, const float* values, int64_t n, int64_t rows, int64_t dim);
void launch_one_hot(const Stream&, DType dt, void* out, const int32_t* ids, int64_t n, int64_t classes);
void launch_copy2d(const Stream&, DType dt, void* dst, const void* src, int64_t rows, int64_t cols, int64_t dst_pitch);
void launch_pad(const Stream&, DType dt, void* dst, const void* src, int64_t n, int64_t out_numel, const Shape& in_shape, const Shape& out_shape, const Shape& before);

}  // namespace eitp
