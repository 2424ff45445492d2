// A peak-arithmetic probe: chains of independent f32 FMAs on every thread, timed with steady_clock. Used by the
// benchmark tool as the CPU's FLOP/s limit (issue 9). The ISA follows the GEMM's cpuid dispatch (EITP_SIMD caps it).
#pragma once

#include <cstdint>

namespace eitp {

// Runs `iters` iterations of the probe loop on the calling thread; returns the FLOP done (2 x lanes x FMAs).
// The sink keeps the accumulators alive.
using FmaProbeFn = double (*)(int64_t iters, float* sink);

double fmaProbeGeneric(int64_t iters, float* sink);
#ifdef EITP_X86
double fmaProbeAvx2(int64_t iters, float* sink);
double fmaProbeAvx512(int64_t iters, float* sink);
#endif

// Total GFLOP/s of `threads` threads running the probe together for about `seconds`; isa receives the ISA used.
double fmaPeakGflops(int threads, double seconds, const char** isa);

}  // namespace eitp
