/**
 * CPU time of the JS (main) thread alone, in ms, from Linux's /proc/self/task/<pid>/schedstat (nanoseconds on a CPU);
 * null where that file is not readable. Beside a step's wall time it shows which side bounds the step: a step whose
 * JS thread is busy nearly all of its wall time waits on JS dispatch, not on kernels (the native stream runs those on
 * its own thread). Unlike wall time it does not count time the thread was runnable but descheduled.
 */
import { readFileSync } from 'node:fs';

export function jsThreadCpuMs(): number | null {
  try {
    const ns = Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : null;
  } catch {
    return null;
  }
}
