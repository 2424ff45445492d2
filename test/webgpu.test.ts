/**
 * webgpu specifics: ragged shapes against cpu, batching (many dispatches per submit), buffer reuse while work is
 * pending, 8-bit dtypes, index errors found on the device, bounded memory over 1000 training steps, profiling,
 * coverage, and that a process using webgpu exits.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { initWebGPU, webgpuProfile as profile, webgpuDevice, webgpuInstance, webgpuStats } from '../engine/backends/webgpu/index.js';
import { formatCoverage, webgpuCoverage } from '../engine/backends/webgpu/coverage.js';
import { TOLERANCE, compareArrays } from './helpers/backends.js';
import { onBoth } from './helpers/on-both.js';

const status = await initWebGPU();
if (!status.available && process.env.EITP_REQUIRE_WEBGPU === '1') throw new Error(`webgpu unavailable: ${status.reason}`);

function expectClose([got, want]: [ArrayLike<number>, ArrayLike<number>], scale = 1): void {
  const cmp = compareArrays(got, want, { rtol: TOLERANCE.f32.rtol * scale, atol: TOLERANCE.f32.atol * scale });
  expect(cmp.ok, cmp.message).toBe(true);
}

it('covers every op of the table (coverage table)', () => {
  console.log(formatCoverage());
  expect(webgpuCoverage().rows.filter((r) => r.status === 'missing').map((r) => r.op)).toEqual([]);
  expect(webgpuCoverage().percent).toBe(100);
});

describe.runIf(status.available)('webgpu backend', () => {
  const R = [1, 7, 33, 257];
  it.each(R.flatMap((m) => R.map((n) => [m, n] as const)))('matmul %i x 33 x %i, plain and transposed, matches cpu', async (m, n) => {
    const seed = m * 1000 + n;
    expectClose(await onBoth((b) => et.matmul(et.randn([m, 33], { seed, backend: b }), et.randn([33, n], { seed: seed + 1, backend: b }))), 5);
    expectClose(await onBoth((b) => et.matmul(et.randn([33, m], { seed, backend: b }).transpose(), et.randn([n, 33], { seed: seed + 1, backend: b }).transpose())), 5);
  });

  it.each(R)('elementwise, reductions and softmax on ragged size %i match cpu', async (n) => {
    expectClose(await onBoth((b) => et.add(et.randn([n, 7], { seed: n, backend: b }), et.randn([7], { seed: 2, backend: b })).tanh()));
    expectClose(await onBoth((b) => et.randn([3, n, 5], { seed: n, backend: b }).permute([2, 0, 1]).sum([0, 2])));
    expectClose(await onBoth((b) => et.softmax(et.randn([n, 9], { seed: n, backend: b }), 0)));
    expectClose(await onBoth((b) => et.logsumexp(et.randn([2, n * 40], { seed: n, backend: b }), -1)));
    expectClose(await onBoth((b) => et.cast(et.argmax(et.randn([n, 5], { seed: n, backend: b }), 0), 'f32')));
  });

  it('records many dispatches per queue submit', async () => {
    const s0 = webgpuStats();
    const x = et.tidy(() => {
      let y = et.randn([33, 7], { seed: 1, backend: 'webgpu' });
      for (let i = 0; i < 60; i++) y = y.mul(1.01).add(0.001);
      return y;
    });
    await x.data();
    const s1 = webgpuStats();
    const dispatches = s1.dispatches - s0.dispatches;
    expect(dispatches).toBeGreaterThanOrEqual(120);
    // one submit per maxBatch (16) dispatches plus the read's
    expect((s1.submits - s0.submits) * 8).toBeLessThanOrEqual(dispatches);
    x.dispose();
  });

  it('does not hand a buffer that pending work still reads to a new tensor', async () => {
    const a = et.tensor(Float32Array.from({ length: 1000 }, (_, i) => i), { backend: 'webgpu' });
    const c = a.mul(2);
    a.dispose();
    const b = et.tensor(new Float32Array(1000).fill(-1), { backend: 'webgpu' });
    const got = await c.data();
    expect(got[999]).toBe(1998);
    expect((await b.data())[0]).toBe(-1);
    et.dispose([b, c]);
  });

  it('stores u8 and i8 in 32-bit words with wrap-around like typed arrays', async () => {
    const [g, c] = await onBoth((b) => et.cast(et.tensor([-1, 300, 2.7, -2.7], { backend: b }), 'u8'));
    expect(Array.from(g)).toEqual(Array.from(c));
    const [gi, ci] = await onBoth((b) => et.cast(et.tensor([200, -129, 5], { backend: b, dtype: 'i32' }), 'i8'));
    expect(Array.from(gi)).toEqual(Array.from(ci));
    const [m, mc] = await onBoth((b) => et.add(et.gt(et.tensor([1, 2, 3], { backend: b }), 1.5), et.gt(et.tensor([1, 2, 3], { backend: b }), 2.5)));
    expect(Array.from(m)).toEqual(Array.from(mc));
  });

  it('reports out-of-range indices found on the device at the next read', async () => {
    const w = et.randn([5, 3], { seed: 1, backend: 'webgpu' });
    const badIdx = et.tensor([0, 7], { dtype: 'i32', backend: 'webgpu' });
    const bad = et.embedding(w, badIdx);
    await expect(bad.data()).rejects.toThrow(/index 7 at position 1 is outside \[0, 5\)/);
    const okIdx = et.tensor([4], { dtype: 'i32', backend: 'webgpu' });
    const ok = et.embedding(w, okIdx);
    expect((await ok.data()).length).toBe(3);
    et.dispose([w, bad, ok, badIdx, okIdx]);
  });

  it('keeps pool bytes bounded and memory() flat over 1000 MLP training steps', async () => {
    const prev = et.getBackend();
    et.setBackend('webgpu');
    try {
      const model = new et.nn.MLP([20, 16, 4], { seed: 1 });
      const opt = new et.optim.SGD(model.parameters(), { lr: 0.05 });
      const x = et.randn([32, 20], { seed: 2 });
      const y = et.randint([32], 0, 4, { seed: 3 });
      const step = () => {
        opt.zeroGrad();
        const loss = et.tidy(() => {
          const l = et.crossEntropy(model.forward(x), y);
          l.backward();
          return l;
        });
        opt.step();
        return loss;
      };
      let first = NaN;
      let snapshot: { mem: et.MemoryInfo; pool: number; created: number } | null = null;
      for (let i = 0; i < 1000; i++) {
        const loss = step();
        if (i === 0) first = await loss.item();
        if (i === 99) {
          await loss.item();
          snapshot = { mem: et.memory(), pool: webgpuStats().pool.liveBytes + webgpuStats().pool.freeBytes, created: webgpuStats().pool.created };
        }
        if (i === 999) {
          const last = await loss.item();
          expect(last).toBeLessThan(first);
          const mem = et.memory();
          // tensors other tests leaked may be collected meanwhile: they move from liveTensors to leaked
          expect(mem.liveTensors + mem.leaked).toBe(snapshot!.mem.liveTensors + snapshot!.mem.leaked);
          expect(mem.backends.webgpu!.bytes).toBeLessThanOrEqual(snapshot!.mem.backends.webgpu!.bytes);
          const pool = webgpuStats().pool;
          expect(pool.liveBytes + pool.freeBytes).toBeLessThanOrEqual(snapshot!.pool);
          expect(pool.created).toBe(snapshot!.created);
        }
        loss.dispose();
      }
      et.dispose([x, y, ...model.parameters()]);
    } finally {
      et.setBackend(prev);
    }
  }, 300_000);

  it('profiles kernels with timestamp queries where the adapter has them', async () => {
    if (!webgpuStats().features.includes('timestamp-query')) {
      await expect(profile(() => 0)).rejects.toThrow(/timestamp-query/);
      return;
    }
    const a = et.randn([64, 64], { seed: 1, backend: 'webgpu' });
    const { kernels, totalMs } = await profile(async () => {
      const c = et.matmul(a, a).relu();
      await c.data();
      c.dispose();
    });
    expect(kernels.map((k) => k.kernel)).toEqual(expect.arrayContaining(['matmul', 'unary']));
    expect(totalMs).toBeGreaterThan(0);
    a.dispose();
  });

  it('lets a process that used webgpu exit, with and without an explicit destroy', () => {
    for (const destroy of [true, false]) {
      const script = [
        "import * as et from './engine/index.js';",
        "import { initWebGPU, destroyWebGPU } from './engine/backends/webgpu/index.js';",
        "const s = await initWebGPU(); if (!s.available) throw new Error(s.reason);",
        "const t = et.randn([33, 7], { seed: 1, backend: 'webgpu' }).exp().sum();",
        'console.log(await t.item());',
        destroy ? 'destroyWebGPU();' : '',
      ].join('\n');
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), timeout: 60_000, encoding: 'utf8' });
      expect(r.error, String(r.error)).toBeUndefined();
      expect(r.status, r.stderr).toBe(0);
      expect(Number(r.stdout.trim())).toBeGreaterThan(0);
    }
  }, 130_000);

  it('lets a process collect garbage after destroyWebGPU() while Dawn still polls the instance (no abort)', () => {
    // destroying the device leaves Dawn a poll of its instance scheduled; a collected instance aborted the process
    const script = [
      "import { initWebGPU, destroyWebGPU } from './engine/backends/webgpu/index.js';",
      "const s = await initWebGPU(); if (!s.available) throw new Error(s.reason);",
      'destroyWebGPU();',
      'for (let i = 0; i < 20; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 1)); }',
      "console.log('survived');",
    ].join('\n');
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), timeout: 60_000, encoding: 'utf8' });
    expect(r.error, String(r.error)).toBeUndefined();
    expect({ status: r.status, signal: r.signal }, r.stderr).toEqual({ status: 0, signal: null });
    expect(r.stdout.trim()).toBe('survived');
  }, 70_000);

  // last: it loses the device on purpose, then brings a new one up
  it('turns a lost device into clear errors (no silent switch of backend), and can start a new one', async () => {
    const t = et.randn([7, 7], { seed: 1, backend: 'webgpu' });
    const instance = webgpuInstance();
    webgpuDevice().destroy();
    const deadline = Date.now() + 10_000;
    while (et.backendInfo().find((b) => b.name === 'webgpu')!.available && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(et.backendInfo().find((b) => b.name === 'webgpu')!.reason).toMatch(/lost/);
    expect(() => t.exp()).toThrow(/device was lost/);
    t.dispose();
    expect((await initWebGPU()).available).toBe(true);
    // the new device comes from the same Dawn instance: one per process (a new one per start kept 5 threads and ~4.5 MB)
    expect(webgpuInstance()).toBe(instance);
    const u = et.randn([7, 7], { seed: 1, backend: 'webgpu' }).exp();
    expect((await u.data()).length).toBe(49);
    u.dispose();
  });
});
