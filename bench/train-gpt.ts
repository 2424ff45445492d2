/**
 * `npm run bench -- train [--quick] [--webgpu] [--json FILE]`: tokens/s of one char-GPT training step (forward, cross-entropy
 * over every position, backward, Adam(W) update, read-back of the loss) on every available engine backend, side by
 * side in one run with the same model written in TensorFlow.js on its cpu and wasm backends.
 *
 * Same architecture on both sides: learned token and position embeddings, pre-LN blocks of causal multi-head
 * attention (additive mask) and a tanh-GELU MLP, final LayerNorm, tied unembedding. tfjs has no AdamW and no fused
 * layerNorm: its step uses tf.train.adam and a moments-based LayerNorm (both are the obvious tfjs equivalents), and
 * its embedding is a one-hot matmul (tfjs-wasm lacks the gather gradient's kernel).
 * A second engine row per backend times the full EIT-P step of the main job (every term on, spec λ), which tfjs
 * has no counterpart for.
 */
import { writeFileSync } from 'node:fs';
import * as et from '../engine/index.js';
import { eitpObjective } from '../src/eitp/index.js';
import { CharGpt } from '../src/models/gpt.js';
import { type Tf, loadTf } from './tfjs-peers.js';

interface Size {
  name: string;
  vocab: number;
  T: number;
  d: number;
  L: number;
  H: number;
  B: number;
}

const SIZES: Size[] = [
  { name: 'main job (d32 L2 T24 B32)', vocab: 21, T: 24, d: 32, L: 2, H: 2, B: 32 },
  { name: 'small LM (d128 L4 T64 B16)', vocab: 65, T: 64, d: 128, L: 4, H: 4, B: 16 },
];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonAt = args.indexOf('--json');
const budgetMs = quick ? 300 : 4000;

interface Row {
  size: string;
  impl: string;
  tokensPerSec: number;
  msPerStep: number;
  steps: number;
  note?: string;
}

function batch(s: Size, seed: number): { x: Int32Array; y: Int32Array } {
  const rng = new et.Rng(seed);
  const x = new Int32Array(s.B * s.T);
  const y = new Int32Array(s.B * s.T);
  for (let i = 0; i < x.length; i++) {
    x[i] = rng.int(0, s.vocab);
    y[i] = rng.int(0, s.vocab);
  }
  return { x, y };
}

/** Warm-up, then steps until the budget is spent; each step ends with the loss read back. */
async function time(step: () => Promise<number>): Promise<{ ms: number; steps: number }> {
  for (let i = 0; i < (quick ? 1 : 3); i++) await step();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < budgetMs || n < 3) {
    await step();
    n++;
  }
  return { ms: (performance.now() - t0) / n, steps: n };
}

async function engineRows(s: Size, backend: et.BackendName, eitp: boolean): Promise<Row> {
  et.setBackend(backend);
  const model = new CharGpt({ vocabSize: s.vocab, context: s.T, width: s.d, depth: s.L, heads: s.H, seed: 0 });
  const opt = new et.optim.AdamW(model.parameters(), { lr: 1e-3 });
  const { x, y } = batch(s, 1);
  const xs = et.tensor(x, { shape: [s.B, s.T] });
  const ys = et.tensor(y, { shape: [s.B, s.T] });
  let step = 0;
  const r = await time(async () => {
    const loss = et.tidy(() => {
      step++;
      const l = eitp
        ? eitpObjective(model, { inputs: xs, targets: ys }, undefined, { epoch: 0, step, report: false }).total
        : et.crossEntropy(model.forward(xs).logits, ys);
      l.backward();
      opt.step();
      opt.zeroGrad();
      return l;
    });
    const v = await loss.item();
    loss.dispose();
    return v;
  });
  et.dispose([xs, ys, ...model.parameters()]);
  opt.dispose();
  return { size: s.name, impl: `eitp ${backend}${eitp ? ' + EIT-P terms' : ''}`, tokensPerSec: (s.B * s.T * 1000) / r.ms, msPerStep: r.ms, steps: r.steps };
}


