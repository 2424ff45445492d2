// The soft histogram of EIT-P's parameter entropy (softHistogram) and its backward (softHistogramGrad), following
// engine/backends/cpu/eitp-fused.ts: each value takes part in the softmax over the bins of its window (its nearest
// bin ± W, W = ceil(8h/width)).
//
// Two paths. The values inside the histogram's range go through soft-histogram-vec.h (values across SIMD lanes, two
// exponentials per value and the window's weights by recurrence) when the attributes suit it (α = Δ²/(2h²) and W
// within its limits, which the EIT-P defaults are far inside). The rest (NaN, values beyond an edge, and every value
// for other attributes) take the scalar path: logits in double as on cpu, the exponentials through vmath in blocks,
// every sum in double. Which path a value takes depends on its value and the attributes only.
//
// softHistogram: the values are cut into chunks whose number depends only on n and the bin count, never on the
// thread count; each chunk adds into its own partial histogram, and the partials are summed in chunk order, so the
// counts are the same for any EITP_THREADS.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "common.h"
#include "soft-histogram-vec.h"
#include "strided.h"
#include "thread-pool.h"
#include "vmath.h"

namespace eitp {

namespace {

struct Histogram {
  int64_t bins;
  double low;
  double width;
  double h2;
  double negHalfInvH2;  // −1/(2h²): logits by a multiply (the cpu kernel divides; they differ in the last bit)
  int64_t reach;  // W, capped at bins - 1 (a wider window covers no more bins)
  int64_t span;   // the longest window: min(2W + 1, bins)
  std::vector<double> centre;

  // attrs: [bins, low, width, bandwidth]
  explicit Histogram(const Task& t) {
    if (t.attrs.size() != 4) throw KernelError("expected the attributes bins, low, width, bandwidth");
    const double b = t.attrs[0];
    low = t.attrs[1];
    width = t.attrs[2];
    const double h = t.attrs[3];
    if (!(b >= 1 && b <= 1e9 && b == std::floor(b))) throw KernelError("bins must be a positive integer", true);
    if (!(width > 0) || !(h > 0) || !std::isfinite(low)) throw KernelError("width and bandwidth must be > 0 and low finite", true);
    bins = static_cast<int64_t>(b);
    h2 = h * h;
    negHalfInvH2 = -0.5 / h2;
    const double w = std::ceil(8 * h / width);
    reach = w >= static_cast<double>(bins - 1) ? bins - 1 : static_cast<int64_t>(w);
    span = std::min<int64_t>(2 * reach + 1, bins);
    centre.resize(static_cast<size_t>(bins));
    for (int64_t k = 0; k < bins; k++) centre[k] = low + (static_cast<double>(k) + 0.5) * width;
  }

  // The first bin of u's window, its length and the nearest bin; length 0 for NaN (which, as on cpu, takes part in
  // no bin).
  void window(double u, int64_t& lo, int64_t& len, int64_t& nearest) const {
    if (u != u) {
      lo = len = nearest = 0;
      return;
    }
    const double f = std::floor((u - low) / width);
    nearest = f < 0 ? 0 : f > static_cast<double>(bins - 1) ? bins - 1 : static_cast<int64_t>(f);
    lo = std::max<int64_t>(0, nearest - reach);
    len = std::min<int64_t>(bins - 1, nearest + reach) - lo + 1;
  }
};

// Soft assignments of a block of values: for value b, e[b * span + j] (j < len[b]) is exp(logit − the largest
// logit) of bin lo[b] + j, not yet normalised. Logits in double like the cpu kernel; the exponentials in one vmath
// call.
struct Block {
  std::vector<int64_t> lo, len;
  std::vector<float> e;

  Block(int64_t capacity, int64_t span) : lo(capacity), len(capacity), e(static_cast<size_t>(capacity * span)) {}

