// Portable matmulInt8 tiles (any CPU). Activations as int16. The f32 dot products are summed in eight interleaved
// lanes so that the compiler can vectorise them without reordering any one lane's additions (no -ffast-math here).
#include "int8-matmul.h"
#include "int8-quantize.h"

namespace eitp {

namespace {

constexpr int MR = 4;
constexpr int NR = 4;
constexpr int LANES = 8;

void dotInt8(int64_t k, const void* a, int64_t lda, const int8_t* w, int64_t ldw, int mr, int nr, int32_t* out, int64_t ldo) {
  const int16_t* x = static_cast<const int16_t*>(a);
  for (int i = 0; i < mr; i++) {
    const int16_t* xr = x + i * lda;
    for (int j = 0; j < nr; j++) {
      const int8_t* wr = w + j * ldw;
      // A plain integer reduction (vectorised as a 16-bit dot product, e.g. pmaddwd); the driver keeps k small
      // enough that it cannot overflow (|Σ| <= 2^16·127·128 < 2^31).
      int32_t s = 0;
      for (int64_t p = 0; p < k; p++) s += static_cast<int32_t>(xr[p]) * static_cast<int32_t>(static_cast<int16_t>(wr[p]));
      out[i * ldo + j] = s;
    }
  }
}

// The weights of the tile are widened to f32 a chunk at a time (a plain conversion loop, which vectorises), then
// each dot product runs over f32 operands only.
void dotF32(int64_t k, const float* x, int64_t ldx, const int8_t* w, int64_t ldw, int mr, int nr, float* out, int64_t ldo) {
  constexpr int64_t CHUNK = 256;
  float wf[NR][CHUNK];
  float acc[MR][NR][LANES] = {};
  float tail[MR][NR] = {};
  for (int64_t p0 = 0; p0 < k; p0 += CHUNK) {
    const int64_t len = k - p0 < CHUNK ? k - p0 : CHUNK;
    for (int j = 0; j < nr; j++) {
      for (int64_t p = 0; p < len; p++) wf[j][p] = static_cast<float>(w[j * ldw + p0 + p]);
    }
    const int64_t body = len / LANES * LANES;
    for (int i = 0; i < mr; i++) {
      const float* xr = x + i * ldx + p0;
      for (int j = 0; j < nr; j++) {
        float* a = acc[i][j];
        for (int64_t p = 0; p < body; p += LANES) {
          for (int l = 0; l < LANES; l++) a[l] += xr[p + l] * wf[j][p + l];
        }
        for (int64_t p = body; p < len; p++) tail[i][j] += xr[p] * wf[j][p];
      }
    }
  }
  for (int i = 0; i < mr; i++) {
    for (int j = 0; j < nr; j++) {
      const float* a = acc[i][j];
      out[i * ldo + j] = (((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))) + tail[i][j];
    }
  }
}

float quantizeRow(const float* x, int64_t k, void* codes) { return quantizeRowScalar(x, k, static_cast<int16_t*>(codes)); }

}  // namespace

Int8Kernels genericInt8Kernels() { return {"generic-4x4", Int8Activations::I16, MR, NR, dotInt8, dotF32, quantizeRow, {}}; }

}  // namespace eitp
