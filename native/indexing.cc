// Gather/scatter by integer index, one-hot, concat and pad (engine/backends/cpu/indexing.ts). Index errors are
// "argument" errors with the reference's message, so the TypeScript side raises the same ArgumentError.
#include <cstring>

#include "common.h"
#include "strided.h"
#include "thread-pool.h"

namespace eitp {

namespace {

void checkIndex(int64_t value, int64_t position, int64_t limit) {
  if (!(value >= 0 && value < limit)) {
    throw KernelError("index " + std::to_string(value) + " at position " + std::to_string(position) + " is outside [0, " +
                          std::to_string(limit) + ")",
                      true);
  }
}

// The indices of an integer operand, widened to int64 (any of i32, i8, u8).
std::vector<int64_t> indices(const Arg& a, ThreadPool& pool) {
  std::vector<int64_t> out(static_cast<size_t>(a.numel()));
  switch (a.dtype) {
    case DType::I32: {
      Dense<int32_t> d(a, pool);
      for (size_t i = 0; i < out.size(); i++) out[i] = d[i];
      break;
    }
    case DType::I8: {
      Dense<int8_t> d(a, pool);
      for (size_t i = 0; i < out.size(); i++) out[i] = d[i];
      break;
    }
    case DType::U8: {
      Dense<uint8_t> d(a, pool);
      for (size_t i = 0; i < out.size(); i++) out[i] = d[i];
      break;
    }
    default:
      throw KernelError(std::string("indices must be an integer tensor, got ") + dtypeName(a.dtype));
  }
  return out;
}

void checkAll(const std::vector<int64_t>& ids, int64_t limit) {
  for (size_t i = 0; i < ids.size(); i++) checkIndex(ids[i], static_cast<int64_t>(i), limit);
}

// An operand as dense bytes (kept alive by the returned holder).
struct DenseBytes {
  std::unique_ptr<char[]> owned;
  const char* ptr;
  DenseBytes(const Arg& a, ThreadPool& pool) {
    const size_t sz = itemSize(a.dtype);
    if (a.contiguous()) {
      ptr = static_cast<const char*>(a.data) + a.offset * sz;
    } else {
      owned.reset(new char[sz * static_cast<size_t>(std::max<int64_t>(a.numel(), 1))]);
      gather(a, owned.get(), pool);
      ptr = owned.get();
    }
  }
};

void kEmbedding(const Task& t, ThreadPool& pool) {
  const Arg& w = t.inputs[0];
  if (w.rank() != 2) throw KernelError("weight must be [numRows, dim]");
  const int64_t rows = w.shape[0], dim = w.shape[1];
  auto ids = indices(t.inputs[1], pool);
  checkAll(ids, rows);
  DenseBytes table(w, pool);
  const size_t rowBytes = itemSize(w.dtype) * static_cast<size_t>(dim);
  char* out = static_cast<char*>(t.output.data);
  pool.parallelRange(static_cast<int64_t>(ids.size()), std::max<int64_t>(1, 65536 / std::max<int64_t>(rowBytes, 1)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) std::memcpy(out + i * rowBytes, table.ptr + ids[i] * rowBytes, rowBytes);
  });
}

void kScatterAdd(const Task& t, ThreadPool& pool) {
  const Arg& values = t.inputs[1];
  if (values.dtype != DType::F32) throw KernelError("values must be f32");
  const int64_t numRows = static_cast<int64_t>(t.attrs.at(0));
  const int64_t dim = values.shape[values.rank() - 1];
  auto ids = indices(t.inputs[0], pool);
  checkAll(ids, numRows);
  Dense<float> v(values, pool);
  float* r = static_cast<float*>(t.output.data);
  std::memset(r, 0, sizeof(float) * static_cast<size_t>(numRows * dim));
  // Columns in parallel, indices in order: every output element sees its additions in the reference's order.
  pool.parallelRange(dim, 64, [&](int64_t jb, int64_t je) {
    for (size_t i = 0; i < ids.size(); i++) {
      float* dst = r + ids[i] * dim;
      const float* src = v.get() + static_cast<int64_t>(i) * dim;
      for (int64_t j = jb; j < je; j++) dst[j] += src[j];
    }
  });
}

void kOneHot(const Task& t, ThreadPool& pool) {
  const int64_t classes = static_cast<int64_t>(t.attrs.at(0));
  auto ids = indices(t.inputs[0], pool);
  checkAll(ids, classes);
  const size_t sz = itemSize(t.output.dtype);
  std::memset(t.output.data, 0, sz * static_cast<size_t>(t.output.numel()));
  EITP_DISPATCH(t.output.dtype, {
    T* out = static_cast<T*>(t.output.data);
    for (size_t i = 0; i < ids.size(); i++) out[static_cast<int64_t>(i) * classes + ids[i]] = storeAs<T>(1);
  });
}

void kConcat(const Task& t, ThreadPool& pool) {
  const int axis = static_cast<int>(t.attrs.at(0));
  const Arg& o = t.output;
  const size_t sz = itemSize(o.dtype);
  int64_t outer = 1, outRow = 1;
  for (int i = 0; i < axis; i++) outer *= o.shape[i];
  for (int i = axis; i < o.rank(); i++) outRow *= o.shape[i];
  char* r = static_cast<char*>(o.data);
  int64_t start = 0;
  for (const Arg& x : t.inputs) {
    if (x.dtype != o.dtype) throw KernelError("concat inputs must have the output's dtype");
    int64_t row = 1;
    for (int i = axis; i < x.rank(); i++) row *= x.shape[i];
    if (row > 0 && outer > 0) {
      char* dst = r + start * sz;
      if (x.contiguous()) {
        // outer runs of `row` elements, by rows of the output over the pool
        const char* src = static_cast<const char*>(x.data) + x.offset * sz;
        const int64_t bytes = row * static_cast<int64_t>(sz);
        pool.parallelRange(outer, std::max<int64_t>(1, 65536 / bytes), [&](int64_t b, int64_t e) {
          for (int64_t p = b; p < e; p++) std::memcpy(dst + p * outRow * sz, src + p * bytes, bytes);
        });
      } else {
        // straight into its slots of the output: no dense copy first
        gatherBlocks(x, dst, row, outRow, pool);
      }
    }
    start += row;
  }
}

void kPad(const Task& t, ThreadPool& pool) {
  const Arg& x = t.inputs[0];
  const Arg& o = t.output;
  const int rank = x.rank();
  const size_t sz = itemSize(x.dtype);
  std::memset(o.data, 0, sz * static_cast<size_t>(o.numel()));
  const int64_t n = x.numel();
  if (n == 0) return;
  DenseBytes a(x, pool);
  char* r = static_cast<char*>(o.data);
  if (rank == 0) {
    std::memcpy(r, a.ptr, sz);
    return;
  }
  std::vector<int64_t> outStrides(rank);
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    outStrides[i] = s;
    s *= o.shape[i];
  }
  auto before = [&](int d) { return static_cast<int64_t>(t.attrs.at(2 * d)); };
  const int64_t last = x.shape[rank - 1];
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < n; i += last) {
    int64_t dst = before(rank - 1);
    for (int d = 0; d < rank - 1; d++) dst += (idx[d] + before(d)) * outStrides[d];
    std::memcpy(r + dst * sz, a.ptr + i * sz, last * sz);
    for (int d = rank - 2; d >= 0; d--) {
      if (++idx[d] < x.shape[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace

// Index checks on the JS thread (the inputs are known to be computed): a bad index throws at the call, as on cpu.
bool validateArguments(const Task& t) {
  // (runs for every queued kernel whose inputs are computed: no pool for the ops with nothing to check)
  if (t.op != "embedding" && t.op != "scatterAdd" && t.op != "oneHot" && t.op != "crossEntropy") return false;
  ThreadPool serial(1);
  if (t.op == "embedding") {
    if (t.inputs[0].rank() == 2) checkAll(indices(t.inputs[1], serial), t.inputs[0].shape[0]);
  } else if (t.op == "scatterAdd") {
    checkAll(indices(t.inputs[0], serial), static_cast<int64_t>(t.attrs.at(0)));
  } else if (t.op == "oneHot") {
    checkAll(indices(t.inputs[0], serial), static_cast<int64_t>(t.attrs.at(0)));
  } else if (t.op == "crossEntropy") {
    const Arg& logits = t.inputs[0];
    const int64_t classes = logits.shape[logits.rank() - 1];
    auto ids = indices(t.inputs[1], serial);
    for (size_t i = 0; i < ids.size(); i++) {
      if (!(ids[i] >= 0 && ids[i] < classes)) {
        throw KernelError("target " + std::to_string(ids[i]) + " at position " + std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")", true);
      }
    }
  }
  return true;
}

std::vector<KernelEntry> indexingKernels() {
  return {{"embedding", kEmbedding}, {"scatterAdd", kScatterAdd}, {"oneHot", kOneHot}, {"concat", kConcat}, {"pad", kPad}};
}

}  // namespace eitp
