/**
 * `npm run bench -- webgpu`: f32 matmul GFLOP/s (128…2048) and MLP training steps/s (batch 64, 784-256-10, SGD),
 * eitp-webgpu side by side with @tensorflow/tfjs-backend-webgpu on the same Dawn adapter, with the ratio.
 * A benchmark, not a timed test: medians and spread (p25–p75) from tinybench. Options: --quick (fewer sizes).
 */
import { Bench } from 'tinybench';
import * as et from '../engine/index.js';
import { destroyWebGPU, initWebGPU, webgpuInstance, webgpuStats } from '../engine/backends/webgpu/index.js';
import { loadTfjsWebGpu } from './webgpu-peer-tfjs.js';

const quick = process.argv.includes('--quick');
const status = await initWebGPU();
if (!status.available) {
  console.error(`webgpu unavailable: ${status.reason}`);
  process.exit(1);
}
const tf = await loadTfjsWebGpu(webgpuInstance());
et.setBackend('webgpu');
console.log(`adapter: ${webgpuStats().adapter}; tfjs ${tf.version_core} on ${tf.getBackend()}`);

interface Stat {
  median: number;
  /** median absolute deviation, relative to the median */
  spread: number;
}
interface Row {
  name: string;
  unit: string;
  ours: Stat;
  peer: Stat;
}
const rows: Row[] = [];

/** Runs both tasks interleaved in one tinybench; returns per-iteration latencies (ms). */
async function pair(name: string, ours: () => Promise<void>, peer: () => Promise<void>, time: number) {
  const bench = new Bench({ time, warmup: true, warmupIterations: 2, iterations: 5 });
  bench.add(`eitp ${name}`, ours).add(`tfjs ${name}`, peer);
  await bench.run();
  const stats = bench.tasks.map((t): Stat => {
    const r = t.result as { error?: unknown; latency?: { p50: number; mad: number } } | undefined;
    if (r?.error) console.error(`${t.name} failed:`, r.error);
    const l = r?.latency;
    return l ? { median: l.p50, spread: l.mad / l.p50 } : { median: NaN, spread: NaN };
  });
  return stats as [Stat, Stat];
}

const sizes = quick ? [256, 1024] : [128, 256, 512, 1024, 2048];
for (const n of sizes) {
  // several products per timed iteration for small sizes, so the sync (~1 ms) does not dominate
  const reps = Math.max(1, Math.round(64e6 / (2 * n ** 3)));
  const a = et.randn([n, n], { seed: 1 });
  const b = et.randn([n, n], { seed: 2 });
  const ta = tf.randomNormal([n, n]);
  const tb = tf.randomNormal([n, n]);
  const [o, p] = await pair(
    `matmul ${n}`,
    async () => {
      const cs = Array.from({ length: reps }, () => et.matmul(a, b));
      await cs[reps - 1]!.data();
      et.dispose(cs);
    },
    async () => {
      const cs = Array.from({ length: reps }, () => tf.matMul(ta, tb));
      await cs[reps - 1]!.data();
      tf.dispose(cs);
    },
    n >= 1024 ? 3000 : 1500,
  );
  const gflops = (s: Stat): Stat => ({ median: (2 * n ** 3 * reps) / (s.median / 1000) / 1e9, spread: s.spread });
  rows.push({ name: `matmul ${n}²`, unit: 'GFLOP/s', ours: gflops(o), peer: gflops(p) });
  et.dispose([a, b]);
  tf.dispose([ta, tb]);
}

// MLP step: forward, softmax cross-entropy, backward, SGD update; STEPS steps per timed iteration, one loss read
const STEPS = 10;
const x = et.randn([64, 784], { seed: 3 });
const y = et.randint([64], 0, 10, { seed: 4 });
const model = new et.nn.MLP([784, 256, 10], { seed: 5 });
const opt = new et.optim.SGD(model.parameters(), { lr: 0.05 });
const tx = tf.randomNormal([64, 784]);
const ty = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), 'int32'), 10);
const w1 = tf.variable(tf.randomUniform([784, 256], -0.036, 0.036));
const b1 = tf.variable(tf.zeros([256]));
const w2 = tf.variable(tf.randomUniform([256, 10], -0.0625, 0.0625));
const b2 = tf.variable(tf.zeros([10]));
/**
 * tfjs-core alone registers no gradients (the full tfjs bundle does, through extensionless ESM imports Node cannot
 * load), so the tfjs step backpropagates by hand: the same kernels tfjs's autodiff would run for this model.
 */
function tfStep(): ReturnType<typeof tf.scalar> {
  const lr = 0.05;
  const [loss, dW1, db1, dW2, db2] = tf.tidy(() => {
    const h = tf.relu(tf.add(tf.matMul(tx, w1), b1));
    const logits = tf.add(tf.matMul(h, w2), b2);
    const loss = tf.losses.softmaxCrossEntropy(ty, logits);
    const dLogits = tf.div(tf.sub(tf.softmax(logits), ty), 64);
    const dh = tf.mul(tf.matMul(dLogits, w2, false, true), tf.step(h));
    return [loss, tf.matMul(tx, dh, true, false), tf.sum(dh, 0), tf.matMul(h, dLogits, true, false), tf.sum(dLogits, 0)];
  });
  for (const [v, g] of [[w1, dW1], [b1, db1], [w2, dW2], [b2, db2]] as const) {
    v.assign(tf.tidy(() => tf.sub(v, tf.mul(g, lr))));
    g.dispose();
  }
  return loss as ReturnType<typeof tf.scalar>;
}
const [o, p] = await pair(
  'mlp step',
  async () => {
    let loss: et.Tensor | null = null;
    for (let s = 0; s < STEPS; s++) {
      loss?.dispose();
      opt.zeroGrad();
      loss = et.tidy(() => {
        const l = et.crossEntropy(model.forward(x), y);
        l.backward();
        return l;
      });
      opt.step();
    }
    await loss!.item();
    loss!.dispose();
  },
  async () => {
    let loss: ReturnType<typeof tf.scalar> | null = null;
    for (let s = 0; s < STEPS; s++) {
      loss?.dispose();
      loss = tfStep();
    }
    await loss!.data();
    loss!.dispose();
  },
  4000,
);
const sps = (s: Stat): Stat => ({ median: STEPS / (s.median / 1000), spread: s.spread });
rows.push({ name: 'MLP step 64×784-256-10', unit: 'steps/s', ours: sps(o), peer: sps(p) });

const f = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(2));
console.log(`\n| case | unit | eitp-webgpu median (±MAD) | tfjs-webgpu median (±MAD) | ratio |`);
console.log(`|---|---|---|---|---|`);
for (const r of rows) {
  const pm = (s: Stat) => `${f(s.median)} (±${(100 * s.spread).toFixed(0)} %)`;
  console.log(`| ${r.name} | ${r.unit} | ${pm(r.ours)} | ${pm(r.peer)} | ${(r.ours.median / r.peer.median).toFixed(2)}x |`);
}
destroyWebGPU();
process.exit(0);
