/**
 * The main job's char-GPT (d 32, T 24, B 32, 2 heads) step is mostly matrix products: this times each product the
 * task step runs (et.profile: kernel time only, not the JS around it) and reports its multiply-adds per second beside
 * the core's FMA peak (nativeFmaPeak: a register-only FMA loop). It answers whether the step is slow kernels or
 * small products: the EIT-P terms' cost per step is bounded by their multiply-adds at the task's efficiency.
 *
 *   npx tsx bench/native-gpt-products.ts [--threads N (default 1: the peak is per thread)] [--rounds 5]
 */
import * as et from '../engine/index.js';
import { nativeFmaPeak, nativeInfo, setNativeThreads } from '../engine/backends/native/index.js';
import { quantileSorted } from '../src/bench/stats.js';
import { countArg, useNativeBackend } from './bench-args.js';

if (!useNativeBackend()) process.exit(0);
const threads = countArg('threads', 1);
setNativeThreads(threads);
const rounds = countArg('rounds', 5);

interface Product {
  name: string;
  run: () => et.Tensor;
  macs: number;
  /** How many times one task step runs it (2 blocks; attention's backward has two products per forward one). */
  perStep: number;
}

const randn = (shape: number[], seed: number) => et.keep(et.randn(shape, { seed }));
const products: Product[] = [];

/** A linear layer x [m, k] · Wᵀ (W [n, k], as et.nn.Linear stores it) and its backward's two products. */
function linearLayer(m: number, k: number, n: number): void {
  const [x, wStored, b, g] = [randn([m, k], 1), randn([n, k], 2), randn([n], 3), randn([m, n], 4)];
  // the views the step's products read, made once (a view made per call and never disposed would be timed as garbage)
  const [w, xT] = [wStored.transpose(), x.transpose()];
  const macs = m * k * n;
  products.push({ name: `linear ${m}×${k} · ${k}×${n}`, run: () => et.linear(x, w, b), macs, perStep: 2 });
  products.push({ name: `  its input gradient ${m}×${n} · ${n}×${k}`, run: () => et.matmul(g, wStored), macs, perStep: 2 });
  products.push({ name: `  its weight gradient ${k}×${m} · ${m}×${n}`, run: () => et.matmul(xT, g), macs, perStep: 2 });
}

// the block's qkv projection, attention output, MLP up and down
linearLayer(768, 32, 96);
linearLayer(768, 32, 32);
linearLayer(768, 32, 128);
linearLayer(768, 128, 32);
// attention per (sequence, head): scores q·kᵀ and the weighted values, over views of the [B, T, 3, H, hd] projection
const qkv = randn([32, 24, 3, 2, 16], 5);
const q = qkv.slice([0, 0, 0, 0, 0], [32, 24, 1, 2, 16]).reshape([32, 24, 2, 16]).permute([0, 2, 1, 3]);
const k = qkv.slice([0, 0, 1, 0, 0], [32, 24, 2, 2, 16]).reshape([32, 24, 2, 16]).permute([0, 2, 3, 1]);
const v = qkv.slice([0, 0, 2, 0, 0], [32, 24, 3, 2, 16]).reshape([32, 24, 2, 16]).permute([0, 2, 1, 3]);
const scores = randn([32, 2, 24, 24], 6);
// per block: q·kᵀ and the scores' cotangent g·vᵀ have one shape; p·v, pᵀ·g, ds·k and dsᵀ·q the other (the backward's
// read some operands through transposed views: timed here in the forward's layouts)
products.push({ name: 'attention q · kᵀ, 64 × (24×16 · 16×24)', run: () => et.matmul(q, k), macs: 64 * 24 * 16 * 24, perStep: 4 });
products.push({ name: 'attention p · v, 64 × (24×24 · 24×16)', run: () => et.matmul(scores, v), macs: 64 * 24 * 24 * 16, perStep: 8 });

/** Median kernel ms per call of a product over `rounds` rounds of 100 calls. */
async function kernelMs(p: Product): Promise<number[]> {
  for (let i = 0; i < 30; i++) p.run().dispose();
  const perCall: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const prof = await et.profile(async () => {
      for (let i = 0; i < 100; i++) p.run().dispose();
      await scores.data();
    });
    const kernel = prof.kernels.find((x) => x.kernel === 'matmul' || x.kernel === 'linear');
    if (!kernel) throw new Error(`${p.name}: no product kernel was timed`);
    perCall.push(kernel.ms / kernel.calls);
  }
  return perCall.sort((a, b) => a - b);
}

const peak = nativeFmaPeak(threads, 0.5);
const peakMacs = peak ? peak.gflops / 2 : null;
console.log(`\n### native (${nativeInfo().gemmKernel} GEMM, ${threads} thread${threads === 1 ? '' : 's'}): the char-GPT task step's products\n`);
console.log(`FMA peak: ${peakMacs ? `${peakMacs.toFixed(0)} GMAC/s (${peak!.isa})` : 'not measured (the addon has no probe)'}\n`);
const ofPeak = (rate: number) => (peakMacs ? `${((100 * rate) / peakMacs).toFixed(0)} %` : '—');
console.log('| product | per step | kernel time (median, min–max) | GMAC/s | of peak |');
console.log('| --- | --- | --- | --- | --- |');
let [stepMs, stepMacs] = [0, 0];
for (const p of products) {
  const ms = await kernelMs(p);
  const median = quantileSorted(ms, 0.5);
  const rate = p.macs / median / 1e6;
  stepMs += p.perStep * median;
  stepMacs += p.perStep * p.macs;
  console.log(`| ${p.name} | ${p.perStep} | ${(median * 1000).toFixed(1)} µs (${(ms[0]! * 1000).toFixed(1)}–${(ms[ms.length - 1]! * 1000).toFixed(1)}) | ${rate.toFixed(1)} | ${ofPeak(rate)} |`);
}
const stepRate = stepMacs / stepMs / 1e6;
console.log(`\nthe step's products (${(stepMacs / 1e6).toFixed(1)} M multiply-adds; the vocabulary head's three, 1.5 M, not timed): ${(stepMs * 1000).toFixed(0)} µs, ${stepRate.toFixed(1)} GMAC/s, ${ofPeak(stepRate)} of peak`);
