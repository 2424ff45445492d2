// The addon's state: one device, one stream, the caching allocator, the table of live buffers (JS holds only
// numeric ids, so a stale or forged id is an error, not a wild pointer), pinned staging memory for copies, and the
// device-side index-error record.
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "allocator.h"
#include "launch.h"

namespace eitp {

struct Buffer {
  void* ptr;
  size_t bytes;     // what was asked for
  size_t capacity;  // what the allocator handed out
};

// Pinned host blocks by rounded size; a block in flight is returned once the event recorded after its copy ran.
class PinnedPool {
 public:
  void* acquire(size_t bytes, size_t* cap) {
    *cap = CachingAllocator::round(bytes);
    auto& list = free_[*cap];
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      return p;
    }
    void* p = nullptr;
    check(cudaMallocHost(&p, *cap), "cudaMallocHost of " + std::to_string(*cap) + " bytes");
    return p;
  }
  void release(void* p, size_t cap) { free_[cap].push_back(p); }

 private:
  std::unordered_map<size_t, std::vector<void*>> free_;
};

class Device {
 public:
  static Device& get() {
    static Device* d = new Device();  // never destroyed: no CUDA calls from static destructors at exit
    return *d;
  }

  bool available() const { return available_; }
  const std::string& reason() const { return reason_; }
  const std::string& name() const { return name_; }
  int runtime_version = 0, driver_version = 0, sms = 0, clock_khz = 0, cc_major = 0, cc_minor = 0;
  size_t total_mem = 0;

  // Throws unless the device initialised.
  void require() const {
    if (!available_) throw LaunchError("CUDA backend unavailable: " + reason_);
  }
  Stream stream() const { return Stream{stream_, err_}; }
  cudaStream_t raw_stream() const { return stream_; }
  DeviceError* error_record() const { return err_; }

  uint32_t allocate(size_t bytes);
  void release(uint32_t id);
  const Buffer& buffer(uint32_t id) const;

  // Queues a host-to-device copy; the source may be reused as soon as this returns.
  void write(uint32_t id, size_t byte_offset, const void* src, size_t bytes);

  CachingAllocator& allocator() { return alloc_; }
  PinnedPool& pinned() { return pinned_; }
  cudaEvent_t take_event();
  void give_event(cudaEvent_t e) { events_.push_back(e); }
  size_t live_buffers() const { return buffers_.size(); }

 private:
  Device();
  void reclaim_staging(bool wait);

  bool available_ = false;
  std::string reason_, name_;
  cudaStream_t stream_ = nullptr;
  DeviceError* err_ = nullptr;
  CachingAllocator alloc_;
  PinnedPool pinned_;
  std::unordered_map<uint32_t, Buffer> buffers_;
  uint32_t next_id_ = 1;
  std::vector<cudaEvent_t> events_;
  struct Staged {
    void* p;
    size_t cap;
    cudaEvent_t done;
  };
  std::deque<Staged> staged_;
};

}  // namespace eitp
