/** bench/matmul-work.ts counts the multiply-adds of product kernels from their operand shapes (hand-computed here). */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { countMatmulWork } from '../bench/matmul-work.js';

describe('countMatmulWork', () => {
  it('counts matmul, batched matmul, linear and the coherence Gram, and nothing for elementwise ops', async () => {
    const { macs } = await countMatmulWork('cpu', async () => {
      et.tidy(() => {
        const a = et.randn([3, 4], { backend: 'cpu' });
        a.matmul(et.randn([4, 5], { backend: 'cpu' })); // 3·5·4 = 60
        et.randn([2, 3, 4], { backend: 'cpu' }).matmul(et.randn([2, 4, 6], { backend: 'cpu' })); // 2·3·6·4 = 144
        et.linear(a, et.randn([4, 7], { backend: 'cpu' }), et.zeros([7], { backend: 'cpu' })); // 3·7·4 = 84
        et.correlation(et.randn([40, 3], { backend: 'cpu' })); // 40·3·3/2 = 180
        const z = et.randn([10, 4], { backend: 'cpu', requiresGrad: true });
        et.coherence(z).backward(); // 10·4·4/2 = 80 forward, 80 + 10·4·4 = 240 backward
        const wide = et.randn([3, 8], { backend: 'cpu', requiresGrad: true });
        et.coherence(wide).backward(); // N ≤ d/2, through the rows' Gram: 3·3·8 = 72 forward, 2·72 = 144 backward
        a.add(a).exp().sum();
      });
    });
    expect(macs).toBe(60 + 144 + 84 + 180 + 80 + 240 + 72 + 144);
  });

  it('restores the kernels, also when the function throws', async () => {
    const kernel = (await import('../engine/device.js')).backendByName('cpu').kernels.matmul;
    await expect(countMatmulWork('cpu', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect((await import('../engine/device.js')).backendByName('cpu').kernels.matmul).toBe(kernel);
    const { macs } = await countMatmulWork('cpu', async () => et.tidy(() => void et.ones([2, 2], { backend: 'cpu' }).matmul(et.ones([2, 2], { backend: 'cpu' }))));
    expect(macs).toBe(8);
  });
});
