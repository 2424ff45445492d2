/**
 * The fused training kernels on the host (the reference the other backends are tested against): softmax
 * cross-entropy backward, layerNorm backward, activation backward, matmul + bias + activation, Adam step.
 */
import type { Kernel, KernelOpName } from '../../backend.js';
import type { GradActivation } from '../../ops/attrs.js';
import { ArgumentError } from '../../errors.js';
import type { CpuBuffer } from './cpu-buffer.js';
import { matmulKernels } from './matmul.js';
import { rowMoments } from './nn.js';
import { dense, out } from './strided.js';
import { erf } from '../scalar-math.js';

type CpuKernel<K extends KernelOpName> = Kernel<K, CpuBuffer>;

/** g·f′ from the output y. */
function activationSlope(activation: GradActivation): (y: number) => number {
  if (activation === 'relu') return (y) => (y > 0 ? 1 : 0);
  if (activation === 'tanh') return (y) => 1 - y * y;
  return (y) => y * (1 - y);
}

function activationOf(activation: 'none' | GradActivation): (z: number) => number {
  if (activation === 'relu') return (z) => (z > 0 || Number.isNaN(z) ? z : 0);
  if (activation === 'tanh') return Math.tanh;
  if (activation === 'sigmoid') return (z) => 1 / (1 + Math.exp(-z));
  return (z) => z;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

/** gelu′(x): Φ(x) + x·φ(x) exactly, or the derivative of 0.5x(1 + tanh(√(2/π)(x + c x³))). */
function geluSlope(x: number, approximate: 'none' | 'tanh'): number {
  if (approximate === 'tanh') {
    const th = Math.tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
    return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x);
  }
  return 0.5 * (1 + erf(x * Math.SQRT1_2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
}

/**
 * gelu″(x): φ(x)(2 − x²) exactly; for the tanh form s·(u′ + 3ckx² − x·t·u′²), t = tanh(u), s = 1 − t²,
 * u = √(2/π)(x + c x³), u′ = √(2/π)(1 + 3c x²). Where s or φ is 0 the result is 0: the limit at ±∞, not 0·∞.
 */
function geluCurvature(x: number, approximate: 'none' | 'tanh'): number {
  if (approximate === 'tanh') {
    const th = Math.tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
    const s = 1 - th * th;
    const du = SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x);
    return s === 0 ? 0 : s * (du + 3 * GELU_C * SQRT_2_OVER_PI * x * x - x * th * du * du);
  }
  const pdf = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
  return pdf === 0 ? 0 : pdf * (2 - x * x);
}

export const trainFusedKernels = {
  crossEntropyGrad: (([logits, targets, g], o, { reduction }) => {
    const shape = logits!.layout.shape;
    const classes = shape[shape.length - 1]!;
    const x = dense(logits!);
    const t = dense(targets!);
    const gv = dense(g!);
    const rows = t.length;
    const r = out(o);
    for (let i = 0; i < rows; i++) {
      const y = t[i]!;
      if (!(y >= 0 && y < classes)) {
        throw new ArgumentError(`target ${y} at position ${i} is outside [0, ${classes})`, { op: 'crossEntropyGrad', shapes: [shape, targets!.layout.shape] });
      }
      const scale = reduction === 'none' ? gv[i]! : reduction === 'mean' ? gv[0]! / rows : gv[0]!;
      const s = i * classes;
      let m = -Infinity;
      for (let j = 0; j < classes; j++) m = Math.max(m, x[s + j]!);
      let z = 0;
      for (let j = 0; j < classes; j++) z += Math.exp(x[s + j]! - m);
      for (let j = 0; j < classes; j++) r[s + j] = (Math.exp(x[s + j]! - m) / z - (j === y ? 1 : 0)) * scale;
    }
  }) as CpuKernel<'crossEntropyGrad'>,
  layerNormGrad: (([x, w, g], o, { eps }) => {
    const shape = x!.layout.shape;
    const d = shape[shape.length - 1]!;
    const a = dense(x!);
    const gamma = dense(w!);
    const gv = dense(g!);
    const r = out(o);
    const rows = a.length / d;
    const dw = new Float64Array(d);
    const db = new Float64Array(d);
    const xhat = new Float64Array(d);
    for (let i = 0; i < rows; i++) {
      const s = i * d;
      const { mu, rstd } = rowMoments(a, s, d, eps);
      let meanGw = 0;
      let meanGwX = 0;
      for (let j = 0; j < d; j++) {
        xhat[j] = (a[s + j]! - mu) * rstd;
        const gw = gv[s + j]! * gamma[j]!;
        meanGw += gw;
        meanGwX += gw * xhat[j]!;
        dw[j]! += gv[s + j]! * xhat[j]!;
        db[j]! += gv[s + j]!;
      }
      meanGw /= d;
      meanGwX /= d;
      for (let j = 0; j < d; j++) r[s + j] = rstd * (gv[s + j]! * gamma[j]! - meanGw - xhat[j]! * meanGwX);
    }
    r.set(dw, rows * d);
    r.set(db, (rows + 1) * d);
  }) as CpuKernel<'layerNormGrad'>,
  geluGrad: (([x, g], o, { approximate, order }) => {
    const xv = dense(x!);
    const gv = dense(g!);
    const r = out(o);
    const slope = order === 2 ? geluCurvature : geluSlope;
    for (let i = 0; i < r.length; i++) r[i] = gv[i]! * slope(xv[i]!, approximate);
  }) as CpuKernel<'geluGrad'>,
  activationGrad: (([y, g], o, { activation }) => {
    const slope = activationSlope(activation);
    const yv = dense(y!);
    const gv = dense(g!);
    const r = out(o);
    for (let i = 0; i < r.length; i++) r[i] = gv[i]! * slope(yv[i]!);
  }) as CpuKernel<'activationGrad'>,
  linear: (([x, w, b], o, attrs) => {
    matmulKernels.matmul([x!, w!], o, {});
    const act = activationOf(attrs.activation);
    const bias = dense(b!);
    const r = out(o);
    const n = bias.length;
    for (let i = 0; i < r.length; i++) r[i] = act(r[i]! + bias[i % n]!);
  }) as CpuKernel<'linear'>,
  adamStep: (([p, g, m, v], o, a) => {
    const [pv, gv, mv, vv] = [dense(p!), dense(g!), dense(m!), dense(v!)];
    const r = out(o);
    const n = pv.length;
    for (let i = 0; i < n; i++) {
      const grad = a.weightDecay !== 0 ? gv[i]! + a.weightDecay * pv[i]! : gv[i]!;
      const m1 = a.beta1 * mv[i]! + (1 - a.beta1) * grad;
      const v1 = a.beta2 * vv[i]! + (1 - a.beta2) * grad * grad;
      r[i] = a.decay * pv[i]! - (m1 / (Math.sqrt(v1) / a.bias2Sqrt + a.eps)) * a.stepSize;
      r[n + i] = m1;
      r[2 * n + i] = v1;
    }
  }) as CpuKernel<'adamStep'>,
  sgdStep: (([p, g, buf], o, a) => {
    const [pv, gv] = [dense(p!), dense(g!)];
    const bv = a.momentum !== 0 && !a.first ? dense(buf!) : null;
    const r = out(o);
    const n = pv.length;
    for (let i = 0; i < n; i++) {
      let d = a.weightDecay !== 0 ? gv[i]! + a.weightDecay * pv[i]! : gv[i]!;
      if (a.momentum !== 0) {
        const b1 = bv ? a.momentum * bv[i]! + (1 - a.dampening) * d : d;
        r[n + i] = b1;
        d = a.nesterov ? d + a.momentum * b1 : b1;
      }
      r[i] = pv[i]! - a.lr * d;
    }
  }) as CpuKernel<'sgdStep'>,
};
