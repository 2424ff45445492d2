// glibc hands freed memory back to the system eagerly at first: blocks of 128 KiB or more are mapped for each
// allocation and unmapped when freed, and free memory at the top of the heap is trimmed past 128 KiB. Each page of
// the next block then faults when first touched, which on some VMs costs ~12 µs per 4 KiB: reading a 1024 x 1024
// product back (V8 calloc's a new 4 MiB ArrayBuffer each time) took 13-16 ms where the product takes 6, and the first
// second of eager 128 x 128 products with their readbacks ran at 200 µs each instead of 30. glibc's own rule raises
// both thresholds when a process frees a mapped block (mmap threshold to that block's size, up to 32 MiB; trim
// threshold to twice it), and a long-running process that ever frees such a block runs that way from then on.
// Freeing one 32 MiB block at load starts there: blocks under 32 MiB come from the heap, and up to 64 MiB of free
// memory stays mapped at its top. A process whose thresholds were set (mallopt, GLIBC_TUNABLES) keeps them: glibc
// then ignores the freed block.
#include "heap-thresholds.h"

#include <cstdlib>
#include <cstring>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace eitp {

namespace {

// glibc's cap on the dynamic mmap threshold (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit) is 32 MiB, chunk header included:
// a request 64 KiB short of it maps a chunk the rule accepts.
constexpr unsigned long kBlock = (32ul << 20) - (64ul << 10);

const char* settingValue() {
  const char* v = std::getenv("EITP_NATIVE_GLIBC_THRESHOLDS");
  return v && *v ? v : nullptr;
}

bool settingValid(const char* v) { return !v || std::strcmp(v, "0") == 0 || std::strcmp(v, "1") == 0; }

#ifdef __GLIBC__
// glibc's own counters, summed over its arenas: bytes in use from the heaps, and blocks (and bytes) of their own
// mapping.
struct Counts {
  size_t heapBytes, mappedBlocks, mappedBytes;
};
Counts counts() {
#if __GLIBC_PREREQ(2, 33)
  const struct mallinfo2 m = mallinfo2();
#else
  const struct mallinfo m = mallinfo();
#endif
  return {static_cast<size_t>(m.uordblks), static_cast<size_t>(m.hblks), static_cast<size_t>(m.hblkhd)};
}

// glibc's counters before and after malloc(bytes); the block is freed again. (A failed malloc moves no counter.)
struct Around {
  Counts before, after;
};
Around aroundMalloc(size_t bytes) {
  Around r;
  r.before = counts();
  void* volatile block = std::malloc(bytes);  // volatile: the compiler may not drop an allocation nobody reads
  r.after = counts();
  std::free(block);
  return r;
}

// Whether malloc is glibc's: a 64 KiB block shows in glibc's counters. An allocator put in front of it (LD_PRELOAD
// of jemalloc, AddressSanitizer's runtime) has thresholds of its own, or none, and glibc never sees its blocks.
bool glibcMalloc() {
  static const bool own = [] {
    const Around r = aroundMalloc(64 << 10);
    return r.after.heapBytes + r.after.mappedBytes >= r.before.heapBytes + r.before.mappedBytes + (64 << 10);
  }();
  return own;
}
#endif

}  // namespace

HeapThresholds raiseHeapThresholds() {
  static const HeapThresholds done = [] {
    const char* v = settingValue();
    if (!settingValid(v) || (v && std::strcmp(v, "0") == 0)) return HeapThresholds::Off;
#ifdef __GLIBC__
    if (!glibcMalloc()) return HeapThresholds::NotGlibc;
    aroundMalloc(kBlock);  // one mapped block freed: glibc's rule raises both thresholds
    // Thresholds the process set itself turn the rule off: a 16 MiB block is then still mapped.
    return mallocMaps(16ul << 20) ? HeapThresholds::Kept : HeapThresholds::Raised;
#else
    return HeapThresholds::NotGlibc;
#endif
  }();
  return done;
}

const std::string& heapThresholdsSettingError() {
  // Read once, as at load (every allocation asks: a getenv per call showed in profiles of small-kernel steps).
  static const std::string error = [] {
    const char* v = settingValue();
    return settingValid(v) ? std::string() : std::string("EITP_NATIVE_GLIBC_THRESHOLDS must be 0 or 1, got '") + v + "'";
  }();
  return error;
}

bool mallocMaps(unsigned long bytes) {
#ifdef __GLIBC__
  if (!glibcMalloc()) return false;
  const Around r = aroundMalloc(bytes);
  return r.after.mappedBlocks > r.before.mappedBlocks;
#else
  (void)bytes;
  return false;
#endif
}

}  // namespace eitp
