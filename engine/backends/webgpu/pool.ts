/**
 * GPU buffers pooled by size class. Creating and destroying GPUBuffers per tensor is slow on every WebGPU
 * implementation, so freed buffers go back to a free list of their class and the next allocation of that class
 * reuses them. Classes are four steps per power of two (at most 25 % slack). Byte counters say what the device
 * holds: `live` (held by tensors or in flight), `free` (pooled) and their sum `total`.
 */
/// <reference types="@webgpu/types" />

export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */
export const STAGING_USAGE = 0x01 /* MAP_READ */ | 0x08; /* COPY_DST */

/** Smallest class: bind groups may not bind zero bytes, and tiny buffers are all alike. */
const MIN_BYTES = 64;

export function sizeClass(bytes: number): number {
  const b = Math.max(MIN_BYTES, Math.ceil(bytes / 4) * 4);
  const p = 2 ** Math.floor(Math.log2(b));
  const step = Math.max(p / 4, 16);
  return Math.ceil(b / step) * step;
}

export interface PoolStats {
  /** Bytes of pooled buffers currently handed out. */
  liveBytes: number;
  /** Bytes of buffers waiting in the free lists. */
  freeBytes: number;
  liveBuffers: number;
  freeBuffers: number;
  /** GPUBuffers ever created / destroyed by this pool. */
  created: number;
  destroyed: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  readonly stats: PoolStats = { liveBytes: 0, freeBytes: 0, liveBuffers: 0, freeBuffers: 0, created: 0, destroyed: 0 };

  /** maxFreeBytes: above this, released buffers are destroyed instead of pooled. */
  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
    readonly maxFreeBytes: number,
    private readonly label: string,
  ) {}

  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.stats.freeBytes -= size;
      this.stats.freeBuffers--;
    } else {
      buffer = this.device.createBuffer({ size, usage: this.usage, label: this.label });
      this.stats.created++;
    }
    this.stats.liveBytes += size;
    this.stats.liveBuffers++;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.stats.liveBytes -= size;
    this.stats.liveBuffers--;
    if (this.stats.freeBytes + size > this.maxFreeBytes) {
      buffer.destroy();
      this.stats.destroyed++;
      return;
    }
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
    this.stats.freeBytes += size;
    this.stats.freeBuffers++;
  }

  /** Destroys every pooled (not live) buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list.splice(0)) b.destroy();
    this.stats.destroyed += this.stats.freeBuffers;
    this.stats.freeBytes = 0;
    this.stats.freeBuffers = 0;
  }
}
