// Reductions over any set of axes of a strided input, without copying it first: the host splits the input's
// axes into kept axes (one output each) and reduced axes. Two launch shapes: a block per output when the
// reduced count is large (threads stride over it, then warp shuffles and one shared-memory step combine), and
// a thread per output when it is small (e.g. summing a bias gradient over a short batch axis).
// Semantics follow engine/backends/cpu/reduce.ts (which reduces in f64; here f32 accumulates pairwise-ish
// across threads, and var/logsumexp use two passes for accuracy).
#pragma once
#include "common.cuh"

namespace eitp {

// Which threads of the launch share one output, and how they combine.
template <bool kBlock>
struct Group {
  int64_t out;    // output index (may be >= outer for idle threads in thread mode)
  int64_t first;  // first reduced index of this thread
  int64_t step;
  EITP_DEV static Group make(int64_t) {
    if constexpr (kBlock) return {static_cast<int64_t>(blockIdx.x), static_cast<int64_t>(threadIdx.x), static_cast<int64_t>(blockDim.x)};
    else return {static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x, 0, 1};
  }
  template <class T, class F>
  EITP_DEV T combine(T v, F f, T identity, T* scratch) const {
    if constexpr (kBlock) return block_reduce(v, f, identity, scratch);
    else return v;
  }
};

struct MaxI {
  EITP_HD int operator()(int a, int b) const { return a > b ? a : b; }
};

// Sum, mean, max, norm, and integer sum/max (accumulating in wrapping uint32 / int): one pass.
template <bool kBlock, class T>
__global__ void __launch_bounds__(256) reduce_kernel(const T* __restrict__ in, ReduceGeom g, T* __restrict__ out, int op) {
  __shared__ float fscratch[32];
  const auto grp = Group<kBlock>::make(g.outer);
  if (!kBlock && grp.out >= g.outer) return;  // thread mode: no barriers below, idle threads may leave
  const int64_t base = strided_index(g.kept, g.kstride, grp.out);
  if constexpr (sizeof(T) == 4 && T(0.5f) == 0.5f) {
    const bool is_max = op == kMax;
    float acc = is_max ? -INFINITY : 0.0f;
    for (int64_t r = grp.first; r < g.inner; r += grp.step) {
      const float x = in[base + strided_index(g.red, g.rstride, r)];
      if (is_max) acc = MaxNanF()(acc, x);
      else acc += op == kNorm ? x * x : x;
    }
    if (is_max) acc = grp.combine(acc, MaxNanF(), -INFINITY, reinterpret_cast<float*>(fscratch));
    else acc = grp.combine(acc, AddF(), 0.0f, reinterpret_cast<float*>(fscratch));
    if (kBlock && threadIdx.x != 0) return;
    if (op == kMean) acc = acc / static_cast<float>(g.inner);
    if (op == kNorm) acc = sqrtf(acc);
    out[grp.out] = acc;
  } else {
    // Integers: sum wraps modulo 2^32 like the reference's typed-array store; max starts at the first element.
    int* iscratch = reinterpret_cast<int*>(fscratch);
    if (op == kMax) {
      int acc = g.inner > 0 ? static_cast<int>(in[base]) : 0;
      for (int64_t r = grp.first; r < g.inner; r += grp.step) {
        const int x = static_cast<int>(in[base + strided_index(g.red, g.rstride, r)]);
        acc = x > acc ? x : acc;
      }
      acc = grp.combine(acc, MaxI(), acc, iscratch);
      if (kBlock && threadIdx.x != 0) return;
      out[grp.out] = static_cast<T>(acc);
    } else {
      unsigned acc = 0;
      for (int64_t r = grp.first; r < g.inner; r += grp.step) acc += static_cast<unsigned>(in[base + strided_index(g.red, g.rstride, r)]);
      acc = grp.combine(acc, AddF(), 0u, reinterpret_cast<unsigned*>(fscratch));
      if (kBlock && threadIdx.x != 0) return;
      out[grp.out] = static_cast<T>(acc);
    }
  }
}

// logsumexp and var: a first pass finds the centre (max / mean), a second sums around it, as the reference does.
template <bool kBlock>
__global__ void __launch_bounds__(256) reduce2_kernel(const float* __restrict__ in, ReduceGeom g, float* __restrict__ out, int op, float correction) {
  __shared__ float scratch[32];
  const auto grp = Group<kBlock>::make(g.outer);
  if (!kBlock && grp.out >= g.outer) return;
  const int64_t base = strided_index(g.kept, g.kstride, grp.out);
  const bool lse = op == kLogsumexp;
  float c = lse ? -INFINITY : 0.0f;
  for (int64_t r = grp.first; r < g.inner; r += grp.step) {
    const float x = in[base + strided_index(g.red, g.rstride, r)];
    c = lse ? MaxNanF()(c, x) : c + x;
  }
  c = lse ? grp.combine(c, MaxNanF(), -INFINITY, scratch) : grp.combine(c, AddF(), 0.0f, scratch);
  if (!lse) c = c / static_cast<float>(g.inner);
  // An infinite or NaN max is the answer itself (and would make exp(x - m) NaN); block-uniform, so no barrier
  // is skipped by only some threads.
  const bool degenerate = lse && !(c > -INFINITY && c < INFINITY);
  float acc = 0.0f;
  if (!degenerate) {
    for (int64_t r = grp.first; r < g.inner; r += grp.step) {
      const float x = in[base + strided_index(g.red, g.rstride, r)];
      acc += lse ? expf(x - c) : (x - c) * (x - c);
    }
  }
  acc = grp.combine(acc, AddF(), 0.0f, scratch);
  if (kBlock && threadIdx.x != 0) return;
  if (lse) out[grp.out] = degenerate ? c : c + logf(acc);
  else out[grp.out] = acc / (static_cast<float>(g.inner) - correction);
}

// argmax: the first index of the largest value, NaNs ignored, except that a NaN first element wins (the
// reference's sequential `>` scan never replaces it). (value, index) pairs combine associatively that way.
struct ArgBest {
  float v;
  int64_t i;
};
EITP_DEV ArgBest arg_better(ArgBest a, ArgBest b) {
  if (a.i < 0) return b;
  if (b.i < 0) return a;
  const bool an = is_nan(a.v), bn = is_nan(b.v);
  if (an != bn) return an ? b : a;
  if (!an && a.v != b.v) return a.v > b.v ? a : b;
  return a.i < b.i ? a : b;
}

template <bool kBlock, class T>
__global__ void __launch_bounds__(256) argmax_kernel(const T* __restrict__ in, ReduceGeom g, int32_t* __restrict__ out) {
  __shared__ float sv[32];
  __shared__ int64_t si[32];
  const auto grp = Group<kBlock>::make(g.outer);
  if (!kBlock && grp.out >= g.outer) return;
  const int64_t base = strided_index(g.kept, g.kstride, grp.out);
  ArgBest best{0.0f, -1};
  for (int64_t r = grp.first; r < g.inner; r += grp.step) {
    best = arg_better(best, ArgBest{static_cast<float>(in[base + strided_index(g.red, g.rstride, r)]), r});
  }
  if constexpr (kBlock) {
    for (int m = 16; m > 0; m >>= 1) {
      ArgBest o{__shfl_xor_sync(0xffffffffu, best.v, m), __shfl_xor_sync(0xffffffffu, best.i, m)};
      best = arg_better(best, o);
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    if (lane == 0) sv[warp] = best.v, si[warp] = best.i;
    __syncthreads();
    if (threadIdx.x == 0) {
      best = ArgBest{sv[0], si[0]};
      for (int w = 1; w < warps; ++w) best = arg_better(best, ArgBest{sv[w], si[w]});
    }
    if (threadIdx.x != 0) return;
  }
  const float first = static_cast<float>(in[base]);
  out[grp.out] = is_nan(first) ? 0 : static_cast<int32_t>(best.i < 0 ? 0 : best.i);
}

}  // namespace eitp
