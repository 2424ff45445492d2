/**
 * The native pool leaves sleeping workers asleep for parallel jobs of at most two chunks (thread-pool.h,
 * kQuietChunks): the caller runs such a job alone unless a worker is still spinning, and larger jobs wake the workers
 * again. Which thread runs a chunk must not change any result: on 1, 2 and 3 threads, after the workers have gone to
 * sleep, jobs of 1, 2, 3 and 8 chunks in turn match the cpu backend (bit for bit for elementwise arithmetic, which
 * rounds once per element on both). Skipped when the addon is not built.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { nativeInfo, setNativeThreads } from '../engine/backends/native/index.js';
import { TOLERANCE, availableBackends, compareArrays } from './helpers/backends.js';

const hasNative = availableBackends().includes('native');

function randomArray(n: number, seed: number): Float32Array {
  const rng = new et.Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** Long enough for every pool worker to stop spinning and sleep on its condition variable (spins last microseconds). */
const letWorkersSleep = () => new Promise((resolve) => setTimeout(resolve, 20));

// Elementwise kernels split into chunks of at least 32768 elements (at most 4 per thread): these sizes give 1, 2, 3 and 8
// chunks, so quiet jobs (1-2 chunks) and waking ones (3+) alternate.
const SIZES = [1000, 65536, 98304, 1 << 18, 65536, 1000];

async function results(backend: et.BackendName, n: number) {
  const a = randomArray(n, n);
  const b = randomArray(n, n + 1);
  const r = et.tidy(() => {
    const x = et.tensor(a, { backend });
    const y = et.tensor(b, { backend });
    const s = et.add(x, y);
    const p = et.mul(s, x);
    // a reduction over rows of 8: its row ranges are split into chunks by the pool too
    return [s, p, et.sum(p.reshape([n / 8, 8]), 1)];
  });
  const data = await Promise.all(r.map((t) => t.data()));
  et.dispose(r);
  return data;
}

describe.skipIf(!hasNative)('native pool: small jobs leave sleeping workers asleep', () => {
  const initialThreads = hasNative ? nativeInfo().threads : 1;
  afterAll(() => {
    if (hasNative) setNativeThreads(initialThreads);
  });

  it.each([1, 2, 3])('jobs of 1 to 8 chunks match cpu on %i thread(s), alternating, with the workers asleep before each', async (threads) => {
    expect(setNativeThreads(threads)).toBe(threads);
    for (const n of SIZES) {
      await letWorkersSleep();
      const [sum, product, rows] = await results('native', n);
      const [refSum, refProduct, refRows] = await results('cpu', n);
      expect(Array.from(sum!), `add, n = ${n}`).toEqual(Array.from(refSum!));
      expect(Array.from(product!), `mul, n = ${n}`).toEqual(Array.from(refProduct!));
      const cmp = compareArrays(rows!, refRows!, TOLERANCE.f32);
      expect(cmp.ok, `sum over rows, n = ${n}: ${cmp.message}`).toBe(true);
    }
  });

  it('back-to-back quiet and waking jobs on the stream (no waits between them) match cpu', async () => {
    setNativeThreads(2);
    await letWorkersSleep();
    // queued one after another: the stream runs them while the workers are in every state (asleep, waking, spinning)
    const inputs = SIZES.map((n) => [randomArray(n, 2 * n), randomArray(n, 2 * n + 1)] as const);
    const run = (backend: et.BackendName) => {
      const outs = inputs.map(([a, b]) => et.tidy(() => et.sub(et.tensor(a, { backend }), et.tensor(b, { backend }))));
      return Promise.all(outs.map(async (t) => {
        const d = await t.data();
        t.dispose();
        return Array.from(d);
      }));
    };
    const [native, cpu] = [await run('native'), await run('cpu')];
    native.forEach((d, i) => expect(d, `sub, n = ${SIZES[i]}`).toEqual(cpu[i]));
  });
});