async function tfjsRow(tf: Tf, s: Size, backend: string): Promise<Row> {
  await tf.setBackend(backend);
  await tf.ready();
  const std = 0.02;
  const v = (shape: number[], scale = std) => tf.variable(tf.randomNormal(shape, 0, scale));
  const ones = (n: number) => tf.variable(tf.ones([n]));
  const zeros = (n: number) => tf.variable(tf.zeros([n]));
  const wte = v([s.vocab, s.d]);
  const wpe = v([s.T, s.d]);
  const res = std / Math.sqrt(2 * s.L);
  const blocks = Array.from({ length: s.L }, () => ({
    g1: ones(s.d), b1: zeros(s.d), wqkv: v([s.d, 3 * s.d]), bqkv: zeros(3 * s.d), wo: v([s.d, s.d], res), bo: zeros(s.d),
    g2: ones(s.d), b2: zeros(s.d), w1: v([s.d, 4 * s.d]), bb1: zeros(4 * s.d), w2: v([4 * s.d, s.d], res), bb2: zeros(s.d),
  }));
  const gf = ones(s.d);
  const bf = zeros(s.d);
  const maskData = new Float32Array(s.T * s.T);
  for (let i = 0; i < s.T; i++) for (let j = i + 1; j < s.T; j++) maskData[i * s.T + j] = -1e9;
  const mask = tf.tensor2d(maskData, [s.T, s.T]);
  type T = import('@tensorflow/tfjs-core').Tensor;
  // functional ops only: tfjs-core registers the chained methods (x.add) only through a side-effect import
  const { add, mul, sub, matMul, reshape, transpose } = tf;
  const ln = (x: T, g: T, b: T) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return add(mul(mul(sub(x, mean), tf.rsqrt(add(variance, 1e-5))), g), b);
  };
  const gelu = (x: T) => mul(mul(x, 0.5), add(tf.tanh(mul(add(x, mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))), 1));
  const { x, y } = batch(s, 1);
  // the embedding is a one-hot matmul: tfjs-wasm has no kernel for gather's gradient (UnsortedSegmentSum)
  const xs = tf.cast(tf.oneHot(tf.tensor1d(x, 'int32'), s.vocab), 'float32');
  const ys = tf.oneHot(tf.tensor1d(y, 'int32'), s.vocab);
  const hd = s.d / s.H;
  const optimizer = tf.train.adam(1e-3);
  const N = s.B * s.T;
  const lossFn = () => {
    let h: T = add(reshape(matMul(xs, wte), [s.B, s.T, s.d]), wpe);
    for (const b of blocks) {
      const a = reshape(ln(h, b.g1, b.b1), [N, s.d]);
      const qkv = transpose(reshape(add(matMul(a, b.wqkv), b.bqkv), [s.B, s.T, 3, s.H, hd]), [2, 0, 3, 1, 4]);
      const [q, k, vv] = tf.unstack(qkv, 0) as [T, T, T];
      const att = tf.softmax(add(mul(matMul(q, k, false, true), 1 / Math.sqrt(hd)), mask));
      const o = reshape(transpose(matMul(att, vv), [0, 2, 1, 3]), [N, s.d]);
      h = add(h, reshape(add(matMul(o, b.wo), b.bo), [s.B, s.T, s.d]));
      const m = gelu(add(matMul(reshape(ln(h, b.g2, b.b2), [N, s.d]), b.w1), b.bb1));
      h = add(h, reshape(add(matMul(m, b.w2), b.bb2), [s.B, s.T, s.d]));
    }
    const logits = matMul(reshape(ln(h, gf, bf), [N, s.d]), wte, false, true);
    return tf.losses.softmaxCrossEntropy(ys, logits) as import('@tensorflow/tfjs-core').Scalar;
  };
  const r = await time(async () => {
    const loss = optimizer.minimize(lossFn, true)!;
    const out = (await loss.data())[0]!;
    loss.dispose();
    return out;
  });
  optimizer.dispose();
  tf.disposeVariables();
  tf.dispose([mask, xs, ys]);
  return { size: s.name, impl: `tfjs ${backend}`, tokensPerSec: (s.B * s.T * 1000) / r.ms, msPerStep: r.ms, steps: r.steps, note: backend === 'wasm' ? 'XNNPACK, single-threaded in Node' : 'plain JS' };
}

async function main(): Promise<void> {
  // webgpu on a machine without a GPU runs on lavapipe (a few GFLOP/s): only with --webgpu
  const webgpu = args.includes('--webgpu') ? await import('../engine/backends/webgpu/index.js').catch(() => null) : null;
  if (webgpu) await webgpu.initWebGPU().catch(() => undefined);
  const available = et.backendInfo().filter((b) => b.available).map((b) => b.name);
  const tf = await loadTf();
  const rows: Row[] = [];
  const sizes = quick ? SIZES.slice(0, 1) : SIZES;
  for (const s of sizes) {
    for (const b of available) {
      rows.push(await engineRows(s, b, false));
      process.stderr.write(`  ${s.name}: ${rows[rows.length - 1]!.impl} done\n`);
    }
    for (const b of tf?.backends ?? []) {
      const warn = console.warn;
      console.warn = () => {};
      try {
        rows.push(await tfjsRow(tf!.tf, s, b));
      } finally {
        console.warn = warn;
      }
      process.stderr.write(`  ${s.name}: tfjs ${b} done\n`);
    }
    for (const b of available.filter((n) => n !== 'cpu' || available.length === 1)) rows.push(await engineRows(s, b, true));
  }
  console.log(`char-GPT training step, tokens/s (forward + cross-entropy + backward + Adam update + loss read-back); node ${process.version}`);
  for (const s of sizes) {
    const mine = rows.filter((r) => r.size === s.name);
    const bestTf = Math.max(0, ...mine.filter((r) => r.impl.startsWith('tfjs')).map((r) => r.tokensPerSec));
    console.log(`\n${s.name}`);
    console.log(`  ${'implementation'.padEnd(30)} ${'tokens/s'.padStart(10)} ${'ms/step'.padStart(9)} ${'vs best tfjs'.padStart(13)}`);
    for (const r of mine) {
      const ratio = bestTf > 0 ? `${(r.tokensPerSec / bestTf).toFixed(2)}x` : '-';
      console.log(`  ${r.impl.padEnd(30)} ${r.tokensPerSec.toFixed(0).padStart(10)} ${r.msPerStep.toFixed(1).padStart(9)} ${ratio.padStart(13)}${r.note ? `   (${r.note})` : ''}`);
    }
  }
  for (const m of tf?.missing ?? []) console.log(`not measured: ${m}`);
  if (!tf) console.log('not measured: tfjs (@tensorflow/tfjs-core is not installed)');
  for (const b of et.backendInfo().filter((b) => !b.available && (b.name !== 'webgpu' || webgpu))) console.log(`not measured: eitp ${b.name} (${b.reason})`);
  if (!webgpu) console.log('not measured: eitp webgpu (only with --webgpu: without a GPU it runs on lavapipe)');
  if (jsonAt >= 0 && args[jsonAt + 1]) writeFileSync(args[jsonAt + 1]!, JSON.stringify(rows, null, 2));
  webgpu?.destroyWebGPU();
}

await main();
