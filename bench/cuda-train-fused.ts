/**
 * CUDA benchmark of the fused training kernels, each against its composite of primitive ops on the same device:
 *
 *   npm run bench -- cuda-train-fused [--linear 4096x1024x1024] [--rows 8192x1024] [--ce 4096x32000] [--n 16777216]
 *   npx tsx bench/cuda-train-fused.ts
 *
 * - linear, x [M, K] · w + b then relu, w a transposed view of a [N, K] weight (read in place by both): the epilogue
 *   vs matmul then add then relu (TFLOP/s = 2·M·N·K per second);
 * - layerNormGrad on [rows, d]: one row kernel + deterministic column sums vs the composite's ~15 primitive ops;
 * - crossEntropyGrad ('mean') on logits [rows, C] vs softmax − oneHot, scaled;
 * - activationGrad (tanh) and adamStep over n elements: one pass vs the composites (GB/s counts the fused kernel's
 *   own reads and writes: 2 in + 1 out for activationGrad, 4 in + 3 out for adamStep).
 *
 * Numbers exist only on a real GPU with the nvcc-built addon. Without one it prints why and exits 0; the emulated
 * addon (EITP_CUDA_EMULATION=1) is refused unless --emulator is given, because its timings say nothing about GPUs.
 */
import { cudaInfo } from '../engine/backends/cuda/index.js';
import { apply } from '../engine/dispatch.js';
import * as et from '../engine/index.js';
import { timeIt } from './cuda-timing.js';
import { arg, dims, compositeOf as composite } from './bench-args.js';

/** Times the fused op and its composite; `unit` turns ms into the row's throughput figure. */
async function row(label: string, op: et.OpName, attrs: object, inputs: et.Tensor[], minMs: number, unit: (ms: number) => string) {
  const fused = await timeIt(() => apply(op, inputs, attrs as never).dispose(), minMs, 3);
  const comp = await timeIt(() => et.tidy(() => void composite(op)(inputs, attrs as never)), minMs, 3);
  console.log(`${label.padEnd(46)} fused ${fused.toFixed(3).padStart(9)} ms (${unit(fused)})   composite ${comp.toFixed(3).padStart(9)} ms   ${(comp / fused).toFixed(1)}x`);
}

async function main(): Promise<number> {
  const status = et.backendInfo().find((b) => b.name === 'cuda')!;
  if (!status.available) {
    const reason = status.reason ?? 'unavailable';
    console.log(`cuda train-fused benchmark: ${reason.startsWith('no CUDA device') ? '' : 'no CUDA device: '}${reason}`);
    return 0;
  }
  const info = cudaInfo()!;
  if (info.emulated && !process.argv.includes('--emulator')) {
    console.log(`cuda train-fused benchmark: no CUDA device: the loaded addon is the CPU emulator (${info.addon}); its timings say nothing about GPUs (pass --emulator to run anyway)`);
    return 0;
  }
  et.setBackend('cuda');
  console.log(`device: ${info.name} (sm_${info.computeCapability.replace('.', '')}, ${info.multiprocessors} SMs), driver ${info.driverVersion}, runtime ${info.runtimeVersion}; addon ${info.addon}`);
  const small = info.emulated;
  const minMs = small ? 1 : 300;
  const gbs = (bytes: number) => (ms: number) => `${(bytes / (ms / 1e3) / 1e9).toFixed(0)} GB/s`;

  const [m, k, n] = dims(arg('linear', small ? '128x64x96' : '4096x1024x1024')) as [number, number, number];
  const lin = [et.randn([m, k], { seed: 1 }), et.randn([n, k], { seed: 2 }), et.randn([n], { seed: 3 })];
  const wt = et.transpose(lin[1]!);
  await row(`linear relu [${m}, ${k}] · [${k}, ${n}] (w transposed)`, 'linear', { activation: 'relu' }, [lin[0]!, wt, lin[2]!], minMs, (ms) => `${((2 * m * n * k) / (ms / 1e3) / 1e12).toFixed(2)} TFLOP/s`);
  et.dispose([...lin, wt]);

  const [rows, d] = dims(arg('rows', small ? '256x96' : '8192x1024')) as [number, number];
  const ln = [et.randn([rows, d], { seed: 4 }), et.randn([d], { seed: 5 }), et.randn([rows, d], { seed: 6 })];
  await row(`layerNormGrad [${rows}, ${d}]`, 'layerNormGrad', { eps: 1e-5 }, ln, minMs, gbs(4 * 3 * rows * d));
  et.dispose(ln);

  const [ceRows, classes] = dims(arg('ce', small ? '64x300' : '4096x32000')) as [number, number];
  const ce = [et.randn([ceRows, classes], { seed: 7 }), et.randint([ceRows], 0, classes, { seed: 8 }), et.ones([])];
  await row(`crossEntropyGrad mean [${ceRows}, ${classes}]`, 'crossEntropyGrad', { reduction: 'mean' }, ce, minMs, gbs(4 * 2 * ceRows * classes));
  et.dispose(ce);

  const count = Number(arg('n', small ? '65536' : String(1 << 24)));
  const act = [et.tidy(() => et.tanh(et.randn([count], { seed: 9 }))), et.randn([count], { seed: 10 })];
  await row(`activationGrad tanh n=${count}`, 'activationGrad', { activation: 'tanh' }, act, minMs, gbs(4 * 3 * count));
  et.dispose(act);
  const adam = [et.randn([count], { seed: 11 }), et.randn([count], { seed: 12 }), et.randn([count], { seed: 13 }), et.tidy(() => et.square(et.randn([count], { seed: 14 })))];
  const attrs = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decay: 0.999, stepSize: 1e-3, bias2Sqrt: 0.3 };
  await row(`adamStep n=${count}`, 'adamStep', attrs, adam, minMs, gbs(4 * 7 * count));
  et.dispose(adam);
  return 0;
}

const rc = await main();
process.stdout.write('', () => process.exit(rc));
