/**
 * The webgpu backend (Dawn through the `webgpu` npm package). Acquiring an adapter is asynchronous while
 * setBackend()/backendInfo() are synchronous, so the backend is initialised explicitly:
 *
 *   await initWebGPU();          // then et.setBackend('webgpu') or { backend: 'webgpu' } per tensor
 *
 * Until then, and when the package or an adapter is missing, backendInfo() reports why webgpu is unavailable.
 * The device is destroyed by destroyWebGPU() or when the process is about to exit, so Node can exit.
 */
/// <reference types="@webgpu/types" />
import type { Backend, BackendStatus } from '../../backend.js';
import { registerBackend } from '../../device.js';
import { BackendError } from '../../errors.js';
import { createWebGpuBackend } from './backend.js';
import { type GpuContext, type Int8DotPath, PACKED_DOT_FEATURE, SHADER_F16_FEATURE } from './context.js';
import { installTimerPolling, uninstallTimerPolling } from './dawn-workarounds.js';
import type { PoolStats } from './pool.js';
import { type KernelTime, Profiler } from './profile.js';
import { Runtime } from './runtime.js';
import { PipelineCache } from './shaders.js';

export type { KernelTime } from './profile.js';

export interface WebGpuOptions {
  /** Dispatches recorded before a submit is forced (default 16, or EITP_WEBGPU_MAX_BATCH): small enough that the
   *  device starts while the host records the rest of a step (measured best for an MLP step on 2-core lavapipe). */
  maxBatch?: number;
  /** Bytes of freed buffers the pool keeps for reuse (default 512 MiB). */
  maxPooledBytes?: number;
  /** Dawn toggles for `create()`; default ['backend=vulkan'] on Linux (lavapipe on CPU-only machines). */
  dawnFlags?: string[];
  /** Give up on adapter acquisition after this long (default 30 s). */
  timeoutMs?: number;
}

interface State {
  /** The GPU (Dawn instance) and adapter must stay reachable: Dawn keeps polling the instance, and once the GC
   * collects it the next poll dereferences freed memory (seen as random segfaults / futex aborts). The instance
   * stays reachable after the state is gone too (`instances`). */
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly backend: Backend;
  readonly ctx: GpuContext;
  readonly adapterName: string;
  readonly features: readonly string[];
}

const NOT_INITIALISED = 'not initialised: call `await initWebGPU()` (exported by the engine) before selecting webgpu';
let state: State | null = null;
let unavailable: string = NOT_INITIALISED;
let pending: Promise<BackendStatus> | null = null;
/** The Dawn instance of each set of flags, made once and kept reachable for the life of the process. Dawn polls an
 * instance for as long as any of its callbacks is due, also after the device is destroyed or lost (the lost
 * callback) and after an adapter request that found none; an instance the GC collected before that poll made it
 * throw out of Dawn's native code and abort the process (`eitp info`: about 1 run in 60; every run with a gc() after
 * destroyWebGPU()). A new initWebGPU() after a destroy or a loss asks the same instance for a new device. */
const instances = new Map<string, GPU>();

/** The loader registered for 'webgpu' in engine/backends/register.ts: synchronous, never throws. */
export function webgpuLoader(): Backend | { unavailable: string } {
  return state ? state.backend : { unavailable };
}

