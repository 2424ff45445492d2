// N-API bindings of the kernel entry points. Each reads and checks its arguments (args.h), then queues the
// kernel on the device's stream through launch.h. Nothing here waits for the GPU.
#include <unordered_map>

#include "args.h"
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
// (id, offset, rowStride, colStride, batchStrides) at info[i..i+4] for a [batch..., rows, cols] operand.
MatOperand mat_operand(const Napi::CallbackInfo& info, size_t i, const Shape& batch, int64_t rows, int64_t cols, const char* what) {
  MatOperand o{};
  o.offset = arg_int(info[i + 1], "offset");
  o.rs = arg_int(info[i + 2], "row stride");
  o.cs = arg_int(info[i + 3], "column stride");
  o.batch = arg_strides(info[i + 4], 0, batch);
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

// softmax(out, x, xOffset, outer, len, inner, log)
void op_softmax(const Napi::CallbackInfo& info) {
  const int64_t outer = arg_int(info[3], "outer"), len = arg_int(info[4], "len"), inner = arg_int(info[5], "inner");
  const int64_t n = outer * len * inner;
  auto* x = static_cast<const float*>(checked_range(dev(), arg_id(info[1]), kF32, arg_int(info[2], "offset"), n, "softmax input"));
  auto* y = static_cast<float*>(dense_out(info[0], kF32, n, "softmax output"));
  launch_softmax(dev().stream(), y, x, outer, len, inner, info[6].ToBoolean().Value());
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

}  // namespace eitp
