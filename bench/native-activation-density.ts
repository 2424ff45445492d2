/**
 * The thermodynamic term's activation density on native: the fused kernels against the composite they replace, at
 * the sizes of the activation taps (n from 16K to 4M). Rows per n:
 * - forward: activationDensity against square, add, div, mean;
 * - forward + backward: value and gradient with respect to a through autograd, fused (activationDensity then
 *   activationDensityGrad) against the composite's forward and the backward through its ops;
 * - backward kernel: activationDensityGrad alone against its own composite (square, add, mul, div, ... in one
 *   expression).
 * Wall time per call (the calls of a sample queued back to back, then nativeSync), median with p25-p75 over samples
 * in which fused and composite take turns, and composite/fused (> 1: fused is faster). GB/s is the fused kernel's
 * minimal traffic: a read once (and, backward, the gradient written once).
 *
 *   npx tsx bench/native-activation-density.ts [--threads N (default: every core)] [--sizes 16384,262144,1048576,4194304] [--samples 15]
 */
import * as et from '../engine/index.js';
import { apply } from '../engine/dispatch.js';
import { nativeInfo, nativeSync, setNativeThreads } from '../engine/backends/native/index.js';
import { quantileSorted } from '../src/bench/stats.js';
import { arg, compositeOf } from './bench-args.js';

et.setBackend('native');
if (arg('threads', '')) setNativeThreads(Number(arg('threads', '')));
const threads = nativeInfo().threads;
const sizes = arg('sizes', '16384,262144,1048576,4194304').split(',').map(Number);
const samples = Number(arg('samples', '15'));
const EPS = 1e-8;

interface Side {
  name: string;
  /** One call; everything it makes is disposed after it. */
  run: () => void;
}

/** Calls per sample: about 20 ms of the slower side, at least 2. */
function callsFor(sides: readonly Side[]): number {
  let slowest = 0;
  for (const s of sides) {
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) et.tidy(s.run);
    nativeSync();
    slowest = Math.max(slowest, (performance.now() - t0) / 3);
  }
  return Math.max(2, Math.round(20 / Math.max(slowest, 1e-3)));
}

/** Per side, the wall time per call (ms) of each sample; the sides take turns so that load changes hit both. */
function time(sides: readonly Side[]): number[][] {
  const calls = callsFor(sides);
  const out = sides.map(() => [] as number[]);
  for (let s = 0; s < samples; s++) {
    sides.forEach((side, k) => {
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) et.tidy(side.run);
      nativeSync();
      out[k]!.push((performance.now() - t0) / calls);
    });
  }
  return out;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: quantileSorted(s, 0.5), p25: quantileSorted(s, 0.25), p75: quantileSorted(s, 0.75) };
};
const us = (ms: number) => {
  const x = ms * 1000;
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
};
const cell = (xs: number[]) => {
  const s = stats(xs);
  return `${us(s.median)} (${us(s.p25)}-${us(s.p75)})`.padEnd(22);
};

console.log(`native activationDensity, ${threads} thread(s); µs per call, median (p25-p75); ratio = composite / fused`);
console.log(`${'n'.padEnd(9)}${'row'.padEnd(18)}${'fused'.padEnd(22)}${'composite'.padEnd(22)}${'ratio'.padEnd(8)}fused GB/s`);
const density = compositeOf('activationDensity');
const densityGrad = compositeOf('activationDensityGrad');
for (const n of sizes) {
  const [a, tau, g] = et.tidy(() => {
    const x = et.randn([n], { seed: n });
    // τ = 0.1·RMS(a), as the thermodynamic term sets it, left on the device
    return [et.keep(x), et.keep(et.mul(et.sqrt(et.mean(et.square(x))), 0.1)), et.keep(et.tensor(0.7))];
  });
  const rows: [string, Side[], number][] = [
    ['forward', [
      { name: 'fused', run: () => void et.activationDensity(a, tau, { eps: EPS }) },
      { name: 'composite', run: () => void density([a, tau], { eps: EPS } as never) },
    ], 4 * n],
    ['forward+backward', [
      { name: 'fused', run: () => void et.valueAndGrad((x: et.Tensor) => et.activationDensity(x, tau, { eps: EPS }))(a) },
      { name: 'composite', run: () => void et.valueAndGrad((x: et.Tensor) => density([x, tau], { eps: EPS } as never))(a) },
    ], 12 * n],
    ['backward kernel', [
      { name: 'fused', run: () => void apply('activationDensityGrad', [a, tau, g], { eps: EPS }) },
      { name: 'composite', run: () => void densityGrad([a, tau, g], { eps: EPS } as never) },
    ], 8 * n],
  ];
  for (const [name, sides, bytes] of rows) {
    const [fused, composite] = time(sides);
    const f = stats(fused!).median, c = stats(composite!).median;
    console.log(`${String(n).padEnd(9)}${name.padEnd(18)}${cell(fused!)}${cell(composite!)}${(c / f).toFixed(2).padEnd(8)}${(bytes / (f * 1e6)).toFixed(1)}`);
  }
  et.dispose([a, tau, g]);
}