  // The largest logit is the nearest bin's (u lies within half a bin of its centre, or beyond the edge bin), so it
  // is the shift, and each value takes one pass. (A running maximum would be a latency-bound chain; the cpu kernel
  // takes the maximum, and the two shifts differ by rounding at most, which softmax does not see.)
  void assign(const Histogram& hg, const float* u, int64_t count) {
    const int64_t span = hg.span;
    for (int64_t b = 0; b < count; b++) {
      const double x = u[b];
      int64_t nearest;
      hg.window(x, lo[b], len[b], nearest);
      float* row = e.data() + b * span;
      const int64_t n = len[b];
      const double* c = hg.centre.data() + lo[b];
      const double dn = hg.centre[nearest] - x;
      const double m = dn * dn * hg.negHalfInvH2;
      for (int64_t j = 0; j < n; j++) {
        const double d = c[j] - x;
        row[j] = static_cast<float>(d * d * hg.negHalfInvH2 - m);
      }
      for (int64_t j = n; j < span; j++) row[j] = 0.0f;
    }
    vmath().exp(e.data(), e.data(), count * span);
  }

  // Σ_j e[j] of one value's window, in four interleaved double sums (a single chain is latency-bound).
  static double total(const float* e, int64_t len) {
    double t[4] = {0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 4 <= len; j += 4) {
      for (int q = 0; q < 4; q++) t[q] += e[j + q];
    }
    for (; j < len; j++) t[0] += e[j];
    return (t[0] + t[2]) + (t[1] + t[3]);
  }
};

// Values per block of assign(): enough to amortise the vmath call, with the block's scratch kept near 64 KiB.
int64_t blockCapacity(int64_t span) { return std::max<int64_t>(1, std::min<int64_t>(256, 16384 / span)); }

// The scalar path of softHistogram: adds the soft assignments of u[0, n) into hist (bin k at hist[k]).
void addScalar(const Histogram& hg, Block& blk, const float* u, int64_t n, double* hist) {
  const int64_t cap = static_cast<int64_t>(blk.lo.size());
  for (int64_t b0 = 0; b0 < n; b0 += cap) {
    const int64_t count = std::min(cap, n - b0);
    blk.assign(hg, u + b0, count);
    for (int64_t b = 0; b < count; b++) {
      const float* e = blk.e.data() + b * hg.span;
      const int64_t len = blk.len[b];
      const double inv = 1 / Block::total(e, len);
      double* hrow = hist + blk.lo[b];
      for (int64_t j = 0; j < len; j++) hrow[j] += e[j] * inv;
    }
  }
}

// The scalar path of softHistogramGrad: du[i] for u[0, n) and the cotangent gd (one value per bin).
// du = Σ a_k g_k s_k − ḡ Σ a_k s_k with ḡ = Σ a_k g_k and s_k = (c_k − u)/h², over u's window.
void gradScalar(const Histogram& hg, Block& blk, const float* u, int64_t n, const double* gd, float* du) {
  const int64_t cap = static_cast<int64_t>(blk.lo.size());
  for (int64_t b0 = 0; b0 < n; b0 += cap) {
    const int64_t count = std::min(cap, n - b0);
    const float* ub = u + b0;
    blk.assign(hg, ub, count);
    for (int64_t b = 0; b < count; b++) {
      const float* e = blk.e.data() + b * hg.span;
      const int64_t len = blk.len[b], lo = blk.lo[b];
      const double x = ub[b];
      const double* c = hg.centre.data() + lo;
      const double* gk = gd + lo;
      // 1/h² is factored out of the sums: s_k h² = c_k − u. Four interleaved lanes per sum (single chains would
      // be latency-bound).
      double t[4] = {0, 0, 0, 0}, g1[4] = {0, 0, 0, 0}, g2[4] = {0, 0, 0, 0}, s1[4] = {0, 0, 0, 0};
      int64_t j = 0;
      auto add = [&](int q, int64_t jj) {
        const double ej = e[jj];
        const double s = c[jj] - x;
        t[q] += ej;
        g1[q] += ej * gk[jj];
        g2[q] += ej * gk[jj] * s;
        s1[q] += ej * s;
      };
      for (; j + 4 <= len; j += 4) {
        for (int q = 0; q < 4; q++) add(q, j + q);
      }
      for (; j < len; j++) add(0, j);
      auto fold = [](const double* v) { return (v[0] + v[2]) + (v[1] + v[3]); };
      const double total = fold(t), eg = fold(g1), egs = fold(g2), es = fold(s1);
      const double inv = 1 / total;
      // NaN u has an empty window: 0, as on cpu.
      du[b0 + b] = len == 0 ? 0.0f : static_cast<float>((egs * inv - (eg * inv) * (es * inv)) / hg.h2);
    }
  }
}

// The vector path's parameters, when the attributes suit it (`use`); padding W bins on each side of its histograms.
struct VecSetup {
  bool use;
  int64_t pad;
  std::vector<float> q;
  SoftHistogramVecParams p{};

