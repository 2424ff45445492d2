// Reading strided operands: gathers into dense row-major buffers, the one place kernels deal with layouts.
#pragma once

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "common.h"

namespace eitp {

class ThreadPool;

// Copies the elements `a` addresses, in row-major order, into out (itemSize(a.dtype) bytes each).
void gather(const Arg& a, void* out, ThreadPool& pool);

// The same, into blocks of `block` consecutive elements `pitch` elements apart: element e (in a's row-major order)
// goes to out[(e / block)·pitch + e mod block]. `block` must be a multiple of a's last axis (whole rows per block).
// concat writes each input straight into its slots of the output this way (block: the input's part of an output
// row, pitch: the output row).
void gatherBlocks(const Arg& a, void* out, int64_t block, int64_t pitch, ThreadPool& pool);

// The same operand with its axes reordered (order[i] = source axis of new axis i).
Arg permuteArg(const Arg& a, const std::vector<int>& order);

// An operand's elements as a dense row-major array: the buffer itself when contiguous, else a gathered copy.
template <typename T>
class Dense {
 public:
  Dense(const Arg& a, ThreadPool& pool) {
    if (a.contiguous()) {
      ptr_ = a.ptr<T>();
    } else {
      owned_.reset(new T[static_cast<size_t>(std::max<int64_t>(a.numel(), 1))]);
      gather(a, owned_.get(), pool);
      ptr_ = owned_.get();
    }
  }
  const T* get() const { return ptr_; }
  const T& operator[](int64_t i) const { return ptr_[i]; }

 private:
  const T* ptr_ = nullptr;
  std::unique_ptr<T[]> owned_;
};

// JavaScript's ToInt32/ToUint8-style store of a double into an integer type: truncate, wrap modulo 2^32, NaN/Inf -> 0.
inline uint32_t jsToUint32(double x) {
  if (x > -2147483648.0 && x < 2147483648.0) return static_cast<uint32_t>(static_cast<int32_t>(x));
  if (!(x == x) || x == 1.0 / 0.0 || x == -1.0 / 0.0) return 0;
  double t = x < 0 ? -std::floor(-x) : std::floor(x);
  double m = std::fmod(t, 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return static_cast<uint32_t>(m);
}

template <typename T>
inline T storeAs(double x);
template <>
inline float storeAs<float>(double x) { return static_cast<float>(x); }
template <>
inline int32_t storeAs<int32_t>(double x) { return static_cast<int32_t>(jsToUint32(x)); }
template <>
inline int8_t storeAs<int8_t>(double x) { return static_cast<int8_t>(static_cast<uint8_t>(jsToUint32(x))); }
template <>
inline uint8_t storeAs<uint8_t>(double x) { return static_cast<uint8_t>(jsToUint32(x)); }

// Runs the body with T the C++ type of dtype d.
// (Variadic so that commas inside the body need no extra parentheses.)
#define EITP_DISPATCH(d, ...)                                            \
  switch (d) {                                                           \
    case ::eitp::DType::F32: { using T = float; __VA_ARGS__; break; }   \
    case ::eitp::DType::I32: { using T = int32_t; __VA_ARGS__; break; } \
    case ::eitp::DType::I8: { using T = int8_t; __VA_ARGS__; break; }   \
    case ::eitp::DType::U8: { using T = uint8_t; __VA_ARGS__; break; }  \
  }

}  // namespace eitp
