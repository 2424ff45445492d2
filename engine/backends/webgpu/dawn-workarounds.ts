/**
 * Dawn's Node binding polls its event loop through the global `setImmediate` for as long as any GPU promise is
 * pending, which keeps one core at 100 % and takes it from lavapipe's worker threads. While the backend is live we
 * route only Dawn's callbacks (native functions) to a 0 ms timer: about 1 ms more latency per await, and measured
 * 1.2–2x faster lavapipe workloads on 2 cores (../shared/GPU-WITHOUT-GPU.md). Everything else keeps setImmediate.
 */
import { promisify } from 'node:util';

const fnToString = Function.prototype.toString;
let original: typeof setImmediate | null = null;

function isNative(fn: unknown): boolean {
  return typeof fn === 'function' && fnToString.call(fn).endsWith('{ [native code] }');
}

export function installTimerPolling(): void {
  if (original) return;
  const orig = globalThis.setImmediate;
  original = orig;
  const shim = function (this: unknown, fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (isNative(fn)) return setTimeout(fn, 0, ...args) as unknown as NodeJS.Immediate;
    return orig(fn, ...args);
  };
  // keep util.promisify(setImmediate) working for everyone else
  Object.defineProperty(shim, promisify.custom, { value: (orig as unknown as Record<symbol, unknown>)[promisify.custom] });
  globalThis.setImmediate = shim as unknown as typeof setImmediate;
}

export function uninstallTimerPolling(): void {
  if (!original) return;
  globalThis.setImmediate = original;
  original = null;
}
