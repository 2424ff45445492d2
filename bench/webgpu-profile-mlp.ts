/**
 * Where an MLP training step (batch 64, 784-256-10, SGD) spends its time on webgpu: host recording time, dispatches
 * and submits per step, and per-kernel device times from timestamp queries (profile()).
 *   npx tsx bench/webgpu-profile-mlp.ts
 */
import * as et from '../engine/index.js';
import { destroyWebGPU, initWebGPU, webgpuProfile as profile, webgpuStats } from '../engine/backends/webgpu/index.js';

const status = await initWebGPU();
if (!status.available) throw new Error(`webgpu unavailable: ${status.reason}`);
et.setBackend('webgpu');
const x = et.randn([64, 784], { seed: 3 });
const y = et.randint([64], 0, 10, { seed: 4 });
const model = new et.nn.MLP([784, 256, 10], { seed: 5 });
const opt = new et.optim.SGD(model.parameters(), { lr: 0.05 });
const step = () => {
  opt.zeroGrad();
  const loss = et.tidy(() => {
    const l = et.crossEntropy(model.forward(x), y);
    l.backward();
    return l;
  });
  opt.step();
  return loss;
};
for (let i = 0; i < 3; i++) {
  const l = step();
  await l.item();
  l.dispose();
}
const N = 20;
const s0 = webgpuStats();
let t0 = performance.now();
for (let i = 0; i < N; i++) {
  const l = step();
  if (i === N - 1) await l.item();
  l.dispose();
}
const s1 = webgpuStats();
console.log(`wall ms/step ${((performance.now() - t0) / N).toFixed(2)}; dispatches/step ${(s1.dispatches - s0.dispatches) / N}; submits/step ${(s1.submits - s0.submits) / N}`);
t0 = performance.now();
for (let i = 0; i < N; i++) step().dispose();
console.log(`host recording ms/step ${((performance.now() - t0) / N).toFixed(2)}`);
if (webgpuStats().features.includes('timestamp-query')) {
  const { kernels, totalMs } = await profile(async () => {
    for (let i = 0; i < 5; i++) {
      const l = step();
      await l.item();
      l.dispose();
    }
  });
  console.log(`device ms/step ${(totalMs / 5).toFixed(2)} (one pass per dispatch while profiling)`);
  for (const k of kernels) console.log(`  ${k.kernel.padEnd(20)} ${String(k.calls / 5).padStart(4)} calls/step ${(k.ms / 5).toFixed(3).padStart(8)} ms/step`);
} else console.log("no 'timestamp-query' on this adapter: no per-kernel times");
destroyWebGPU();
