// Batched f32 matmul C[b] = A[b] · B[b]: a shared-memory tiled, register-blocked kernel. Each block computes a
// BM×BN tile of C; each thread a TM×TN sub-tile held in registers, so every value loaded from shared memory is
// used TN (or TM) times. The thread's sub-tile is split into 2×2 pieces half a tile apart, so neighbouring threads
// read neighbouring float4s of shared memory (no bank conflicts, A reads broadcast).
// Shared memory is double-buffered: the next K-slice is loaded from global memory into registers while the
// current one is multiplied, then stored to the other buffer; one barrier per K-slice.
// Operands are read through their strides (transposed and broadcast batch views need no copy); when an operand
// is dense row-major with 4-aligned extents, its tile loads are float4 vector loads. Ragged edges are zero-filled
// in shared memory and masked on store. The epilogue parameter fuses an elementwise step into the store:
// kEpiTanhJvp is tanhJvp's C = (1 − H²) ⊙ (A·B), kEpiBiasAct is linear's C = act(A·B + bias).
#pragma once
#include "common.cuh"

namespace eitp {

enum MatmulEpilogue : int { kEpiPlain = 0, kEpiTanhJvp = 1, kEpiBiasAct = 2 };

// linear's activation of z = (A·B)[r][c] + bias[c], as the reference (engine/backends/cpu/train-fused.ts) has it
// (relu passes NaN through, like the relu op).
EITP_DEV float linear_activation(float z, int act) {
  if (act == kActRelu) return (z > 0.0f || is_nan(z)) ? z : 0.0f;
  if (act == kActTanh) return tanhf(z);
  if (act == kActSigmoid) return 1.0f / (1.0f + expf(-z));
  return z;
}

template <int BM, int BN, int BK, int TM, int TN, bool kVecA, bool kVecB>
struct MatmulTile {
  static constexpr int kThreads = (BM / TM) * (BN / TN);
  static constexpr int kALoads = BM * BK / kThreads;  // A elements each thread stages per K-slice
  static constexpr int kBLoads = BK * BN / kThreads;
  static_assert(BM * BK % kThreads == 0 && BK * BN % kThreads == 0, "tile loads must divide evenly");
  static_assert(!kVecA || kALoads == 4, "vector A loads: one float4 per thread");
  static_assert(!kVecB || kBLoads == 4, "vector B loads: one float4 per thread");
  static_assert(TM % 2 == 0 && TN % 2 == 0, "thread tiles split in halves");

