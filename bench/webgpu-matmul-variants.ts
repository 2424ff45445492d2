/**
 * Matmul block shapes on the current adapter: GFLOP/s of each variant of kernels/matmul.wgsl at a few sizes.
 * Used to fill MATMUL_VARIANTS / pickVariant (engine/backends/webgpu/kernels-matmul.ts).
 *   npx tsx bench/webgpu-matmul-variants.ts [sizes, default 256,1024]
 */
import * as et from '../engine/index.js';
import { destroyWebGPU, initWebGPU, syncWebGPU, webgpuContext } from '../engine/backends/webgpu/index.js';
import { type MatmulVariant, runMatmul } from '../engine/backends/webgpu/kernels-matmul.js';
import type { GpuBuffer } from '../engine/backends/webgpu/runtime.js';

if (!process.argv.includes("--variants")) {
  console.error("bench/webgpu-matmul-variants.ts: a tuning tool; pass --variants to run it");
  process.exit(0);
}
const status = await initWebGPU();
if (!status.available) throw new Error(status.reason);
const sizes = (process.argv.find((a) => /^[0-9,]+$/.test(a)) ?? '256,1024').split(',').map(Number);
const variants: MatmulVariant[] = [];
for (const [tm, tn] of (process.argv.includes('--big') ? [[8, 8], [4, 16], [8, 16], [16, 8], [16, 16]] : [[4, 4], [8, 4], [4, 8], [8, 8], [2, 8], [1, 4]]) as [number, number][]) {
  for (const [wgx, wgy] of (process.argv.includes('--big') ? [[8, 8], [64, 1]] : [[16, 4], [8, 8], [64, 1]]) as [number, number][]) variants.push({ tm, tn, wgx, wgy });
}
const arg = (t: et.Tensor) => ({ buffer: t.storage.buffer as GpuBuffer, dtype: t.dtype, layout: t.layout });
for (const n of sizes) {
  const a = et.randn([n, n], { seed: 1, backend: 'webgpu' });
  const b = et.randn([n, n], { seed: 2, backend: 'webgpu' });
  const c = et.zeros([n, n], { backend: 'webgpu' });
  const reps = Math.max(1, Math.round(2e9 / (2 * n ** 3)));
  const rows: string[] = [];
  for (const v of variants) {
    runMatmul(webgpuContext(), arg(a), arg(b), arg(c), v);
    await syncWebGPU();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let r = 0; r < reps; r++) runMatmul(webgpuContext(), arg(a), arg(b), arg(c), v);
    await syncWebGPU();
    const s = (performance.now() - t0) / 1000;
    const cu = process.cpuUsage(c0);
    // GFLOP per CPU-second of this process (lavapipe runs in-process) is steadier than wall time on a shared machine
    const cpuS = (cu.user + cu.system) / 1e6;
    rows.push(`${n}\t${v.tm}x${v.tn}\twg ${v.wgx}x${v.wgy}\t${((2 * n ** 3 * reps) / s / 1e9).toFixed(2)} GFLOP/s\t${((2 * n ** 3 * reps) / cpuS / 1e9).toFixed(2)} GFLOP/cpu-s`);
    console.log(rows[rows.length - 1]);
  }
  et.dispose([a, b, c]);
}
destroyWebGPU();