  explicit VecSetup(const Histogram& hg) {
    const double alpha = hg.width * hg.width / (2 * hg.h2);
    use = alpha <= kSoftHistogramVecMaxAlpha && hg.reach <= kSoftHistogramVecMaxReach && hg.bins <= kSoftHistogramVecMaxBins;
    pad = use ? hg.reach : 0;
    if (!use) return;
    q.resize(static_cast<size_t>(std::max<int64_t>(1, hg.reach)));
    for (int64_t m = 0; m < hg.reach; m++) q[m] = static_cast<float>(std::exp(-alpha * static_cast<double>(2 * m + 1)));
    p = {static_cast<int32_t>(hg.bins), static_cast<int32_t>(hg.reach), hg.low, 1 / hg.width, 2 * alpha,
         static_cast<float>(hg.width / hg.h2), q.data()};
  }
};

// Values per call of the vector kernels: their grouping by bin works on a call's values, and a bin's values are
// taken 16 at a time, so larger calls leave fewer part-filled groups (a bin's last).
constexpr int64_t kVecCall = 16384;
// The backward's blocks: a call of the vector kernel each, several per thread from 32768 values on.
constexpr int64_t kGradBlock = 8192;

// A thread's working memory for the vector kernels on up to `capacity` values, and for the values they skip. Left
// uninitialised (the kernels write before they read) but for the lane histogram, which they keep zero between calls.
struct VecBuffers {
  std::unique_ptr<float[]> sorted, rest, restDu;
  std::unique_ptr<int32_t[]> order, nearest, start, edge;
  std::vector<double> laneHist;
  Block blk;  // the scalar path's, for the skipped values
  SoftHistogramVecScratch scratch{};

  VecBuffers(int64_t capacity, const Histogram& hg, int64_t reach)
      : sorted(new float[capacity]), rest(new float[capacity]), restDu(new float[capacity]), order(new int32_t[capacity]),
        nearest(new int32_t[capacity]), start(new int32_t[hg.bins + 1]), edge(new int32_t[capacity]),
        laneHist(static_cast<size_t>((hg.bins + 2 * reach) * kSoftHistogramVecAccLanes), 0.0),
        blk(blockCapacity(hg.span), hg.span) {
    scratch = {sorted.get(), order.get(), nearest.get(), start.get(), laneHist.data()};
  }
};

void kSoftHistogram(const Task& t, ThreadPool& pool) {
  const Arg& ua = t.inputs[0];
  if (ua.dtype != DType::F32) throw KernelError(std::string("u must be f32, got ") + dtypeName(ua.dtype));
  const Histogram hg(t);
  const int64_t n = ua.numel();
  float* counts = static_cast<float*>(t.output.data);
  if (t.output.numel() != hg.bins) throw KernelError("output size differs from the bin count");
  Dense<float> u(ua, pool);
  const VecSetup vs(hg);
  const SoftHistogramVec& vec = softHistogramVec();
  // Chunks: at most 256, at least 4096 values each, and partial histograms within 64 MiB.
  const int64_t maxChunks = std::max<int64_t>(1, std::min<int64_t>(256, (int64_t{1} << 23) / hg.bins));
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(maxChunks, (n + 4095) / 4096));
  const int64_t per = (n + chunks - 1) / chunks;
  // Partial histograms with the vector path's padding, each on cache lines of its own (the padding's zeros are
  // written too, and two threads adding into one line would pass it back and forth).
  const int64_t stride = (hg.bins + 2 * vs.pad + 7) / 8 * 8;
  std::vector<double> partialStore(static_cast<size_t>(chunks * stride + 8), 0.0);
  double* const partial = partialStore.data() + (8 - reinterpret_cast<uintptr_t>(partialStore.data()) / 8 % 8) % 8;
  const int64_t cap = blockCapacity(hg.span);
  // one set of buffers per thread (parallelFor's thread index, the JS thread's included), made at its first chunk
  std::vector<std::unique_ptr<VecBuffers>> buffers(static_cast<size_t>(pool.threads() + 1));
  pool.parallelFor(chunks, [&](int64_t c, int thread) {
    const int64_t begin = c * per, end = std::min(n, begin + per);
    double* hist = partial + c * stride;
    if (!vs.use) {
      Block blk(cap, hg.span);
      if (end > begin) addScalar(hg, blk, u.get() + begin, end - begin, hist);
      return;
    }
    std::unique_ptr<VecBuffers>& mine = buffers[static_cast<size_t>(thread)];
    if (!mine) mine = std::make_unique<VecBuffers>(std::min(kVecCall, per), hg, vs.pad);
    VecBuffers& buf = *mine;
    for (int64_t b0 = begin; b0 < end; b0 += kVecCall) {
      const float* ub = u.get() + b0;
      const int64_t count = std::min(kVecCall, end - b0);
      const int64_t k = vec.forward(vs.p, ub, count, hist, buf.scratch, buf.edge.get());
      for (int64_t i = 0; i < k; i++) buf.rest[i] = ub[buf.edge[i]];
      addScalar(hg, buf.blk, buf.rest.get(), k, hist + vs.pad);
    }
  });
  pool.parallelRange(hg.bins, 256, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; k++) {
      double s = 0;
      for (int64_t c = 0; c < chunks; c++) {
        s += partial[c * stride + vs.pad + k];
      }
      counts[k] = static_cast<float>(s);
    }
  });
}

