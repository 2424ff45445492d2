/**
 * CUDA backend benchmark: f32 matmul GFLOP/s at n = 512..8192 with the share of the device's f32 (non-tensor-core)
 * peak, and the time of one MLP training step (forward, backward, AdamW update).
 *
 *   npm run bench -- cuda [--sizes 512,1024,2048,4096,8192] [--steps 20]
 *   npx tsx bench/cuda-matmul.ts
 *
 * Numbers exist only on a real GPU with the nvcc-built addon. Without one it prints why and exits 0; the emulated
 * addon (EITP_CUDA_EMULATION=1) is refused unless --emulator is given, because its timings say nothing about GPUs.
 */
import * as et from '../engine/index.js';
import { cudaInfo } from '../engine/backends/cuda/index.js';
import { timeIt } from './cuda-timing.js';
import { arg } from './bench-args.js';

/** FP32 lanes per SM by compute capability (CUDA C Programming Guide, "Arithmetic Instructions"). */
function fp32LanesPerSm(cc: string): number {
  const [major, minor] = cc.split('.').map(Number) as [number, number];
  if (major === 8 && minor === 0) return 64; // A100
  if (major === 7) return 64;
  return 128; // sm_86, sm_89, sm_90 (H100), sm_100, sm_120
}

async function main(): Promise<number> {
  const status = et.backendInfo().find((b) => b.name === 'cuda')!;
  if (!status.available) {
    const reason = status.reason ?? 'unavailable';
    console.log(`cuda benchmark: ${reason.startsWith('no CUDA device') ? '' : 'no CUDA device: '}${reason}`);
    return 0;
  }
  const info = cudaInfo()!;
  if (info.emulated && !process.argv.includes('--emulator')) {
    console.log(`cuda benchmark: no CUDA device: the loaded addon is the CPU emulator (${info.addon}); its timings say nothing about GPUs (pass --emulator to run anyway)`);
    return 0;
  }
  et.setBackend('cuda');
  const peak = info.multiprocessors * fp32LanesPerSm(info.computeCapability) * 2 * info.clockKHz * 1e3; // FLOP/s
  console.log(`device: ${info.name} (sm_${info.computeCapability.replace('.', '')}, ${info.multiprocessors} SMs, ${(info.clockKHz / 1e6).toFixed(2)} GHz), driver ${info.driverVersion}, runtime ${info.runtimeVersion}`);
  console.log(`f32 peak (FMA, no tensor cores): ${(peak / 1e12).toFixed(1)} TFLOP/s; addon ${info.addon}`);

  const sizes = arg('sizes', info.emulated ? '128,256' : '512,1024,2048,4096,8192').split(',').map(Number);
  console.log('     n    ms/call     GFLOP/s   % of f32 peak');
  for (const n of sizes) {
    const a = et.randn([n, n], { seed: 1 });
    const b = et.randn([n, n], { seed: 2 });
    const ms = await timeIt(() => et.matmul(a, b).dispose(), 300, 3);
    const flops = (2 * n * n * n) / (ms / 1e3);
    console.log(`${String(n).padStart(6)} ${ms.toFixed(3).padStart(10)} ${(flops / 1e9).toFixed(0).padStart(11)} ${((100 * flops) / peak).toFixed(1).padStart(14)}%`);
    et.dispose([a, b]);
  }

  // One MLP training step: 784-2048-2048-10, batch 512, relu, softmax cross-entropy, AdamW.
  const batch = Number(arg('batch', info.emulated ? '16' : '512'));
  const model = new et.nn.MLP([784, 2048, 2048, 10], { seed: 3 });
  const opt = new et.optim.AdamW(model.parameters(), { lr: 1e-3 });
  const x = et.randn([batch, 784], { seed: 4 });
  const y = et.randint([batch], 0, 10, { seed: 5 });
  const step = () =>
    et.tidy(() => {
      opt.zeroGrad();
      const loss = et.crossEntropy(model.forward(x), y);
      loss.backward();
      opt.step();
    });
  const ms = await timeIt(step, 500, Number(arg('steps', '20')));
  console.log(`MLP step (784-2048-2048-10, batch ${batch}, AdamW): ${ms.toFixed(2)} ms`);
  return 0;
}

const rc = await main();
process.stdout.write('', () => process.exit(rc));
