// Host memory for native buffers: 64-byte aligned blocks, and a stream-ordered cache of freed blocks by size.
//
// Training loops free and allocate the same sizes every step; reusing blocks avoids a page fault per 4 KiB of every
// fresh output (which cost more than the elementwise kernels themselves). Reuse is stream-ordered, as in PyTorch's
// CUDA caching allocator: a block JS frees while queued kernels still use it is cached at once with the sequence
// number of its last queued use (readyAt), and may back the next allocation straight away. The new buffer inherits
// readyAt as its own last use, so every access to it is ordered after the old ones: kernels run in queue order, and
// the JS thread's direct write/read paths wait for (or queue behind) that sequence number. Before, a freed block
// came back only when the stream reached its queued release: a step never reused its own temporaries, a JS thread
// running ahead got fresh or long-unused memory for every output (a first burst of 300 queued 256 x 256 products ran
// at 4.6x the kernel time of drained ones), and a trainer reading back every 50 steps cycled through hundreds of MB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace eitp {

// At least `bytes` bytes of fresh memory (the size rounded up to its cache class), 64-byte aligned; nullptr when
// out of memory.
void* allocateHost(size_t bytes);
// Returns memory from allocateHost to the system.
void freeHost(void* p);

// The cache of one addon context. Used from the JS thread only (no locking): the stream thread never touches it.
class HostCache {
 public:
  // A cached block for `bytes` (its size class), the most recently freed one (likely still in the CPU's caches);
  // data is nullptr when none is cached. readyAt: the stream work that may still use it.
  struct Taken {
    void* data = nullptr;
    uint64_t readyAt = 0;
  };
  Taken take(size_t bytes);
  // Caches a freed block; false (nothing kept) when that would pass the limit (EITP_NATIVE_CACHE_MB, default 1024).
  bool put(void* p, size_t bytes, uint64_t readyAt);
  // Bytes held (not backing any buffer).
  size_t bytes() const { return bytes_; }
  // Gives every cached block back to the system. Only when no queued work can still use them (stream drained).
  void clear();
  ~HostCache() { clear(); }

 private:
  struct Entry {
    void* data;
    uint64_t readyAt;
  };
  std::unordered_map<size_t, std::vector<Entry>> free_;
  size_t bytes_ = 0;
};

}  // namespace eitp