void kSoftHistogramGrad(const Task& t, ThreadPool& pool) {
  const Arg& ua = t.inputs[0];
  const Arg& ga = t.inputs[1];
  if (ua.dtype != DType::F32 || ga.dtype != DType::F32) throw KernelError("u and g must be f32");
  const Histogram hg(t);
  if (ga.numel() != hg.bins) throw KernelError("g must have one value per bin");
  const int64_t n = ua.numel();
  Dense<float> u(ua, pool);
  Dense<float> g(ga, pool);
  std::vector<double> gd(g.get(), g.get() + hg.bins);
  const VecSetup vs(hg);
  const SoftHistogramVec& vec = softHistogramVec();
  std::vector<float> gp(static_cast<size_t>(hg.bins + 2 * vs.pad), 0.0f);  // g with the vector path's padding
  std::copy(g.get(), g.get() + hg.bins, gp.begin() + vs.pad);
  float* du = static_cast<float*>(t.output.data);
  const int64_t cap = blockCapacity(hg.span);
  if (!vs.use) {
    pool.parallelRange(n, 4096, [&](int64_t begin, int64_t end) {
      Block blk(cap, hg.span);
      gradScalar(hg, blk, u.get() + begin, end - begin, gd.data(), du + begin);
    });
    return;
  }
  // Blocks of kGradBlock values (each value's du is its own, so any cut gives the same result), with one set of
  // buffers per thread as in the forward.
  const int64_t blocks = (n + kGradBlock - 1) / kGradBlock;
  std::vector<std::unique_ptr<VecBuffers>> buffers(static_cast<size_t>(pool.threads() + 1));
  pool.parallelFor(blocks, [&](int64_t b, int thread) {
    const int64_t b0 = b * kGradBlock, count = std::min(kGradBlock, n - b0);
    std::unique_ptr<VecBuffers>& mine = buffers[static_cast<size_t>(thread)];
    if (!mine) mine = std::make_unique<VecBuffers>(std::min(kGradBlock, n), hg, vs.pad);
    VecBuffers& buf = *mine;
    const float* ub = u.get() + b0;
    const int64_t k = vec.backward(vs.p, ub, count, gp.data(), du + b0, buf.scratch, buf.edge.get());
    for (int64_t i = 0; i < k; i++) buf.rest[i] = ub[buf.edge[i]];
    gradScalar(hg, buf.blk, buf.rest.get(), k, gd.data(), buf.restDu.get());
    for (int64_t i = 0; i < k; i++) du[b0 + buf.edge[i]] = buf.restDu[i];
  });
}

}  // namespace

std::vector<KernelEntry> softHistogramKernels() {
  return {{"softHistogram", kSoftHistogram}, {"softHistogramGrad", kSoftHistogramGrad}};
}

}  // namespace eitp
