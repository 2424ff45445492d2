/** Per-kernel totals of a profile (`et.profile`), built from one timed sample per kernel call. */
import type { KernelTime } from './backend.js';

export class KernelTimeSummary {
  private readonly byKernel = new Map<string, { calls: number; ns: number }>();

  /** One call of `kernel` that took `ns` nanoseconds (negative clock differences count as 0). */
  add(kernel: string, ns: number): void {
    const e = this.byKernel.get(kernel) ?? { calls: 0, ns: 0 };
    e.calls++;
    e.ns += Math.max(0, ns);
    this.byKernel.set(kernel, e);
  }

  /** The kernels, most time first. */
  kernels(): KernelTime[] {
    return [...this.byKernel].map(([kernel, e]) => ({ kernel, calls: e.calls, ms: e.ns / 1e6 })).sort((a, b) => b.ms - a.ms);
  }
}
