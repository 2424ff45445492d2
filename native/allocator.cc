#include "allocator.h"

#include <cstdlib>

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

}  // namespace

void* allocateHost(size_t bytes) { return std::aligned_alloc(64, roundSize(bytes)); }

void freeHost(void* p) { std::free(p); }

HostCache::Taken HostCache::take(size_t bytes) {
  const size_t size = roundSize(bytes);
  auto it = free_.find(size);
  if (it == free_.end() || it->second.empty()) return {};
  const Entry e = it->second.back();
  it->second.pop_back();
  bytes_ -= size;
  return {e.data, e.readyAt};
}

bool HostCache::put(void* p, size_t bytes, uint64_t readyAt) {
  const size_t size = roundSize(bytes);
  if (bytes_ + size > cacheLimit()) return false;
  free_[size].push_back(Entry{p, readyAt});
  bytes_ += size;
  return true;
}

void HostCache::clear() {
  for (auto& [size, list] : free_) {
    for (const Entry& e : list) freeHost(e.data);
  }
  free_.clear();
  bytes_ = 0;
}

}  // namespace eitp
