/** Timing shared by the CUDA benchmarks (imported, so bench/run.ts does not run it on its own). */
import { cudaSynchronize } from '../engine/backends/cuda/index.js';

/**
 * Mean ms per call: one warm-up call (allocator cache, first-launch costs), then at least minIters calls and minMs,
 * synchronising every 4 calls so the launch queue stays short without a sync per call.
 */
export async function timeIt(fn: () => void, minMs: number, minIters: number): Promise<number> {
  fn();
  await cudaSynchronize();
  let iters = 0;
  const t0 = performance.now();
  do {
    fn();
    iters++;
    if (iters % 4 === 0) await cudaSynchronize();
  } while (iters < minIters || performance.now() - t0 < minMs);
  await cudaSynchronize();
  return (performance.now() - t0) / iters;
}
