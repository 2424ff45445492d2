// The body of train-vec for one ISA: included by train-vec-<isa>.cc inside `namespace eitp::<ns>` with that ISA's
// compiler flags. No standard-library calls (an inline function emitted with AVX-512 code in one file must never be
// picked by the linker for another): sqrt is the builtin, which -fno-math-errno turns into one instruction.

#define EITP_TRAIN_VEC_STR2(x) #x
#define EITP_TRAIN_VEC_STR(x) EITP_TRAIN_VEC_STR2(x)

namespace {

void reluGrad(const float* __restrict y, const float* __restrict g, float* __restrict out, int64_t n) {
  // g·1 or g·0, not a select of g: 0·Inf and 0·NaN stay NaN as in the reference g·f′.
  for (int64_t i = 0; i < n; i++) out[i] = g[i] * (y[i] > 0 ? 1.0f : 0.0f);
}

void tanhGrad(const float* __restrict y, const float* __restrict g, float* __restrict out, int64_t n) {
  // (1 − y)(1 + y) rather than 1 − y²: 1 − y is exact for y in [0.5, 1], so no cancellation as |y| → 1.
  for (int64_t i = 0; i < n; i++) out[i] = g[i] * ((1.0f - y[i]) * (1.0f + y[i]));
}

void sigmoidGrad(const float* __restrict y, const float* __restrict g, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = g[i] * (y[i] * (1.0f - y[i]));
}

template <bool kWeightDecay>
void adamLoop(const float* __restrict p, const float* __restrict g, const float* __restrict m, const float* __restrict v,
              float* __restrict pOut, float* __restrict mOut, float* __restrict vOut, int64_t n, const AdamScalars& s) {
  const float b1 = s.beta1, c1 = s.oneMinusBeta1, b2 = s.beta2, c2 = s.oneMinusBeta2, eps = s.eps, wd = s.weightDecay,
              decay = s.decay, step = s.stepSize, b2s = s.bias2Sqrt;
  for (int64_t i = 0; i < n; i++) {
    const float grad = kWeightDecay ? g[i] + wd * p[i] : g[i];
    const float m1 = b1 * m[i] + c1 * grad;
    const float v1 = b2 * v[i] + c2 * (grad * grad);
    const float denom = __builtin_sqrtf(v1) / b2s + eps;
    pOut[i] = decay * p[i] - (m1 / denom) * step;
    mOut[i] = m1;
    vOut[i] = v1;
  }
}

void adam(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut, int64_t n,
          const AdamScalars& s) {
  // weightDecay = 0 skips the term entirely (0·p would turn an infinite p into NaN).
  if (s.weightDecay != 0) adamLoop<true>(p, g, m, v, pOut, mOut, vOut, n, s);
  else adamLoop<false>(p, g, m, v, pOut, mOut, vOut, n, s);
}

// kMomentum: 0 none, 1 first step (buf′ = d, buf unread), 2 later steps (buf′ = momentum·buf + (1 − dampening)·d).
template <bool kWeightDecay, int kMomentum, bool kNesterov>
void sgdLoop(const float* __restrict p, const float* __restrict g, const float* __restrict buf, float* __restrict pOut,
             float* __restrict bufOut, int64_t n, const SgdScalars& s) {
  const float lr = s.lr, mu = s.momentum, c = s.oneMinusDampening, wd = s.weightDecay;
  for (int64_t i = 0; i < n; i++) {
    float d = kWeightDecay ? g[i] + wd * p[i] : g[i];
    if (kMomentum != 0) {
      const float b1 = kMomentum == 1 ? d : mu * buf[i] + c * d;
      bufOut[i] = b1;
      d = kNesterov ? d + mu * b1 : b1;
    }
    pOut[i] = p[i] - lr * d;
  }
}

template <bool kWeightDecay>
void sgdWith(const float* p, const float* g, const float* buf, float* pOut, float* bufOut, int64_t n, const SgdScalars& s) {
  if (!s.hasMomentum) sgdLoop<kWeightDecay, 0, false>(p, g, buf, pOut, bufOut, n, s);
  else if (s.first && s.nesterov) sgdLoop<kWeightDecay, 1, true>(p, g, buf, pOut, bufOut, n, s);
  else if (s.first) sgdLoop<kWeightDecay, 1, false>(p, g, buf, pOut, bufOut, n, s);
  else if (s.nesterov) sgdLoop<kWeightDecay, 2, true>(p, g, buf, pOut, bufOut, n, s);
  else sgdLoop<kWeightDecay, 2, false>(p, g, buf, pOut, bufOut, n, s);
}

void sgd(const float* p, const float* g, const float* buf, float* pOut, float* bufOut, int64_t n, const SgdScalars& s) {
  // As for adam: no weight decay skips the term (0·p would turn an infinite p into NaN).
  if (s.hasWeightDecay) sgdWith<true>(p, g, buf, pOut, bufOut, n, s);
  else sgdWith<false>(p, g, buf, pOut, bufOut, n, s);
}

}  // namespace

TrainVec table() { return {EITP_TRAIN_VEC_STR(EITP_TRAIN_VEC_NS), reluGrad, tanhGrad, sigmoidGrad, adam, sgd}; }
