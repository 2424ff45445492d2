// Helpers shared by the kernel test files (cuda/tests/*.cc): expectations, device buffers through the runtime API
// (host memory under the emulator), random data and dense launch descriptors.
#pragma once
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "../addon/launch.h"

namespace eitp_test {

inline int failures = 0;

}  // namespace eitp_test

#define EXPECT(cond, ...)                                      \
  do {                                                         \
    if (!(cond)) {                                             \
      ++::eitp_test::failures;                                 \
      std::printf("FAIL %s:%d: ", __FILE__, __LINE__);         \
      std::printf(__VA_ARGS__);                                \
      std::printf("\n");                                       \
    }                                                          \
  } while (0)

namespace eitp_test {

using namespace eitp;

inline bool close(float a, float b, float rtol = 2e-4f, float atol = 2e-5f) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::fabs(a - b) <= atol + rtol * std::fabs(b);
}

// Device buffers are host memory under the emulator, but go through the runtime API like the addon does.
template <class T>
T* upload(const std::vector<T>& v) {
  void* p = nullptr;
  check(cudaMalloc(&p, v.size() * sizeof(T)), "cudaMalloc");
  std::memcpy(p, v.data(), v.size() * sizeof(T));
  return static_cast<T*>(p);
}
template <class T>
T* device(size_t n) {
  void* p = nullptr;
  check(cudaMalloc(&p, n * sizeof(T)), "cudaMalloc");
  return static_cast<T*>(p);
}

inline std::vector<float> randn(size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

inline Shape shape1(int64_t n) {
  Shape s{};
  s.rank = 1;
  s.dim[0] = n;
  return s;
}
inline Strides dense(int64_t offset = 0) {
  Strides s{};
  s.offset = offset;
  s.contiguous = 1;
  return s;
}

inline DeviceError* g_err = nullptr;
inline Stream stream() { return Stream{nullptr, g_err}; }

// Scratch for the multi-kernel launches: cudaMalloc'd blocks freed when the holder goes (emulated launches are
// synchronous, so nothing still uses them).
class ScratchHolder {
 public:
  ~ScratchHolder() {
    for (void* p : blocks_) cudaFree(p);
  }
  Scratch fn() {
    return [this](size_t bytes) {
      void* p = nullptr;
      check(cudaMalloc(&p, bytes), "cudaMalloc (scratch)");
      blocks_.push_back(p);
      return p;
    };
  }

 private:
  std::vector<void*> blocks_;
};

// The fused EIT-P and int8 kernels' tests (eitp-kernels-test.cc).
void test_eitp_kernels();
// The fused training kernels' tests (train-kernels-test.cc).
void test_train_kernels();

}  // namespace eitp_test
