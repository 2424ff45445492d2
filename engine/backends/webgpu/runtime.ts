/**
 * The command stream of one device. Kernels only record: each dispatch goes into a pending command encoder
 * (one compute pass stays open across dispatches), its uniforms into a host-side arena. Work is submitted when
 * something must see its results (a read), when the batch grows past `maxBatch` dispatches (so the device starts
 * while the host keeps recording) or when the uniform arena fills. Reads copy into pooled staging buffers and
 * await the map with timer polling (see dawn-workarounds.ts).
 *
 * Buffer reuse: queue.writeBuffer runs before any not-yet-submitted command, so a buffer that recorded dispatches
 * still reference must not be handed out again and overwritten. Buffers freed while referenced by the pending
 * batch are parked and return to the pool only when that batch is submitted; writes into a buffer the pending
 * batch uses flush first.
 */
/// <reference types="@webgpu/types" />
import type { DeviceBuffer } from '../../backend.js';
import { ArgumentError, BackendError } from '../../errors.js';
import type { CachedPipeline } from './shaders.js';
import { BufferPool, STAGING_USAGE, STORAGE_USAGE } from './pool.js';
import type { Profiler } from './profile.js';

export interface GpuBuffer extends DeviceBuffer {
  readonly gpu: GPUBuffer;
  /** id of the last batch that recorded a use of this buffer */
  lastBatch: number;
  freed: boolean;
}

const MAP_READ = 1;
const UNIFORM_COPY_DST = 0x40 | 0x08;
const ARENA_BYTES = 1 << 18;
const MAX_GROUPS = 65535;

/** Index errors found by kernels: [flag, op code, value, position, limit]. */
const STATUS_OPS = ['embedding', 'scatterAdd', 'oneHot', 'crossEntropy', 'crossEntropyGrad'] as const;
export type StatusOp = (typeof STATUS_OPS)[number];
export const statusCode = (op: StatusOp): number => STATUS_OPS.indexOf(op) + 1;

export interface RuntimeOptions {
  maxBatch: number;
  maxPooledBytes: number;
}

export class Runtime {
  readonly pool: BufferPool;
  private readonly staging: BufferPool;
  private batch = 1;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dispatched = 0;
  private readonly arena = new Uint32Array(ARENA_BYTES / 4);
  private arenaUsed = 0;
  private readonly arenaGpu: GPUBuffer;
  private readonly align: number;
  private parked: GPUBuffer[] = [];
  readonly status: GPUBuffer;
  private statusDirty = false;
  private lostReason: string | null = null;
  private firstError: string | null = null;
  destroyed = false;
  profiler: Profiler | null = null;
  /** Called once when the device is lost (not when we destroy it). */
  onLost: ((reason: string) => void) | null = null;
  /** counters for tests and diagnostics */
  readonly counters = { dispatches: 0, submits: 0, reads: 0 };

  constructor(
    readonly device: GPUDevice,
    readonly options: RuntimeOptions,
  ) {
    this.pool = new BufferPool(device, STORAGE_USAGE, options.maxPooledBytes, 'eitp-tensor');
    this.staging = new BufferPool(device, STAGING_USAGE, 64 << 20, 'eitp-staging');
    this.arenaGpu = device.createBuffer({ size: ARENA_BYTES, usage: UNIFORM_COPY_DST, label: 'eitp-uniforms' });
    this.align = Math.max(16, device.limits.minUniformBufferOffsetAlignment);
    this.status = device.createBuffer({ size: 32, usage: STORAGE_USAGE, label: 'eitp-status' });
    device.lost.then((info) => {
      if (this.destroyed) return;
      this.lostReason = `${info.reason}: ${info.message}`;
      this.onLost?.(this.lostReason);
    });
    device.onuncapturederror = (e: GPUUncapturedErrorEvent) => {
      this.firstError ??= e.error.message;
    };
  }

  /** Throws when the device is gone: tensors on it are lost, and the engine never switches backend silently. */
  check(op = 'webgpu'): void {
    if (this.destroyed) throw new BackendError('the webgpu device was destroyed (et.destroyWebGPU or process exit); call initWebGPU() again', { op, backend: 'webgpu' });
    if (this.lostReason) throw new BackendError(`the webgpu device was lost (${this.lostReason}); its tensors are gone and no other backend takes over`, { op, backend: 'webgpu' });
  }

  allocate(bytes: number): GpuBuffer {
    this.check('allocate');
    const gpu = this.pool.acquire(bytes);
    return { gpu, bytes: gpu.size, lastBatch: 0, freed: false };
  }

  free(b: GpuBuffer): void {
    if (b.freed) return;
    b.freed = true;
    if (this.destroyed) return;
    if (b.lastBatch === this.batch && this.encoder) this.parked.push(b.gpu);
    else this.pool.release(b.gpu);
  }