function setUnavailable(reason: string): BackendStatus {
  unavailable = reason;
  registerBackend('webgpu', webgpuLoader);
  return { name: 'webgpu', available: false, reason };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Acquires adapter and device once; later calls return the same status. Never throws: failures become the reason. */
export function initWebGPU(options: WebGpuOptions = {}): Promise<BackendStatus> {
  if (state) return Promise.resolve({ name: 'webgpu', available: true });
  pending ??= acquire(options).finally(() => (pending = null));
  return pending;
}

async function acquire(options: WebGpuOptions): Promise<BackendStatus> {
  let mod: { create: (flags: string[]) => GPU };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    return setUnavailable(`the 'webgpu' package (Dawn) cannot be loaded: ${e instanceof Error ? e.message : String(e)}`);
  }
  const timeout = options.timeoutMs ?? 30_000;
  try {
    const flags = options.dawnFlags ?? (process.platform === 'linux' ? ['backend=vulkan'] : []);
    const key = JSON.stringify(flags);
    const gpu = instances.get(key) ?? mod.create(flags);
    instances.set(key, gpu);
    const adapter = await withTimeout(gpu.requestAdapter(), timeout, 'requestAdapter');
    if (!adapter) {
      return setUnavailable('no WebGPU adapter (on a CPU-only Linux machine install Mesa lavapipe: mesa-vulkan-drivers 25.x from bookworm-backports)');
    }
    const features: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
    // f16 storage where the adapter has it (EITP_WEBGPU_NO_F16=1 leaves it off, to run as an adapter without it)
    if (adapter.features.has(SHADER_F16_FEATURE) && process.env.EITP_WEBGPU_NO_F16 !== '1') features.push(SHADER_F16_FEATURE);
    const l = adapter.limits;
    const device = await withTimeout(
      adapter.requestDevice({
        requiredFeatures: features,
        // the largest tensors and staging copies the adapter allows; kernels bind at most 6 storage buffers
        requiredLimits: {
          maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
          maxBufferSize: l.maxBufferSize,
          maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
          maxStorageBuffersPerShaderStage: Math.min(l.maxStorageBuffersPerShaderStage, 8),
        },
      }),
      timeout,
      'requestDevice',
    );
    if (!process.env.EITP_WEBGPU_NO_TIMER_POLL) installTimerPolling();
    const runtime = new Runtime(device, { maxBatch: options.maxBatch ?? (Number(process.env.EITP_WEBGPU_MAX_BATCH) || 16), maxPooledBytes: options.maxPooledBytes ?? 512 << 20 });
    const wgslFeatures = new Set<string>(gpu.wgslLanguageFeatures ?? []);
    const packedDot = wgslFeatures.has(PACKED_DOT_FEATURE) && process.env.EITP_WEBGPU_INT8_DOT !== 'unpacked';
    const f16 = device.features.has(SHADER_F16_FEATURE);
    const ctx: GpuContext = { runtime, pipelines: new PipelineCache(device), wgslFeatures, int8Dot: packedDot ? 'packed' : 'unpacked', f16 };
    const info = adapter.info;
    const adapterName = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') || 'unnamed adapter';
    runtime.onLost = (reason) => {
      // tensors already on the lost device throw on use (Runtime.check); new work needs a fresh initWebGPU()
      if (state?.ctx.runtime === runtime) state = null;
      uninstallTimerPolling();
      setUnavailable(`the device was lost (${reason}); call \`await initWebGPU()\` to start a new one`);
    };
    state = { gpu, adapter, backend: createWebGpuBackend(ctx, `${adapterName} (Dawn${features.length ? `, ${features.join(', ')}` : ''})`) as unknown as Backend, ctx, adapterName, features: [...features] };
    registerBackend('webgpu', webgpuLoader);
    process.once('beforeExit', destroyWebGPU);
    process.once('exit', destroyWebGPU);
    return { name: 'webgpu', available: true };
  } catch (e) {
    return setUnavailable(`WebGPU initialisation failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Destroys the device (tensors on it become unusable) so the process can exit. Idempotent. */
export function destroyWebGPU(): void {
  if (!state) return;
  const s = state;
  state = null;
  s.ctx.runtime.destroy();
  uninstallTimerPolling();
  process.removeListener('beforeExit', destroyWebGPU);
  process.removeListener('exit', destroyWebGPU);
  setUnavailable(`destroyed: call \`await initWebGPU()\` again to use webgpu`);
}

function live(op: string): State {
  if (!state) throw new BackendError(unavailable, { op, backend: 'webgpu' });
  return state;
}

export interface WebGpuStats {
  adapter: string;
  features: readonly string[];
  /** WGSL language features of the instance (navigator.gpu.wgslLanguageFeatures). */
  wgslFeatures: readonly string[];
  /** matmulInt8's integer dot product: 'packed' (dot4I8Packed) or 'unpacked'. */
  int8Dot: Int8DotPath;
  pool: PoolStats;
  pipelines: number;
  dispatches: number;
  submits: number;
  reads: number;
}

/** Pool byte counters, pipeline-cache size and command counters of the live device. */
export function webgpuStats(): WebGpuStats {
  const s = live('webgpuStats');
  const r = s.ctx.runtime;
  return {
    adapter: s.adapterName,
    features: s.features,
    wgslFeatures: [...s.ctx.wgslFeatures],
    int8Dot: s.ctx.int8Dot,
    pool: { ...r.pool.stats },
    pipelines: s.ctx.pipelines.size,
    ...r.counters,
  };
}

/** Submits everything recorded so far and waits until the device has run it. */
export async function syncWebGPU(): Promise<void> {
  const r = live('syncWebGPU').ctx.runtime;
  r.flush();
  await r.device.queue.onSubmittedWorkDone();
}

/**
 * Runs fn and returns per-kernel device times from timestamp queries (needs the adapter feature
 * 'timestamp-query'). Each dispatch gets its own pass while profiling, so totals include that overhead.
 */
export async function webgpuProfile<T>(fn: () => T | Promise<T>): Promise<{ result: T; kernels: KernelTime[]; totalMs: number }> {
  const s = live('profile');
  if (!s.features.includes('timestamp-query')) {
    throw new BackendError("the adapter has no 'timestamp-query' feature, so kernels cannot be timed", { op: 'profile', backend: 'webgpu' });
  }
  const r = s.ctx.runtime;
  if (r.profiler) throw new BackendError('profile() calls cannot nest', { op: 'profile', backend: 'webgpu' });
  r.flush();
  const profiler = new Profiler(r.device);
  r.profiler = profiler;
  let result: T;
  try {
    result = await fn();
    r.flush();
  } finally {
    r.profiler = null;
  }
  const kernels = await profiler.collect();
  return { result, kernels, totalMs: kernels.reduce((a, k) => a + k.ms, 0) };
}

/** @internal the live GPUDevice (tests compile kernels on it). */
export function webgpuDevice(): GPUDevice {
  return live('webgpuDevice').ctx.runtime.device;
}

/** @internal the live kernel context (benchmarks of kernel variants). */
export function webgpuContext(): GpuContext {
  return live('webgpuContext').ctx;
}

/**
 * @internal selects matmulInt8's integer dot product: 'packed' (dot4I8Packed; needs the WGSL language feature
 * packed_4x8_integer_dot_product) or 'unpacked'. The default is 'packed' where available, unless
 * EITP_WEBGPU_INT8_DOT=unpacked was set at initialisation. Returns the previous choice.
 */
export function setWebGpuInt8Dot(path: Int8DotPath): Int8DotPath {
  const ctx = live('setWebGpuInt8Dot').ctx;
  if (path === 'packed' && !ctx.wgslFeatures.has(PACKED_DOT_FEATURE)) {
    throw new BackendError(`this WebGPU instance lacks the WGSL language feature ${PACKED_DOT_FEATURE}`, { op: 'matmulInt8', backend: 'webgpu' });
  }
  const previous = ctx.int8Dot;
  ctx.int8Dot = path;
  return previous;
}

/** @internal the Dawn instance, so a peer library (the tfjs benchmark) can run on the same adapter. */
export function webgpuInstance(): GPU {
  return live('webgpuInstance').gpu;
}
