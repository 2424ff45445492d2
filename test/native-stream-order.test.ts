/**
 * The native stream runs queued work in call order and wakes the JS thread when the work it waits for is done
 * (native/stream.cc: the stream takes the whole queue at once and announces each completion without its lock, taking
 * it only when the JS thread sleeps in a wait). A lost item, a reordering or a lost wake-up shows here as a wrong
 * count or a hang (the test's timeout). Counts are exact: integers below 2^24 add exactly in f32.
 * Skipped when the addon is not built (EITP_REQUIRE_NATIVE=1 fails instead).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { availableBackends } from './helpers/backends.js';

const hasNative = availableBackends().includes('native');

// Run in a child process: the JS thread blocks inside the addon while it waits, so a lost wake-up would hang the test
// runner itself; the child's timeout turns it into a failure.
const script = (threads: number, linger: number) => `
  import * as et from ${JSON.stringify(`${process.cwd()}/engine/index.ts`)};
  import { nativeSync, setNativeSpinLinger, setNativeThreads } from ${JSON.stringify(`${process.cwd()}/engine/backends/native/index.ts`)};
  setNativeThreads(${threads});
  setNativeSpinLinger(${linger});
  const a = et.keep(et.randn([128, 128], { seed: 1, backend: 'native' }));
  // a product long enough (~4 MFLOP) that the adds after it queue behind it, and a wait for them sleeps
  const busy = () => et.tidy(() => et.matmul(a, a).sum());
  let x = et.keep(et.zeros([64], { backend: 'native' }));
  let sinks = [];
  const seen = [];
  for (let i = 1; i <= 3000; i++) {
    if (i % 7 === 0) sinks.push(et.keep(busy()));
    const next = et.keep(x.add(1));
    x.dispose();
    x = next;
    if (i % 50 === 0) {
      // the three ways JS waits for the stream: an awaited read, a synchronous read, a sync then a read
      if (i % 150 === 0) seen.push([i, (await x.data())[63]]);
      else if (i % 150 === 50) seen.push([i, x.dataSync()[0]]);
      else {
        nativeSync();
        seen.push([i, x.dataSync()[31]]);
      }
      et.dispose(sinks);
      sinks = [];
    }
  }
  seen.push([3000, ...(await x.data())]);
  console.log(JSON.stringify(seen));`;

describe.skipIf(!hasNative && process.env.EITP_REQUIRE_NATIVE !== '1')('native stream: order and wake-ups', () => {
  it.each([
    [1, 300],
    [2, 300],
    [2, 0],
  ])('counts queued behind products come out exact, read after read (%i thread(s), linger %i µs)', (threads, linger) => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(threads, linger)], {
      env: { ...process.env, EITP_NATIVE_SYNC: '0' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const seen = JSON.parse(out.trim().split('\n').pop()!) as number[][];
    expect(seen).toHaveLength(61);
    for (const [i, ...values] of seen) expect(values, `after ${i} adds`).toEqual(Array<number>(values.length).fill(i!));
    expect(seen[60]).toHaveLength(65);
  });
});
