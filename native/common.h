// Shared types of the native kernels: dtypes, strided operands, kernel tasks and the error kernels throw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace eitp {

// Codes match engine/backends/native/native-addon.ts (DTYPE_CODES).
enum class DType : int32_t { F32 = 0, I32 = 1, I8 = 2, U8 = 3 };

inline size_t itemSize(DType d) {
  switch (d) {
    case DType::F32:
    case DType::I32:
      return 4;
    default:
      return 1;
  }
}

inline const char* dtypeName(DType d) {
  switch (d) {
    case DType::F32: return "f32";
    case DType::I32: return "i32";
    case DType::I8: return "i8";
    case DType::U8: return "u8";
  }
  return "?";
}

// One operand: a buffer seen through a strided layout (in elements). Outputs are dense from offset 0.
struct Arg {
  void* data = nullptr;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;
  int64_t offset = 0;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  int rank() const { return static_cast<int>(shape.size()); }
  bool contiguous() const {
    int64_t expected = 1;
    for (int i = rank() - 1; i >= 0; i--) {
      if (shape[i] != 1 && strides[i] != expected) return false;
      expected *= shape[i];
    }
    return true;
  }
  template <typename T>
  T* ptr() const {
    return static_cast<T*>(data) + offset;
  }
};

// A kernel invocation, self-contained (plain data) so that it can run later on the stream thread.
struct Task {
  std::string op;
  std::vector<Arg> inputs;
  Arg output;
  std::vector<double> attrs;  // op-specific numbers, encoded by the TypeScript side
};

// Errors a kernel reports. `argument` marks bad user input (an index out of range) rather than an internal failure,
// so that the TypeScript side can raise the same ArgumentError as the cpu reference.
struct KernelError : std::runtime_error {
  bool argument;
  KernelError(const std::string& msg, bool isArgument = false) : std::runtime_error(msg), argument(isArgument) {}
};

// An integer setting from the environment, read once: `valid` is false for a value that is not an integer >= min.
// Unset or empty means the default.
struct EnvInteger {
  long value;
  const char* raw;
  bool valid;
};

inline EnvInteger parseEnvInteger(const char* name, long fallback, long min) {
  const char* v = std::getenv(name);
  if (!v || *v == '\0') return {fallback, nullptr, true};
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return {n, v, end != v && *end == '\0' && n >= min};
}

// The setting's value, or a KernelError naming the variable: a silent fallback for a typo would throttle every call
// or none, and nobody would know why.
inline long validEnvInteger(const EnvInteger& e, const char* name, long min) {
  if (!e.valid) throw KernelError(std::string(name) + " must be an integer >= " + std::to_string(min) + ", got '" + e.raw + "'");
  return e.value;
}

class ThreadPool;
using KernelFn = void (*)(const Task&, ThreadPool&);

// Registration tables of each kernel file (name, function).
struct KernelEntry {
  const char* name;
  KernelFn fn;
};

// Every kernel in a fixed order (native/kernel-registry.cc): an entry's index is the kernel id that runKernel takes.
const std::vector<KernelEntry>& kernelRegistry();

// Looks up the kernel of an op; nullptr when the native backend has none.
KernelFn findKernel(const std::string& op);
std::vector<KernelEntry> elementwiseKernels();
std::vector<KernelEntry> reduceKernels();
std::vector<KernelEntry> nnKernels();
std::vector<KernelEntry> indexingKernels();
std::vector<KernelEntry> matmulKernels();
std::vector<KernelEntry> softHistogramKernels();
std::vector<KernelEntry> correlationKernels();
std::vector<KernelEntry> int8MatmulKernels();
std::vector<KernelEntry> tanhJvpKernels();
std::vector<KernelEntry> trainFusedKernels();
std::vector<KernelEntry> activationDensityKernels();

// Synchronous argument checks (index ranges) that can run on the JS thread when the inputs are already computed, so
// that bad indices throw at the call like the cpu backend. Returns false when the op has no such check.
bool validateArguments(const Task& task);
// The same for the fused training ops (crossEntropyGrad's targets), in native/train-fused.cc.
bool validateTrainFusedArguments(const Task& task);

}  // namespace eitp
