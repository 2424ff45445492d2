// The last pass of a deterministic sum of per-block partials, shared by the reductions to one value
// (activation-density.cuh, coherence.cuh). Kept out of common.cuh, which several test translation units include:
// a kernel is an ordinary function to the emulator, defined once per program.
#pragma once
#include "common.cuh"

namespace eitp {

// out[0] = (Σ_b partial[b]) / divisor, the last pass of a deterministic sum of per-block partials (one block): thread
// t adds partials t, t + blockDim.x, … in order, then the block reduces in its fixed tree. No float atomics, so the
// same bits on every run.
__global__ void finish_partials_kernel(const double* __restrict__ partial, int blocks, double divisor, float* __restrict__ out) {
  __shared__ double scratch[32];
  double s = 0.0;
  for (int b = threadIdx.x; b < blocks; b += blockDim.x) s += partial[b];
  const double total = block_reduce(s, AddF(), 0.0, scratch);
  if (threadIdx.x == 0) out[0] = static_cast<float>(total / divisor);
}

}  // namespace eitp
