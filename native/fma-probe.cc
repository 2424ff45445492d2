// Dispatch and timing of the FMA peak probe (fma-probe.h). Baseline code: the SIMD bodies live in
// fma-probe-avx2.cc / fma-probe-avx512.cc and are chosen by activeIsa() (isa.h) like every per-ISA kernel.
#include "fma-probe.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "isa.h"

namespace eitp {

// Portable body: 4 lanes x 12 chains of scalar a * x + b (the compiler may or may not contract or vectorise it;
// only used where no AVX2+FMA is available).
double fmaProbeGeneric(int64_t iters, float* sink) {
  constexpr int N = 48;
  float acc[N];
  for (int i = 0; i < N; i++) acc[i] = 0.001f * static_cast<float>(i + 1);
  const float a = sink[0], b = sink[1];
  for (int64_t it = 0; it < iters; it++) {
    for (int i = 0; i < N; i++) acc[i] = std::fma(acc[i], a, b);
  }
  float s = 0;
  for (int i = 0; i < N; i++) s += acc[i];
  sink[2] = s;
  return 2.0 * N * static_cast<double>(iters);
}

namespace {

FmaProbeFn pickProbe(const char** isa) {
#ifdef EITP_X86
  if (activeIsa() == Isa::Avx512) return *isa = "avx512", fmaProbeAvx512;
  if (activeIsa() == Isa::Avx2) return *isa = "avx2", fmaProbeAvx2;
#endif
  *isa = "generic";
  return fmaProbeGeneric;
}

}  // namespace

double fmaPeakGflops(int threads, double seconds, const char** isa) {
  if (threads < 1 || threads > 4096) throw std::invalid_argument("threads must be in [1, 4096]");
  if (!(seconds > 0) || seconds > 60) throw std::invalid_argument("seconds must be in (0, 60]");
  const FmaProbeFn fn = pickProbe(isa);
  using clock = std::chrono::steady_clock;

  // Calibrate on this thread: iterations per chunk of about 1 ms (warms the clock up, too).
  int64_t chunk = 1 << 12;
  {
    float sink[2 + 16] = {1.0f, 1e-7f};
    for (;;) {
      const auto t0 = clock::now();
      fn(chunk, sink);
      const double dt = std::chrono::duration<double>(clock::now() - t0).count();
      if (dt >= 1e-3 || chunk >= (int64_t(1) << 30)) break;
      chunk *= 2;
    }
  }

  // Every thread runs chunks until the deadline; its rate is its FLOP over its own time. The total is the sum, so a
  // descheduled thread lowers the number (this measures what the threads actually got, as a benchmark would).
  std::vector<double> rates(threads, 0.0);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  auto body = [&](int t) {
    try {
      float sink[2 + 16] = {1.0f, 1e-7f};
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      const auto start = clock::now();
      const auto deadline = start + std::chrono::duration<double>(seconds);
      double flop = 0;
      auto now = start;
      do {
        flop += fn(chunk, sink);
        now = clock::now();
      } while (now < deadline);
      rates[t] = flop / std::chrono::duration<double>(now - start).count();
    } catch (...) {
      if (!failed.exchange(true)) error = std::current_exception();
    }
  };
  std::vector<std::thread> workers;
  workers.reserve(threads - 1);
  for (int t = 1; t < threads; t++) workers.emplace_back(body, t);
  while (ready.load() < threads - 1) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  body(0);
  for (auto& w : workers) w.join();
  if (failed) std::rethrow_exception(error);
  double total = 0;
  for (double r : rates) total += r;
  return total / 1e9;
}

}  // namespace eitp
