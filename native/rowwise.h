// Walking several same-shaped strided operands row by row (rows = the last axis), in parallel, without gathering:
// broadcast (stride-0) and transposed inputs of elementwise ops are read in place.
#pragma once

#include <algorithm>
#include <array>

#include "common.h"
#include "thread-pool.h"

namespace eitp {

// body(outStart, len, offsets, lastStrides): the output elements [outStart, outStart + len) come from input k at
// element offsets[k] + j * lastStrides[k], j < len.
template <size_t K, typename Body>
void rowwise(const std::array<const Arg*, K>& ins, int64_t n, ThreadPool& pool, Body&& body) {
  if (n == 0) return;
  bool allContiguous = true;
  for (const Arg* a : ins) allContiguous = allContiguous && a->contiguous();
  const int rank = ins[0]->rank();
  if (allContiguous || rank == 0) {
    pool.parallelRange(n, 32768, [&](int64_t b, int64_t e) {
      std::array<int64_t, K> off, ls;
      for (size_t k = 0; k < K; k++) {
        off[k] = ins[k]->offset + b;
        ls[k] = 1;
      }
      body(b, e - b, off, ls);
    });
    return;
  }
  const int64_t last = ins[0]->shape[rank - 1];
  const int64_t rows = n / last;
  pool.parallelRange(rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(last, 1)), [&](int64_t rb, int64_t re) {
    std::vector<int64_t> idx(rank, 0);
    std::array<int64_t, K> pos, ls;
    for (size_t k = 0; k < K; k++) {
      pos[k] = ins[k]->offset;
      ls[k] = ins[k]->strides[rank - 1];
    }
    int64_t rem = rb;
    for (int d = rank - 2; d >= 0; d--) {
      idx[d] = rem % ins[0]->shape[d];
      rem /= ins[0]->shape[d];
      for (size_t k = 0; k < K; k++) pos[k] += idx[d] * ins[k]->strides[d];
    }
    for (int64_t r = rb; r < re; r++) {
      body(r * last, last, pos, ls);
      for (int d = rank - 2; d >= 0; d--) {
        idx[d]++;
        for (size_t k = 0; k < K; k++) pos[k] += ins[k]->strides[d];
        if (idx[d] < ins[0]->shape[d]) break;
        for (size_t k = 0; k < K; k++) pos[k] -= ins[k]->strides[d] * ins[0]->shape[d];
        idx[d] = 0;
      }
    }
  });
}

}  // namespace eitp
