/** bench/js-allocation.ts measures the JS heap a function allocates, garbage included (known allocations here). */
import { describe, expect, it } from 'vitest';
import { jsBytesPerIteration } from '../bench/js-allocation.js';

/** n short-lived objects { a, b: [3 numbers] } per call: a JSObject, a JSArray and its elements, ~100 bytes. */
const objects = (n: number) => async () => {
  let last: { a: number; b: number[] } | null = null;
  for (let i = 0; i < n; i++) last = { a: i, b: [i, i + 1, i + 2] };
  if (last?.a !== n - 1) throw new Error('the loop did not run');
};

describe('jsBytesPerIteration', () => {
  it('counts garbage: 100,000 dead objects per call come to 60-200 bytes each, and a tenth of them to a tenth', async () => {
    const large = await jsBytesPerIteration(objects(100_000), 5);
    const small = await jsBytesPerIteration(objects(10_000), 5);
    expect(large / 100_000).toBeGreaterThan(60);
    expect(large / 100_000).toBeLessThan(200);
    expect(large / small).toBeGreaterThan(8);
    expect(large / small).toBeLessThan(12);
  });

  it('counts V8 heap objects, not typed arrays’ off-heap backing stores', async () => {
    let length = 0;
    const bytes = await jsBytesPerIteration(async () => {
      for (let i = 0; i < 200; i++) length += new Float64Array(4096).length;
    }, 5);
    expect(length).toBe(5 * 200 * 4096);
    // 200 array objects of 100-400 bytes each, far from their 6.4 MB of 32 KiB stores
    expect(bytes / 200).toBeGreaterThan(100);
    expect(bytes / 200).toBeLessThan(400);
  });

  it('stops the profiler when the function throws', async () => {
    await expect(jsBytesPerIteration(async () => Promise.reject(new Error('boom')), 3)).rejects.toThrow('boom');
    const again = await jsBytesPerIteration(objects(10_000), 2);
    expect(again / 10_000).toBeGreaterThan(60);
  });
});
