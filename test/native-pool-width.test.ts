/**
 * Where the native pool has every core the process may use, the stream thread's parallel loops take no worker while
 * the JS thread runs (thread-pool.h, ThreadPool::width): JS needs its core to queue the next ops. The results must not
 * change (a loop runs the same chunks on one thread), and info().narrowedLoops counts the loops run so.
 *
 * Deterministic: JS queues a job large enough to wake the workers, then polls nativeInfo() (which never waits for the
 * stream) until the queue has drained, so the stream runs the job while JS is certainly running and not waiting.
 *
 * When JS then asks for a result while such a loop runs, it takes part in the loop's remaining items itself
 * (ThreadPool::widen; info().helpedLoops), and with more threads than cores a sleeping worker takes the places beyond
 * the JS thread's (info().lateJoins): the results must be the same again.
 */
import { availableParallelism } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { nativeInfo, nativeSync, setNativeThreads } from '../engine/backends/native/index.js';
import { type NativeAddon, loadAddon } from '../engine/backends/native/native-addon.js';
import { availableBackends } from './helpers/backends.js';

const hasNative = availableBackends().includes('native');
const cores = availableParallelism();

function randomArray(n: number, seed: number): Float32Array {
  const rng = new et.Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** Polls until the stream has run everything queued (JS keeps running meanwhile); throws after 20 s. */
function spinUntilDrained(): void {
  const deadline = performance.now() + 20_000;
  while (nativeInfo().queuedTasks > 0) {
    if (performance.now() > deadline) throw new Error('the native stream did not drain within 20 s');
  }
}

// 2^20 elements: 8 chunks of the elementwise grain on 2 threads, a job that wakes workers (more than kQuietChunks)
const N = 1 << 20;

describe.skipIf(!hasNative)('native pool: the stream leaves the JS thread its core', () => {
  const initialThreads = hasNative ? nativeInfo().threads : 1;
  afterAll(() => {
    if (hasNative) setNativeThreads(initialThreads);
  });

  it.each([
    [Math.max(2, cores), 'every core'],
    [cores + 1, 'more threads than cores'],
  ])('with %i threads (%s) a big add queued while JS runs is narrowed, and matches cpu bit for bit', async (threads) => {
    setNativeThreads(threads);
    const a = randomArray(N, 1);
    const b = randomArray(N, 2);
    const x = et.tensor(a, { backend: 'native' });
    const y = et.tensor(b, { backend: 'native' });
    await x.data(); // the uploads have landed
    const { narrowedLoops: before, queuedKernels } = nativeInfo();
    const s = et.add(x, y);
    expect(nativeInfo().queuedKernels - queuedKernels, 'the add ran on the stream (only small kernels run at the call)').toBe(1);
    spinUntilDrained();
    const narrowed = nativeInfo().narrowedLoops! - before!;
    const got = await s.data();
    const refSum = et.tidy(() => et.add(et.tensor(a, { backend: 'cpu' }), et.tensor(b, { backend: 'cpu' })));
    const ref = await refSum.data();
    et.dispose([x, y, s, refSum]);
    expect(narrowed, `loops narrowed while JS ran, ${threads} threads on ${cores} cores`).toBeGreaterThanOrEqual(1);
    expect(Array.from(got)).toEqual(Array.from(ref));
  });

  it('a readback of a narrowed loop still running has the JS thread join it, and matches cpu bit for bit', async () => {
    setNativeThreads(Math.max(2, cores));
    // 2^22 + 37 elements: milliseconds on one thread, so the readback (microseconds after the add is queued) finds the
    // stream inside the loop; ragged, so the chunk JS or the stream may take last is a short one. A try where the
    // stream had not started the loop yet (loaded machine) runs it wide: try again.
    const n = (1 << 22) + 37;
    const a = randomArray(n, 3);
    const b = randomArray(n, 4);
    const x = et.tensor(a, { backend: 'native' });
    const y = et.tensor(b, { backend: 'native' });
    const refSum = et.tidy(() => et.add(et.tensor(a, { backend: 'cpu' }), et.tensor(b, { backend: 'cpu' })));
    const ref = Buffer.from((await refSum.data()).buffer);
    let helped = 0;
    for (let attempt = 0; attempt < 10 && helped === 0; attempt++) {
      await x.data();
      spinUntilDrained(); // JS has not waited since: the add's loop starts narrowed
      const before = nativeInfo().helpedLoops!;
      const s = et.add(x, y);
      const got = await s.data();
      helped = nativeInfo().helpedLoops! - before;
      s.dispose();
      expect(Buffer.from(got.buffer).equals(ref), 'the sum matches cpu bit for bit').toBe(true);
    }
    et.dispose([x, y, refSum]);
    expect(helped, 'loops the JS thread joined when it asked for the sum').toBeGreaterThanOrEqual(1);
  });

  it('with more threads than cores, a wait has a sleeping worker join the narrowed loop, and every item runs once', () => {
    setNativeThreads(cores + 2); // a place beyond the JS thread's even on one core
    const before = nativeInfo();
    // 24 items of 4 ms: ~100 ms for the stream thread alone, so the worker woken at the wait finds items left
    (loadAddon() as NativeAddon).stallStream(4, 24);
    const deadline = performance.now() + 20_000;
    while (nativeInfo().narrowedLoops! === before.narrowedLoops!) {
      if (performance.now() > deadline) throw new Error('the stream did not start the loop within 20 s');
    }
    // the count comes just before the loop is published: a few ms more of JS, still well inside the loop
    for (const until = performance.now() + 8; performance.now() < until; );
    nativeSync(); // JS starts waiting inside the loop: widen(); the addon checks that every item ran exactly once
    const after = nativeInfo();
    expect(after.helpedLoops! - before.helpedLoops!, 'loops the JS thread joined').toBe(1);
    // the places widen() opens beyond the JS thread's: the pool's threads less the narrowed width, less JS's place
    const places = cores + 2 - Math.max(1, cores - 1) - 1;
    const late = after.lateJoins! - before.lateJoins!;
    expect(late, 'workers that joined after the JS thread').toBeGreaterThanOrEqual(1);
    expect(late).toBeLessThanOrEqual(places);
  });

  it('the test-only stall turns arguments that are not numbers into JS errors, not a crash', () => {
    const addon = loadAddon() as NativeAddon;
    const usage = /stallStream takes \(ms: number, items\?: number\)/;
    expect(() => addon.stallStream('5' as unknown as number)).toThrow(usage);
    expect(() => addon.stallStream(1, {} as unknown as number)).toThrow(usage);
  });
});
