/**
 * Native-backend specifics the parity suite does not cover: thread-count independence, large ragged GEMMs against a
 * float64 reference, the asynchronous stream (deferred frees, errors surfacing at read), and C++ errors arriving as
 * JS exceptions without killing the process. Skipped when the addon is not built (EITP_REQUIRE_NATIVE=1 fails instead).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { nativeFmaPeak, nativeInfo, nativeSync, setNativeThreads } from '../engine/backends/native/index.js';
import { type NativeAddon, loadAddon } from '../engine/backends/native/native-addon.js';
import { TOLERANCE, availableBackends, compareArrays } from './helpers/backends.js';
import { ADDON_PATH } from './helpers/addon-script.js';

const hasNative = availableBackends().includes('native');
const backend = 'native' as const;

function randomArray(n: number, seed: number): Float32Array {
  const rng = new et.Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** C = A @ B in float64, with the error bound Σ|a||b| per element. */
function referenceMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number) {
  const c = new Float64Array(m * n);
  const bound = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p]!;
      for (let j = 0; j < n; j++) {
        c[i * n + j]! += av * b[p * n + j]!;
        bound[i * n + j]! += Math.abs(av * b[p * n + j]!);
      }
    }
  }
  return { c, bound };
}

function expectClose(actual: ArrayLike<number>, ref: { c: Float64Array; bound: Float64Array }) {
  expect(actual.length).toBe(ref.c.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    // f32 accumulation: error grows with K and the magnitudes summed
    const excess = Math.abs(actual[i]! - ref.c[i]!) - (1e-5 * ref.bound[i]! + 1e-6);
    if (!(excess <= 0)) worst = Math.max(worst, Number.isNaN(excess) ? Infinity : excess);
  }
  expect(worst).toBe(0);
}

/**
 * A script for a fresh process (GEMM choices are made once, at load): the addon's sgemm on each (m, k, n), printing
 * the micro-kernel's name and the worst error relative to Σ|a·b| against a float64 product.
 */
function sgemmWorstErrorScript(shapes: [number, number, number][]): string {
  return `
    const a = require(${JSON.stringify(ADDON_PATH)});
    let worst = 0;
    for (const [m, k, n] of ${JSON.stringify(shapes)}) {
      const A = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
      const B = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i));
      const C = new Float32Array(m * n);
      a.sgemm(m, n, k, A, B, C);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let s = 0, bound = 0;
        for (let p = 0; p < k; p++) { s += A[i * k + p] * B[p * n + j]; bound += Math.abs(A[i * k + p] * B[p * n + j]); }
        worst = Math.max(worst, Math.abs(C[i * n + j] - s) / (bound + 1e-30));
      }
    }
    console.log(a.info().gemmKernel, worst);`;
}

