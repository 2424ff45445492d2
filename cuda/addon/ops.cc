// N-API bindings of the kernel entry points. Each reads and checks its arguments (args.h), then queues the
// kernel on the device's stream through launch.h. Nothing here waits for the GPU.
#include <cmath>
#include <climits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "args.h"
#include "launch-gelu-grad.h"
#include "launch-tanh-jvp-step.h"
#include "ops.h"

namespace eitp {

namespace {

Device& dev() {
  Device& d = Device::get();
  d.require();
  return d;
}

// One strided operand from (id, offset, strides) at info[i..i+2], checked against the launch shape.
Operand operand(const Napi::CallbackInfo& info, size_t i, DType dt, const Shape& shape, const char* what) {
  const uint32_t id = arg_id(info[i]);
  const Strides st = arg_strides(info[i + 2], arg_int(info[i + 1], "offset"), shape);
  return Operand{checked_view(dev(), id, dt, shape, st, what), st};
}

void* dense_out(const Napi::Value& id, DType dt, int64_t n, const char* what) { return checked_range(dev(), arg_id(id), dt, 0, n, what); }

template <class E>
E parse_enum(const Napi::Value& v, const std::unordered_map<std::string, E>& names, const char* what) {
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  auto it = names.find(s);
  if (it == names.end()) throw LaunchError(std::string("unknown ") + what + " '" + s + "'");
  return it->second;
}

const std::unordered_map<std::string, Unary> kUnary = {
    {"neg", Unary::Neg}, {"exp", Unary::Exp}, {"log", Unary::Log}, {"sqrt", Unary::Sqrt}, {"rsqrt", Unary::Rsqrt},
    {"tanh", Unary::Tanh}, {"sigmoid", Unary::Sigmoid}, {"relu", Unary::Relu}, {"gelu", Unary::Gelu}, {"abs", Unary::Abs},
    {"square", Unary::Square}, {"erf", Unary::Erf}, {"sign", Unary::Sign}};
const std::unordered_map<std::string, Binary> kBinary = {
    {"add", Binary::Add}, {"sub", Binary::Sub}, {"mul", Binary::Mul}, {"div", Binary::Div}, {"pow", Binary::Pow},
    {"maximum", Binary::Maximum}, {"minimum", Binary::Minimum}, {"eq", Binary::Eq}, {"ne", Binary::Ne},
    {"lt", Binary::Lt}, {"le", Binary::Le}, {"gt", Binary::Gt}, {"ge", Binary::Ge}};
const std::unordered_map<std::string, ReduceOp> kReduce = {
    {"sum", kSum}, {"mean", kMean}, {"max", kMax}, {"logsumexp", kLogsumexp}, {"var", kVar}, {"norm", kNorm}};

bool is_compare(Binary op) { return op >= Binary::Eq; }

}  // namespace

// unary(op, dtype, out, shape, x, xOffset, xStrides, attr)
void op_unary(const Napi::CallbackInfo& info) {
  const Unary op = parse_enum(info[0], kUnary, "unary op");
  const DType dt = arg_dtype(info[1]);
  const Shape shape = arg_shape(info[3], "shape");
  const int64_t n = numel(shape);
  void* out = dense_out(info[2], dt, n, "unary output");
  launch_unary(dev().stream(), op, dt, out, n, shape, operand(info, 4, dt, shape, "unary input"), static_cast<int>(arg_int(info[7], "attr")));
}

// binary(op, dtype, out, shape, a, aOffset, aStrides, b, bOffset, bStrides)
void op_binary(const Napi::CallbackInfo& info) {
  const Binary op = parse_enum(info[0], kBinary, "binary op");
  const DType dt = arg_dtype(info[1]);
  const Shape shape = arg_shape(info[3], "shape");
  const int64_t n = numel(shape);
  void* out = dense_out(info[2], is_compare(op) ? kU8 : dt, n, "binary output");
  launch_binary(dev().stream(), op, dt, out, n, shape, operand(info, 4, dt, shape, "first operand"), operand(info, 7, dt, shape, "second operand"));
}

// where(dtype, out, shape, cond(3), a(3), b(3))
void op_where(const Napi::CallbackInfo& info) {
  const DType dt = arg_dtype(info[0]);
  const Shape shape = arg_shape(info[2], "shape");
  const int64_t n = numel(shape);
  void* out = dense_out(info[1], dt, n, "where output");
  launch_where(dev().stream(), dt, out, n, shape, operand(info, 3, kU8, shape, "condition"), operand(info, 6, dt, shape, "first branch"), operand(info, 9, dt, shape, "second branch"));
}

// cast(to, from, out, shape, x(3))
void op_cast(const Napi::CallbackInfo& info) {
  const DType to = arg_dtype(info[0]), from = arg_dtype(info[1]);
  const Shape shape = arg_shape(info[3], "shape");
  const int64_t n = numel(shape);
  void* out = dense_out(info[2], to, n, "cast output");
  launch_cast(dev().stream(), to, from, out, n, shape, operand(info, 4, from, shape, "cast input"));
}

// copy(dtype, out, shape, x(3)): a strided view made dense.
void op_copy(const Napi::CallbackInfo& info) {
  const DType dt = arg_dtype(info[0]);
  const Shape shape = arg_shape(info[2], "shape");
  const int64_t n = numel(shape);
  void* out = dense_out(info[1], dt, n, "copy output");
  launch_copy(dev().stream(), dt, out, n, shape, operand(info, 3, dt, shape, "copy input"));
}

namespace {
// (x, xOffset, keptShape, keptStrides, redShape, redStrides) at info[i..i+5]
ReduceGeom reduce_geom(const Napi::CallbackInfo& info, size_t i, DType dt, const void** in) {
  ReduceGeom g{};
  g.kept = arg_shape(info[i + 2], "kept shape");
  g.kstride = arg_strides(info[i + 3], arg_int(info[i + 1], "offset"), g.kept);
  g.red = arg_shape(info[i + 4], "reduced shape");
  g.rstride = arg_strides(info[i + 5], 0, g.red);
  g.outer = numel(g.kept);
  g.inner = numel(g.red);
  // Check the whole input view: kept and reduced axes together.
  Shape all{};
  Strides st{};
  st.offset = g.kstride.offset;
  all.rank = g.kept.rank + g.red.rank;
  if (all.rank > kMaxDims) throw LaunchError("reduction input has rank > 8 after merging axes");
  for (int d = 0; d < g.kept.rank; ++d) all.dim[d] = g.kept.dim[d], st.stride[d] = g.kstride.stride[d];
  for (int d = 0; d < g.red.rank; ++d) all.dim[g.kept.rank + d] = g.red.dim[d], st.stride[g.kept.rank + d] = g.rstride.stride[d];
  *in = checked_view(dev(), arg_id(info[i]), dt, all, st, "reduction input");
  return g;
}
}  // namespace

// reduce(op, dtype, out, x, xOffset, keptShape, keptStrides, redShape, redStrides, correction)
void op_reduce(const Napi::CallbackInfo& info) {
  const ReduceOp op = parse_enum(info[0], kReduce, "reduction");
  const DType dt = arg_dtype(info[1]);
  const void* in = nullptr;
  const ReduceGeom g = reduce_geom(info, 3, dt, &in);
  void* out = dense_out(info[2], dt, g.outer, "reduction output");
  launch_reduce(dev().stream(), op, dt, out, in, g, static_cast<float>(info[9].As<Napi::Number>().DoubleValue()));
}

// argmax(dtype, out, x, xOffset, keptShape, keptStrides, redShape, redStrides)
void op_argmax(const Napi::CallbackInfo& info) {
  const DType dt = arg_dtype(info[0]);
  const void* in = nullptr;
  const ReduceGeom g = reduce_geom(info, 2, dt, &in);
  void* out = dense_out(info[1], kI32, g.outer, "argmax output");
  launch_argmax(dev().stream(), dt, static_cast<int32_t*>(out), in, g);
}

namespace {
// (id, offset, rowStride, colStride, batchStrides) at info[i..i+4] for a [batch..., rows, cols] operand; without
// batch axes (with_batch false) only the first four.
MatOperand mat_operand(const Napi::CallbackInfo& info, size_t i, const Shape& batch, int64_t rows, int64_t cols, const char* what, bool with_batch = true) {
  MatOperand o{};
  o.offset = arg_int(info[i + 1], "offset");
  o.rs = arg_int(info[i + 2], "row stride");
  o.cs = arg_int(info[i + 3], "column stride");
  o.batch = with_batch ? arg_strides(info[i + 4], 0, batch) : Strides{};
  // Check the whole [batch..., rows, cols] view against the buffer.
  if (batch.rank + 2 > kMaxDims) throw LaunchError("matmul has more than 6 batch axes after merging");
  Shape full = batch;
  Strides fs = o.batch;
  fs.offset = o.offset;
  full.dim[full.rank] = rows, fs.stride[full.rank++] = o.rs;
  full.dim[full.rank] = cols, fs.stride[full.rank++] = o.cs;
  o.p = static_cast<const float*>(checked_view(dev(), arg_id(info[i]), kF32, full, fs, what));
  return o;
}
}  // namespace

// matmul(out, batchShape, m, n, k, a(5), b(5))
void op_matmul(const Napi::CallbackInfo& info) {
  MatmulArgs a{};
  a.batch = arg_shape(info[1], "batch shape");
  a.m = arg_int(info[2], "m");
  a.n = arg_int(info[3], "n");
  a.k = arg_int(info[4], "k");
  a.batches = numel(a.batch);
  a.a = mat_operand(info, 5, a.batch, a.m, a.k, "matmul A");
  a.b = mat_operand(info, 10, a.batch, a.k, a.n, "matmul B");
  a.c = static_cast<float*>(dense_out(info[0], kF32, a.batches * a.m * a.n, "matmul output"));
  launch_matmul(dev().stream(), a);
}

// tanhJvp(out, h, hOffset, v, vOffset, w, wOffset, batch, outFeatures, inFeatures): (1 − h²) ⊙ (v·wᵀ) on dense
// h [batch, out], v [batch, in], w [out, in] (read as the transposed view B[k][n] = w[n][k]).
void op_tanh_jvp(const Napi::CallbackInfo& info) {
  const int64_t b = arg_int(info[7], "batch"), out_f = arg_int(info[8], "out features"), in_f = arg_int(info[9], "in features");
  if (b < 0 || out_f < 0 || in_f < 0) throw LaunchError("tanhJvp: negative dimension");
  MatmulArgs a{};
  a.m = b, a.n = out_f, a.k = in_f;
  a.batch.rank = 0;
  a.batches = 1;
  a.h = static_cast<const float*>(checked_range(dev(), arg_id(info[1]), kF32, arg_int(info[2], "offset"), b * out_f, "tanhJvp h"));
  // The matmul operands are (buffer, element offset) pairs: check the ranges, then hand over the bases.
  const int64_t v_off = arg_int(info[4], "offset"), w_off = arg_int(info[6], "offset");
  checked_range(dev(), arg_id(info[3]), kF32, v_off, b * in_f, "tanhJvp v");
  checked_range(dev(), arg_id(info[5]), kF32, w_off, out_f * in_f, "tanhJvp w");
  a.a = MatOperand{static_cast<const float*>(dev().buffer(arg_id(info[3])).ptr), v_off, in_f, 1, Strides{}};
  a.b = MatOperand{static_cast<const float*>(dev().buffer(arg_id(info[5])).ptr), w_off, 1, in_f, Strides{}};
  a.c = static_cast<float*>(dense_out(info[0], kF32, b * out_f, "tanhJvp output"));
  launch_matmul(dev().stream(), a);
}

namespace {
// The operands of the fused tanh step: batch, out and in features at info[i..i+2], then h and w dense and v [B, in]
// as a strided view (id, offset, row stride, column stride), each checked against its buffer.
struct StepOperands {
  int64_t b, out_f, in_f;
  const float *h, *v, *w;
  int64_t v_rs, v_cs;
};
StepOperands step_operands(const Napi::CallbackInfo& info, size_t dims, const char* op) {
  StepOperands o{};
  o.b = arg_int(info[dims], "batch"), o.out_f = arg_int(info[dims + 1], "out features"), o.in_f = arg_int(info[dims + 2], "in features");
  // Bounded so that no element count below can overflow (the grid holds at most 2^31 - 1 rows anyway).
  if (o.b < 0 || o.out_f < 0 || o.in_f < 0 || o.b > INT_MAX || o.out_f > INT_MAX || o.in_f > INT_MAX) {
    throw LaunchError(std::string(op) + ": batch, out and in features must lie in [0, 2^31)");
  }
  const std::string name(op);
  o.h = static_cast<const float*>(checked_range(dev(), arg_id(info[1]), kF32, arg_int(info[2], "offset"), o.b * o.out_f, (name + " h").c_str()));
  Shape vs{};
  vs.rank = 2, vs.dim[0] = o.b, vs.dim[1] = o.in_f;
  Strides st{};
  st.offset = arg_int(info[4], "offset");
  st.stride[0] = o.v_rs = arg_int(info[5], "v row stride");
  st.stride[1] = o.v_cs = arg_int(info[6], "v column stride");
  const auto* v_base = static_cast<const float*>(checked_view(dev(), arg_id(info[3]), kF32, vs, st, (name + " v").c_str()));
  o.v = numel(vs) ? v_base + st.offset : v_base;  // an empty view is never read (its offset may lie anywhere)
  o.w = static_cast<const float*>(checked_range(dev(), arg_id(info[7]), kF32, arg_int(info[8], "offset"), o.out_f * o.in_f, (name + " w").c_str()));
  return o;
}
}  // namespace

// tanhJvpStep(out, h, hOffset, v, vOffset, vRowStride, vColStride, w, wOffset, batch, outFeatures, inFeatures):
// out [batch, out + 1] = [δ/‖δ‖ | ln‖δ‖] per row, δ = (1 − h²) ⊙ (v·wᵀ).
void op_tanh_jvp_step(const Napi::CallbackInfo& info) {
  const StepOperands o = step_operands(info, 9, "tanhJvpStep");
  auto* y = static_cast<float*>(dense_out(info[0], kF32, o.b * (o.out_f + 1), "tanhJvpStep output"));
  launch_tanh_jvp_step(dev().stream(), y, o.h, o.v, o.v_rs, o.v_cs, o.w, o.b, o.out_f, o.in_f);
}

// tanhJvpStepGrad(out, h, hOffset, v, vOffset, vRowStride, vColStride, w, wOffset, gy, gyOffset, batch, outFeatures,
// inFeatures): out [2, batch, out] = [dp; dh] for the cotangent gy [batch, out + 1].
void op_tanh_jvp_step_grad(const Napi::CallbackInfo& info) {
  const StepOperands o = step_operands(info, 11, "tanhJvpStepGrad");
  auto* gy = static_cast<const float*>(checked_range(dev(), arg_id(info[9]), kF32, arg_int(info[10], "offset"), o.b * (o.out_f + 1), "tanhJvpStepGrad gy"));
  auto* z = static_cast<float*>(dense_out(info[0], kF32, 2 * o.b * o.out_f, "tanhJvpStepGrad output"));
  launch_tanh_jvp_step_grad(dev().stream(), z, o.h, o.v, o.v_rs, o.v_cs, o.w, gy, o.b, o.out_f, o.in_f);
}

// softmax(out, x, xOffset, outer, len, inner, log)
void op_softmax(const Napi::CallbackInfo& info) {
  const int64_t outer = arg_int(info[3], "outer"), len = arg_int(info[4], "len"), inner = arg_int(info[5], "inner");
  const int64_t n = outer * len * inner;
  auto* x = static_cast<const float*>(checked_range(dev(), arg_id(info[1]), kF32, arg_int(info[2], "offset"), n, "softmax input"));
  auto* y = static_cast<float*>(dense_out(info[0], kF32, n, "softmax output"));
  launch_softmax(dev().stream(), y, x, outer, len, inner, info[6].ToBoolean().Value());
}

namespace {
// The [outer, len, inner] extents of a softmax-family call at info[first..first + 2], and their product: negative
// extents could multiply to a small positive count that passes the range checks, and a product past int64 wraps.
int64_t line_extents(const Napi::CallbackInfo& info, int first, const char* op, int64_t& outer, int64_t& len, int64_t& inner) {
  outer = arg_int(info[first], "outer"), len = arg_int(info[first + 1], "len"), inner = arg_int(info[first + 2], "inner");
  int64_t n = 0;
  if (outer < 0 || len < 0 || inner < 0 || __builtin_mul_overflow(outer, len, &n) || __builtin_mul_overflow(n, inner, &n) || n > INT64_MAX / 2) {
    throw LaunchError(std::string(op) + ": bad extents [" + std::to_string(outer) + ", " + std::to_string(len) + ", " + std::to_string(inner) + "]");
  }
  return n;
}
}  // namespace

// softmaxGradGrad(out, y, yOffset, g, gOffset, o, oOffset, outer, len, inner): out [2, n] = [ȳ; ḡ].
void op_softmax_grad_grad(const Napi::CallbackInfo& info) {
  int64_t outer, len, inner;
  const int64_t n = line_extents(info, 7, "softmaxGradGrad", outer, len, inner);
  auto* y = static_cast<const float*>(checked_range(dev(), arg_id(info[1]), kF32, arg_int(info[2], "offset"), n, "softmaxGradGrad y"));
  auto* g = static_cast<const float*>(checked_range(dev(), arg_id(info[3]), kF32, arg_int(info[4], "offset"), n, "softmaxGradGrad g"));
  auto* o = static_cast<const float*>(checked_range(dev(), arg_id(info[5]), kF32, arg_int(info[6], "offset"), n, "softmaxGradGrad cotangent"));
  auto* out = static_cast<float*>(dense_out(info[0], kF32, 2 * n, "softmaxGradGrad output"));
  launch_softmax_grad_grad(dev().stream(), out, y, g, o, outer, len, inner);
}

// softmaxGrad(out, y, yOffset, g, gOffset, outer, len, inner)
void op_softmax_grad(const Napi::CallbackInfo& info) {
  int64_t outer, len, inner;
  const int64_t n = line_extents(info, 5, "softmaxGrad", outer, len, inner);
  auto* y = static_cast<const float*>(checked_range(dev(), arg_id(info[1]), kF32, arg_int(info[2], "offset"), n, "softmaxGrad y"));
  auto* g = static_cast<const float*>(checked_range(dev(), arg_id(info[3]), kF32, arg_int(info[4], "offset"), n, "softmaxGrad g"));
  auto* out = static_cast<float*>(dense_out(info[0], kF32, n, "softmaxGrad output"));
  launch_softmax_grad(dev().stream(), out, y, g, outer, len, inner);
}

// crossEntropy(loss, x, xOffset, targets(i32), tOffset, rows, classes): per-row losses
void op_cross_entropy(const Napi::CallbackInfo& info) {
  const int64_t rows = arg_int(info[5], "rows"), classes = arg_int(info[6], "classes");
  auto* x = static_cast<const float*>(checked_range(dev(), arg_id(info[1]), kF32, arg_int(info[2], "offset"), rows * classes, "crossEntropy logits"));
  auto* t = static_cast<const int32_t*>(checked_range(dev(), arg_id(info[3]), kI32, arg_int(info[4], "offset"), rows, "crossEntropy targets"));
  auto* loss = static_cast<float*>(dense_out(info[0], kF32, rows, "crossEntropy losses"));
  launch_cross_entropy(dev().stream(), loss, x, t, rows, classes);
}

// layerNorm(out, x, xOffset, w, wOffset, b, bOffset, rows, d, eps)
void op_layer_norm(const Napi::CallbackInfo& info) {
  const int64_t rows = arg_int(info[7], "rows"), d = arg_int(info[8], "d");
  auto* x = static_cast<const float*>(checked_range(dev(), arg_id(info[1]), kF32, arg_int(info[2], "offset"), rows * d, "layerNorm input"));
  auto* w = static_cast<const float*>(checked_range(dev(), arg_id(info[3]), kF32, arg_int(info[4], "offset"), d, "layerNorm weight"));
  auto* b = static_cast<const float*>(checked_range(dev(), arg_id(info[5]), kF32, arg_int(info[6], "offset"), d, "layerNorm bias"));
  auto* y = static_cast<float*>(dense_out(info[0], kF32, rows * d, "layerNorm output"));
  launch_layer_norm(dev().stream(), y, x, w, b, rows, d, static_cast<float>(info[9].As<Napi::Number>().DoubleValue()));
}

namespace {
// The scratch blocks of one op call, from the caching allocator; returned when the call returns (also when it
// throws), which is safe because the kernels using them are queued before any later work that could reuse them.
class ScratchBlocks {
 public:
  ScratchBlocks() = default;
  ScratchBlocks(const ScratchBlocks&) = delete;
  ScratchBlocks& operator=(const ScratchBlocks&) = delete;
  ~ScratchBlocks() {
    for (auto& [p, cap] : blocks_) Device::get().allocator().release(p, cap);
  }
  Scratch fn() {
    return [this](size_t bytes) {
      size_t cap = 0;
      void* p = Device::get().allocator().allocate(bytes ? bytes : 1, &cap);
      blocks_.emplace_back(p, cap);
      return p;
    };
  }

