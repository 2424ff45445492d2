// The soft histogram's per-value work (native/soft-histogram.cc) with the values across SIMD lanes, compiled once per
// ISA (baseline, AVX2, AVX-512) and chosen at run time by cpuid like vmath (EITP_SIMD caps it).
//
// For u with nearest bin c0 and offset t = (u − low)/Δ − (c0 + ½) ∈ [−½, ½), the logit of bin c0 + m, shifted by
// the nearest bin's, is −α·m(m − 2t) with α = Δ²/(2h²). So the weights follow from two exponentials per value,
// r = e^{2αt} and 1/r = e^{−2αt}, by the recurrences e_{m+1} = e_m·(r·Q_m) and e_{−m−1} = e_{−m}·(r⁻¹·Q_m) with the
// constants Q_m = e^{−α(2m+1)}, instead of one exponential per bin. Every factor r·Q_m is ≤ 1 (|t| ≤ ½), so nothing
// overflows; the weights of bins outside [0, bins) are set to 0, which keeps every later one of the chain at 0.
// Weight m carries the rounding of m products (a few ulp each) and t's and r's, well inside the f32 tolerance.
//
// Only values with 0 ≤ (u − low)/Δ < bins take this path; the kernels list the others (NaN, beyond an edge: there t
// is unbounded and r would overflow) for the caller's scalar path. Each lane computes one value on its own, with
// -ffp-contract=off, so a value's weights are the same in every lane, group and ISA.
//
// The values are first grouped by nearest bin (a stable counting sort). All values of a bin share one window, so the
// forward adds their weights in vector accumulators and each bin's window is added to the histogram once, instead of
// 2W + 1 scalar read-modify-writes per value (chains through memory where windows overlap: about half of the kernel's
// time), and the backward reads the window's cotangent as broadcast scalars instead of gathers. The accumulators have
// 16 lanes whatever the ISA (groups of 16 values, as 16 / lanes registers), so the sums, like the weights, do not
// depend on the instruction set.
#pragma once

#include <cstdint>

namespace eitp {

// The recurrences need r = e^{2αt} and Q_m within f32 range, and each value's weights in a block on the stack; the
// counting sort takes an array of bins + 1 counts.
constexpr double kSoftHistogramVecMaxAlpha = 40;
constexpr int64_t kSoftHistogramVecMaxReach = 64;
constexpr int64_t kSoftHistogramVecMaxBins = int64_t{1} << 16;
// Lanes of the forward's accumulators, whatever the ISA's register width.
constexpr int kSoftHistogramVecAccLanes = 16;

struct SoftHistogramVecParams {
  int32_t bins;
  int32_t reach;  // W: the window is c0 − W .. c0 + W, clipped to the bins
  double low, invWidth;  // 1/Δ
  double twoAlpha;  // Δ²/h²
  float slope;  // Δ/h²: du = slope·Σ_m a_m (g_m − ḡ)(m − t)
  const float* q;  // Q_m, m < reach
};

// Working memory of one call on n values (the caller's, so that a thread reuses it from call to call).
struct SoftHistogramVecScratch {
  float* sorted;  // n: the values grouped by nearest bin
  int32_t* order;  // n: their indices in u
  int32_t* nearest;  // n
  int32_t* start;  // bins + 1: bin c's values at sorted[start[c] .. start[c + 1])
  double* laneHist;  // (bins + 2W) × kSoftHistogramVecAccLanes, zero: the forward's per-lane sums, padded like hist
};

struct SoftHistogramVec {
  const char* isa;
  // Adds the soft assignments of u[0, n) into hist, whose element c0 + W + m is bin c0 + m (W zeros of padding on
  // each side, which take the clipped bins' zero weights). Writes the indices of the values it skipped to edge and
  // returns their number.
  int64_t (*forward)(const SoftHistogramVecParams& p, const float* u, int64_t n, double* hist, const SoftHistogramVecScratch& s, int32_t* edge);
  // du[i] for u[0, n) and the cotangent g, padded like hist above; skipped values as in forward (their du is left
  // for the caller).
  int64_t (*backward)(const SoftHistogramVecParams& p, const float* u, int64_t n, const float* g, float* du, const SoftHistogramVecScratch& s, int32_t* edge);
};

const SoftHistogramVec& softHistogramVec();

namespace soft_histogram_vec_generic { SoftHistogramVec table(); }
#ifdef EITP_X86
namespace soft_histogram_vec_avx2 { SoftHistogramVec table(); }
namespace soft_histogram_vec_avx512 { SoftHistogramVec table(); }
#endif

}  // namespace eitp
