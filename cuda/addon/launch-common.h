// Host helpers shared by the two files that name kernel instantiations (launch.cu: the generic ops;
// launch-eitp.cu: the fused EIT-P terms): the launch wrapper that records the last launch, launch shapes, and
// scratch carving. Included by those two only, after the kernel headers; like them, compiled by nvcc for the real
// addon and by g++ (launch-emu.cc, launch-eitp-emu.cc) for the emulated one.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include "../compat.h"
#include "launch.h"

namespace eitp {

constexpr int kBlock = 256;

inline std::string shape_text(const char* kernel, dim3 g, dim3 b, size_t smem) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "kernel %s<<<(%u,%u,%u), (%u,%u,%u), %zu>>>", kernel, g.x, g.y, g.z, b.x, b.y, b.z, smem);
  return buf;
}

// The last kernel queued, kept cheaply (no formatting) so an asynchronous device error can name a suspect. One
// record for both launch files, defined in launch.cu (last_launch() reads it).
struct LastLaunch {
  const char* name = nullptr;
  dim3 grid, block;
  size_t smem = 0;
};
extern LastLaunch g_last;

// EITP_CUDA_SYNC=1 waits after every launch, so a device-side fault is reported with the exact kernel. Defined in
// launch.cu.
extern const bool g_sync_each;

template <class... P, class... A>
void run(const Stream& s, const char* name, void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, A&&... args) {
  g_last = LastLaunch{name, grid, block, smem};
  check(launch(kernel, grid, block, smem, s.stream, std::forward<A>(args)...), shape_text(name, grid, block, smem));
  if (g_sync_each) check(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize after " + shape_text(name, grid, block, smem) + " (EITP_CUDA_SYNC=1)");
}

// Grid for a grid-stride loop over n items: enough blocks to fill any GPU, capped so huge n loops instead.
inline dim3 stride_grid(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(blocks, 1 << 16))));
}

// Threads per block for one-block-per-row kernels: a multiple of 32 (full warps for the shuffles), at most 256.
inline unsigned row_block(int64_t len) {
  const int64_t t = (len + 31) / 32 * 32;
  return static_cast<unsigned>(std::max<int64_t>(32, std::min<int64_t>(t, kBlock)));
}

// The multi-pass kernels split their work into a fixed number of blocks (not the device's SM count), so the order
// of every floating-point sum, and so the result, depends only on the shape. 512 blocks fill an H100 / H200
// (132 SMs) about four deep.
constexpr int64_t kFillBlocks = 512;

template <class T>
T* take(const Scratch& scratch, int64_t count) {
  return static_cast<T*>(scratch(static_cast<size_t>(count) * sizeof(T)));
}

inline unsigned grid_dim(int64_t n, const char* what) {
  if (n > 0x7fffffffLL) throw LaunchError(std::string(what) + ": more than 2^31 - 1 blocks");
  return static_cast<unsigned>(n);
}

// Rows per chunk for kernels that give each (column tile × row chunk) a block: about kFillBlocks blocks in all,
// at least `min_rows` rows each, a multiple of `multiple`.
inline ColGeom col_geom(int64_t rows, int64_t cols, int64_t across, int64_t min_rows, int64_t multiple) {
  const int64_t want = std::max<int64_t>(1, kFillBlocks / std::max<int64_t>(1, across));
  int64_t chunk = std::max((rows + want - 1) / want, min_rows);
  chunk = (chunk + multiple - 1) / multiple * multiple;
  return ColGeom{rows, cols, chunk, (rows + chunk - 1) / chunk};
}

}  // namespace eitp
