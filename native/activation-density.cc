// The thermodynamic term's activation density (engine/ops/activation-density.ts; engine/backends/cpu/
// activation-density.ts is the reference), each one pass over a through the per-ISA loops of activation-density-vec.h:
//   activationDensity:     mean(a²/(a² + c)), c = τ² + eps, a scalar;
//   activationDensityGrad: g·2ac/(a² + c)²/n, shaped like a.
// τ and g are one-element tensors read here, on the stream, so the model's τ never goes back to JS. Everything is in
// double from the f32 inputs, as on cpu.
//
// activationDensity: a is cut into chunks of a fixed length (never depending on the thread count); each chunk's sum
// goes into its own slot, and the slots are added in chunk order, so the density is the same for any EITP_THREADS
// (and, the vector loops rounding identically on every ISA, for any EITP_SIMD).
#include <algorithm>
#include <string>
#include <vector>

#include "activation-density-vec.h"
#include "common.h"
#include "strided.h"
#include "thread-pool.h"

namespace eitp {

namespace {

// Elements per chunk of the forward's sum: a chunk is 6-8 µs of divisions on one core, enough to pay for handing it to
// a worker, and the n <= 16K taps of a small model stay on the calling thread.
constexpr int64_t kChunk = 16384;

struct Density {
  int64_t n;
  double c;  // τ² + eps
};

// Checks the operands shared by both kernels (a, then the one-element τ) and reads c. attrs: [eps].
Density checkDensity(const Task& t, size_t arity) {
  if (t.inputs.size() != arity) throw KernelError("expected " + std::to_string(arity) + " inputs, got " + std::to_string(t.inputs.size()));
  for (const Arg& a : t.inputs) {
    if (a.dtype != DType::F32) throw KernelError(std::string("every input must be f32, got ") + dtypeName(a.dtype));
  }
  if (t.output.dtype != DType::F32) throw KernelError(std::string("the output must be f32, got ") + dtypeName(t.output.dtype));
  if (t.attrs.size() != 1) throw KernelError("expected the attribute eps");
  const int64_t n = t.inputs[0].numel();
  if (n == 0) throw KernelError("a must have at least one element");
  const Arg& tau = t.inputs[1];
  if (tau.numel() != 1) throw KernelError("tau must hold one element");
  // A one-element view's element sits at its offset, whatever its strides.
  const double tv = tau.ptr<float>()[0];
  return {n, tv * tv + t.attrs[0]};
}

void kActivationDensity(const Task& t, ThreadPool& pool) {
  const Density d = checkDensity(t, 2);
  if (t.output.numel() != 1) throw KernelError("the output must be a scalar");
  Dense<float> a(t.inputs[0], pool);
  const auto sum = activationDensityVec().sum;
  const int64_t chunks = (d.n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks));
  pool.parallelFor(chunks, [&](int64_t k, int) {
    const int64_t begin = k * kChunk;
    partial[k] = sum(a.get() + begin, std::min(kChunk, d.n - begin), d.c);
  });
  double total = 0;
  for (double p : partial) total += p;
  static_cast<float*>(t.output.data)[0] = static_cast<float>(total / static_cast<double>(d.n));
}

void kActivationDensityGrad(const Task& t, ThreadPool& pool) {
  const Density d = checkDensity(t, 3);
  const Arg& g = t.inputs[2];
  if (g.numel() != 1) throw KernelError("g must hold one element");
  if (t.output.numel() != d.n) throw KernelError("the output must have a's size");
  // As the reference: (2c·g)/n first, then scale·a/(d·d) per element.
  const double scale = (2 * d.c * static_cast<double>(g.ptr<float>()[0])) / static_cast<double>(d.n);
  Dense<float> a(t.inputs[0], pool);
  float* out = static_cast<float*>(t.output.data);
  const auto grad = activationDensityVec().grad;
  // The elementwise kernels' grain (rowwise.h): each element's result does not depend on where a range starts.
  pool.parallelRange(d.n, 32768, [&](int64_t b, int64_t e) { grad(a.get() + b, out + b, e - b, d.c, scale); });
}

}  // namespace

std::vector<KernelEntry> activationDensityKernels() {
  return {{"activationDensity", kActivationDensity}, {"activationDensityGrad", kActivationDensityGrad}};
}

}  // namespace eitp
