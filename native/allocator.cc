#include "allocator.h"

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace eitp {

namespace {

// Cached bytes are capped (EITP_NATIVE_CACHE_MB, default 1024) so that a change of shapes cannot hoard memory.
size_t cacheLimit() {
  static const size_t limit = [] {
    const char* v = std::getenv("EITP_NATIVE_CACHE_MB");
    const long mb = v ? std::atol(v) : 1024;
    return static_cast<size_t>(mb < 0 ? 0 : mb) << 20;
  }();
  return limit;
}

// Size classes: 64-byte multiples below 64 KiB, 4 KiB multiples above (exact-size reuse is what loops need).
size_t roundSize(size_t bytes) {
  if (bytes < 64) return 64;
  if (bytes < (64u << 10)) return (bytes + 63) & ~size_t{63};
  return (bytes + 4095) & ~size_t{4095};
}

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free;
  size_t bytes = 0;
};

// Leaked on purpose: blocks may be released by threads still running during process exit.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

}  // namespace

void* allocateHost(size_t bytes) {
  const size_t size = roundSize(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free.find(size);
    if (it != c.free.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.bytes -= size;
      return p;
    }
  }
  void* p = std::aligned_alloc(64, size);
  if (!p) {
    // Out of memory with blocks cached: give them back and try once more.
    trimHostCache();
    p = std::aligned_alloc(64, size);
  }
  return p;
}

void releaseHost(void* p, size_t bytes) {
  if (!p) return;
  const size_t size = roundSize(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.bytes + size <= cacheLimit()) {
      c.free[size].push_back(p);
      c.bytes += size;
      return;
    }
  }
  std::free(p);
}

size_t cachedHostBytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.bytes;
}

void trimHostCache() {
  Cache& c = cache();
  std::unordered_map<size_t, std::vector<void*>> all;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    all.swap(c.free);
    c.bytes = 0;
  }
  for (auto& [size, list] : all) {
    for (void* p : list) std::free(p);
  }
}

}  // namespace eitp
