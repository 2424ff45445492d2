// Shared pieces of the kernels: strided operand descriptors, index arithmetic, warp/block reductions and the
// device-side error record that index checks write to.
#pragma once
#include "compat.h"
#include "types.h"

namespace eitp {

// The axis loop is fully unrolled with a rank guard, so every dim[]/stride[] index is a compile-time constant:
// a dynamically indexed by-value kernel parameter would be copied to local memory (which the ptxas gate rejects).
EITP_HD int64_t strided_index(const Shape& s, const Strides& st, int64_t i) {
  if (st.contiguous) return st.offset + i;
  if (s.rank == 1) return st.offset + i * st.stride[0];
  int64_t off = st.offset;
#pragma unroll
  for (int k = 0; k < kMaxDims; ++k) {
    const int d = kMaxDims - 1 - k;
    if (d < s.rank) {
      const int64_t q = i / s.dim[d];
      off += (i - q * s.dim[d]) * st.stride[d];
      i = q;
    }
  }
  return off;
}

EITP_DEV void report_index_error(DeviceError* e, int op, long long position, long long value, long long limit) {
  if (atomicCAS(&e->code, 0, -1) == 0) {
    e->position = position;
    e->value = value;
    e->limit = limit;
    __threadfence();
    atomicExch(&e->code, op);
  }
}

EITP_HD bool is_nan(float x) { return x != x; }

// min / max for any integer width, the same under nvcc and g++ (CUDA's overloads do not exist in the emulator).
template <class T>
EITP_HD T lesser(T a, T b) { return a < b ? a : b; }
template <class T>
EITP_HD T greater(T a, T b) { return a > b ? a : b; }

// Warp reductions with xor shuffles: every lane ends with the result. Full warps only (the launch sizes are
// multiples of 32).
template <class T, class F>
EITP_DEV T warp_reduce(T v, F combine) {
  for (int m = 16; m > 0; m >>= 1) v = combine(v, __shfl_xor_sync(0xffffffffu, v, m));
  return v;
}

// Block reduction; every thread of the block must call it (block-uniform) and gets the result. `scratch` is 32
// elements of shared memory; the leading barrier protects it from a previous call still being read.
template <class T, class F>
EITP_DEV T block_reduce(T v, F combine, T identity, T* scratch) {
  v = warp_reduce(v, combine);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < warps ? scratch[lane] : identity;
    v = warp_reduce(v, combine);
    if (lane == 0) scratch[0] = v;
  }
  __syncthreads();
  return scratch[0];
}

struct AddF {
  template <class T>
  EITP_HD T operator()(T a, T b) const { return a + b; }
};
// max that propagates NaN, as the reference (Math.max) does.
struct MaxNanF {
  EITP_HD float operator()(float a, float b) const { return (is_nan(a) || a > b) ? a : b; }
};

}  // namespace eitp