  // Global -> registers for the K-slice starting at k0 (zeros outside the matrix).
  static EITP_DEV void load_a(float (&r)[kALoads], const float* A, const MatOperand& op, int64_t row0, int64_t k0, int64_t M, int64_t K, int tid) {
    if constexpr (kVecA) {
      // K % 4 == 0 and rows 16-byte aligned: a float4 along k is wholly inside or wholly outside the matrix.
      const int rr = tid / (BK / 4), kk = (tid % (BK / 4)) * 4;
      const int64_t gr = row0 + rr, gk = k0 + kk;
      float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (gr < M && gk < K) v = *reinterpret_cast<const float4*>(A + gr * op.rs + gk);
      r[0] = v.x, r[1] = v.y, r[2] = v.z, r[3] = v.w;
    } else {
      // Neighbouring threads take neighbouring addresses: along k for a row-major A, along rows for a transposed
      // (column-major) view, so both coalesce.
      const bool col_major = op.rs == 1 && op.cs != 1;
#pragma unroll
      for (int l = 0; l < kALoads; ++l) {
        const int e = tid + l * kThreads;
        const int rr = col_major ? e % BM : e / BK, kk = col_major ? e / BM : e % BK;
        const int64_t gr = row0 + rr, gk = k0 + kk;
        r[l] = (gr < M && gk < K) ? A[gr * op.rs + gk * op.cs] : 0.0f;
      }
    }
  }
  // Registers -> shared, A transposed (k-major) so a thread's rows are contiguous.
  static EITP_DEV void store_a(const float (&r)[kALoads], float (*As)[BM], const MatOperand& op, int tid) {
    if constexpr (kVecA) {
      const int rr = tid / (BK / 4), kk = (tid % (BK / 4)) * 4;
      As[kk + 0][rr] = r[0], As[kk + 1][rr] = r[1], As[kk + 2][rr] = r[2], As[kk + 3][rr] = r[3];
    } else {
      const bool col_major = op.rs == 1 && op.cs != 1;  // the same mapping as load_a
#pragma unroll
      for (int l = 0; l < kALoads; ++l) {
        const int e = tid + l * kThreads;
        if (col_major) As[e / BM][e % BM] = r[l];
        else As[e % BK][e / BK] = r[l];
      }
    }
  }
  static EITP_DEV void load_b(float (&r)[kBLoads], const float* B, const MatOperand& op, int64_t col0, int64_t k0, int64_t N, int64_t K, int tid) {
    if constexpr (kVecB) {
      const int kk = tid / (BN / 4), c = (tid % (BN / 4)) * 4;
      const int64_t gk = k0 + kk, gc = col0 + c;
      float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (gk < K && gc < N) v = *reinterpret_cast<const float4*>(B + gk * op.rs + gc);
      r[0] = v.x, r[1] = v.y, r[2] = v.z, r[3] = v.w;
    } else {
      // Along columns for a row-major B, along k for a transposed view (see load_a).
      const bool k_major = op.rs == 1 && op.cs != 1;
#pragma unroll
      for (int l = 0; l < kBLoads; ++l) {
        const int e = tid + l * kThreads;
        const int kk = k_major ? e % BK : e / BN, c = k_major ? e / BK : e % BN;
        const int64_t gk = k0 + kk, gc = col0 + c;
        r[l] = (gk < K && gc < N) ? B[gk * op.rs + gc * op.cs] : 0.0f;
      }
    }
  }
  static EITP_DEV void store_b(const float (&r)[kBLoads], float (*Bs)[BN], const MatOperand& op, int tid) {
    if constexpr (kVecB) {
      const int kk = tid / (BN / 4), c = (tid % (BN / 4)) * 4;
      *reinterpret_cast<float4*>(&Bs[kk][c]) = make_float4(r[0], r[1], r[2], r[3]);
    } else {
      const bool k_major = op.rs == 1 && op.cs != 1;  // the same mapping as load_b
#pragma unroll
      for (int l = 0; l < kBLoads; ++l) {
        const int e = tid + l * kThreads;
        if (k_major) Bs[e % BK][e / BK] = r[l];
        else Bs[e / BN][e % BN] = r[l];
      }
    }
  }
  // Row (or column) of the i-th element of a thread's sub-tile: two halves, BM/2 (BN/2) apart.
  static EITP_HD int sub_row(int ty, int i) { return i < TM / 2 ? ty * (TM / 2) + i : BM / 2 + ty * (TM / 2) + i - TM / 2; }
  static EITP_HD int sub_col(int tx, int j) { return j < TN / 2 ? tx * (TN / 2) + j : BN / 2 + tx * (TN / 2) + j - TN / 2; }
};

template <int BM, int BN, int BK, int TM, int TN, bool kVecA, bool kVecB, int kEpi = kEpiPlain>
// One block of 256 threads per SM is guaranteed (up to 255 registers a thread). Asking for two (<= 128 registers)
// makes ptxas spill the 8x8 variants (the spill gate rejects it): the 64-bit index math needs to go first.
__global__ void __launch_bounds__((BM / TM) * (BN / TN)) matmul_kernel(MatmulArgs args) {
  using T = MatmulTile<BM, BN, BK, TM, TN, kVecA, kVecB>;
  __shared__ __align__(16) float As[2][BK][BM];
  __shared__ __align__(16) float Bs[2][BK][BN];

  const int tid = threadIdx.x;
  const int tx = tid % (BN / TN), ty = tid / (BN / TN);
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * BM, col0 = static_cast<int64_t>(blockIdx.x) * BN;
  const int64_t M = args.m, N = args.n, K = args.k;
  const int64_t tiles = (K + BK - 1) / BK;

  for (int64_t bz = blockIdx.z; bz < args.batches; bz += gridDim.z) {
    const float* A = args.a.p + args.a.offset + strided_index(args.batch, args.a.batch, bz);
    const float* B = args.b.p + args.b.offset + strided_index(args.batch, args.b.batch, bz);
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

    float ra[T::kALoads], rb[T::kBLoads];
    T::load_a(ra, A, args.a, row0, 0, M, K, tid);
    T::load_b(rb, B, args.b, col0, 0, N, K, tid);
    T::store_a(ra, As[0], args.a, tid);
    T::store_b(rb, Bs[0], args.b, tid);
    __syncthreads();

    for (int64_t t = 0; t < tiles; ++t) {
      const int cur = static_cast<int>(t & 1);
      const bool more = t + 1 < tiles;
      // Issue the next slice's global loads now; they complete while this slice is multiplied.
      if (more) {
        T::load_a(ra, A, args.a, row0, (t + 1) * BK, M, K, tid);
        T::load_b(rb, B, args.b, col0, (t + 1) * BK, N, K, tid);
      }
#pragma unroll
      for (int kk = 0; kk < BK; ++kk) {
        float a[TM], b[TN];
        if constexpr (TM == 8 && TN == 8) {
          const float4 a0 = *reinterpret_cast<const float4*>(&As[cur][kk][ty * 4]);
          const float4 a1 = *reinterpret_cast<const float4*>(&As[cur][kk][BM / 2 + ty * 4]);
          const float4 b0 = *reinterpret_cast<const float4*>(&Bs[cur][kk][tx * 4]);
          const float4 b1 = *reinterpret_cast<const float4*>(&Bs[cur][kk][BN / 2 + tx * 4]);
          a[0] = a0.x, a[1] = a0.y, a[2] = a0.z, a[3] = a0.w, a[4] = a1.x, a[5] = a1.y, a[6] = a1.z, a[7] = a1.w;
          b[0] = b0.x, b[1] = b0.y, b[2] = b0.z, b[3] = b0.w, b[4] = b1.x, b[5] = b1.y, b[6] = b1.z, b[7] = b1.w;
        } else {
#pragma unroll
          for (int i = 0; i < TM; ++i) a[i] = As[cur][kk][T::sub_row(ty, i)];
#pragma unroll
          for (int j = 0; j < TN; ++j) b[j] = Bs[cur][kk][T::sub_col(tx, j)];
        }
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] += a[i] * b[j];
      }
      // The other buffer was last read in the previous slice, which every thread finished before the barrier
      // that ended it; after this slice's barrier, everyone sees the new data.
      if (more) {
        T::store_a(ra, As[cur ^ 1], args.a, tid);
        T::store_b(rb, Bs[cur ^ 1], args.b, tid);
      }
      __syncthreads();
    }

    float* C = args.c + bz * M * N;
    // linear's bias for this thread's TN columns, loaded once rather than once per row.
    [[maybe_unused]] float bias[kEpi == kEpiBiasAct ? TN : 1];
    if constexpr (kEpi == kEpiBiasAct) {
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const int64_t c = col0 + T::sub_col(tx, j);
        bias[j] = c < N ? args.bias[c] : 0.0f;
      }
    }
#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const int64_t r = row0 + T::sub_row(ty, i);
      if (r >= M) continue;
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const int64_t c = col0 + T::sub_col(tx, j);
        if (c >= N) continue;
        if constexpr (kEpi == kEpiTanhJvp) {
          const float y = args.h[bz * M * N + r * N + c];
          C[r * N + c] = (1.0f - y * y) * acc[i][j];
        } else if constexpr (kEpi == kEpiBiasAct) {
          C[r * N + c] = linear_activation(acc[i][j] + bias[j], args.act);
        } else {
          C[r * N + c] = acc[i][j];
        }
      }
    }
  }
}

}  // namespace eitp
