// The body of gemm-batched (gemm-batched.h) for one ISA: included by gemm-batched-<isa>.cc inside
// `namespace eitp::gemm_batched_<isa>` with that ISA's compiler flags. GCC vector types of the ISA's width (a·b + c
// contracts to an FMA where the ISA has one). Internal linkage only and no standard-library template: an inline
// function emitted with AVX-512 code in one file must never be picked by the linker for another.
//
// Set by the including file: EITP_GEMM_BATCHED_NS, EITP_GEMM_BATCHED_VBYTES (bytes per vector) and
// EITP_GEMM_BATCHED_REGS (vector registers).

#define EITP_GEMM_BATCHED_STR2(x) #x
#define EITP_GEMM_BATCHED_STR(x) EITP_GEMM_BATCHED_STR2(x)

namespace {

constexpr int kLanes = EITP_GEMM_BATCHED_VBYTES / 4;
// A half vector for a last strip of at most kLanes / 2 columns (n = 24 on AVX-512 is one vector and a half, not two
// vectors with a quarter of the multiply-adds wasted). The baseline's 4-lane vectors have no useful half.
constexpr int kHalf = kLanes >= 8 ? kLanes / 2 : kLanes;
typedef float VF __attribute__((vector_size(kLanes * 4)));
typedef float VH __attribute__((vector_size(kHalf * 4)));
constexpr int kRegs = EITP_GEMM_BATCHED_REGS;
// Widest column strip, in vectors: 64 columns on AVX-512; 16 (AVX2) or 8 (baseline) with 16 registers, where a wider
// strip would leave room for too few rows.
constexpr int kMaxVectors = kRegs >= 32 ? 4 : 2;

// Rows per register tile of `vectors` accumulator vectors per row: the tile, one B vector per column vector and a
// broadcast fit in the registers; at most 8.
constexpr int rowsFor(int vectors) {
  return (kRegs - vectors - 1) / vectors > 8 ? 8 : (kRegs - vectors - 1) / vectors < 1 ? 1 : (kRegs - vectors - 1) / vectors;
}

// Unaligned, aliasing views of memory as vectors: loads and stores without taking an accumulator's address (with
// memcpy, GCC kept the register tile in memory: zeroed with rep stos, spilled after the loop).
template <typename X>
inline X loadv(const float* p) {
  typedef float U __attribute__((vector_size(sizeof(X)), aligned(4), may_alias));
  return *reinterpret_cast<const U*>(p);
}

template <typename X>
inline void storev(float* p, X v) {
  typedef float U __attribute__((vector_size(sizeof(X)), aligned(4), may_alias));
  *reinterpret_cast<U*>(p) = v;
}

// A vector of s in every lane (s - 0 is s for every s, -0 included, so the compiler emits just the broadcast).
template <typename X>
inline X splat(float s) {
  return s - X{};
}

// Rows [0, M) x columns [0, V·kLanes + H·kHalf) of C, of which the first w are stored: M x (V + H) accumulators stay
// in registers while k runs; each k step loads the strip's row of Bp and broadcasts A[i, p] to every row's vectors.
// The loops over rows and vectors are unrolled by pragma: unrolled late, GCC left the tile in memory (zeroed with
// rep stos, spilled after the k loop).
template <int M, int V, int H>
void tile(int64_t k, const float* a, int64_t rsa, int64_t csa, const float* bp, int64_t ldb, float* c, int64_t ldc, int64_t w) {
  constexpr int VA = V > 0 ? V : 1;
  VF acc[M][VA];
  VH half[M];
  #pragma GCC unroll 16
  for (int r = 0; r < M; r++) {
    #pragma GCC unroll 16
    for (int v = 0; v < VA; v++) acc[r][v] = VF{};
    half[r] = VH{};
  }
  // (k >= 1 here: product() zero-fills C for k = 0, so the accumulators never have to live in memory for a loop
  // that might not run.)
  if (k < 1) __builtin_unreachable();
  for (int64_t p = 0; p < k; p++) {
    const float* bq = bp + p * ldb;
    VF bv[VA];
    #pragma GCC unroll 16
    for (int v = 0; v < V; v++) bv[v] = loadv<VF>(bq + v * kLanes);
    VH bh = H ? loadv<VH>(bq + V * kLanes) : VH{};
    const float* ap = a + p * csa;
    #pragma GCC unroll 16
    for (int r = 0; r < M; r++) {
      const float s = ap[r * rsa];
      const VF av = splat<VF>(s);
      #pragma GCC unroll 16
      for (int v = 0; v < V; v++) acc[r][v] += av * bv[v];
      if (H) half[r] += splat<VH>(s) * bh;
    }
  }
  if (w >= V * kLanes + H * kHalf) {  // the whole strip: straight from the registers
    #pragma GCC unroll 16
    for (int r = 0; r < M; r++) {
      #pragma GCC unroll 16
      for (int v = 0; v < V; v++) storev(c + r * ldc + v * kLanes, acc[r][v]);
      if (H) storev(c + r * ldc + V * kLanes, half[r]);
    }
    return;
  }
  // The last strip of a ragged n: the tile through a buffer, then its first w columns.
  constexpr int W = V * kLanes + H * kHalf;
  float buf[M * W];
  #pragma GCC unroll 16
  for (int r = 0; r < M; r++) {
    #pragma GCC unroll 16
    for (int v = 0; v < V; v++) storev(buf + r * W + v * kLanes, acc[r][v]);
    if (H) storev(buf + r * W + V * kLanes, half[r]);
  }
  #pragma GCC unroll 16
  for (int r = 0; r < M; r++) {
    for (int64_t j = 0; j < w; j++) c[r * ldc + j] = buf[r * W + j];
  }
}

// A strip's rows in register tiles of rowsFor(V + H) rows (the last one shorter).
template <int V, int H, int M>
inline void tileRows(int rows, int64_t k, const float* a, int64_t rsa, int64_t csa, const float* bp, int64_t ldb, float* c,
                     int64_t ldc, int64_t w) {
  if constexpr (M >= 1) {
    if (rows == M) return tile<M, V, H>(k, a, rsa, csa, bp, ldb, c, ldc, w);
    tileRows<V, H, M - 1>(rows, k, a, rsa, csa, bp, ldb, c, ldc, w);
  }
}

template <int V, int H>
void strip(int64_t m, int64_t k, const float* a, int64_t rsa, int64_t csa, const float* bp, int64_t ldb, float* c, int64_t ldc,
           int64_t w) {
  constexpr int R = rowsFor(V + H);
  for (int64_t i = 0; i < m; i += R) {
    const int rows = static_cast<int>(m - i < R ? m - i : R);
    tileRows<V, H, R>(rows, k, a + i * rsa, rsa, csa, bp, ldb, c + i * ldc, ldc, w);
  }
}

template <int V>
void stripOf(int h, int64_t m, int64_t k, const float* a, int64_t rsa, int64_t csa, const float* bp, int64_t ldb, float* c,
             int64_t ldc, int64_t w) {
  if (h) strip<V, 1>(m, k, a, rsa, csa, bp, ldb, c, ldc, w);
  else strip<V, 0>(m, k, a, rsa, csa, bp, ldb, c, ldc, w);
}

// Copies B[k x n] with n-contiguous rows (row stride rsb) into out[k x ldb], columns [n, ldb) zeroed: whole vectors,
// then the remainder one float at a time (no read past a row's end).
void packRows(int64_t k, int64_t n, const float* b, int64_t rsb, float* out, int64_t ldb) {
  for (int64_t p = 0; p < k; p++) {
    const float* src = b + p * rsb;
    float* dst = out + p * ldb;
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes) storev(dst + j, loadv<VF>(src + j));
    for (; j < n; j++) dst[j] = src[j];
    for (; j < ldb; j++) dst[j] = 0.0f;
  }
}

