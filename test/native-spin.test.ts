/**
 * The native stream's spin hint (native/spin-hint.h): how long the stream and pool threads keep spinning for work
 * after the JS thread stops waiting for them. Settings and their errors; results must not depend on it. Its effect
 * on time is a benchmark (`npm run bench -- native-spin`), not a test. Skipped when the addon is not built
 * (EITP_REQUIRE_NATIVE=1 fails instead).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { nativeInfo, setNativeSpinLinger } from '../engine/backends/native/index.js';
import { type NativeAddon, loadAddon } from '../engine/backends/native/native-addon.js';
import { availableBackends } from './helpers/backends.js';
import { ADDON_PATH } from './helpers/addon-script.js';

const hasNative = availableBackends().includes('native');

describe.skipIf(!hasNative && process.env.EITP_REQUIRE_NATIVE !== '1')('native spin hint', () => {
  const initial = hasNative ? nativeInfo().spinLingerUs : 0;
  afterAll(() => {
    if (hasNative) setNativeSpinLinger(initial);
  });

  it('EITP_NATIVE_SPIN_US sets the linger of a fresh process (default 300 µs, 0 turns it off)', () => {
    const script = `const a = require(${JSON.stringify(ADDON_PATH)}); console.log(a.info().spinLingerUs)`;
    const run = (value: string | undefined) => {
      const env = { ...process.env };
      delete env.EITP_NATIVE_SPIN_US;
      if (value !== undefined) env.EITP_NATIVE_SPIN_US = value;
      return execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }).trim();
    };
    expect(run(undefined)).toBe('300');
    expect(run('0')).toBe('0');
    expect(run('1200')).toBe('1200');
  });

  it('setNativeSpinLinger takes whole microseconds in [0, 1e6] and returns the value in effect; anything else is an ArgumentError', () => {
    expect(setNativeSpinLinger(0)).toBe(0);
    expect(nativeInfo().spinLingerUs).toBe(0);
    expect(setNativeSpinLinger(750)).toBe(750);
    expect(nativeInfo().spinLingerUs).toBe(750);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e6 + 1]) {
      expect(() => setNativeSpinLinger(bad)).toThrow(et.ArgumentError);
      expect(() => setNativeSpinLinger(bad)).toThrow(/setNativeSpinLinger: expected an integer number of microseconds/);
    }
    expect(nativeInfo().spinLingerUs).toBe(750);
    // the addon itself, called directly: a JS exception for anything that is not a number in range, nothing set
    const addon = loadAddon() as NativeAddon;
    for (const bad of ['abc', undefined, {}]) expect(() => addon.setSpinLinger(bad as unknown as number)).toThrow(/A number was expected/);
    for (const bad of [-1, Number.NaN, 2e6]) expect(() => addon.setSpinLinger(bad)).toThrow(/setSpinLinger: the spin linger must be 0 to 1e6 microseconds/);
    expect(nativeInfo().spinLingerUs).toBe(750);
  });

  it("eitp info's line gives the linger in effect", () => {
    const detail = () => et.backendInfo().find((b) => b.name === 'native')!.detail!;
    setNativeSpinLinger(450);
    expect(detail()).toMatch(/, spin linger 450 µs(,|$)/);
    setNativeSpinLinger(0);
    expect(detail()).toMatch(/, no spin linger(,|$)/);
  });

  it('an idle process stops spinning within the 2 ms cap, even with a linger of a second', () => {
    // A child process does eager products and readbacks with the linger at 1 s, then sleeps 300 ms: its threads may
    // spin at most 2 ms each of that (spin-hint.h's cap), so the process's CPU time over the sleep stays small. Without
    // the cap, the stream and the pool's worker would spin through the whole sleep (~600 ms of CPU on 2 threads).
    const engine = `
      import * as et from ${JSON.stringify(`${process.cwd()}/engine/index.ts`)};
      import { setNativeSpinLinger } from ${JSON.stringify(`${process.cwd()}/engine/backends/native/index.ts`)};
      et.setBackend('native');
      setNativeSpinLinger(1000000);
      const a = et.randn([192, 256], { seed: 1 }), b = et.randn([256, 160], { seed: 2 });
      for (let i = 0; i < 50; i++) { const c = et.matmul(a, b); await c.data(); c.dispose(); }
      const before = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 300));
      const used = process.cpuUsage(before);
      console.log(((used.user + used.system) / 1000).toFixed(1));`;
    const env = { ...process.env, EITP_NATIVE_SYNC: '0', EITP_THREADS: '2' };
    const ms = Number(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', engine], { env, encoding: 'utf8' }).trim().split('\n').pop());
    expect(ms).toBeLessThan(60);
  });

  it('threaded kernels give the same bits whether the threads spin or sleep between them', async () => {
    // products split over the pool (workers joining from a spin or from sleep), each awaited, the linger switched
    // between them; every result must equal the first bit for bit
    const a = et.randn([192, 256], { seed: 1, backend: 'native' });
    const b = et.randn([256, 160], { seed: 2, backend: 'native' });
    const first = await et.matmul(a, b).data();
    let differing = 0;
    for (let i = 0; i < 60; i++) {
      setNativeSpinLinger(i % 3 === 0 ? 0 : 2000);
      const c = et.matmul(a, b);
      const got = await c.data();
      c.dispose();
      if (!got.every((v, j) => Object.is(v, first[j]))) differing++;
    }
    et.dispose([a, b]);
    expect(differing).toBe(0);
  });
});