  write(b: GpuBuffer, data: ArrayBufferView): void {
    this.check('write');
    if (b.lastBatch === this.batch && this.encoder) this.flush();
    this.device.queue.writeBuffer(b.gpu, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  private ensurePass(): GPUComputePassEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    return this.pass;
  }

  /** Commands that cannot run inside a compute pass (copies, clears) close the open one. */
  encoderOutsidePass(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  /** Marks buffers as used by the pending batch (also for copies recorded outside dispatch()). */
  use(...buffers: GpuBuffer[]): void {
    for (const b of buffers) b.lastBatch = this.batch;
  }

  /** Dense copies are plain buffer copies (a memcpy on lavapipe; no shader, no per-element bounds checks). */
  copy(src: GpuBuffer, srcOffsetBytes: number, dst: GpuBuffer, bytes: number): void {
    this.check('copy');
    this.use(src, dst);
    this.encoderOutsidePass().copyBufferToBuffer(src.gpu, srcOffsetBytes, dst.gpu, 0, bytes);
  }

  clear(b: GpuBuffer, bytes: number): void {
    this.use(b);
    this.encoderOutsidePass().clearBuffer(b.gpu, 0, Math.ceil(bytes / 4) * 4);
  }

  /** Records one dispatch. `status`: the kernel reports index errors into the status buffer (last binding). */
  dispatch(p: CachedPipeline, buffers: readonly GpuBuffer[], params: Uint32Array, groups: readonly [number, number, number], status = false): void {
    this.check(p.label);
    if (groups[0] === 0 || groups[1] === 0 || groups[2] === 0) return;
    const bytes = params.byteLength;
    if (this.arenaUsed + bytes > ARENA_BYTES) this.flush();
    const offset = this.arenaUsed;
    this.arena.set(params, offset / 4);
    this.arenaUsed = Math.ceil((offset + bytes) / this.align) * this.align;
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.arenaGpu, offset, size: bytes } }];
    buffers.forEach((b, i) => {
      b.lastBatch = this.batch;
      entries.push({ binding: i + 1, resource: { buffer: b.gpu } });
    });
    if (status) {
      entries.push({ binding: buffers.length + 1, resource: { buffer: this.status } });
      this.statusDirty = true;
    }
    const bindGroup = this.device.createBindGroup({ layout: p.layout, entries });
    let pass: GPUComputePassEncoder;
    if (this.profiler) {
      this.encoderOutsidePass();
      pass = this.encoder!.beginComputePass({ timestampWrites: this.profiler.next(p.label) });
    } else pass = this.ensurePass();
    pass.setPipeline(p.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    if (this.profiler) pass.end();
    this.counters.dispatches++;
    if (++this.dispatched >= this.options.maxBatch) this.flush();
  }

  /** Submits the pending batch (uniform arena first: queue writes precede the submit on the queue timeline). */
  flush(): void {
    if (!this.encoder || this.destroyed) return;
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (this.profiler) this.profiler.resolve(this.encoder);
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arenaGpu, 0, this.arena.buffer, 0, this.arenaUsed);
    this.device.queue.submit([this.encoder.finish()]);
    this.counters.submits++;
    this.encoder = null;
    this.arenaUsed = 0;
    this.dispatched = 0;
    this.batch++;
    for (const b of this.parked) this.pool.release(b);
    this.parked = [];
  }

  /** Copies `bytes` from b (after all recorded work) into host memory. */
  async read(b: GpuBuffer, bytes: number): Promise<ArrayBuffer> {
    this.check('read');
    this.counters.reads++;
    const size = Math.ceil(bytes / 4) * 4;
    const withStatus = this.statusDirty;
    this.statusDirty = false;
    const staging = this.staging.acquire(size + (withStatus ? 32 : 0));
    const enc = this.encoderOutsidePass();
    b.lastBatch = this.batch;
    if (size > 0) enc.copyBufferToBuffer(b.gpu, 0, staging, 0, size);
    if (withStatus) enc.copyBufferToBuffer(this.status, 0, staging, size, 32);
    this.flush();
    try {
      await staging.mapAsync(MAP_READ, 0, size + (withStatus ? 32 : 0));
    } catch (e) {
      this.check('read');
      throw new BackendError(`reading a buffer back failed: ${e instanceof Error ? e.message : String(e)}`, { op: 'read', backend: 'webgpu' });
    }
    const mapped = staging.getMappedRange(0, size + (withStatus ? 32 : 0));
    const out = mapped.slice(0, size);
    const status = withStatus ? new Uint32Array(mapped.slice(size, size + 32)) : null;
    staging.unmap();
    this.staging.release(staging);
    this.raiseErrors(status);
    return out;
  }

  private raiseErrors(status: Uint32Array | null): void {
    if (this.firstError) {
      const msg = this.firstError;
      this.firstError = null;
      throw new BackendError(`WebGPU reported an error: ${msg}`, { backend: 'webgpu' });
    }
    if (status && status[0] !== 0) {
      this.device.queue.writeBuffer(this.status, 0, new Uint32Array(8));
      const op = STATUS_OPS[status[1]! - 1] ?? 'unknown';
      const value = status[2]! | 0;
      const what = op === 'crossEntropy' || op === 'crossEntropyGrad' ? 'target' : 'index';
      throw new ArgumentError(`${what} ${value} at position ${status[3]} is outside [0, ${status[4]}) (found on the device; reported at the next read)`, { op, backend: 'webgpu' });
    }
  }

  /** Launch size of a 1-D kernel of `threads` invocations, spilling into y beyond 65535 workgroups. */
  static grid1d(threads: number, wg: number): [number, number, number] {
    const groups = Math.ceil(threads / wg);
    if (groups <= MAX_GROUPS) return [groups, 1, 1];
    return [MAX_GROUPS, Math.ceil(groups / MAX_GROUPS), 1];
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.encoder = null;
    this.pass = null;
    this.device.destroy();
  }
}