 private:
  std::vector<std::pair<void*, size_t>> blocks_;
};

double arg_number(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw LaunchError(std::string(what) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// (n, bins, low, width, bandwidth) at info[i..i+4]; the window W = ceil(8h/width) in double, as the reference.
SoftHist soft_hist_args(const Napi::CallbackInfo& info, size_t i) {
  const int64_t n = arg_int(info[i], "n"), bins = arg_int(info[i + 1], "bins");
  const double low = arg_number(info[i + 2], "low"), width = arg_number(info[i + 3], "width"), h = arg_number(info[i + 4], "bandwidth");
  if (n < 0 || bins < 1 || bins > INT_MAX) throw LaunchError("softHistogram: n must be >= 0 and bins in [1, 2^31)");
  if (!(width > 0) || !(h > 0) || !std::isfinite(low)) throw LaunchError("softHistogram: width and bandwidth must be > 0 and low finite");
  // A window reaching every bin is the whole histogram; clamping keeps the int arithmetic in range.
  const double window = std::min(std::ceil(8 * h / width), static_cast<double>(bins));
  SoftHist p{};
  p.n = n;
  p.bins = static_cast<int>(bins);
  p.window = static_cast<int>(window);
  p.low_d = low;
  p.width_d = width;
  p.low = static_cast<float>(low);
  p.width = static_cast<float>(width);
  p.inv_2h2 = static_cast<float>(1.0 / (2 * h * h));
  p.inv_h2 = static_cast<float>(1.0 / (h * h));
  return p;
}

const float* f32_range(const Napi::CallbackInfo& info, size_t i, int64_t count, const char* what) {
  return static_cast<const float*>(checked_range(dev(), arg_id(info[i]), kF32, arg_int(info[i + 1], "offset"), count, what));
}
}  // namespace

// softHistogram(out, u, uOffset, n, bins, low, width, bandwidth)
void op_soft_histogram(const Napi::CallbackInfo& info) {
  const SoftHist p = soft_hist_args(info, 3);
  const float* u = f32_range(info, 1, p.n, "softHistogram values");
  auto* out = static_cast<float*>(dense_out(info[0], kF32, p.bins, "softHistogram counts"));
  ScratchBlocks scratch;
  launch_soft_histogram(dev().stream(), out, u, p, scratch.fn());
}

// softHistogramGrad(out, u, uOffset, g, gOffset, n, bins, low, width, bandwidth)
void op_soft_histogram_grad(const Napi::CallbackInfo& info) {
  const SoftHist p = soft_hist_args(info, 5);
  const float* u = f32_range(info, 1, p.n, "softHistogramGrad values");
  const float* g = f32_range(info, 3, p.bins, "softHistogramGrad cotangent");
  auto* out = static_cast<float*>(dense_out(info[0], kF32, p.n, "softHistogramGrad output"));
  launch_soft_histogram_grad(dev().stream(), out, u, g, p);
}

// correlation(out, z, zOffset, rows, cols, eps)
void op_correlation(const Napi::CallbackInfo& info) {
  const int64_t rows = arg_int(info[3], "rows"), cols = arg_int(info[4], "cols");
  if (rows < 2 || cols < 2) throw LaunchError("correlation: z must be [N, d] with N >= 2 and d >= 2");
  const float* z = f32_range(info, 1, rows * cols, "correlation input");
  auto* out = static_cast<float*>(dense_out(info[0], kF32, cols * cols, "correlation output"));
  ScratchBlocks scratch;
  launch_correlation(dev().stream(), out, z, rows, cols, static_cast<float>(arg_number(info[5], "eps")), scratch.fn());
}

// correlationGrad(out, z, zOffset, gR, gOffset, rows, cols, eps)
void op_correlation_grad(const Napi::CallbackInfo& info) {
  const int64_t rows = arg_int(info[5], "rows"), cols = arg_int(info[6], "cols");
  if (rows < 2 || cols < 2) throw LaunchError("correlationGrad: z must be [N, d] with N >= 2 and d >= 2");
  const float* z = f32_range(info, 1, rows * cols, "correlationGrad input");
  const float* g = f32_range(info, 3, cols * cols, "correlationGrad cotangent");
  auto* out = static_cast<float*>(dense_out(info[0], kF32, rows * cols, "correlationGrad output"));
  ScratchBlocks scratch;
  launch_correlation_grad(dev().stream(), out, z, g, rows, cols, static_cast<float>(arg_number(info[7], "eps")), scratch.fn());
}

namespace {
// (rows, cols) of coherence's z at info[i], info[i + 1]: N >= 2, d >= 2, and N·d an exact int64 (a wrapped product
// could pass the buffer-range check with a small count).
std::pair<int64_t, int64_t> coherence_shape(const Napi::CallbackInfo& info, size_t i, const char* op) {
  const int64_t rows = arg_int(info[i], "rows"), cols = arg_int(info[i + 1], "cols");
  if (rows < 2 || cols < 2) throw LaunchError(std::string(op) + ": z must be [N, d] with N >= 2 and d >= 2");
  if (static_cast<double>(rows) * static_cast<double>(cols) > 0x1p53) throw LaunchError(std::string(op) + ": z has more than 2^53 elements");
  return {rows, cols};
}
}  // namespace

// coherence(out, z, zOffset, rows, cols, eps): out [1] = ‖R − I‖_F²/(d(d − 1)) of z [rows, cols]'s correlation matrix.
void op_coherence(const Napi::CallbackInfo& info) {
  const auto [rows, cols] = coherence_shape(info, 3, "coherence");
  const float* z = f32_range(info, 1, rows * cols, "coherence input");
  auto* out = static_cast<float*>(dense_out(info[0], kF32, 1, "coherence output"));
  ScratchBlocks scratch;
  launch_coherence(dev().stream(), out, z, rows, cols, static_cast<float>(arg_number(info[5], "eps")), scratch.fn());
}

// coherenceGrad(out, z, zOffset, g, gOffset, rows, cols, eps): out [rows, cols] = dz for the scalar cotangent g (one
// f32 at gOffset, read on the device).
void op_coherence_grad(const Napi::CallbackInfo& info) {
  const auto [rows, cols] = coherence_shape(info, 5, "coherenceGrad");
  const float* z = f32_range(info, 1, rows * cols, "coherenceGrad input");
  const float* g = f32_range(info, 3, 1, "coherenceGrad cotangent");
  auto* out = static_cast<float*>(dense_out(info[0], kF32, rows * cols, "coherenceGrad output"));
  ScratchBlocks scratch;
  launch_coherence_grad(dev().stream(), out, z, g, rows, cols, static_cast<float>(arg_number(info[7], "eps")), scratch.fn());
}

namespace {
// eps of activationDensity / activationDensityGrad: finite and >= 0, as the op checks.
double density_eps(const Napi::Value& v, const char* op) {
  const double eps = arg_number(v, "eps");
  if (!(eps >= 0) || !std::isfinite(eps)) throw LaunchError(std::string(op) + ": eps must be a finite number >= 0");
  return eps;
}
}  // namespace

// activationDensity(out, shape, a(3), tau, tauOffset, eps): out [1] = mean(a²/(a² + τ² + eps)); a strided over
// shape, τ the one element at tauOffset (read on the device).
void op_activation_density(const Napi::CallbackInfo& info) {
  const Shape shape = arg_shape(info[1], "shape");
  const int64_t n = numel(shape);
  if (n < 1) throw LaunchError("activationDensity: a must have at least one element");
  const double eps = density_eps(info[7], "activationDensity");
  const Operand a = operand(info, 2, kF32, shape, "activationDensity a");
  const float* tau = f32_range(info, 5, 1, "activationDensity tau");
  auto* out = static_cast<float*>(dense_out(info[0], kF32, 1, "activationDensity output"));
  ScratchBlocks scratch;
  launch_activation_density(dev().stream(), out, n, shape, a, tau, eps, scratch.fn());
}

// activationDensityGrad(out, shape, a(3), tau, tauOffset, g, gOffset, eps): out (dense over shape) = g·2ac/(a² + c)²/n.
void op_activation_density_grad(const Napi::CallbackInfo& info) {
  const Shape shape = arg_shape(info[1], "shape");
  const int64_t n = numel(shape);
  if (n < 1) throw LaunchError("activationDensityGrad: a must have at least one element");
  const double eps = density_eps(info[9], "activationDensityGrad");
  const Operand a = operand(info, 2, kF32, shape, "activationDensityGrad a");
  const float* tau = f32_range(info, 5, 1, "activationDensityGrad tau");
  const float* g = f32_range(info, 7, 1, "activationDensityGrad cotangent");
  auto* out = static_cast<float*>(dense_out(info[0], kF32, n, "activationDensityGrad output"));
  launch_activation_density_grad(dev().stream(), out, n, shape, a, tau, g, eps);
}

// matmulInt8(out, x, xOffset, wq(i8), wqOffset, ws, wsOffset, m, n, k, activations 'f32' | 'int8')
void op_matmul_int8(const Napi::CallbackInfo& info) {
  const int64_t m = arg_int(info[7], "m"), n = arg_int(info[8], "n"), k = arg_int(info[9], "k");
  if (m < 0 || n < 0 || k < 0) throw LaunchError("matmulInt8: negative dimension");
  const std::string act = info[10].IsString() ? info[10].As<Napi::String>().Utf8Value() : "";
  if (act != "f32" && act != "int8") throw LaunchError("matmulInt8: activations must be 'f32' or 'int8', got '" + act + "'");
  const float* x = f32_range(info, 1, m * k, "matmulInt8 activations");
  const auto* wq = static_cast<const int8_t*>(checked_range(dev(), arg_id(info[3]), kI8, arg_int(info[4], "offset"), n * k, "matmulInt8 weights"));
  const float* ws = f32_range(info, 5, n, "matmulInt8 scales");
  auto* out = static_cast<float*>(dense_out(info[0], kF32, m * n, "matmulInt8 output"));
  ScratchBlocks scratch;
  launch_matmul_int8(dev().stream(), out, x, wq, ws, m, n, k, act == "int8", scratch.fn());
}

// embedding(dtype, out, table, tableOffset, ids(i32), idsOffset, n, rows, dim)
void op_embedding(const Napi::CallbackInfo& info) {
  const DType dt = arg_dtype(info[0]);
  const int64_t n = arg_int(info[6], "n"), rows = arg_int(info[7], "rows"), dim = arg_int(info[8], "dim");
  const void* table = checked_range(dev(), arg_id(info[2]), dt, arg_int(info[3], "offset"), rows * dim, "embedding table");
  auto* ids = static_cast<const int32_t*>(checked_range(dev(), arg_id(info[4]), kI32, arg_int(info[5], "offset"), n, "embedding indices"));
  void* out = dense_out(info[1], dt, n * dim, "embedding output");
  launch_embedding(dev().stream(), dt, out, table, ids, n, rows, dim);
}

// scatterAdd(out, ids(i32), idsOffset, values, valuesOffset, n, rows, dim)
void op_scatter_add(const Napi::CallbackInfo& info) {
  const int64_t n = arg_int(info[5], "n"), rows = arg_int(info[6], "rows"), dim = arg_int(info[7], "dim");
  auto* ids = static_cast<const int32_t*>(checked_range(dev(), arg_id(info[1]), kI32, arg_int(info[2], "offset"), n, "scatterAdd indices"));
  auto* v = static_cast<const float*>(checked_range(dev(), arg_id(info[3]), kF32, arg_int(info[4], "offset"), n * dim, "scatterAdd values"));
  auto* out = static_cast<float*>(dense_out(info[0], kF32, rows * dim, "scatterAdd output"));
  launch_scatter_add(dev().stream(), out, ids, v, n, rows, dim);
}

// oneHot(dtype, out, ids(i32), idsOffset, n, classes)
void op_one_hot(const Napi::CallbackInfo& info) {
  const DType dt = arg_dtype(info[0]);
  const int64_t n = arg_int(info[4], "n"), classes = arg_int(info[5], "classes");
  auto* ids = static_cast<const int32_t*>(checked_range(dev(), arg_id(info[2]), kI32, arg_int(info[3], "offset"), n, "oneHot indices"));
  void* out = dense_out(info[1], dt, n * classes, "oneHot output");
  launch_one_hot(dev().stream(), dt, out, ids, n, classes);
}

// copy2d(dtype, dst, dstOffset, src, srcOffset, rows, cols, pitch): one concat input into its column slot.
void op_copy2d(const Napi::CallbackInfo& info) {
  const DType dt = arg_dtype(info[0]);
  const int64_t rows = arg_int(info[5], "rows"), cols = arg_int(info[6], "cols"), pitch = arg_int(info[7], "pitch");
  if (rows > 0 && cols > pitch) throw LaunchError("copy2d: cols exceed the destination pitch");
  const void* src = checked_range(dev(), arg_id(info[3]), dt, arg_int(info[4], "offset"), rows * cols, "concat input");
  const int64_t span = rows == 0 ? 0 : (rows - 1) * pitch + cols;
  void* dst = checked_range(dev(), arg_id(info[1]), dt, arg_int(info[2], "offset"), span, "concat output");
  launch_copy2d(dev().stream(), dt, dst, src, rows, cols, pitch);
}

// pad(dtype, out, x, xOffset, inShape, outShape, before)
void op_pad(const Napi::CallbackInfo& info) {
  const DType dt = arg_dtype(info[0]);
  const Shape in_shape = arg_shape(info[4], "input shape"), out_shape = arg_shape(info[5], "output shape"), before = arg_shape(info[6], "pad before");
  if (in_shape.rank != out_shape.rank || before.rank != in_shape.rank) throw LaunchError("pad: ranks differ");
  for (int d = 0; d < in_shape.rank; ++d)
    if (in_shape.dim[d] + before.dim[d] > out_shape.dim[d]) throw LaunchError("pad: input does not fit the output");
  const int64_t n = numel(in_shape), out_n = numel(out_shape);
  const void* src = checked_range(dev(), arg_id(info[2]), dt, arg_int(info[3], "offset"), n, "pad input");
  void* dst = dense_out(info[1], dt, out_n, "pad output");
  launch_pad(dev().stream(), dt, dst, src, n, out_n, in_shape, out_shape, before);
}

// ---- fused training ops (train-fused.cuh) -----------------------------------------------------------------------------
namespace {
const std::unordered_map<std::string, int> kScaleModes = {{"mean", kScaleMean}, {"sum", kScaleSum}, {"none", kScaleNone}};
const std::unordered_map<std::string, int> kActivations = {{"none", kActNone}, {"relu", kActRelu}, {"tanh", kActTanh}, {"sigmoid", kActSigmoid}};
// geluGrad's approximate attribute: true for the tanh form.
const std::unordered_map<std::string, bool> kGeluForms = {{"none", false}, {"tanh", true}};

float arg_f32(const Napi::Value& v, const char* what) { return static_cast<float>(arg_number(v, what)); }
}  // namespace

// crossEntropyGrad(out, x, xOffset, targets(i32), tOffset, g, gOffset, rows, classes, reduction): dense logits
// [rows, classes]; g is one value ('mean', 'sum') or one per row ('none').
void op_cross_entropy_grad(const Napi::CallbackInfo& info) {
  const int64_t rows = arg_int(info[7], "rows"), classes = arg_int(info[8], "classes");
  if (rows < 0 || classes < 0) throw LaunchError("crossEntropyGrad: negative dimension");
  const int mode = parse_enum(info[9], kScaleModes, "crossEntropyGrad reduction");
  const float* x = f32_range(info, 1, rows * classes, "crossEntropyGrad logits");
  auto* t = static_cast<const int32_t*>(checked_range(dev(), arg_id(info[3]), kI32, arg_int(info[4], "offset"), rows, "crossEntropyGrad targets"));
  const float* g = f32_range(info, 5, mode == kScaleNone ? rows : 1, "crossEntropyGrad cotangent");
  auto* out = static_cast<float*>(dense_out(info[0], kF32, rows * classes, "crossEntropyGrad output"));
  launch_cross_entropy_grad(dev().stream(), out, x, t, g, rows, classes, mode);
}

// layerNormGrad(out, x, xOffset, w, wOffset, g, gOffset, rows, d, eps): out [rows + 2, d] = [dx; dw; db].
void op_layer_norm_grad(const Napi::CallbackInfo& info) {
  const int64_t rows = arg_int(info[7], "rows"), d = arg_int(info[8], "d");
  if (rows < 0 || d < 1) throw LaunchError("layerNormGrad: needs rows >= 0 and d >= 1");
  const float* x = f32_range(info, 1, rows * d, "layerNormGrad input");
  const float* w = f32_range(info, 3, d, "layerNormGrad weight");
  const float* g = f32_range(info, 5, rows * d, "layerNormGrad cotangent");
  auto* out = static_cast<float*>(dense_out(info[0], kF32, (rows + 2) * d, "layerNormGrad output"));
  ScratchBlocks scratch;
  launch_layer_norm_grad(dev().stream(), out, x, w, g, rows, d, arg_f32(info[9], "eps"), scratch.fn());
}

// layerNormGradGrad(out, x, xOffset, u, uOffset, o, oOffset, rows, d, eps): out [2, rows, d] = [J o; curvature].
void op_layer_norm_grad_grad(const Napi::CallbackInfo& info) {
  const int64_t rows = arg_int(info[7], "rows"), d = arg_int(info[8], "d");
  if (rows < 0 || d < 1) throw LaunchError("layerNormGradGrad: needs rows >= 0 and d >= 1");
  const float* x = f32_range(info, 1, rows * d, "layerNormGradGrad input");
  const float* u = f32_range(info, 3, rows * d, "layerNormGradGrad u");
  const float* o = f32_range(info, 5, rows * d, "layerNormGradGrad cotangent");
  auto* out = static_cast<float*>(dense_out(info[0], kF32, 2 * rows * d, "layerNormGradGrad output"));
  launch_layer_norm_grad_grad(dev().stream(), out, x, u, o, rows, d, arg_f32(info[9], "eps"));
}

// activationGrad(activation, out, shape, y(3), g(3)): g·f′ from the output y, strided operands.
void op_activation_grad(const Napi::CallbackInfo& info) {
  const int act = parse_enum(info[0], kActivations, "activationGrad activation");
  if (act == kActNone) throw LaunchError("activationGrad: activation must be relu, tanh or sigmoid");
  const Shape shape = arg_shape(info[2], "shape");
  const int64_t n = numel(shape);
  auto* out = static_cast<float*>(dense_out(info[1], kF32, n, "activationGrad output"));
  launch_activation_grad(dev().stream(), act, out, n, shape, operand(info, 3, kF32, shape, "activationGrad y"), operand(info, 6, kF32, shape, "activationGrad cotangent"));
}

// geluGrad(approximate, out, shape, x(3), g(3)[, order]): g·gelu′(x), or g·gelu″(x) with order 2; strided operands.
void op_gelu_grad(const Napi::CallbackInfo& info) {
  const bool tanh_approx = parse_enum(info[0], kGeluForms, "geluGrad approximate");
  const int64_t order = info.Length() > 9 ? arg_int(info[9], "geluGrad order") : 1;
  if (order != 1 && order != 2) throw LaunchError("geluGrad: order must be 1 or 2, got " + std::to_string(order));
  const Shape shape = arg_shape(info[2], "shape");
  const int64_t n = numel(shape);
  auto* out = static_cast<float*>(dense_out(info[1], kF32, n, "geluGrad output"));
  launch_gelu_grad(dev().stream(), tanh_approx, static_cast<int>(order), out, n, shape, operand(info, 3, kF32, shape, "geluGrad x"),
                   operand(info, 6, kF32, shape, "geluGrad cotangent"));
}

// linear(out, m, n, k, x(4), w(4), b, bOffset, activation): act(x·w + b), x [m, k] and w [k, n] as (id, offset,
// rowStride, colStride) strided views (a transposed w is read in place), b dense [n].
void op_linear(const Napi::CallbackInfo& info) {
  MatmulArgs a{};
  a.m = arg_int(info[1], "m");
  a.n = arg_int(info[2], "n");
  a.k = arg_int(info[3], "k");
  if (a.m < 0 || a.n < 0 || a.k < 0) throw LaunchError("linear: negative dimension");
  a.batch.rank = 0;
  a.batches = 1;
  a.a = mat_operand(info, 4, a.batch, a.m, a.k, "linear x", false);
  a.b = mat_operand(info, 8, a.batch, a.k, a.n, "linear w", false);
  a.bias = f32_range(info, 12, a.n, "linear bias");
  a.act = parse_enum(info[14], kActivations, "linear activation");
  a.c = static_cast<float*>(dense_out(info[0], kF32, a.m * a.n, "linear output"));
  launch_matmul(dev().stream(), a);
}

// adamStep(out, p, pOffset, g, gOffset, m, mOffset, v, vOffset, n, beta1, beta2, eps, weightDecay, decay, stepSize,
// bias2Sqrt): out [3, n] = [p′; m′; v′] from dense inputs. 1 − β is taken in double before rounding to f32.
void op_adam_step(const Napi::CallbackInfo& info) {
  const int64_t n = arg_int(info[9], "n");
  if (n < 0) throw LaunchError("adamStep: negative size");
  const float* p = f32_range(info, 1, n, "adamStep parameter");
  const float* g = f32_range(info, 3, n, "adamStep gradient");
  const float* m = f32_range(info, 5, n, "adamStep first moment");
  const float* v = f32_range(info, 7, n, "adamStep second moment");
  const double beta1 = arg_number(info[10], "beta1"), beta2 = arg_number(info[11], "beta2");
  AdamParams a{};
  a.beta1 = static_cast<float>(beta1);
  a.one_minus_beta1 = static_cast<float>(1.0 - beta1);
  a.beta2 = static_cast<float>(beta2);
  a.one_minus_beta2 = static_cast<float>(1.0 - beta2);
  a.eps = arg_f32(info[12], "eps");
  a.weight_decay = arg_f32(info[13], "weightDecay");
  a.decay = arg_f32(info[14], "decay");
  a.step_size = arg_f32(info[15], "stepSize");
  a.bias2_sqrt = arg_f32(info[16], "bias2Sqrt");
  if (!(a.bias2_sqrt > 0.0f)) throw LaunchError("adamStep: bias2Sqrt must be > 0");
  auto* out = static_cast<float*>(dense_out(info[0], kF32, 3 * n, "adamStep output"));
  launch_adam_step(dev().stream(), out, p, g, m, v, n, a);
}

// sgdStep(out, p, pOffset, g, gOffset, buf, bufOffset, n, lr, momentum, dampening, nesterov, weightDecay, first):
// out [1, n] = [p′] (momentum 0) or [2, n] = [p′; buf′] from dense inputs. buf and bufOffset are neither read nor
// checked when momentum is 0 or first is true. 1 − dampening is taken in double before rounding to f32.
void op_sgd_step(const Napi::CallbackInfo& info) {
  const int64_t n = arg_int(info[7], "n");
  if (n < 0) throw LaunchError("sgdStep: negative size");
  if (!info[11].IsBoolean() || !info[13].IsBoolean()) throw LaunchError("sgdStep: nesterov and first must be booleans");
  const double momentum = arg_number(info[9], "momentum"), dampening = arg_number(info[10], "dampening");
  SgdParams a{};
  a.lr = arg_f32(info[8], "lr");
  a.momentum = static_cast<float>(momentum);
  a.one_minus_dampening = static_cast<float>(1.0 - dampening);
  a.weight_decay = arg_f32(info[12], "weightDecay");
  a.use_momentum = momentum != 0.0;
  a.read_buf = a.use_momentum && !info[13].As<Napi::Boolean>().Value();
  a.nesterov = info[11].As<Napi::Boolean>().Value();
  if (a.nesterov && !a.use_momentum) throw LaunchError("sgdStep: nesterov needs momentum != 0");
  const float* p = f32_range(info, 1, n, "sgdStep parameter");
  const float* g = f32_range(info, 3, n, "sgdStep gradient");
  const float* buf = a.read_buf ? f32_range(info, 5, n, "sgdStep momentum buffer") : nullptr;
  auto* out = static_cast<float*>(dense_out(info[0], kF32, (a.use_momentum ? 2 : 1) * n, "sgdStep output"));
  launch_sgd_step(dev().stream(), out, p, g, buf, n, a);
}

}  // namespace eitp
