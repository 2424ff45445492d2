/**
 * Bytes of JS heap a function allocates, garbage included: V8's sampling heap profiler (through the inspector) with
 * the objects later collected by minor and major GCs kept in the profile, summed over every call site. On a shared
 * machine whose timings move by tens of percent between runs, this count repeats to about 1 % (char-GPT step with all
 * EIT-P terms: 4.72 and 4.73 MB in two runs), so it shows what a change to the engine's per-op JS does when the
 * step time cannot. V8's heap only: the off-heap backing stores of typed arrays (host copies of tensors) are not
 * counted, their JS objects are.
 */
import { Session } from 'node:inspector';

interface SamplingNode {
  readonly selfSize: number;
  readonly children: readonly SamplingNode[];
}

const SAMPLING_INTERVAL = 512;

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T))));
}

function totalBytes(node: SamplingNode): number {
  let sum = node.selfSize;
  for (const child of node.children) sum += totalBytes(child);
  return sum;
}

/** Runs fn `iterations` times under the sampling heap profiler; returns the bytes allocated per iteration. */
export async function jsBytesPerIteration(fn: () => Promise<void>, iterations: number): Promise<number> {
  const session = new Session();
  session.connect();
  try {
    await post(session, 'HeapProfiler.enable');
    await post(session, 'HeapProfiler.startSampling', {
      samplingInterval: SAMPLING_INTERVAL,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    let head: SamplingNode | undefined;
    try {
      for (let i = 0; i < iterations; i++) await fn();
    } finally {
      // stopped whether fn threw or not: a failure leaves no profiler running
      head = (await post<{ profile: { head: SamplingNode } }>(session, 'HeapProfiler.stopSampling')).profile.head;
    }
    return totalBytes(head) / iterations;
  } finally {
    session.disconnect();
  }
}
