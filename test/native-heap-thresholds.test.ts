/**
 * glibc's malloc thresholds at load (native/heap-thresholds.cc): by default the addon frees one 32 MiB block, so that
 * glibc's own dynamic rule raises its mmap threshold to ~32 MiB (blocks below it come from the heap instead of a fresh
 * mapping each) and its trim threshold to twice that. Checked in fresh processes through glibc's own count of mapped
 * blocks around a malloc (the addon's test-only mallocMaps, mallinfo2): the default, EITP_NATIVE_GLIBC_THRESHOLDS=0,
 * thresholds the process set itself (GLIBC_TUNABLES: kept, reported as such), an allocator preloaded in front of glibc's
 * (AddressSanitizer's runtime: 'not-glibc', nothing raised) and bad values (an error at the first allocation, naming
 * the variable). Their effect on time (large readbacks without a page fault per 4 KiB) is a benchmark, not a test.
 * Skipped when the addon is not built.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { nativeInfo } from '../engine/backends/native/index.js';
import { type NativeAddon, loadAddon } from '../engine/backends/native/native-addon.js';
import { availableBackends } from './helpers/backends.js';
import { ADDON_PATH } from './helpers/addon-script.js';

const hasNative = availableBackends().includes('native');
const glibc = Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);
/** g++'s AddressSanitizer runtime, when installed (CI installs g++ for the addons). */
const libasan = ((): string | null => {
  try {
    const path = execFileSync('g++', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
    return path.startsWith('/') && existsSync(path) ? path : null;
  } catch {
    return null;
  }
})();

interface Probe {
  thresholds: string;
  maps: Record<string, boolean>;
}

/** A fresh process loads the addon with `env` and reports its thresholds and which block sizes malloc maps. */
function probe(env: Record<string, string | undefined>): Probe {
  const script = `
    const a = require(${JSON.stringify(ADDON_PATH)});
    const maps = {};
    for (const mib of [1, 16, 40]) maps[mib] = a.mallocMaps(mib * 1048576);
    console.log(JSON.stringify({ thresholds: a.info().glibcThresholds, maps }));`;
  const full: Record<string, string | undefined> = { ...process.env };
  delete full.EITP_NATIVE_GLIBC_THRESHOLDS;
  delete full.GLIBC_TUNABLES;
  Object.assign(full, env);
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: full as NodeJS.ProcessEnv, encoding: 'utf8' })) as Probe;
}

describe.skipIf(!hasNative && process.env.EITP_REQUIRE_NATIVE !== '1')('native: glibc malloc thresholds', () => {
  it('by default blocks under 32 MiB come from the heap: 1 and 16 MiB are not mapped, 40 MiB is (glibc)', () => {
    if (!glibc) {
      expect(probe({})).toEqual({ thresholds: 'not-glibc', maps: { 1: false, 16: false, 40: false } });
      return;
    }
    expect(probe({})).toEqual({ thresholds: 'raised', maps: { 1: false, 16: false, 40: true } });
    expect(probe({ EITP_NATIVE_GLIBC_THRESHOLDS: '1' })).toEqual({ thresholds: 'raised', maps: { 1: false, 16: false, 40: true } });
  });

  it.runIf(glibc)("EITP_NATIVE_GLIBC_THRESHOLDS=0 leaves glibc's defaults: a 1 MiB block is mapped", () => {
    expect(probe({ EITP_NATIVE_GLIBC_THRESHOLDS: '0' })).toEqual({ thresholds: 'off', maps: { 1: true, 16: true, 40: true } });
  });

  it.runIf(glibc)('thresholds the process set itself (GLIBC_TUNABLES) are kept and reported as kept', () => {
    const r = probe({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=262144' });
    expect(r).toEqual({ thresholds: 'kept', maps: { 1: true, 16: true, 40: true } });
  });

  it.runIf(glibc && libasan !== null)("with an allocator in front of glibc's (AddressSanitizer's runtime preloaded) there is nothing to raise", () => {
    const r = probe({ LD_PRELOAD: libasan!, ASAN_OPTIONS: 'detect_leaks=0' });
    expect(r).toEqual({ thresholds: 'not-glibc', maps: { 1: false, 16: false, 40: false } });
  });

  it('a value other than 0 or 1 is an error at the first allocation that names the variable; the process lives on', () => {
    for (const bad of ['2', 'yes', '-1']) {
      const script = `
        const a = require(${JSON.stringify(ADDON_PATH)});
        let message = 'no error';
        try { a.alloc(64); } catch (e) { message = e.message; }
        console.log(JSON.stringify({ thresholds: a.info().glibcThresholds, message }));`;
      const env: Record<string, string | undefined> = { ...process.env, EITP_NATIVE_GLIBC_THRESHOLDS: bad };
      const r = JSON.parse(execFileSync(process.execPath, ['-e', script], { env: env as NodeJS.ProcessEnv, encoding: 'utf8' })) as { thresholds: string; message: string };
      expect(r.message).toContain(`EITP_NATIVE_GLIBC_THRESHOLDS must be 0 or 1, got '${bad}'`);
      expect(r.thresholds).toBe('off');
    }
  });

  it('the test-only probe turns bad sizes into JS errors, not a crash', () => {
    const addon = loadAddon() as NativeAddon;
    for (const bad of [0, -1, Number.NaN, 2e9]) expect(() => addon.mallocMaps(bad)).toThrow(/mallocMaps takes a size in \[1, 1e9\] bytes/);
    expect(() => addon.mallocMaps('x' as unknown as number)).toThrow(/A number was expected/);
  });

  it("nativeInfo and eitp info's line say what was done in this process", () => {
    const state = nativeInfo().glibcThresholds;
    expect(state).toBe(glibc ? (process.env.GLIBC_TUNABLES ? 'kept' : process.env.EITP_NATIVE_GLIBC_THRESHOLDS === '0' ? 'off' : 'raised') : 'not-glibc');
    const detail = et.backendInfo().find((b) => b.name === 'native')!.detail!;
    expect(detail.includes(', glibc thresholds raised')).toBe(state === 'raised');
  });
});
