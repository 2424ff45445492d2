/**
 * The cuda backend beyond the shared parity suite: ragged shapes that hit every kernel variant (128×128 and 32×32
 * matmul tiles, float4 and strided loads, block- and thread-per-output reductions), grids with far more blocks
 * than the emulator's worker threads, integer semantics, and errors becoming JS exceptions.
 * Runs the CPU-emulated addon unless EITP_CUDA_EMULATION=0 asks for the real one (on a GPU machine).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

process.env.EITP_CUDA_EMULATION ??= '1';

const et = await import('../engine/index.js');
const { TOLERANCE, compareArrays } = await import('./helpers/backends.js');
type Tensor = import('../engine/index.js').Tensor;

const status = et.backendInfo().find((b) => b.name === 'cuda')!;
const required = process.env.EITP_REQUIRE_CUDA === '1';
if (required && !status.available) throw new Error(`EITP_REQUIRE_CUDA=1 but cuda is unavailable: ${status.reason}`);

async function both(f: (backend: 'cpu' | 'cuda') => import('../engine/index.js').Tensor) {
  const run = async (backend: 'cpu' | 'cuda') => {
    const t = et.tidy(() => f(backend));
    const d = await t.data();
    t.dispose();
    return d;
  };
  return { cpu: await run('cpu'), cuda: await run('cuda') };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = TOLERANCE.f32) {
  const r = compareArrays(actual, expected, tol);
  expect(r.ok, r.message).toBe(true);
}

const N = (shape: number[], seed: number, backend: 'cpu' | 'cuda') => et.randn(shape, { seed, backend });

describe.runIf(status.available)('cuda backend', () => {
  afterAll(() => {
    // every test disposed what it made; the addon's own count must agree
    expect(et.memory().backends.cuda?.liveBuffers ?? 0).toBe(0);
  });

  it.each([
    ['32x32 tiles', [7, 33], [33, 5]],
    ['128x128 tiles, ragged, strided loads', [300, 45], [45, 261]],
    ['128x128 tiles, float4 loads, ragged M', [261, 36], [36, 264]],
    ['K not a multiple of the tile depth', [257, 3], [3, 300]],
  ] as const)('matmul %s', async (_name, sa, sb) => {
    const r = await both((b) => et.matmul(N([...sa], 1, b), N([...sb], 2, b)));
    expectClose(r.cuda, r.cpu, { rtol: 1e-4, atol: 1e-4 });
  });

  it('matmul of transposed and batch-broadcast views (read in place, no copies)', async () => {
    const r = await both((b) => et.matmul(et.permute(N([3, 300, 270], 3, b), [0, 2, 1]), N([1, 300, 9], 4, b)));
    expectClose(r.cuda, r.cpu, { rtol: 1e-4, atol: 1e-4 });
  });

  it('elementwise over 100k elements: a grid of hundreds of blocks on two workers', async () => {
    const r = await both((b) => et.add(et.mul(N([317, 331], 5, b), N([331], 6, b)), et.tanh(N([317, 1], 7, b))));
    expectClose(r.cuda, r.cpu);
  });

  it('reductions: thread per output (5000 outputs) and block per output, over permuted views', async () => {
    const x = (b: 'cpu' | 'cuda') => et.transpose(N([37, 5000], 8, b));
    for (const f of [
      (b: 'cpu' | 'cuda') => et.sum(x(b), 1),
      (b: 'cpu' | 'cuda') => et.max(x(b), 0),
      (b: 'cpu' | 'cuda') => et.var(x(b), 0),
      (b: 'cpu' | 'cuda') => et.logsumexp(x(b), [0, 1]),
      (b: 'cpu' | 'cuda') => et.mean(N([3, 5, 7, 11], 9, b), [0, 2]),
    ]) {
      const r = await both(f);
      expectClose(r.cuda, r.cpu, { rtol: 2e-4, atol: 1e-4 });
    }
  });

  it('argmax ignores NaN and takes the first of tied maxima', async () => {
    const data = Float32Array.from([1, NaN, 3, 3, 2, 0, 0, 0]);
    const r = await both((b) => et.argmax(et.tensor(data, { shape: [2, 4], backend: b }), 1));
    expect(Array.from(r.cuda)).toEqual(Array.from(r.cpu));
  });

  it('integer semantics: wrapping i32 arithmetic, float-to-u8 casts, i32 sums', async () => {
    // products overflow 32 bits but stay below 2^53, where the f64 reference is exact
    const big = Int32Array.from([46341, -46341, 196608, -7]);
    const r1 = await both((b) => et.mul(et.tensor(big, { backend: b }), et.tensor(big, { backend: b })));
    expect(Array.from(r1.cuda)).toEqual(Array.from(r1.cpu));
    const f = Float32Array.from([-1.5, 255.9, 256, 300.7, NaN, 1e10]);
    const r2 = await both((b) => et.cast(et.tensor(f, { backend: b }), 'u8'));
    expect(Array.from(r2.cuda)).toEqual(Array.from(r2.cpu));
    const r3 = await both((b) => et.sum(et.tensor(big, { backend: b })));
    expect(Array.from(r3.cuda)).toEqual(Array.from(r3.cpu));
  });

  it('softmax, layerNorm and crossEntropy on rows longer than a block', async () => {
    for (const f of [
      (b: 'cpu' | 'cuda') => et.softmax(N([9, 1000], 10, b), -1),
      (b: 'cpu' | 'cuda') => et.logSoftmax(N([4, 300, 6], 11, b), 1),
      (b: 'cpu' | 'cuda') => et.layerNorm(N([5, 700], 12, b), N([700], 13, b), N([700], 14, b)),
      (b: 'cpu' | 'cuda') => et.crossEntropy(N([40, 513], 15, b), et.randint([40], 0, 513, { seed: 16, backend: b })),
    ]) {
      const r = await both(f);
      expectClose(r.cuda, r.cpu, { rtol: 2e-4, atol: 1e-4 });
    }
  });

  it('softmax / logSoftmax / crossEntropy keep their small terms when the logits are large (and the gradients made of them)', async () => {
    // One dominant logit near −1000 per row: in f32, −1000 + log z drops log z (≈ 4e-6), so outputs formed as
    // x − (m + log z) lose the digits that these gradients (and the loss) consist of; formed from x − m they keep them.
    const logits = Float32Array.from([-1000, -1012.5, -1030, -1050, -990, -1005, -1020, -1100]);
    // logSoftmax's cotangent: the non-dominant entries of each row sum to 0, so its gradient at the top entry is
    // g·(1 − p_top), tiny and exact only if p_top is.
    const cases: [string, number[], (x: Tensor, b: 'cpu' | 'cuda') => Tensor][] = [
      ['softmax', [0.3, -1.2, 0.7, 2.0, -0.4, 0.9, 1.1, -2.2], (x) => et.softmax(x, -1)],
      ['logSoftmax', [0.3, -1.2, 0.7, 0.5, 0.4, -0.9, 0.2, 0.7], (x) => et.logSoftmax(x, -1)],
      ['crossEntropy', [1, 1], (x, b) => et.crossEntropy(x, et.tensor(Int32Array.from([0, 0]), { backend: b }), { reduction: 'none' })],
    ];
    for (const [name, cot, f] of cases) {
      const run = async (b: 'cpu' | 'cuda') => {
        const [out, grad] = et.tidy(() => {
          const x = et.tensor(logits, { shape: [2, 4], backend: b });
          const [y, pullback] = et.vjp((z: Tensor) => f(z, b), x);
          return [y, pullback(et.tensor(Float32Array.from(cot), { shape: y.shape, backend: b }))[0]!] as const;
        });
        const r = [await out.data(), await grad.data()];
        et.dispose([out, grad]);
        return r;
      };
      const [cuda, cpu] = [await run('cuda'), await run('cpu')];
      for (const k of [0, 1]) {
        const c = compareArrays(cuda[k]!, cpu[k]!, { rtol: 1e-3, atol: 1e-6 });
        expect(c.ok, `${name} ${k ? 'gradient' : 'output'}: ${c.message}`).toBe(true);
      }
    }
  });

  it('u8 indices, concat of strided inputs, pad of rank 3', async () => {
    const ids = Uint8Array.from([3, 0, 2, 2, 1]);
    const r1 = await both((b) => et.embedding(N([4, 6], 17, b), et.tensor(ids, { backend: b })));
    expectClose(r1.cuda, r1.cpu);
    const r2 = await both((b) => et.concat([et.transpose(N([5, 3], 18, b)), N([3, 7], 19, b)], 1));
    expectClose(r2.cuda, r2.cpu);
    const r3 = await both((b) => et.pad(N([2, 3, 4], 20, b), [[1, 0], [0, 2], [3, 1]]));
    expectClose(r3.cuda, r3.cpu);
  });

  it('an out-of-range index is checked on the device and rejects the next readback', async () => {
    const w = et.randn([4, 3], { backend: 'cuda' });
    const idx = et.tensor(Int32Array.from([1, 7, 2]), { backend: 'cuda' });
    const out = et.embedding(w, idx);
    await expect(out.data()).rejects.toThrow(/embedding: index 7 at position 1 is outside \[0, 4\)/);
    // reported once: the next read succeeds
    expect((await w.data()).length).toBe(12);
    et.dispose([w, idx, out]);
  });

  it('CUDA errors become JS exceptions naming the error', async () => {
    const { backendByName } = await import('../engine/device.js');
    // 2^46 bytes: more than any device (or this machine) has
    expect(() => backendByName('cuda').allocate(2 ** 44, 'f32')).toThrow(/cudaErrorMemoryAllocation \(2\).*cudaMalloc of 70368744177664 bytes/);
    expect(() => et.zeros([2], { dtype: 'f64', backend: 'cuda' })).toThrow(/does not support dtype f64/);
  });

  it('the addon rejects stale buffer ids and out-of-bounds views instead of touching memory', async () => {
    const { loadCudaAddon } = await import('../engine/backends/cuda/addon.js');
    const loaded = loadCudaAddon();
    if ('unavailable' in loaded) throw new Error(loaded.unavailable);
    const { addon } = loaded;
    const id = addon.alloc(16);
    addon.free(id);
    expect(() => addon.free(id)).toThrow(/unknown buffer id/);
    const a = addon.alloc(16);
    const o = addon.alloc(16);
    expect(() => addon.unary('exp', 'f32', o, [4], a, 1, [1], 0)).toThrow(/view reaches elements \[1, 4\] of a 4-element f32 buffer/);
    expect(() => addon.unary('nope', 'f32', o, [4], a, 0, [1], 0)).toThrow(/unknown unary op 'nope'/);
    addon.free(a);
    addon.free(o);
  });

  it('reports which addon runs the kernels', async () => {
    const { cudaInfo } = await import('../engine/backends/cuda/index.js');
    const info = cudaInfo()!;
    expect(info.addon).toMatch(process.env.EITP_CUDA_EMULATION === '1' ? /eitp_cuda_emu\.node$/ : /eitp_cuda\.node$/);
    expect(info.emulated).toBe(process.env.EITP_CUDA_EMULATION === '1');
  });
});

// The real (nvcc) addon must load on any machine; without a GPU or driver it reports why instead of crashing.
const realAddon = [process.env.EITP_CUDA_ADDON_DIR, join(import.meta.dirname, '..', 'build', 'Release'), join(import.meta.dirname, '..', 'build', 'cuda', 'Release')]
  .filter((d): d is string => !!d)
  .map((d) => join(d, 'eitp_cuda.node'))
  .find((f) => existsSync(f));

describe.runIf(realAddon)('the nvcc-built addon', () => {
  it('loads, and reports a device or the runtime reason there is none', () => {
    const addon = createRequire(import.meta.url)(realAddon!) as { info(): { available: boolean; reason: string; runtimeVersion: number } };
    const info = addon.info();
    expect(info.runtimeVersion).toBeGreaterThanOrEqual(13000);
    if (!info.available) expect(info.reason).toMatch(/no CUDA device: cudaGetDeviceCount|could not be initialised/);
  });
});
