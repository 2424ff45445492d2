// Device initialisation and memory: the parts of the addon that talk to the CUDA runtime directly.
#include "device.h"

#include <cstring>

namespace eitp {

namespace {
std::string error_text(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + " (" + std::to_string(static_cast<int>(e)) + "): " + cudaGetErrorString(e);
}
std::string version_text(int v) {
  if (v <= 0) return "none";
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}
}  // namespace

Device::Device() {
  cudaRuntimeGetVersion(&runtime_version);
  cudaDriverGetVersion(&driver_version);  // 0 when no driver is installed
  const std::string versions = "CUDA runtime " + version_text(runtime_version) + ", driver " + version_text(driver_version);
  // cudaGetDeviceCount leaves the count untouched on failure (error 35 with no driver): start from 0.
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    reason_ = "no CUDA device: cudaGetDeviceCount failed with " + error_text(e) + " [" + versions +
              (e == cudaErrorInsufficientDriver ? "; CUDA 13 needs an R580 or newer driver" : "") + "]";
    return;
  }
  if (count == 0) {
    reason_ = "no CUDA device: cudaGetDeviceCount reports 0 devices [" + versions + "]";
    return;
  }
  cudaDeviceProp prop;
  std::memset(&prop, 0, sizeof prop);
  if ((e = cudaSetDevice(0)) != cudaSuccess || (e = cudaGetDeviceProperties(&prop, 0)) != cudaSuccess ||
      (e = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)) != cudaSuccess ||
      (e = cudaMalloc(reinterpret_cast<void**>(&err_), sizeof(DeviceError))) != cudaSuccess ||
      (e = cudaMemsetAsync(err_, 0, sizeof(DeviceError), stream_)) != cudaSuccess ||
      (e = cudaStreamSynchronize(stream_)) != cudaSuccess) {
    (void)cudaGetLastError();
    reason_ = "CUDA device 0 could not be initialised: " + error_text(e) + " [" + versions + "]";
    return;
  }
  name_ = prop.name;
  total_mem = prop.totalGlobalMem;
  cc_major = prop.major;
  cc_minor = prop.minor;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0);
  available_ = true;
}

uint32_t Device::allocate(size_t bytes) {
  require();
  Buffer b{nullptr, bytes, 0};
  if (bytes > 0) b.ptr = alloc_.allocate(bytes, &b.capacity);
  const uint32_t id = next_id_++;
  if (next_id_ == 0) next_id_ = 1;
  buffers_.emplace(id, b);
  return id;
}

void Device::release(uint32_t id) {
  auto it = buffers_.find(id);
  if (it == buffers_.end()) throw LaunchError("free of unknown buffer id " + std::to_string(id));
  if (it->second.ptr) alloc_.release(it->second.ptr, it->second.capacity);
  buffers_.erase(it);
}

const Buffer& Device::buffer(uint32_t id) const {
  auto it = buffers_.find(id);
  if (it == buffers_.end()) throw LaunchError("unknown or freed buffer id " + std::to_string(id));
  return it->second;
}

cudaEvent_t Device::take_event() {
  if (!events_.empty()) {
    cudaEvent_t e = events_.back();
    events_.pop_back();
    return e;
  }
  cudaEvent_t e = nullptr;
  check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  return e;
}

void Device::reclaim_staging(bool wait) {
  while (!staged_.empty()) {
    Staged& s = staged_.front();
    const cudaError_t e = wait ? cudaEventSynchronize(s.done) : cudaEventQuery(s.done);
    if (e == cudaErrorNotReady) break;
    if (e != cudaSuccess) check(e, "waiting for a staged host-to-device copy");
    pinned_.release(s.p, s.cap);
    give_event(s.done);
    staged_.pop_front();
  }
}

void Device::write(uint32_t id, size_t byte_offset, const void* src, size_t bytes) {
  require();
  const Buffer& b = buffer(id);
  if (byte_offset + bytes > b.bytes) throw LaunchError("write of " + std::to_string(bytes) + " bytes at " + std::to_string(byte_offset) + " overflows a " + std::to_string(b.bytes) + "-byte buffer");
  if (bytes == 0) return;
  char* dst = static_cast<char*>(b.ptr) + byte_offset;
  // Small writes (scalars, biases, batches) go through pinned staging so the copy is truly asynchronous; a
  // pageable source would make the runtime wait for the stream first. Bulk uploads (weights) copy directly.
  constexpr size_t kStagedMax = size_t{8} << 20;
  if (bytes > kStagedMax) {
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync host-to-device (" + std::to_string(bytes) + " bytes)");
    return;
  }
  reclaim_staging(staged_.size() > 4096);
  size_t cap = 0;
  void* stage = pinned_.acquire(bytes, &cap);
  std::memcpy(stage, src, bytes);
  cudaEvent_t done = take_event();
  check(cudaMemcpyAsync(dst, stage, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync host-to-device (" + std::to_string(bytes) + " bytes)");
  check(cudaEventRecord(done, stream_), "cudaEventRecord");
  staged_.push_back(Staged{stage, cap, done});
}

}  // namespace eitp
