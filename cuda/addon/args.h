// Reading kernel arguments from JS values, with the checks that keep a bad argument from becoming a wild device
// access: known buffer ids, dtypes, ranks, and every strided view inside its buffer.
#pragma once
#include <napi.h>

#include <string>

#include "device.h"

namespace eitp {

inline int64_t arg_int(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw LaunchError(std::string(what) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d))) throw LaunchError(std::string(what) + " must be an integer");
  return static_cast<int64_t>(d);
}

inline DType arg_dtype(const Napi::Value& v) {
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "f32") return kF32;
  if (s == "i32") return kI32;
  if (s == "u8") return kU8;
  if (s == "i8") return kI8;
  throw LaunchError("unsupported dtype '" + s + "' (the CUDA backend holds f32, i32, i8 and u8)");
}

inline Shape arg_shape(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw LaunchError(std::string(what) + " must be an array");
  const auto a = v.As<Napi::Array>();
  if (a.Length() > static_cast<uint32_t>(kMaxDims)) throw LaunchError(std::string(what) + " has rank " + std::to_string(a.Length()) + " > " + std::to_string(kMaxDims) + " after merging axes");
  Shape s{};
  s.rank = static_cast<int>(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    s.dim[i] = arg_int(a.Get(i), what);
    if (s.dim[i] < 0) throw LaunchError(std::string(what) + " has a negative dimension");
  }
  return s;
}

inline int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int i = 0; i < s.rank; ++i) n *= s.dim[i];
  return n;
}

// The strides of a view over `shape`; contiguous when they are the dense row-major ones.
inline Strides arg_strides(const Napi::Value& v, int64_t offset, const Shape& shape) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() != static_cast<uint32_t>(shape.rank)) throw LaunchError("strides must be an array with one entry per axis");
  const auto a = v.As<Napi::Array>();
  Strides s{};
  s.offset = offset;
  int64_t expected = 1;
  s.contiguous = 1;
  for (int d = shape.rank - 1; d >= 0; --d) {
    s.stride[d] = arg_int(a.Get(static_cast<uint32_t>(d)), "stride");
    if (shape.dim[d] != 1 && s.stride[d] != expected) s.contiguous = 0;
    expected *= shape.dim[d];
  }
  return s;
}

// Checks that every element the view addresses lies inside the buffer; returns the buffer's device pointer.
inline void* checked_view(const Device& dev, uint32_t id, DType dt, const Shape& shape, const Strides& st, const char* what) {
  const Buffer& b = dev.buffer(id);
  if (numel(shape) == 0) return b.ptr;
  int64_t lo = st.offset, hi = st.offset;
  for (int d = 0; d < shape.rank; ++d) {
    const int64_t span = (shape.dim[d] - 1) * st.stride[d];
    if (span < 0) lo += span;
    else hi += span;
  }
  const int64_t limit = static_cast<int64_t>(b.bytes / dtype_size(dt));
  if (lo < 0 || hi >= limit) {
    throw LaunchError(std::string(what) + ": view reaches elements [" + std::to_string(lo) + ", " + std::to_string(hi) + "] of a " + std::to_string(limit) + "-element " + dtype_name(dt) + " buffer");
  }
  return b.ptr;
}

// A dense range [offset, offset + count) of a buffer.
inline void* checked_range(const Device& dev, uint32_t id, DType dt, int64_t offset, int64_t count, const char* what) {
  const Buffer& b = dev.buffer(id);
  const int64_t limit = static_cast<int64_t>(b.bytes / dtype_size(dt));
  if (offset < 0 || count < 0 || offset + count > limit) {
    throw LaunchError(std::string(what) + ": elements [" + std::to_string(offset) + ", " + std::to_string(offset + count) + ") outside a " + std::to_string(limit) + "-element " + dtype_name(dt) + " buffer");
  }
  return static_cast<char*>(b.ptr) + offset * static_cast<int64_t>(dtype_size(dt));
}

inline uint32_t arg_id(const Napi::Value& v) { return static_cast<uint32_t>(arg_int(v, "buffer id")); }

}  // namespace eitp
