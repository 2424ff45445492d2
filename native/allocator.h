// Host memory for native buffers: 64-byte aligned blocks with a cache of freed blocks by size. Training loops free
// and allocate the same sizes every step; reusing them avoids a page fault per 4 KiB of every fresh output (which
// cost more than the elementwise kernels themselves). Thread-safe: blocks are freed by the JS or the stream thread.
#pragma once

#include <cstddef>

namespace eitp {

// At least `bytes` bytes, 64-byte aligned; nullptr when out of memory.
void* allocateHost(size_t bytes);
// Returns memory from allocateHost(bytes) (same `bytes`) to the cache, or to the system past the cache limit.
void releaseHost(void* p, size_t bytes);
// Bytes currently held in the cache (not in use by any buffer).
size_t cachedHostBytes();
// Returns every cached block to the system.
void trimHostCache();

}  // namespace eitp
