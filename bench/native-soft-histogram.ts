/**
 * The entropy term's soft histogram on native: kernel time per value of softHistogram and of its backward
 * softHistogramGrad (et.profile: the kernels only, not the JS around them), on standardised N(0, 1) values as the
 * entropy term feeds it, at the sizes of its weight samples. To compare two builds of the addon, run this script with
 * each in turn (`EITP_NATIVE_ADDON=old.node`, then the new one) a few times and compare rounds run under the same load:
 * the peer of a kernel change is the previous kernel.
 *
 *   npx tsx bench/native-soft-histogram.ts [--threads N (default: every core)] [--sizes 1024,4096,65536,1048576] [--rounds 3]
 */
import * as et from '../engine/index.js';
import { nativeInfo, setNativeThreads } from '../engine/backends/native/index.js';
import { quantileSorted } from '../src/bench/stats.js';
import { arg, countArg, useNativeBackend } from './bench-args.js';

if (!useNativeBackend()) process.exit(0);
if (arg('threads', '')) setNativeThreads(countArg('threads', 1));
const sizes = arg('sizes', '1024,4096,65536,1048576').split(',').map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new RangeError(`--sizes must be positive integers, got '${arg('sizes', '')}'`);
const rounds = countArg('rounds', 3);

/** Nanoseconds per value of `kernel` over `calls` calls of f, each read back before the next. */
async function nsPerValue(f: () => et.Tensor, kernel: string, n: number, calls: number): Promise<number> {
  const p = await et.profile(async () => {
    for (let i = 0; i < calls; i++) {
      const t = f();
      await t.data();
      t.dispose();
    }
  });
  const k = p.kernels.find((x) => x.kernel === kernel);
  if (!k) throw new Error(`no ${kernel} kernel was timed`);
  return (k.ms * 1e6) / k.calls / n;
}

console.log(`\n### native soft histogram (${nativeInfo().threads} thread(s)): kernel time per value, median (min–max) of ${rounds} rounds\n`);
console.log('| n | softHistogram | softHistogramGrad |');
console.log('| --- | --- | --- |');
for (const n of sizes) {
  const raw = et.randn([n], { seed: 1 });
  const u = et.tidy(() => raw.sub(raw.mean()).div(raw.sub(raw.mean()).square().mean().sqrt()));
  const g = et.randn([et.EITP_HISTOGRAM.bins], { seed: 2 });
  const grad = et.grad((v: et.Tensor) => et.softHistogram(v).mul(g).sum());
  const forward = () => et.softHistogram(u);
  const backward = () => grad(u) as et.Tensor;
  const calls = Math.max(20, Math.round(2e7 / (n * 20)));
  for (let i = 0; i < 10; i++) forward().dispose();
  const fw: number[] = [];
  const bw: number[] = [];
  for (let r = 0; r < rounds; r++) {
    fw.push(await nsPerValue(forward, 'softHistogram', n, calls));
    bw.push(await nsPerValue(backward, 'softHistogramGrad', n, calls));
  }
  const cell = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    return `${quantileSorted(s, 0.5).toFixed(2)} ns (${s[0]!.toFixed(2)}–${s[s.length - 1]!.toFixed(2)})`;
  };
  console.log(`| ${n} | ${cell(fw)} | ${cell(bw)} |`);
  for (const t of [raw, u, g]) t.dispose();
}
