// The kernel registry: every kernel file's table, concatenated once in a fixed order. The JS side asks for the names
// at load (kernelNames) and then calls kernels by index, so a call does not pass or hash the op's name.
#include <string>
#include <unordered_map>

#include "common.h"

namespace eitp {

const std::vector<KernelEntry>& kernelRegistry() {
  static const std::vector<KernelEntry> all = [] {
    std::vector<KernelEntry> t;
    for (auto list : {elementwiseKernels(), reduceKernels(), nnKernels(), indexingKernels(), matmulKernels(), softHistogramKernels(),
                      correlationKernels(), int8MatmulKernels(), tanhJvpKernels(), trainFusedKernels(),
                      activationDensityKernels()}) {
      t.insert(t.end(), list.begin(), list.end());
    }
    return t;
  }();
  return all;
}

KernelFn findKernel(const std::string& op) {
  static const std::unordered_map<std::string, KernelFn> byName = [] {
    std::unordered_map<std::string, KernelFn> m;
    for (const KernelEntry& e : kernelRegistry()) m[e.name] = e.fn;
    return m;
  }();
  auto it = byName.find(op);
  return it == byName.end() ? nullptr : it->second;
}

}  // namespace eitp
