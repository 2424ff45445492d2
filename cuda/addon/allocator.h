// A caching device allocator: freed blocks go to per-size free lists instead of cudaFree (which synchronises the
// device), and are reused by later allocations of the same rounded size. Safe with one stream: a block freed by
// the host while kernels that use it are still queued is only reused by work queued after them.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "launch.h"

namespace eitp {

class CachingAllocator {
 public:
  // Small sizes round to powers of two (few distinct lists); large ones to 2 MiB, to bound the waste.
  static size_t round(size_t bytes) {
    if (bytes <= 256) return 256;
    if (bytes <= (size_t{1} << 20)) {
      size_t r = 512;
      while (r < bytes) r <<= 1;
      return r;
    }
    const size_t step = size_t{2} << 20;
    return (bytes + step - 1) / step * step;
  }

  CachingAllocator() {
    // EITP_CUDA_NO_CACHE=1 frees for real, so sanitizers and compute-sanitizer see every use after free.
    const char* env = std::getenv("EITP_CUDA_NO_CACHE");
    caching_ = !(env && env[0] == '1');
  }

  void* allocate(size_t bytes, size_t* capacity) {
    const size_t cap = round(bytes);
    *capacity = cap;
    auto it = free_.find(cap);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      cached_ -= cap;
      in_use_ += cap;
      return p;
    }
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, cap);
    if (e == cudaErrorMemoryAllocation && cached_ > 0) {
      (void)cudaGetLastError();  // clear it: we retry after returning the cache to the driver
      trim();
      e = cudaMalloc(&p, cap);
    }
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      check(e, "cudaMalloc of " + std::to_string(bytes) + " bytes (" + std::to_string(in_use_) + " bytes in use, " + std::to_string(cached_) + " cached)");
    }
    in_use_ += cap;
    return p;
  }

  void release(void* p, size_t cap) {
    in_use_ -= cap;
    if (!caching_) {
      cudaFree(p);
      return;
    }
    free_[cap].push_back(p);
    cached_ += cap;
  }

  // Returns every cached block to the driver.
  void trim() {
    for (auto& [cap, list] : free_) {
      for (void* p : list) cudaFree(p);
      list.clear();
    }
    cached_ = 0;
  }

  size_t cached() const { return cached_; }
  size_t in_use() const { return in_use_; }

 private:
  std::map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0, in_use_ = 0;
  bool caching_ = true;
};

}  // namespace eitp
