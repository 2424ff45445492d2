#include "allocator.h"

#include <cstdlib>

#include "common.h"

namespace eitp {

namespace {

// Cached bytes are capped (EITP_NATIVE_CACHE_MB, default 1024; 0 turns the cache off) so that a change of shapes
// cannot hoard memory. A value that is not an integer >= 0 is an error at the first allocation (take is called
// before any block exists, so put never meets it).
size_t cacheLimit() {
  static const EnvInteger mb = parseEnvInteger("EITP_NATIVE_CACHE_MB", 1024, 0);
  return static_cast<size_t>(validEnvInteger(mb, "EITP_NATIVE_CACHE_MB", 0)) << 20;
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
  cacheLimit();  // a bad EITP_NATIVE_CACHE_MB fails the allocation here
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