describe.skipIf(!hasNative)('native backend', () => {
  const initialThreads = hasNative ? nativeInfo().threads : 1;
  afterAll(() => {
    if (hasNative) setNativeThreads(initialThreads);
  });

  it('reports its GEMM micro-kernel and thread count', () => {
    const info = nativeInfo();
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(info.gemmKernel).toMatch(/^(avx512|avx2|generic)-\d+x\d+$/);
  });

  it("eitp info's line names the kernels cpuid chose and the pool's current size", () => {
    const detail = () => et.backendInfo().find((b) => b.name === 'native')!.detail!;
    const info = nativeInfo();
    expect(detail()).toContain(`${info.gemmKernel} GEMM`);
    expect(detail()).toContain(`${info.int8Kernel} int8`);
    expect(setNativeThreads(1)).toBe(1);
    expect(detail()).toMatch(/, 1 thread(,|$)/);
    expect(setNativeThreads(3)).toBe(3);
    expect(detail()).toMatch(/, 3 threads(,|$)/);
    setNativeThreads(initialThreads);
  });

  it('the FMA peak probe returns a finite positive GFLOP/s and rejects bad arguments as a JS error', () => {
    const peak = nativeFmaPeak(1, 0.02);
    expect(peak).not.toBeNull();
    expect(Number.isFinite(peak!.gflops)).toBe(true);
    expect(peak!.gflops).toBeGreaterThan(0);
    expect(peak!.isa).toMatch(/^(avx512|avx2|generic)$/);
    expect(() => nativeFmaPeak(0, 0.02)).toThrow(/threads/);
  });

  it('EITP_THREADS sets the pool size of a fresh process', () => {
    const script = `const a = require(${JSON.stringify(ADDON_PATH)}); console.log(a.info().threads)`;
    for (const n of ['1', '3']) {
      const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, EITP_THREADS: n }, encoding: 'utf8' });
      expect(out.trim()).toBe(n);
    }
  });

  it('the JS thread cannot run ahead of the stream by more than EITP_NATIVE_MAX_PENDING_MB of freed buffers', () => {
    // A stalled stream, then 16 kernels y = −x on 1 MiB buffers, both freed right after the call. With the cache off
    // (EITP_NATIVE_CACHE_MB=0) every free waits in the queue: without backpressure all 32 MiB would; with a 4 MiB cap,
    // allocate waits for the stream instead. With the cache on, the freed pair backs the next iteration's pair at
    // once (stream-ordered reuse), so nothing piles up and the loop holds two blocks, not 32.
    const script = `
      const a = require(${JSON.stringify(ADDON_PATH)});
      const n = 1 << 18; // f32 values: 1 MiB
      const meta = new Float64Array([1, 0, 1, 0, n, 1, 0, 1, n]); // one f32 input [n] (offset 0, stride 1), f32 output [n]
      a.stallStream(200);
      let peak = 0, cached = 0;
      for (let i = 0; i < 16; i++) {
        const x = a.alloc(4 * n);
        const y = a.alloc(4 * n);
        a.run('neg', [x, y], meta, new Float64Array(0));
        a.free(x);
        a.free(y);
        peak = Math.max(peak, a.info().pendingFreeBytes);
        cached = Math.max(cached, a.info().cachedBytes);
      }
      a.sync();
      console.log(peak, a.info().pendingFreeBytes, cached);`;
    // the queue is what is measured, so the child never runs kernels at their call (EITP_NATIVE_SYNC=1 in this
    // process's environment would leave nothing pending)
    const queued = { ...process.env, EITP_NATIVE_SYNC: '0' };
    const run = (env: Record<string, string>) => execFileSync(process.execPath, ['-e', script], { env: { ...queued, ...env }, encoding: 'utf8' }).trim().split(' ').map(Number);
    const [capped, after] = run({ EITP_NATIVE_MAX_PENDING_MB: '4', EITP_NATIVE_CACHE_MB: '0' });
    expect(capped).toBeGreaterThan(0);
    expect(capped).toBeLessThanOrEqual(6 << 20); // the cap plus the two buffers freed after the last allocation
    expect(after).toBe(0);
    const [uncapped] = run({ EITP_NATIVE_MAX_PENDING_MB: '1024', EITP_NATIVE_CACHE_MB: '0' });
    expect(uncapped).toBe(32 << 20); // the same loop without the cap queues every free: the test can tell
    const [reusedPeak, , reusedCached] = run({ EITP_NATIVE_MAX_PENDING_MB: '1024' });
    expect(reusedPeak).toBe(0);
    expect(reusedCached).toBe(2 << 20); // the pair freed last, cached until the next iteration takes it
  });

  it('the queue holds at most EITP_NATIVE_MAX_QUEUED tasks: past it, a new task waits for the stream to run half', () => {
    // A stalled stream, then 1000 kernels y = −x on buffers that are never freed (so freed memory cannot be what
    // bounds the loop): with a cap of 100 the queue never holds more than 100; without one, all 1000 (and the stall).
    const script = `
      const a = require(${JSON.stringify(ADDON_PATH)});
      const n = 256;
      const meta = new Float64Array([1, 0, 1, 0, n, 1, 0, 1, n]);
      const x = a.alloc(4 * n), y = a.alloc(4 * n);
      a.stallStream(100);
      let peak = 0;
      for (let i = 0; i < 1000; i++) {
        a.run('neg', [x, y], meta, new Float64Array(0));
        peak = Math.max(peak, a.info().queuedTasks);
      }
      a.sync();
      console.log(peak, a.info().queuedTasks);`;
    const run = (env: Record<string, string>) =>
      execFileSync(process.execPath, ['-e', script], { env: { ...process.env, EITP_NATIVE_SYNC: '0', ...env }, encoding: 'utf8' }).trim().split(' ').map(Number);
    const [capped, after] = run({ EITP_NATIVE_MAX_QUEUED: '100' });
    expect(capped).toBeLessThanOrEqual(100);
    expect(capped).toBeGreaterThan(50);
    expect(after).toBe(0);
    expect(run({})[0]).toBe(1001);
    // a value that is not an integer >= 2 is a JS error naming the variable when a task is queued; the process goes on
    const bad = `
      const a = require(${JSON.stringify(ADDON_PATH)});
      const meta = new Float64Array([1, 0, 1, 0, 4, 1, 0, 1, 4]);
      const x = a.alloc(16), y = a.alloc(16);
      a.stallStream(50);
      try { a.run('neg', [x, y], meta, new Float64Array(0)); console.log('no error'); } catch (e) { console.log(e.message); }
      a.sync();
      console.log(a.info().queuedTasks);`;
    for (const value of ['abc', '1', '64x']) {
      const out = execFileSync(process.execPath, ['-e', bad], { env: { ...process.env, EITP_NATIVE_SYNC: '0', EITP_NATIVE_MAX_QUEUED: value }, encoding: 'utf8' }).trim();
      expect(out).toBe(`neg: EITP_NATIVE_MAX_QUEUED must be an integer >= 2, got '${value}'\n0`);
    }
  });

  it('a kernel runs at the call while the stream is idle and its work is small: ~100 µs within 8 calls of a readback or sync, a sixteenth of that after, and then while the stream thread sleeps', () => {
    // y = −x on 16K floats (32K elements in and out): under the eager limit (64K elements), over the run-ahead one (4K).
    // Each call is logged as I (ran at the call) or Q (queued) from info()'s counters. After a sync the first 8 calls
    // are eager; the 9th big one is queued; once the stream is idle and asleep again (100 ms later: far past its
    // linger, even on a loaded machine) a tiny one still runs at the call; a readSync makes the next big one eager
    // again. (Running ahead, a tiny call that finds the stream idle but awake, lingering after its last task, is
    // queued instead: whether a call lands in that window is timing, so its effect is measured by
    // `npm run bench -- native-inline-policy`'s counts, not here.)
    const script = `
      const a = require(${JSON.stringify(ADDON_PATH)});
      const meta = (n) => new Float64Array([1, 0, 1, 0, n, 1, 0, 1, n]);
      const big = 1 << 14;
      const x = a.alloc(4 * big), y = a.alloc(4 * big), s = a.alloc(16), t = a.alloc(16);
      let log = '';
      const call = (n, u, v) => {
        const before = a.info();
        a.run('neg', [u, v], meta(n), new Float64Array(0));
        const after = a.info();
        log += after.inlineKernels - before.inlineKernels === 1 ? 'I' : after.queuedKernels - before.queuedKernels === 1 ? 'Q' : '?';
      };
      a.sync();
      call(big, x, y);
      for (let i = 0; i < 7; i++) call(4, s, t);
      call(big, x, y);
      while (a.info().queuedTasks > 0);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      call(4, s, t);
      a.readSync(y, 16);
      call(big, x, y);
      a.sync();
      console.log(log);`;
    const run = (sync: string) => execFileSync(process.execPath, ['-e', script], { env: { ...process.env, EITP_NATIVE_SYNC: sync }, encoding: 'utf8' }).trim();
    expect(run('0')).toBe('IIIIIIIIQII');
    expect(run('1')).toBe('IIIIIIIIIII');
  });

  it('EITP_NATIVE_MAX_PENDING_MB, EITP_NATIVE_CACHE_MB and EITP_NATIVE_SPIN_US that are not integers in range are a JS error naming them at the first allocation', () => {
    const script = `
      const a = require(${JSON.stringify(ADDON_PATH)});
      try { a.free(a.alloc(16)); console.log('no error'); } catch (e) { console.log(e.message); }
      console.log('still running');`;
    const run = (env: Record<string, string>) =>
      execFileSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' }).trim().split('\n');
    for (const value of ['abc', '0', '64MB']) {
      expect(run({ EITP_NATIVE_MAX_PENDING_MB: value })).toEqual([`allocate: EITP_NATIVE_MAX_PENDING_MB must be an integer >= 1, got '${value}'`, 'still running']);
    }
    for (const value of ['-1', '1.5', 'lots']) {
      expect(run({ EITP_NATIVE_CACHE_MB: value })).toEqual([`allocate: EITP_NATIVE_CACHE_MB must be an integer >= 0, got '${value}'`, 'still running']);
      expect(run({ EITP_NATIVE_SPIN_US: value })).toEqual([`allocate: EITP_NATIVE_SPIN_US must be an integer >= 0, got '${value}'`, 'still running']);
    }
    // valid values (0 turns the cache off) allocate and free as usual; empty means the default
    expect(run({ EITP_NATIVE_MAX_PENDING_MB: '1', EITP_NATIVE_CACHE_MB: '0' })).toEqual(['no error', 'still running']);
    expect(run({ EITP_NATIVE_MAX_PENDING_MB: '', EITP_NATIVE_CACHE_MB: '' })).toEqual(['no error', 'still running']);
    // through the engine: a typed BackendError naming the variable
    const engine = `
      import * as et from ${JSON.stringify(`${process.cwd()}/engine/index.ts`)};
      try { et.zeros([4], { backend: 'native' }); console.log('no error'); } catch (e) { console.log(e instanceof et.BackendError, e.message); }`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', engine], {
      env: { ...process.env, EITP_NATIVE_CACHE_MB: 'lots' },
      encoding: 'utf8',
    }).trim();
    expect(out).toMatch(/^true .*EITP_NATIVE_CACHE_MB must be an integer >= 0, got 'lots'/);
  });

  it('a freed buffer backs the next allocation before the stream has finished with it, in stream order', () => {
    // A stalled stream with work queued on a buffer that JS then frees: its memory is cached at once, the next
    // allocation of its size takes it, and JS writes 2s into the new buffer. That write must land after the queued
    // work. Two hazards, with buffers of different sizes (so each reuse is unambiguous): a queued kernel still to read
    // the old buffer (y = −u: must see u's 1s), and a queued kernel still to write it (x = −w, then y2 = −x and a
    // read of x: the new buffer must end up holding 2s, not x's −1s; the pending read must not need the freed record).
    const script = `
      const a = require(${JSON.stringify(ADDON_PATH)});
      const neg = (n) => new Float64Array([1, 0, 1, 0, n, 1, 0, 1, n]);
      const none = new Float64Array(0);
      const reuse = (old, bytes) => {
        const before = a.info().cachedBytes;
        a.free(old);
        const freed = a.info().cachedBytes - before;
        const fresh = a.alloc(bytes);
        return [fresh, freed + before - a.info().cachedBytes];
      };
      const m = 1 << 14, n = 1 << 16;
      const u = a.alloc(4 * m), y = a.alloc(4 * m);
      a.write(u, new Float32Array(m).fill(1));
      const w = a.alloc(4 * n), x = a.alloc(4 * n), y2 = a.alloc(4 * n);
      a.write(w, new Float32Array(n).fill(1));
      a.stallStream(150);
      a.run('neg', [u, y], neg(m), none);
      a.run('neg', [w, x], neg(n), none);
      a.run('neg', [x, y2], neg(n), none);
      const pendingX = a.read(x, 4 * n);
      const [u2, tookU] = reuse(u, 4 * m);
      a.write(u2, new Float32Array(m).fill(2));
      const [x2, tookX] = reuse(x, 4 * n);
      a.write(x2, new Float32Array(n).fill(2));
      pendingX.then((vx) => {
        a.sync();
        const all = (buf, v) => new Float32Array(buf).every((e) => e === v);
        const r = (h, k) => a.readSync(h, 4 * k);
        console.log(tookU === 4 * m, tookX === 4 * n, all(r(y, m), -1), all(r(u2, m), 2), all(r(y2, n), 1), all(vx, -1), all(r(x2, n), 2));
      });`;
    const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, EITP_NATIVE_SYNC: '0' }, encoding: 'utf8' }).trim();
    expect(out).toBe('true true true true true true true');
  });

  it('the fallback GEMM micro-kernels (EITP_SIMD=generic, avx2) are right on ragged shapes', () => {
    // A fresh process per instruction set: the choice is made once, at load.
    const script = sgemmWorstErrorScript([[67, 401, 45], [13, 7, 33], [200, 100, 300]]);
    for (const simd of ['generic', 'avx2']) {
      const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, EITP_SIMD: simd }, encoding: 'utf8' }).trim();
      const [kernel, worst] = out.split(' ');
      expect(kernel!.startsWith(simd) || kernel!.startsWith('generic')).toBe(true);
      expect(Number(worst)).toBeLessThan(1e-5);
    }
  });

  it('both parallel GEMM schedules (independent blocks, shared packed B) are right on 1, 2 and 3 threads', () => {
    // EITP_GEMM_SPLIT_MFLOP moves the switch between the schedules: 0 sends every product to the shared-B
    // schedule (barriers per K block), 1e6 every product to independent blocks. k = 784 > KC exercises the
    // accumulation over K blocks; 64 rows is the skinny case the split balancing is for.
    const script = sgemmWorstErrorScript([[64, 784, 256], [67, 401, 45], [200, 100, 300], [130, 300, 200], [25, 900, 610]]);
    for (const split of ['0', '1000000']) {
      for (const threads of ['1', '2', '3']) {
        const env = { ...process.env, EITP_GEMM_SPLIT_MFLOP: split, EITP_THREADS: threads };
        const worst = Number(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }).trim().split(' ')[1]);
        expect(worst, `split ${split}, ${threads} threads`).toBeLessThan(1e-5);
      }
    }
  });

  it.each([
    [257, 129, 65],
    [1, 1000, 1],
    [65, 1, 33],
    [13, 1000, 31],
    [300, 200, 100],
    [1, 1, 1],
  ])('ragged matmul (m, k, n) = (%i, %i, %i) matches a float64 reference', async (m, k, n) => {
    const a = randomArray(m * k, m * 7 + k);
    const b = randomArray(k * n, n * 13 + k);
    const c = et.matmul(et.tensor(a, { shape: [m, k], backend }), et.tensor(b, { shape: [k, n], backend }));
    expectClose(await c.data(), referenceMatmul(a, b, m, k, n));
    c.dispose();
  });

  it('matmul of transposed and batched operands matches a float64 reference', async () => {
    const [m, k, n] = [67, 301, 45];
    const a = randomArray(m * k, 1);
    const bt = randomArray(n * k, 2); // B stored transposed: [n, k]
    const b = new Float32Array(k * n);
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) b[p * n + j] = bt[j * k + p]!;
    const ref = referenceMatmul(a, b, m, k, n);
    const out = et.tidy(() => {
      const at = et.transpose(et.tensor(a, { shape: [m, k], backend }).transpose()); // a strided view of A
      const bv = et.transpose(et.tensor(bt, { shape: [n, k], backend }));
      const single = et.matmul(at, bv);
      const batched = et.matmul(et.stack([at, at, at]), et.stack([bv, bv, bv]));
      return { single, batched };
    });
    expectClose(await out.single.data(), ref);
    const all = await out.batched.data();
    for (let i = 0; i < 3; i++) expectClose(all.subarray(i * m * n, (i + 1) * m * n), ref);
    et.dispose(out);
  });

  it('1 and 2 threads give identical results', async () => {
    const compute = async () => {
      const r = et.tidy(() => {
        const x = et.tensor(randomArray(300 * 257, 3), { shape: [300, 257], backend });
        const w = et.tensor(randomArray(257 * 190, 4), { shape: [257, 190], backend });
        const h = et.gelu(et.matmul(x, w));
        const ln = et.layerNorm(h, null, null);
        const sm = et.softmax(ln, 0);
        const idx = et.tensor(Int32Array.from({ length: 300 }, (_, i) => (i * 7) % 40), { backend });
        const sa = et.scatterAdd(idx, sm, 40);
        return [et.sum(h, 0), ln, sa, et.argmax(sm, 1).cast('f32'), et.max(h, [0, 1])];
      });
      const data = await Promise.all(r.map((t) => t.data()));
      et.dispose(r);
      return data;
    };
    expect(setNativeThreads(1)).toBe(1);
    const one = await compute();
    expect(setNativeThreads(2)).toBe(2);
    const two = await compute();
    two.forEach((d, i) => expect(Array.from(d)).toEqual(Array.from(one[i]!)));
  });

  it.skipIf(hasNative && nativeInfo().sync)('kernels run off the JS thread: the call returns at once and timers fire while they run', async () => {
    const x = et.ones([64, 64], { backend });
    const t0 = performance.now();
    (loadAddon() as NativeAddon).stallStream(300); // 300 ms of queued work ahead of the matmul
    const y = et.matmul(x, x);
    expect(performance.now() - t0).toBeLessThan(290); // returned before the queued work could have finished
    let timerFired = false;
    setTimeout(() => (timerFired = true), 20);
    const data = await y.data();
    expect(timerFired).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(data[0]).toBe(64);
    et.dispose([x, y]);
  });

  it('frees inputs disposed while their kernel is still queued (deferred free)', async () => {
    const a = randomArray(512 * 512, 5);
    const ref = referenceMatmul(a.subarray(0, 3 * 512), a, 3, 512, 512);
    const x = et.tensor(a, { shape: [512, 512], backend });
    const y = et.matmul(x, x);
    x.dispose(); // the matmul may not have run yet: the addon frees after it
    const rows = await et.slice(y, [0, 0], [3, 512]).data();
    expectClose(rows, ref);
    y.dispose();
  });

  it('an out-of-range embedding index throws an ArgumentError at the call, and the process carries on', async () => {
    const w = et.tensor(randomArray(11 * 4, 6), { shape: [11, 4], backend });
    const bad = et.tensor(Int32Array.from([1, 11, 2]), { backend });
    expect(() => et.embedding(w, bad)).toThrow(et.ArgumentError);
    expect(() => et.embedding(w, bad)).toThrow(/embedding: index 11 at position 1 is outside \[0, 11\)/);
    const ok = et.embedding(w, et.tensor(Int32Array.from([10, 0]), { backend }));
    expect(Array.from(await ok.data())).toEqual([...Array.from((await w.data()).subarray(40, 44)), ...Array.from((await w.data()).subarray(0, 4))]);
    et.dispose([w, bad, ok]);
  });

  // With EITP_NATIVE_SYNC=1 every kernel runs at its call, so this error is thrown there instead.
  it.skipIf(hasNative && nativeInfo().sync)('an index error found while the stream runs asynchronously rejects read() naming the op', async () => {
    const w = et.tensor(randomArray(5 * 3, 7), { shape: [5, 3], backend });
    // Indices computed by a queued kernel are checked on the stream thread, not at the call.
    const ones = et.ones([256, 256], { backend });
    (loadAddon() as NativeAddon).stallStream(100); // the kernels below are still queued when embedding is called
    const big = et.matmul(ones, ones);
    const idx = et.cast(et.add(et.slice(et.reshape(big, [-1]), [0], [2]), -250), 'i32'); // [6, 6]: out of range
    const out = et.embedding(w, idx);
    await expect(out.data()).rejects.toThrow(/embedding: index 6 at position 0 is outside \[0, 5\)/);
    // the error is reported once; the stream and the process keep working
    const fine = et.add(w, 1);
    expect((await fine.data())[0]).toBeCloseTo((await w.data())[0]! + 1, 5);
    nativeSync();
    et.dispose([w, ones, big, idx, out, fine]);
  });

  it('crossEntropy target and oneHot index errors are ArgumentErrors as on cpu', () => {
    const logits = et.tensor(randomArray(4 * 3, 8), { shape: [4, 3], backend });
    const t = et.tensor(Int32Array.from([0, 1, 3, 2]), { backend });
    expect(() => et.crossEntropy(logits, t)).toThrow(/crossEntropy: target 3 at position 2 is outside \[0, 3\)/);
    expect(() => et.oneHot(t, 3)).toThrow(et.ArgumentError);
    et.dispose([logits, t]);
  });

  it('SIMD transcendental kernels match cpu on special values (Inf, NaN, signed zero, overflow, subnormal range)', async () => {
    const special = [-200, -104, -90, -87.5, -50, -9, -1, -0.3, -1e-6, -0, 0, 1e-6, 0.3, 0.7, 1, 5, 9, 50, 88.7, 89, 100, Infinity, -Infinity, NaN];
    const ops: [string, (x: et.Tensor) => et.Tensor][] = [
      ['exp', et.exp],
      ['tanh', et.tanh],
      ['sigmoid', et.sigmoid],
      ['erf', et.erf],
      ['gelu', (x) => et.gelu(x)],
      ['gelu tanh', (x) => et.gelu(x, { approximate: 'tanh' })],
      ['softmax', (x) => et.softmax(x.reshape([4, 6]), -1)],
      ['logSoftmax', (x) => et.logSoftmax(x.reshape([4, 6]), -1)],
      ['logsumexp', (x) => et.logsumexp(x.reshape([4, 6]), -1)],
      ['max', (x) => et.max(x.reshape([4, 6]), -1)],
    ];
    for (const [name, f] of ops) {
      const [expected, actual] = await Promise.all(
        (['cpu', 'native'] as const).map(async (b) => {
          const x = et.tensor(Float32Array.from(special), { backend: b });
          const y = f(x);
          const d = await y.data();
          et.dispose([x, y]);
          return d;
        }),
      );
      const cmp = compareArrays(actual!, expected!, TOLERANCE.f32);
      expect(cmp.ok, `${name}: ${cmp.message}`).toBe(true);
    }
  });

  it('et.profile times every kernel the function queues, in order, and refuses to nest', async () => {
    const x = et.randn([96, 96], { seed: 1, backend });
    const prev = et.getBackend();
    et.setBackend('native');
    try {
      const { result, kernels, totalMs, timeline } = await et.profile(async () => {
        const y = et.tidy(() => et.add(et.matmul(x, x), 1));
        const z = et.tidy(() => et.matmul(y, x));
        await z.data();
        et.dispose([y, z]);
        return 7;
      });
      expect(result).toBe(7);
      const calls = Object.fromEntries(kernels.map((k) => [k.kernel, k.calls]));
      expect(calls.matmul).toBe(2);
      expect(calls.add).toBe(1);
      // the kernels ran in call order (matmul, add, matmul), each after the previous one ended
      const compute = timeline!.filter((s) => s.kernel === 'matmul' || s.kernel === 'add');
      expect(compute.map((s) => s.kernel)).toEqual(['matmul', 'add', 'matmul']);
      for (let i = 1; i < compute.length; i++) expect(compute[i]!.startMs).toBeGreaterThanOrEqual(compute[i - 1]!.startMs + compute[i - 1]!.ms);
      expect(totalMs).toBeCloseTo(timeline!.reduce((a, s) => a + s.ms, 0), 9);
      expect(kernels.every((k) => k.ms >= 0)).toBe(true);
      await expect(et.profile(() => et.profile(() => 0))).rejects.toThrow(/cannot nest/);
      // profiling is off again after the failed nesting: a new profile starts with an empty record
      const again = await et.profile(() => 0);
      expect(again.kernels).toEqual([]);
    } finally {
      et.setBackend(prev);
      x.dispose();
    }
  });

  it('et.profile on a backend without a profiler is a BackendError', async () => {
    const prev = et.getBackend();
    et.setBackend('cpu');
    try {
      await expect(et.profile(() => 0)).rejects.toThrow(et.BackendError);
    } finally {
      et.setBackend(prev);
    }
  });

  it('dataSync works on native host memory after queued work', () => {
    const x = et.tensor(Float32Array.from([1, -2, 3]), { backend });
    const y = et.mul(et.relu(x), 2);
    expect(Array.from(y.dataSync())).toEqual([2, 0, 6]);
    et.dispose([x, y]);
  });
});
