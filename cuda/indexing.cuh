// Gather / scatter kernels (embedding, scatterAdd, oneHot) and the structure kernels (concat's block copy, pad).
// Index inputs arrive as dense i32 (the host casts i8/u8 first). Out-of-range indices are recorded in the
// DeviceError and skipped (a zero row for embedding), never written out of bounds.
// Element types are moved as raw bits by size (uint8_t / uint32_t), so one instantiation serves f32 and i32.
#pragma once
#include "common.cuh"

namespace eitp {

template <class T>
__global__ void __launch_bounds__(256) embedding_kernel(const T* __restrict__ table, const int32_t* __restrict__ ids, T* __restrict__ out, int64_t n, int64_t rows, int64_t dim, DeviceError* err) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n * dim; e += step) {
    const int64_t i = e / dim, j = e - i * dim;
    const int32_t row = ids[i];
    if (row < 0 || row >= rows) {
      if (j == 0) report_index_error(err, kErrEmbedding, i, row, rows);
      out[e] = T(0);
      continue;
    }
    out[e] = table[row * dim + j];
  }
}

// out (zeroed by the host) [numRows, dim] += values[i] at row ids[i]; float atomics, so the order of the
// additions (and the last bits) may differ from run to run.
__global__ void __launch_bounds__(256) scatter_add_kernel(const int32_t* __restrict__ ids, const float* __restrict__ values, float* __restrict__ out, int64_t n, int64_t rows, int64_t dim, DeviceError* err) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n * dim; e += step) {
    const int64_t i = e / dim, j = e - i * dim;
    const int32_t row = ids[i];
    if (row < 0 || row >= rows) {
      if (j == 0) report_index_error(err, kErrScatterAdd, i, row, rows);
      continue;
    }
    atomicAdd(out + row * dim + j, values[e]);
  }
}

// out (zeroed by the host) [n, classes]: out[i, ids[i]] = 1 in the output dtype.
template <class T>
__global__ void __launch_bounds__(256) one_hot_kernel(const int32_t* __restrict__ ids, T* __restrict__ out, int64_t n, int64_t classes, T one, DeviceError* err) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int32_t c = ids[i];
    if (c < 0 || c >= classes) {
      report_index_error(err, kErrOneHot, i, c, classes);
      continue;
    }
    out[i * classes + c] = one;
  }
}

// dst[r * dst_pitch + c] = src[r * cols + c]: one input of a concat placed at its column offset.
template <class T>
__global__ void __launch_bounds__(256) copy2d_kernel(const T* __restrict__ src, T* __restrict__ dst, int64_t rows, int64_t cols, int64_t dst_pitch) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < rows * cols; e += step) {
    const int64_t r = e / cols, c = e - r * cols;
    dst[r * dst_pitch + c] = src[e];
  }
}

// Zero padding: every element of the dense input lands at its index shifted by `before` in the (zeroed) output.
template <class T>
__global__ void __launch_bounds__(256) pad_kernel(const T* __restrict__ src, T* __restrict__ dst, int64_t n, Shape in_shape, Shape out_shape, Shape before) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    int64_t rem = e, off = 0, scale = 1;
    // Unrolled with a rank guard: constant indices keep the shape parameters out of local memory.
#pragma unroll
    for (int k = 0; k < kMaxDims; ++k) {
      const int d = kMaxDims - 1 - k;
      if (d < in_shape.rank) {
        const int64_t q = rem / in_shape.dim[d];
        off += (rem - q * in_shape.dim[d] + before.dim[d]) * scale;
        scale *= out_shape.dim[d];
        rem = q;
      }
    }
    dst[off] = src[e];
  }
}

}  // namespace eitp
