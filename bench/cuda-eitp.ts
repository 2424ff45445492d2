/**
 * CUDA benchmark of the EIT-P kernels: each fused op against its composite of primitive ops (forward, and forward +
 * backward), and the int8 matmul against the f32 one.
 *
 *   npm run bench -- cuda-eitp [--hist-n 1048576] [--coh 16384x256] [--density-n 4096,262144,4194304] [--mm 4096x4096x4096]
 *   npx tsx bench/cuda-eitp.ts
 *
 * - softHistogram, n = 1M values, the EIT-P defaults (K = 64): fused (per-warp shared-memory histograms + a
 *   deterministic reduction) vs the composite, which materialises the [n, K] soft assignments;
 * - coherence, z [N = 16384, d = 256]: the fused loss op (column statistics + upper-triangle split-K Gram tiles into
 *   scratch, then one fixed-order reduction of (R − I)²; its backward recomputes the Gram) vs the composite
 *   (mean/var, standardise, matmul, square, sum);
 * - activationDensity, n = 4k, 256k and 4M activations (the thermodynamic term's tap sizes), τ held fixed as in the
 *   model (a stop-gradient): fused (one reduction pass with per-block partials, one elementwise backward pass) vs
 *   the composite (square, add, divide, mean forward; about ten full-size passes backward);
 * - matmulInt8 at M = 4096, K = N = 4096: 'int8' activations (per-row quantisation + __dp4a integer GEMM) and 'f32'
 *   activations (int8 weights widened on the fly) against the f32 matmul x · wᵀ.
 *
 * Numbers exist only on a real GPU with the nvcc-built addon. Without one it prints why and exits 0; the emulated
 * addon (EITP_CUDA_EMULATION=1) is refused unless --emulator is given, because its timings say nothing about GPUs.
 */
import * as et from '../engine/index.js';
import { cudaInfo } from '../engine/backends/cuda/index.js';
import { timeIt } from './cuda-timing.js';
import { arg, coherenceComposite, compositeOf, dims } from './bench-args.js';

/** Forward, and forward + backward (the VJP for a fixed cotangent), of the fused op and of its composite. */
async function fusedVsComposite(
  label: string,
  composite: (xs: et.Tensor[]) => et.Tensor,
  fused: (xs: et.Tensor[]) => et.Tensor,
  inputs: et.Tensor[],
  minMs: number,
) {
  const modes = { fused, composite };
  const row: Record<string, number> = {};
  for (const [mode, f] of Object.entries(modes)) {
    row[`${mode} fwd`] = await timeIt(() => et.tidy(() => void f(inputs)), minMs, 3);
    row[`${mode} fwd+bwd`] = await timeIt(
      () =>
        et.tidy(() => {
          const [out, pullback] = et.vjp((...xs: et.Tensor[]) => f(xs), ...inputs);
          pullback(et.onesLike(out));
        }),
      minMs,
      3,
    );
  }
  const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}x`;
  console.log(
    `${label.padEnd(34)} fwd ${row['fused fwd']!.toFixed(3).padStart(8)} ms vs ${row['composite fwd']!.toFixed(3).padStart(8)} ms (${ratio(row['composite fwd']!, row['fused fwd']!)})` +
      `   fwd+bwd ${row['fused fwd+bwd']!.toFixed(3).padStart(8)} ms vs ${row['composite fwd+bwd']!.toFixed(3).padStart(8)} ms (${ratio(row['composite fwd+bwd']!, row['fused fwd+bwd']!)})`,
  );
}

async function main(): Promise<number> {
  const status = et.backendInfo().find((b) => b.name === 'cuda')!;
  if (!status.available) {
    const reason = status.reason ?? 'unavailable';
    console.log(`cuda eitp benchmark: ${reason.startsWith('no CUDA device') ? '' : 'no CUDA device: '}${reason}`);
    return 0;
  }
  const info = cudaInfo()!;
  if (info.emulated && !process.argv.includes('--emulator')) {
    console.log(`cuda eitp benchmark: no CUDA device: the loaded addon is the CPU emulator (${info.addon}); its timings say nothing about GPUs (pass --emulator to run anyway)`);
    return 0;
  }
  et.setBackend('cuda');
  console.log(`device: ${info.name} (sm_${info.computeCapability.replace('.', '')}, ${info.multiprocessors} SMs), driver ${info.driverVersion}, runtime ${info.runtimeVersion}; addon ${info.addon}`);
  const minMs = info.emulated ? 1 : 300;

  console.log('\nfused vs composite (time per call; ratio = composite / fused)');
  const histN = Number(arg('hist-n', info.emulated ? '4096' : String(1 << 20)));
  const u = et.tidy(() => et.mul(et.randn([histN], { seed: 1 }), 1.5));
  await fusedVsComposite(`softHistogram n=${histN}, K=64`, (xs) => compositeOf('softHistogram')(xs, et.EITP_HISTOGRAM as never), ([v]) => et.softHistogram(v!), [u], minMs);
  const [cohN, cohD] = dims(arg('coh', info.emulated ? '256x32' : '16384x256')) as [number, number];
  const z = et.randn([cohN, cohD], { seed: 2 });
  await fusedVsComposite(`coherence z [${cohN}, ${cohD}]`, ([t]) => coherenceComposite(t!), ([t]) => et.coherence(t!), [z], minMs);
  et.dispose([u, z]);
  const density = compositeOf('activationDensity');
  for (const n of arg('density-n', info.emulated ? '4099' : '4096,262144,4194304').split(',').map(Number)) {
    const act = et.randn([n], { seed: 5 });
    const tau = et.tensor([0.1]);
    await fusedVsComposite(`activationDensity n=${n}`, ([x]) => density([x!, tau], { eps: 0 } as never), ([x]) => et.activationDensity(x!, tau), [act], minMs);
    et.dispose([act, tau]);
  }

  const [m, k, n] = dims(arg('mm', info.emulated ? '128x128x128' : '4096x4096x4096')) as [number, number, number];
  console.log(`\nint8 matmul, x [${m}, ${k}] · wᵀ, w [${n}, ${k}] (TOP/s = 2·M·N·K per second)`);
  const x = et.randn([m, k], { seed: 3 });
  const w = et.randn([n, k], { seed: 4 });
  // per-output-channel symmetric quantisation of w: scale amax/127, codes w/scale truncated to int8
  const ws = et.tidy(() => et.div(et.max(et.abs(w), 1), 127));
  const wq = et.tidy(() => et.cast(et.div(w, et.reshape(ws, [n, 1])), 'i8'));
  const wt = et.tidy(() => et.contiguous(et.transpose(w)));
  const rows: [string, () => void][] = [
    ['matmul f32 (x · wᵀ, w stored [K, N])', () => et.matmul(x, wt).dispose()],
    ["matmulInt8 'f32' activations", () => et.matmulInt8(x, wq, ws).dispose()],
    ["matmulInt8 'int8' activations (dp4a)", () => et.matmulInt8(x, wq, ws, { activations: 'int8' }).dispose()],
  ];
  const times: number[] = [];
  for (const [label, fn] of rows) {
    const ms = await timeIt(fn, minMs, 3);
    times.push(ms);
    const tops = (2 * m * n * k) / (ms / 1e3) / 1e12;
    console.log(`${label.padEnd(40)} ${ms.toFixed(3).padStart(9)} ms ${tops.toFixed(2).padStart(8)} TOP/s   ${(times[0]! / ms).toFixed(2)}x f32`);
  }
  et.dispose([x, w, ws, wq, wt]);
  return 0;
}

const rc = await main();
process.stdout.write('', () => process.exit(rc));
