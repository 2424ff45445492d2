// The body of activation-density-vec for one ISA: included by activation-density-vec-<isa>.cc inside
// `namespace eitp::activation_density_vec_<isa>` with that ISA's compiler flags. GCC vector types of 4 doubles (one
// ymm or two xmm registers; the division issues no faster per element in a zmm), so the lanes, and with them the order
// of every sum, are the same on every ISA. (With 8-double types GCC kept AVX2's loop-carried sums in memory, through
// partial stores and reloads, and the forward ran at half the baseline's speed.) No standard-library calls: an inline
// function emitted with AVX-512 code in one file must never be picked by the linker for another.

#define EITP_ACTIVATION_DENSITY_VEC_STR2(x) #x
#define EITP_ACTIVATION_DENSITY_VEC_STR(x) EITP_ACTIVATION_DENSITY_VEC_STR2(x)

namespace {

typedef double V4d __attribute__((vector_size(32)));
typedef float V4f __attribute__((vector_size(16)));

// Vectors by reference only: passing them by value would depend on the ISA's calling convention (-Wpsabi).
inline void load4(V4d& out, const float* p) {
  V4f f;
  __builtin_memcpy(&f, p, sizeof f);
  out = __builtin_convertvector(f, V4d);
}

inline void store4(float* p, const V4d& x) {
  const V4f f = __builtin_convertvector(x, V4f);
  __builtin_memcpy(p, &f, sizeof f);
}

// The 8 lanes of a (lanes 0-3) and b (lanes 4-7) in a fixed order: a + b, then halves added pairwise.
inline double lanes(const V4d& a, const V4d& b) {
  const V4d s = a + b;
  return (s[0] + s[2]) + (s[1] + s[3]);
}

// Each element's term a²/(a² + c) by itself; the last n mod 8 elements in order after the vector lanes.
double sumEach(const float* __restrict a, int64_t n, double c) {
  V4d acc0 = {}, acc1 = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    V4d x0, x1;
    load4(x0, a + j);
    load4(x1, a + j + 4);
    const V4d s0 = x0 * x0, s1 = x1 * x1;
    acc0 += s0 / (s0 + c);
    acc1 += s1 / (s1 + c);
  }
  double tail = 0;
  for (; j < n; j++) {
    const double x = a[j];
    const double s = x * x;
    tail += s / (s + c);
  }
  return lanes(acc0, acc1) + tail;
}

// Two terms per division, element j + k with element j + 8 + k of each block of 16:
// s/d + t/e = (s·e + t·d)/(d·e), d = s + c and e = t + c. Every product stays a normal double when c = 0 or
// 1e-150 <= c <= 1e150 (with a² <= 1.2e77 for f32 a: d·e <= 1e300, and d·e >= 1e-300, or >= a²b² >= 4e-180 when
// c = 0 and a, b != 0); the caller checks c. A zero with c = 0 still gives 0/0, as its own term does.
double sumPaired(const float* __restrict a, int64_t n, double c) {
  V4d acc0 = {}, acc1 = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    V4d x0, x1, y0, y1;
    load4(x0, a + j);
    load4(x1, a + j + 4);
    load4(y0, a + j + 8);
    load4(y1, a + j + 12);
    const V4d s0 = x0 * x0, s1 = x1 * x1, t0 = y0 * y0, t1 = y1 * y1;
    const V4d d0 = s0 + c, d1 = s1 + c, e0 = t0 + c, e1 = t1 + c;
    acc0 += (s0 * e0 + t0 * d0) / (d0 * e0);
    acc1 += (s1 * e1 + t1 * d1) / (d1 * e1);
  }
  double tail = 0;
  for (; j < n; j++) {
    const double x = a[j];
    const double s = x * x;
    tail += s / (s + c);
  }
  return lanes(acc0, acc1) + tail;
}

// The division bounds the loop (a double division issues every 2 cycles per element at any vector width), so the
// paired form, one division per two elements, wherever c keeps its products in range.
double sum(const float* __restrict a, int64_t n, double c) {
  return c == 0 || (c >= 1e-150 && c <= 1e150) ? sumPaired(a, n, c) : sumEach(a, n, c);
}

// The same operations as the cpu reference, in its order: d = a² + c, then (scale·a)/(d·d).
inline void gradOf(V4d& out, const V4d& x, double c, double scale) {
  const V4d d = x * x + c;
  out = (scale * x) / (d * d);
}

void grad(const float* __restrict a, float* __restrict out, int64_t n, double c, double scale) {
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    V4d x, r;
    load4(x, a + j);
    gradOf(r, x, c, scale);
    store4(out + j, r);
  }
  if (j < n) {
    // The last n mod 4 through the same vector code from a zero-padded copy (the padding's results are dropped).
    float buf[4] = {0, 0, 0, 0};
    for (int64_t k = j; k < n; k++) buf[k - j] = a[k];
    V4d x, r;
    load4(x, buf);
    gradOf(r, x, c, scale);
    store4(buf, r);
    for (int64_t k = j; k < n; k++) out[k] = buf[k - j];
  }
}

}  // namespace

ActivationDensityVec table() { return {EITP_ACTIVATION_DENSITY_VEC_STR(EITP_ACTIVATION_DENSITY_VEC_NS), sum, grad}; }
