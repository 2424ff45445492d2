/**
 * One case or more per op: seeded inputs with ragged shapes, a function of them, and the ops it exercises.
 * The parity suite runs each case forward and backward on every backend and compares with cpu.
 */
import * as et from '../../engine/index.js';

export interface InputSpec {
  shape: number[];
  /** 'normal' (default), 'positive' (for log/sqrt/pow), or an integer range for index inputs. */
  kind?: 'normal' | 'positive' | { intBelow: number };
}

export interface OpCase {
  name: string;
  covers: et.OpName[];
  inputs: InputSpec[];
  fn: (...xs: et.Tensor[]) => et.Tensor;
}

const S = (...shape: number[]): InputSpec => ({ shape });
/** Both outputs of et.tanhJvpStep as one tensor [B, out + 1], so a case checks the direction and the log norm. */
const tanhStepOut = (s: et.TanhJvpStep) => et.concat([s.direction, s.logNorm.reshape([-1, 1])], 1);
const P = (...shape: number[]): InputSpec => ({ shape, kind: 'positive' });
const I = (below: number, ...shape: number[]): InputSpec => ({ shape, kind: { intBelow: below } });

const unary = (['neg', 'exp', 'tanh', 'sigmoid', 'relu', 'abs', 'square', 'erf'] as const).map(
  (op): OpCase => ({ name: op, covers: [op], inputs: [S(7, 33)], fn: (x) => et[op](x!) }),
);