// Columns in strips of at most kMaxVectors vectors; the last strip ends with a half vector when its remainder fits
// one, else with a whole (zero-padded) vector.
void product(int64_t m, int64_t n, int64_t k, const float* a, int64_t rsa, int64_t csa, const float* bp, int64_t ldb, float* c,
             int64_t ldc) {
  if (k == 0) {
    for (int64_t i = 0; i < m; i++) {
      for (int64_t j = 0; j < n; j++) c[i * ldc + j] = 0.0f;
    }
    return;
  }
  for (int64_t j = 0; j < n;) {
    const int64_t rem = n - j;
    int v = kMaxVectors, h = 0;
    if (rem < kMaxVectors * kLanes) {
      v = static_cast<int>(rem / kLanes);
      const int64_t tail = rem % kLanes;
      if (tail > 0 && tail <= kHalf && kHalf < kLanes) h = 1;
      else if (tail > 0) v++;
    }
    const int64_t w = rem < v * kLanes + h * kHalf ? rem : v * kLanes + h * kHalf;
    const float* bj = bp + j;
    float* cj = c + j;
    switch (v) {
      case 0: strip<0, 1>(m, k, a, rsa, csa, bj, ldb, cj, ldc, w); break;  // h = 1: a strip is never empty
      case 1: stripOf<1>(h, m, k, a, rsa, csa, bj, ldb, cj, ldc, w); break;
      case 2: stripOf<2>(h, m, k, a, rsa, csa, bj, ldb, cj, ldc, w); break;
      case 3: stripOf<3>(h, m, k, a, rsa, csa, bj, ldb, cj, ldc, w); break;
      default: stripOf<kMaxVectors>(h, m, k, a, rsa, csa, bj, ldb, cj, ldc, w); break;
    }
    j += w;
  }
}

}  // namespace

GemmBatched table() { return {EITP_GEMM_BATCHED_STR(EITP_GEMM_BATCHED_NS), product, packRows, kLanes}; }
