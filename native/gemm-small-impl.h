// The body of gemm-small (gemm-small.h) for one ISA: included by gemm-small-<isa>.cc inside
// `namespace eitp::gemm_small_<isa>` with that ISA's compiler flags. GCC vector types of the ISA's width, so one
// source gives SSE2, AVX2 + FMA and AVX-512 code (a·b + c contracts to an FMA where the ISA has one). Everything here
// has internal linkage and calls no standard-library template: an inline function emitted with AVX-512 code in one
// file must never be picked by the linker for another.
//
// Set by the including file: EITP_GEMM_SMALL_NS (the ISA's name), EITP_GEMM_SMALL_VBYTES (bytes per vector) and
// EITP_GEMM_SMALL_REGS (vector registers), from which each kernel sizes its register tile.

#define EITP_GEMM_SMALL_STR2(x) #x
#define EITP_GEMM_SMALL_STR(x) EITP_GEMM_SMALL_STR2(x)

namespace {

typedef float VF __attribute__((vector_size(EITP_GEMM_SMALL_VBYTES)));
typedef float V4 __attribute__((vector_size(16)));
constexpr int kLanes = EITP_GEMM_SMALL_VBYTES / 4;
constexpr int kRegs = EITP_GEMM_SMALL_REGS;

// Vectors per register tile for M rows: M·V accumulators plus V operand vectors and one broadcast (or row) vector
// fit in the registers, with at most 4 vectors (the loads of a step stay a handful).
constexpr int tileVectors(int rows) {
  return (kRegs - 2) / (rows + 1) > 4 ? 4 : (kRegs - 2) / (rows + 1) < 1 ? 1 : (kRegs - 2) / (rows + 1);
}

inline void load(VF& out, const float* p) { __builtin_memcpy(&out, p, sizeof out); }
inline void store(float* p, const VF& v) { __builtin_memcpy(p, &v, sizeof v); }

// The stored value of an element: acc + bias, then relu as !(z <= 0) ? z : 0 (NaN passes through, like the relu op).
inline void finish(VF& x, const float* bias, int relu) {
  if (bias) {
    VF bv;
    load(bv, bias);
    x += bv;
  }
  if (relu) x = x <= 0 ? VF{} : x;
}

inline float finishScalar(float x, const float* bias, int relu) {
  if (bias) x += *bias;
  if (relu) x = !(x <= 0) ? x : 0.0f;
  return x;
}

// ---- axpy: B n-contiguous -----------------------------------------------------------------------------------------

// Columns [0, V·kLanes) of M rows of C: the M x V accumulator tile stays in registers over all k steps; each step
// loads V vectors of B's row p and broadcasts A[i, p] for each row.
template <int M, int V>
inline void axpyTile(int64_t k, const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb, float* c, int64_t ldc,
                     const float* bias, int relu) {
  VF acc[M][V];
  for (int r = 0; r < M; r++) {
    for (int v = 0; v < V; v++) acc[r][v] = VF{};
  }
  for (int64_t p = 0; p < k; p++) {
    VF bv[V];
    for (int v = 0; v < V; v++) load(bv[v], b + p * rsb + v * kLanes);
    const float* ap = a + p * csa;
    for (int r = 0; r < M; r++) {
      const VF av = VF{} + ap[r * rsa];
      for (int v = 0; v < V; v++) acc[r][v] += av * bv[v];
    }
  }
  for (int r = 0; r < M; r++) {
    for (int v = 0; v < V; v++) {
      finish(acc[r][v], bias ? bias + v * kLanes : nullptr, relu);
      store(c + r * ldc + v * kLanes, acc[r][v]);
    }
  }
}

// The last w < kLanes columns: scalar accumulators, k steps in order as above.
template <int M>
void axpyNarrow(int64_t w, int64_t k, const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb, float* c,
                int64_t ldc, const float* bias, int relu) {
  float acc[M][kLanes] = {};
  for (int64_t p = 0; p < k; p++) {
    const float* bp = b + p * rsb;
    for (int r = 0; r < M; r++) {
      const float av = a[r * rsa + p * csa];
      for (int64_t j = 0; j < w; j++) acc[r][j] += av * bp[j];
    }
  }
  for (int r = 0; r < M; r++) {
    for (int64_t j = 0; j < w; j++) c[r * ldc + j] = finishScalar(acc[r][j], bias ? bias + j : nullptr, relu);
  }
}

// One row of C wider than a strip (v·W, the batch-1 product): C itself is the accumulator, in L1, and B is read
// row after row, each row whole. Strips would walk down B with a stride of a whole row, a new page for every few
// cache lines, where the prefetchers stop (1 x 1024 by 1024 x 1024: 92 us in strips). Four rows of B per pass over C,
// added in order: the same products summed in the same order as the register tile, so the same result.
void axpyStream(int64_t n, int64_t k, const float* a, int64_t csa, const float* b, int64_t rsb, float* c,
                const float* bias, int relu) {
  const int64_t nv = n / kLanes * kLanes;
  for (int64_t j = 0; j < n; j++) c[j] = 0.0f;
  int64_t p = 0;
  for (; p + 4 <= k; p += 4) {
    const VF a0 = VF{} + a[p * csa], a1 = VF{} + a[(p + 1) * csa], a2 = VF{} + a[(p + 2) * csa], a3 = VF{} + a[(p + 3) * csa];
    const float *b0 = b + p * rsb, *b1 = b0 + rsb, *b2 = b1 + rsb, *b3 = b2 + rsb;
    for (int64_t j = 0; j < nv; j += kLanes) {
      VF acc, x0, x1, x2, x3;
      load(acc, c + j);
      load(x0, b0 + j);
      load(x1, b1 + j);
      load(x2, b2 + j);
      load(x3, b3 + j);
      acc += a0 * x0;
      acc += a1 * x1;
      acc += a2 * x2;
      acc += a3 * x3;
      store(c + j, acc);
    }
  }
  for (; p < k; p++) {
    const VF a0 = VF{} + a[p * csa];
    const float* b0 = b + p * rsb;
    for (int64_t j = 0; j < nv; j += kLanes) {
      VF acc, x0;
      load(acc, c + j);
      load(x0, b0 + j);
      acc += a0 * x0;
      store(c + j, acc);
    }
  }
  for (int64_t j = 0; j < nv; j += kLanes) {
    VF acc;
    load(acc, c + j);
    finish(acc, bias ? bias + j : nullptr, relu);
    store(c + j, acc);
  }
  // the last n % kLanes columns as axpyNarrow takes them
  if (nv < n) axpyNarrow<1>(n - nv, k, a, 0, csa, b + nv, rsb, c + nv, 0, bias ? bias + nv : nullptr, relu);
}

template <int M>
void axpyRows(int64_t n, int64_t k, const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb, float* c,
              int64_t ldc, const float* bias, int relu) {
  constexpr int V = tileVectors(M);
  constexpr int64_t W = V * kLanes;
  if (M == 1 && n > 2 * W) return axpyStream(n, k, a, csa, b, rsb, c, bias, relu);
  int64_t j = 0;
  for (; j + W <= n; j += W) axpyTile<M, V>(k, a, rsa, csa, b + j, rsb, c + j, ldc, bias ? bias + j : nullptr, relu);
  for (; j + kLanes <= n; j += kLanes) axpyTile<M, 1>(k, a, rsa, csa, b + j, rsb, c + j, ldc, bias ? bias + j : nullptr, relu);
  if (j < n) axpyNarrow<M>(n - j, k, a, rsa, csa, b + j, rsb, c + j, ldc, bias ? bias + j : nullptr, relu);
}

void axpy(int64_t m, int64_t n, int64_t k, const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb, float* c,
          int64_t ldc, const float* bias, int relu) {
  switch (m) {
    case 1: return axpyRows<1>(n, k, a, rsa, csa, b, rsb, c, ldc, bias, relu);
    case 2: return axpyRows<2>(n, k, a, rsa, csa, b, rsb, c, ldc, bias, relu);
    case 3: return axpyRows<3>(n, k, a, rsa, csa, b, rsb, c, ldc, bias, relu);
    case 4: return axpyRows<4>(n, k, a, rsa, csa, b, rsb, c, ldc, bias, relu);
    case 5: return axpyRows<5>(n, k, a, rsa, csa, b, rsb, c, ldc, bias, relu);
    case 6: return axpyRows<6>(n, k, a, rsa, csa, b, rsb, c, ldc, bias, relu);
    case 7: return axpyRows<7>(n, k, a, rsa, csa, b, rsb, c, ldc, bias, relu);
    case 8: return axpyRows<8>(n, k, a, rsa, csa, b, rsb, c, ldc, bias, relu);
    default: return;
  }
}

// ---- dot: B k-contiguous ------------------------------------------------------------------------------------------

template <int... I>
struct Seq {};
template <int N>
using MakeSeq = Seq<__integer_pack(N)...>;

// One level of a tree of lane sums: within each block of 2W lanes, the first W lanes of the result hold x's lanes
// plus those W further on, the last W lanes y's. Two permutes and an add for two vectors.
template <int W, int... I>
inline VF foldPair(const VF& x, const VF& y, Seq<I...>) {
  return __builtin_shufflevector(x, y, ((I % (2 * W)) < W ? I : I - W + kLanes)...) +
         __builtin_shufflevector(x, y, ((I % (2 * W)) < W ? I + W : I + kLanes)...);
}

// v[0..2W) folded pairwise down to v[0]: kLanes vectors in, one out whose lane l is the sum of the lanes of
// v[bitReverse(l)] (each level's choice between x and y is one bit of l, the first level's the highest).
template <int W>
inline void foldAll(VF* v) {
#pragma GCC unroll 16
  for (int i = 0; i < W; i++) v[i] = foldPair<W>(v[2 * i], v[2 * i + 1], MakeSeq<kLanes>{});
  if constexpr (W > 1) foldAll<W / 2>(v);
}

constexpr int bitReverse(int l) {
  int r = 0;
  for (int w = 1; w < kLanes; w *= 2, l /= 2) r = 2 * r + l % 2;
  return r;
}

// Columns [0, J) of M rows of C: M x J lane-wise partial dot products in registers over the vector part of k, each
// step loading J column vectors of B and one vector of each row of A; then the lanes summed kLanes accumulators at
// a time by a tree of permutes, the last k % kLanes products added in order, and the epilogue.
template <int M, int J>
inline void dotTile(int64_t k, const float* a, int64_t lda, const float* b, int64_t csb, float* c, int64_t ldc,
                    const float* bias, int relu) {
  VF acc[M][J];
  for (int r = 0; r < M; r++) {
    for (int q = 0; q < J; q++) acc[r][q] = VF{};
  }
  const int64_t kv = k - k % kLanes;
  for (int64_t p = 0; p < kv; p += kLanes) {
    VF bv[J];
    for (int q = 0; q < J; q++) load(bv[q], b + q * csb + p);
    for (int r = 0; r < M; r++) {
      VF av;
      load(av, a + r * lda + p);
      for (int q = 0; q < J; q++) acc[r][q] += av * bv[q];
    }
  }
  constexpr int T = M * J;
#pragma GCC unroll 4
  for (int g = 0; g < T; g += kLanes) {
    VF v[kLanes];
#pragma GCC unroll 16
    for (int l = 0; l < kLanes; l++) v[l] = g + l < T ? acc[(g + l) / J][(g + l) % J] : VF{};
    foldAll<kLanes / 2>(v);
    float sums[kLanes];
    __builtin_memcpy(sums, &v[0], sizeof sums);
#pragma GCC unroll 16
    for (int l = 0; l < kLanes; l++) {
      const int t = g + bitReverse(l);
      if (t >= T) continue;
      const int r = t / J, q = t % J;
      float s = sums[l];
      for (int64_t p = kv; p < k; p++) s += a[r * lda + p] * b[q * csb + p];
      c[r * ldc + q] = finishScalar(s, bias ? bias + q : nullptr, relu);
    }
  }
}

template <int M>
void dotRows(int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t csb, float* c, int64_t ldc,
             const float* bias, int relu) {
  constexpr int J = tileVectors(M);
  int64_t j = 0;
  for (; j + J <= n; j += J) dotTile<M, J>(k, a, lda, b + j * csb, csb, c + j, ldc, bias ? bias + j : nullptr, relu);
  for (; j < n; j++) dotTile<M, 1>(k, a, lda, b + j * csb, csb, c + j, ldc, bias ? bias + j : nullptr, relu);
}

void dot(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t csb, float* c, int64_t ldc,
         const float* bias, int relu) {
  switch (m) {
    case 1: return dotRows<1>(n, k, a, lda, b, csb, c, ldc, bias, relu);
    case 2: return dotRows<2>(n, k, a, lda, b, csb, c, ldc, bias, relu);
    case 3: return dotRows<3>(n, k, a, lda, b, csb, c, ldc, bias, relu);
    case 4: return dotRows<4>(n, k, a, lda, b, csb, c, ldc, bias, relu);
    case 5: return dotRows<5>(n, k, a, lda, b, csb, c, ldc, bias, relu);
    case 6: return dotRows<6>(n, k, a, lda, b, csb, c, ldc, bias, relu);
    case 7: return dotRows<7>(n, k, a, lda, b, csb, c, ldc, bias, relu);
    case 8: return dotRows<8>(n, k, a, lda, b, csb, c, ldc, bias, relu);
    default: return;
  }
}

}  // namespace

GemmSmall table() { return {EITP_GEMM_SMALL_STR(EITP_GEMM_SMALL_NS), axpy, dot, 4 * kLanes}; }
