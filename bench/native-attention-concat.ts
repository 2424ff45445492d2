/**
 * The concat that joins attention's q, k and v cotangents into the qkv projection's [B, T, 3, H, hd] gradient, with k's
 * piece in the two layouts the matmul VJP can hand it: dense along hd like q's and v's (since 1b19521: kᵀ's cotangent
 * is written as the transpose of a dense product) or as a [hd, T] product seen through a transpose (before: the
 * concat then gathers it element by element). Kernel time per call (et.profile), the two layouts taking turns.
 *
 *   npx tsx bench/native-attention-concat.ts [--threads N (default: every core)] [--rounds 8] [--batches 32,4]
 */
import * as et from '../engine/index.js';
import { nativeInfo, setNativeThreads } from '../engine/backends/native/index.js';
import { quantileSorted } from '../src/bench/stats.js';
import { arg, countArg, useNativeBackend } from './bench-args.js';

if (!useNativeBackend()) process.exit(0);
if (arg('threads', '')) setNativeThreads(countArg('threads', 1));
const rounds = countArg('rounds', 8);
const batches = arg('batches', '32,4').split(',').map(Number);
if (batches.some((b) => !Number.isInteger(b) || b < 1)) throw new RangeError(`--batches must be positive integers, got '${arg('batches', '')}'`);
const [T, H, hd] = [24, 2, 16]; // the main job's char-GPT

/** Microseconds of concat kernel time per call, over 300 calls. */
async function usPerCall(pieces: et.Tensor[]): Promise<number> {
  for (let i = 0; i < 50; i++) et.concat(pieces, 2).dispose();
  const p = await et.profile(async () => {
    for (let i = 0; i < 300; i++) et.concat(pieces, 2).dispose();
    await pieces[0]!.data();
  });
  const k = p.kernels.find((x) => x.kernel === 'concat');
  if (!k) throw new Error('no concat kernel was timed');
  return (k.ms * 1000) / k.calls;
}

console.log(`\n### native (${nativeInfo().threads} thread(s)): attention's q, k, v cotangents concatenated, µs per call (median, min–max of ${rounds} rounds)\n`);
console.log('| B | k dense along hd | k through a transpose | transposed / dense |');
console.log('| --- | --- | --- | --- |');
for (const B of batches) {
  // each piece [B, T, 1, H, hd] as the cotangents arrive: dense [B, H, T, hd] (or [B, H, hd, T] for the old k) permuted
  // (tidy: the dense tensors and the intermediate views go; the pieces hold their storage)
  const heads = (seed: number) => et.tidy(() => et.randn([B, H, T, hd], { seed }).permute([0, 2, 1, 3]).reshape([B, T, 1, H, hd]));
  const q = heads(1);
  const v = heads(3);
  const kDense = heads(2);
  const kTransposed = et.tidy(() => et.randn([B, H, hd, T], { seed: 2 }).permute([0, 3, 1, 2]).reshape([B, T, 1, H, hd]));
  const dense: number[] = [];
  const transposed: number[] = [];
  for (let r = 0; r < rounds; r++) {
    dense.push(await usPerCall([q, kDense, v]));
    transposed.push(await usPerCall([q, kTransposed, v]));
  }
  const [d, t] = [dense, transposed].map((xs) => [...xs].sort((a, b) => a - b));
  const cell = (s: number[]) => `${quantileSorted(s, 0.5).toFixed(1)} (${s[0]!.toFixed(1)}–${s[s.length - 1]!.toFixed(1)})`;
  console.log(`| ${B} | ${cell(d!)} | ${cell(t!)} | ${(quantileSorted(t!, 0.5) / quantileSorted(d!, 0.5)).toFixed(2)}x |`);
  et.dispose([q, v, kDense, kTransposed]);
}
