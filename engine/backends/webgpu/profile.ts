/**
 * Per-kernel GPU times through timestamp queries (adapter feature 'timestamp-query'). While a profile is active,
 * every dispatch gets its own compute pass with beginning/end timestamps; the query set is resolved into a buffer
 * at each submit and read back when the profiled function has finished.
 */
/// <reference types="@webgpu/types" />
import type { KernelTime } from '../../backend.js';
import { KernelTimeSummary } from '../../kernel-times.js';

export type { KernelTime };

const QUERY_RESOLVE_COPY_SRC = 0x200 | 0x04;
const MAP_READ_COPY_DST = 0x01 | 0x08;

export class Profiler {
  private readonly querySet: GPUQuerySet;
  private readonly labels: string[] = [];
  private resolvedUpTo = 0;
  private readonly results: { buffer: GPUBuffer; resolved: GPUBuffer; first: number; count: number }[] = [];
  dropped = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly capacity = 2048,
  ) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: capacity * 2 });
  }

  /** timestampWrites for the next dispatch's pass (undefined once the query set is full). */
  next(label: string): GPUComputePassTimestampWrites | undefined {
    if (this.labels.length >= this.capacity) {
      this.dropped++;
      return undefined;
    }
    const i = this.labels.length;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Resolves the queries written since the last resolve into a readable buffer (called before each submit). */
  resolve(encoder: GPUCommandEncoder): void {
    const first = this.resolvedUpTo;
    const count = this.labels.length - first;
    if (count === 0) return;
    const bytes = count * 16;
    const dst = this.device.createBuffer({ size: bytes, usage: QUERY_RESOLVE_COPY_SRC });
    const readback = this.device.createBuffer({ size: bytes, usage: MAP_READ_COPY_DST });
    encoder.resolveQuerySet(this.querySet, 2 * first, 2 * count, dst, 0);
    encoder.copyBufferToBuffer(dst, 0, readback, 0, bytes);
    this.results.push({ buffer: readback, resolved: dst, first, count });
    this.resolvedUpTo = this.labels.length;
  }

  /** Times per kernel label, after everything recorded was submitted. */
  async collect(): Promise<KernelTime[]> {
    const summary = new KernelTimeSummary();
    for (const r of this.results) {
      await r.buffer.mapAsync(1);
      const range = r.buffer.getMappedRange();
      const t = new BigUint64Array(range.slice(0));
      r.buffer.unmap();
      r.buffer.destroy();
      r.resolved.destroy();
      for (let i = 0; i < r.count; i++) {
        const label = this.labels[r.first + i]!;
        summary.add(label, Number(t[2 * i + 1]! - t[2 * i]!));
      }
    }
    this.querySet.destroy();
    return summary.kernels();
  }
}