export const OP_CASES: OpCase[] = [
  ...unary,
  { name: 'log', covers: ['log'], inputs: [P(33, 7)], fn: (x) => et.log(x!) },
  { name: 'sqrt', covers: ['sqrt'], inputs: [P(257)], fn: (x) => et.sqrt(x!) },
  { name: 'rsqrt', covers: ['rsqrt'], inputs: [P(5, 3)], fn: (x) => et.rsqrt(x!) },
  { name: 'gelu', covers: ['gelu', 'geluGrad'], inputs: [S(7, 33)], fn: (x) => et.gelu(x!) },
  { name: 'gelu tanh', covers: ['gelu', 'geluGrad'], inputs: [S(33)], fn: (x) => et.gelu(x!, { approximate: 'tanh' }) },
  { name: 'gelu wide, large |x|', covers: ['gelu', 'geluGrad'], inputs: [S(3, 257)], fn: (x) => et.gelu(et.mul(x!, 4), { approximate: 'tanh' }).add(et.gelu(et.mul(x!, 4))) },
  { name: 'sign (forward)', covers: ['sign'], inputs: [S(7, 5)], fn: (x) => et.mul(x!, et.sign(x!)) },
  { name: 'add broadcast', covers: ['add', 'expand', 'sum'], inputs: [S(7, 33), S(33)], fn: (a, b) => et.add(a!, b!) },
  { name: 'sub broadcast', covers: ['sub'], inputs: [S(7, 1), S(1, 5)], fn: (a, b) => et.sub(a!, b!) },
  { name: 'mul', covers: ['mul'], inputs: [S(3, 7, 5), S(7, 5)], fn: (a, b) => et.mul(a!, b!) },
  { name: 'div', covers: ['div'], inputs: [S(33, 7), P(33, 7)], fn: (a, b) => et.div(a!, b!) },
  { name: 'pow', covers: ['pow'], inputs: [P(7, 5), S(5)], fn: (a, b) => et.pow(a!, b!) },
  { name: 'maximum/minimum', covers: ['maximum', 'minimum'], inputs: [S(7, 33), S(7, 33)], fn: (a, b) => et.add(et.maximum(a!, b!), et.minimum(a!, b!).mul(0.5)) },
  {
    name: 'comparisons + where',
    covers: ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'where', 'cast'],
    inputs: [S(7, 33), S(7, 33)],
    fn: (a, b) => {
      const masks = [et.lt(a!, b!), et.le(a!, 0.1), et.gt(b!, 0.2), et.ge(a!, b!), et.eq(a!, a!), et.ne(a!, b!)];
      const picked = et.where(masks[0]!, a!, b!);
      return masks.reduce((acc, m) => acc.add(et.cast(m, a!.dtype)), picked);
    },
  },
  { name: 'sum axes', covers: ['sum'], inputs: [S(3, 7, 33)], fn: (x) => et.sum(x!, [0, 2], true) },
  { name: 'mean', covers: ['mean'], inputs: [S(7, 33)], fn: (x) => et.mean(x!, 1) },
  { name: 'max', covers: ['max'], inputs: [S(7, 33)], fn: (x) => et.max(x!, 0) },
  { name: 'logsumexp', covers: ['logsumexp'], inputs: [S(5, 257)], fn: (x) => et.logsumexp(x!, -1) },
  { name: 'var', covers: ['var'], inputs: [S(7, 33)], fn: (x) => et.var(x!, 1, false, 1) },
  { name: 'norm', covers: ['norm'], inputs: [S(7, 33)], fn: (x) => et.norm(x!, [0, 1]) },
  { name: 'argmax', covers: ['argmax'], inputs: [S(7, 33)], fn: (x) => et.cast(et.argmax(x!, 1), x!.dtype).add(x!.sum(1)) },
  { name: 'matmul ragged', covers: ['matmul'], inputs: [S(7, 33), S(33, 5)], fn: (a, b) => et.matmul(a!, b!) },
  { name: 'matmul batched broadcast', covers: ['matmul', 'expand'], inputs: [S(3, 1, 7, 5), S(4, 5, 9)], fn: (a, b) => et.matmul(a!, b!) },
  { name: 'matmul transposed operand', covers: ['matmul', 'permute'], inputs: [S(33, 7), S(5, 33)], fn: (a, b) => et.matmul(et.transpose(a!), et.transpose(b!)) },
  { name: 'softmax', covers: ['softmax'], inputs: [S(7, 33)], fn: (x) => et.softmax(x!, -1) },
  { name: 'softmax axis 0', covers: ['softmax'], inputs: [S(7, 5, 3)], fn: (x) => et.softmax(x!, 0) },
  { name: 'logSoftmax', covers: ['logSoftmax'], inputs: [S(3, 7, 33)], fn: (x) => et.logSoftmax(x!, 1) },
  { name: 'crossEntropy mean', covers: ['crossEntropy', 'crossEntropyGrad'], inputs: [S(33, 7), I(7, 33)], fn: (x, t) => et.crossEntropy(x!, t!) },
  { name: 'crossEntropy sum', covers: ['crossEntropy', 'crossEntropyGrad'], inputs: [S(1, 257), I(257, 1)], fn: (x, t) => et.crossEntropy(x!, t!, { reduction: 'sum' }) },
  { name: 'crossEntropyGrad (double backward)', covers: ['crossEntropyGrad'], inputs: [S(7, 5), I(5, 7)], fn: (x, t) => et.grad((z: et.Tensor) => et.crossEntropy(z, t!))(x!) as et.Tensor },
  { name: 'oneHot', covers: ['oneHot'], inputs: [S(33, 7), I(7, 33)], fn: (x, t) => et.mul(x!, et.oneHot(t!, 7, x!.dtype)) },
  { name: 'crossEntropy none 3-D', covers: ['crossEntropy'], inputs: [S(3, 5, 7), I(7, 3, 5)], fn: (x, t) => et.crossEntropy(x!, t!, { reduction: 'none' }) },
  { name: 'layerNorm', covers: ['layerNorm', 'layerNormGrad'], inputs: [S(7, 33), S(33), S(33)], fn: (x, w, b) => et.layerNorm(x!, w!, b!, 1e-5) },
  { name: 'layerNorm 3-D wide', covers: ['layerNorm', 'layerNormGrad'], inputs: [S(3, 5, 257), S(257), S(257)], fn: (x, w, b) => et.layerNorm(x!, w!, b!, 1e-5) },
  { name: 'layerNorm one row', covers: ['layerNorm', 'layerNormGrad'], inputs: [S(1, 7), S(7), S(7)], fn: (x, w, b) => et.layerNorm(x!, w!, b!, 1e-5) },
  {
    name: 'layerNormGrad (double backward)',
    covers: ['layerNormGrad', 'layerNormGradGrad'],
    inputs: [S(5, 9), S(9), S(9)],
    fn: (x, w, b) => {
      const [dx, dw] = et.grad((z: et.Tensor, g: et.Tensor) => et.layerNorm(z, g, b!, 1e-5).square().sum(), { argnums: [0, 1] })(x!, w!) as et.Tensor[];
      return dx!.add(dw!);
    },
  },
  {
    // the FTLE's path: a LayerNorm tangent (J v ⊙ w) differentiated in x, w and v
    name: 'layerNorm tangent, differentiated (layerNormGradGrad)',
    covers: ['layerNormGrad', 'layerNormGradGrad'],
    inputs: [S(6, 3, 37), S(37), S(37), S(6, 3, 37)],
    fn: (x, w, b, v) => et.jvp((z: et.Tensor) => et.layerNorm(z, w!, b!, 1e-5), [x!], [v!])[1]!,
  },
  {
    name: 'geluGrad (double backward), both forms',
    covers: ['geluGrad'],
    inputs: [S(7, 33)],
    fn: (x) => et.grad((z: et.Tensor) => et.gelu(z).add(et.gelu(z, { approximate: 'tanh' })).square().sum())(x!) as et.Tensor,
  },
  {
    name: 'activationGrad (double backward)',
    covers: ['activationGrad'],
    inputs: [S(7, 33)],
    fn: (x) => et.grad((z: et.Tensor) => et.tanh(z).add(et.sigmoid(z)).add(et.relu(z)).square().sum())(x!) as et.Tensor,
  },
  { name: 'linear relu, transposed weight', covers: ['linear', 'activationGrad'], inputs: [S(7, 33), S(5, 33), S(5)], fn: (x, w, b) => et.linear(x!, et.transpose(w!), b!, 'relu') },
  { name: 'linear none, dense weight', covers: ['linear'], inputs: [S(33, 7), S(7, 65), S(65)], fn: (x, w, b) => et.linear(x!, w!, b!) },
  { name: 'linear tanh 3-D x', covers: ['linear', 'activationGrad'], inputs: [S(3, 5, 17), S(257, 17), S(257)], fn: (x, w, b) => et.linear(x!, et.transpose(w!), b!, 'tanh') },
  { name: 'linear sigmoid one row', covers: ['linear', 'activationGrad'], inputs: [S(1, 129), S(129, 3), S(3)], fn: (x, w, b) => et.linear(x!, w!, b!, 'sigmoid') },
  {
    name: 'adamStep',
    covers: ['adamStep'],
    inputs: [S(7, 33), S(7, 33), S(7, 33), P(7, 33)],
    fn: (p, g, m, v) => et.adamStep(p!, g!, m!, v!, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decay: 1, stepSize: 0.01, bias2Sqrt: 0.05 }),
  },
  {
    name: 'sgdStep, Nesterov momentum and weight decay',
    covers: ['sgdStep'],
    inputs: [S(7, 33), S(7, 33), S(7, 33)],
    fn: (p, g, b) => et.sgdStep(p!, g!, b!, { lr: 0.1, momentum: 0.9, dampening: 0, nesterov: true, weightDecay: 0.01, first: false }),
  },
  { name: 'sgdStep, plain', covers: ['sgdStep'], inputs: [S(257), S(257)], fn: (p, g) => et.sgdStep(p!, g!, g!, { lr: 0.5, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, first: false }) },
  {
    name: 'adamStep on offset views (AdamW)',
    covers: ['adamStep', 'slice'],
    inputs: [P(3, 257), S(257)],
    fn: (pk, g) => {
      const part = (k: number) => et.reshape(et.slice(pk!, [k, 0], [k + 1, 257]), [257]);
      return et.adamStep(part(0), g!, part(1), part(2), { beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0, decay: 0.999, stepSize: 0.1, bias2Sqrt: 0.3 });
    },
  },
  // u·3 spreads values past the histogram's ±4 range; 4099 values span many workgroups / blocks / thread chunks.
  { name: 'softHistogram', covers: ['softHistogram', 'softHistogramGrad'], inputs: [S(257)], fn: (u) => et.softHistogram(et.mul(u!, 3)) },
  { name: 'softHistogram large', covers: ['softHistogram', 'softHistogramGrad'], inputs: [S(4099)], fn: (u) => et.softHistogram(u!, { bins: 33, low: -3, width: 0.2, bandwidth: 0.15 }) },
  { name: 'coherence', covers: ['coherence', 'coherenceGrad'], inputs: [S(67, 9)], fn: (z) => et.coherence(z!) },
  { name: 'coherence wide', covers: ['coherence', 'coherenceGrad'], inputs: [S(257, 33)], fn: (z) => et.coherence(et.add(z!, et.slice(z!, [0, 0], [257, 1]))) },
  // N < d (R has rank < d), a transposed input, and a cotangent that is not 1
  { name: 'coherence of a view, N < d', covers: ['coherence', 'coherenceGrad'], inputs: [S(33, 9)], fn: (z) => et.mul(et.coherence(et.transpose(z!)), 3) },
  { name: 'coherence through R', covers: ['correlation', 'correlationGrad'], inputs: [S(67, 9)], fn: (z) => et.coherenceOfCorrelation(et.correlation(z!)) },
  { name: 'correlation (non-symmetric cotangent)', covers: ['correlation', 'correlationGrad'], inputs: [S(7, 5)], fn: (z) => et.correlation(z!) },
  { name: 'correlation wide', covers: ['correlation', 'correlationGrad'], inputs: [S(9, 67)], fn: (z) => et.correlation(z!) },
  // τ from a one-element input (its cotangent goes through the composite); a strided (transposed) a; 4,115 values
  // span many workgroups / blocks / thread chunks; the double backward differentiates activationDensityGrad.
  // softmax's backward and tangent as one op; along a middle axis (elements strided), and differentiated twice
  // (their backward in y and g is softmaxGradGrad)
  { name: 'softmaxGrad', covers: ['softmaxGrad', 'softmaxGradGrad'], inputs: [S(7, 33), S(7, 33)], fn: (x, g) => et.softmaxGrad(et.softmax(x!, 1), g!, 1) },
  { name: 'softmaxGrad middle axis', covers: ['softmaxGrad', 'softmaxGradGrad'], inputs: [S(3, 17, 5), S(3, 17, 5)], fn: (x, g) => et.softmaxGrad(et.softmax(x!, 1), g!, 1) },
  {
    name: 'softmax (double backward)',
    covers: ['softmax', 'softmaxGrad'],
    inputs: [S(5, 33)],
    fn: (x) => et.grad((z: et.Tensor) => et.softmax(z, -1).square().sum())(x!) as et.Tensor,
  },
  { name: 'activationDensity', covers: ['activationDensity', 'activationDensityGrad'], inputs: [S(7, 33), S(1)], fn: (a, t) => et.activationDensity(a!, et.mul(t!, 0.5), { eps: 1e-3 }) },
  { name: 'activationDensity strided', covers: ['activationDensity', 'activationDensityGrad'], inputs: [S(33, 7), S()], fn: (a, t) => et.activationDensity(et.transpose(a!), t!) },
  { name: 'activationDensity large', covers: ['activationDensity', 'activationDensityGrad'], inputs: [S(5, 823), S()], fn: (a, t) => et.activationDensity(et.mul(a!, 3), et.mul(t!, 0.3)) },
  {
    name: 'activationDensityGrad (double backward)',
    covers: ['activationDensityGrad'],
    inputs: [S(7, 33), S()],
    fn: (a, t) => et.grad((z: et.Tensor, s: et.Tensor) => et.activationDensity(z, s, { eps: 0.01 }))(a!, t!) as et.Tensor,
  },
  { name: 'tanhJvp', covers: ['tanhJvp'], inputs: [S(7, 33), S(7, 5), S(33, 5)], fn: (h, v, w) => et.tanhJvp(et.tanh(h!), v!, w!) },
  { name: 'tanhJvp wide', covers: ['tanhJvp'], inputs: [S(3, 257), S(3, 67), S(257, 67)], fn: (h, v, w) => et.tanhJvp(et.tanh(h!), v!, w!) },
  { name: 'tanhJvpStep', covers: ['tanhJvpStep', 'tanhJvpStepGrad'], inputs: [S(7, 33), S(7, 5), S(33, 5)], fn: (h, v, w) => tanhStepOut(et.tanhJvpStep(et.tanh(h!), v!, w!)) },
  { name: 'tanhJvpStep wide', covers: ['tanhJvpStep', 'tanhJvpStepGrad'], inputs: [S(3, 257), S(3, 9), S(257, 9)], fn: (h, v, w) => tanhStepOut(et.tanhJvpStep(et.tanh(h!), v!, w!)) },
  // the logNorm view alone: its cotangent reaches the op with a zero direction block
  { name: 'tanhJvpStep logNorm', covers: ['tanhJvpStep', 'tanhJvpStepGrad'], inputs: [S(4, 9), S(4, 6), S(9, 6)], fn: (h, v, w) => et.tanhJvpStep(et.tanh(h!), v!, w!).logNorm },
  {
    name: 'matmulInt8 f32 activations',
    covers: ['matmulInt8', 'cast'],
    inputs: [S(7, 33), I(255, 5, 33), P(5)],
    fn: (x, w, s) => et.matmulInt8(x!, et.cast(et.sub(w!, 127), 'i8'), et.mul(s!, 0.01)),
  },
  {
    name: 'matmulInt8 int8 activations',
    covers: ['matmulInt8', 'cast'],
    inputs: [S(3, 7, 67), I(255, 9, 67), P(9)],
    fn: (x, w, s) => et.matmulInt8(x!, et.cast(et.sub(w!, 127), 'i8'), et.mul(s!, 0.01), { activations: 'int8' }),
  },
  { name: 'embedding', covers: ['embedding', 'scatterAdd'], inputs: [S(11, 7), I(11, 5, 3)], fn: (w, i) => et.embedding(w!, i!) },
  { name: 'scatterAdd', covers: ['scatterAdd', 'embedding'], inputs: [I(5, 33), S(33, 7)], fn: (i, v) => et.scatterAdd(i!, v!, 5) },
  { name: 'concat', covers: ['concat', 'slice'], inputs: [S(7, 3), S(7, 5)], fn: (a, b) => et.concat([a!, b!], 1) },
  { name: 'stack + split', covers: ['concat', 'slice', 'reshape'], inputs: [S(7, 3), S(7, 3)], fn: (a, b) => et.split(et.stack([a!, b!], 1), [1, 1], 1)[1]! },
  { name: 'pad', covers: ['pad', 'slice'], inputs: [S(7, 5)], fn: (x) => et.pad(x!, [[1, 2], [0, 3]]) },
  { name: 'slice view', covers: ['slice', 'contiguous'], inputs: [S(7, 33)], fn: (x) => et.contiguous(et.slice(x!, [1, 3], [6, 30])) },
  // q and k as the GPT takes them: last-axis slices of one [B, T, 3d] projection, split into heads by a reshape that
  // stays a view (row stride 3d), permuted to [B, H, T, hd]; their batched product, a reduction and exp read them strided
  {
    name: 'reshape view of a sliced projection (attention heads)',
    covers: ['reshape', 'slice', 'permute', 'matmul'],
    inputs: [S(2, 5, 18)],
    fn: (x) => {
      const head = (k: number) => et.slice(x!, [0, 0, 6 * k], [2, 5, 6 * k + 6]).reshape([2, 5, 2, 3]).permute([0, 2, 1, 3]);
      const [q, k] = [head(0), head(1)];
      return et.matmul(q, et.transpose(k)).add(et.sum(et.exp(head(2)), -1, true));
    },
  },
  { name: 'reshape of transposed', covers: ['reshape', 'permute', 'contiguous'], inputs: [S(7, 33)], fn: (x) => et.reshape(et.transpose(x!), [33 * 7]) },
  { name: 'stopGradient', covers: ['stopGradient'], inputs: [S(7, 5)], fn: (x) => et.mul(x!, et.stopGradient(x!)) },
];
