// The portable micro-kernel: plain loops the compiler may vectorise for the baseline ISA.
#include "gemm.h"

namespace eitp {

namespace {

constexpr int MR = 4;
constexpr int NR = 16;

template <int R>
void kernelGeneric(int64_t k, const float* ap, const float* bp, float* c, int64_t ldc, int accumulate, const float* bias,
                   int relu) {
  float acc[R][NR] = {};
  for (int64_t p = 0; p < k; p++) {
    for (int r = 0; r < R; r++) {
      const float av = ap[r];
      for (int j = 0; j < NR; j++) acc[r][j] += av * bp[j];
    }
    ap += MR;
    bp += NR;
  }
  for (int r = 0; r < R; r++) {
    float* row = c + r * ldc;
    if (accumulate) {
      for (int j = 0; j < NR; j++) acc[r][j] += row[j];
    }
    if (bias) {
      for (int j = 0; j < NR; j++) acc[r][j] += bias[j];
    }
    if (relu) {
      // !(z <= 0) ? z : 0, so NaN passes through like the relu op.
      for (int j = 0; j < NR; j++) acc[r][j] = !(acc[r][j] <= 0) ? acc[r][j] : 0.0f;
    }
    for (int j = 0; j < NR; j++) row[j] = acc[r][j];
  }
}

// By rows: kRows[r] computes the first r rows of a panel (kRows[MR] is the full kernel).
constexpr MicroKernelFn kRows[MR + 1] = {nullptr, kernelGeneric<1>, kernelGeneric<2>, kernelGeneric<3>, kernelGeneric<4>};

}  // namespace

MicroKernel genericMicroKernel() { return {"generic-4x16", MR, NR, kernelGeneric<MR>, 256, 128, 2048, kRows}; }

}  // namespace eitp
