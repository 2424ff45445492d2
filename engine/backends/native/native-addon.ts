/**
 * Loading the C++ addon (build/Release/eitp_native.node, built by `npm run build:native`). Loading never throws:
 * a missing or broken build becomes the reason the native backend is unavailable.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * A handle to native memory: a number the addon maps to its buffer (a stale one is refused). Freed explicitly; the
 * engine's FinalizationRegistry frees what a tensor that was never disposed held.
 */
export type NativeHandle = number & { readonly __nativeHandle: unique symbol };

export interface NativeInfo {
  threads: number;
  /** The GEMM micro-kernel chosen by cpuid (EITP_SIMD=generic|avx2 caps it), e.g. 'avx512-12x32'. */
  gemmKernel: string;
  /** matmulInt8's tiles, chosen by cpuid (EITP_SIMD caps, EITP_INT8_KERNEL picks), e.g. 'avx512vnni-4x4'. */
  int8Kernel: string;
  /** The instruction set of the vectorised exp/tanh/erf kernels. */
  vmath: string;
  sync: boolean;
  /** How long the stream and pool threads keep spinning for work after JS stops waiting for them (µs; 0 = off). */
  spinLingerUs: number;
  /** Bytes of freed buffers kept for reuse (EITP_NATIVE_CACHE_MB caps it). */
  cachedBytes: number;
  /** Bytes of buffers freed on the JS side that the cache had no room for, whose release still waits behind queued kernels (EITP_NATIVE_MAX_PENDING_MB caps it). */
  pendingFreeBytes: number;
  /** Tasks queued on the stream and not yet run (EITP_NATIVE_MAX_QUEUED caps it). */
  queuedTasks: number;
  /**
   * glibc's malloc thresholds: 'raised' at load to where glibc's own dynamic rule ends up (blocks under 32 MiB from the
   * heap, up to 64 MiB of free memory kept mapped: no page fault per 4 KiB of every large buffer, readbacks included),
   * 'kept' where the process set its own (mallopt, GLIBC_TUNABLES), 'off' with EITP_NATIVE_GLIBC_THRESHOLDS=0,
   * 'not-glibc' where malloc is not glibc's (another C library, or an allocator preloaded in front of it). Absent from
   * addons built before it.
   */
  glibcThresholds?: 'raised' | 'kept' | 'off' | 'not-glibc';
  /** Kernel calls run at the call since the addon loaded (EITP_NATIVE_SYNC, or small work on an idle stream). */
  inlineKernels: number;
  /** Kernel calls queued on the stream since the addon loaded. */
  queuedKernels: number;
  /**
   * Parallel loops the stream thread ran on fewer threads than the pool has, since the pool was last sized: where the
   * pool has every core the process may use, the stream's loops take no worker while the JS thread runs (it needs its
   * core to queue the next ops) and every worker while JS waits. Absent from addons built before it.
   */
  narrowedLoops?: number;
  /**
   * Narrowed loops the JS thread ran items of when it began waiting for the stream (a readback or a sync while the
   * stream ran one): it takes the items left while a woken worker would still be starting. Absent from older addons.
   */
  helpedLoops?: number;
  /**
   * Times a pool worker joined a narrowed loop, and ran items of it, once JS began waiting and widened it: where the
   * pool has more threads than cores, the places beyond the JS thread's.
   * Absent from older addons.
   */
  lateJoins?: number;
}

/** What the FMA peak probe measured: total GFLOP/s of all threads, and the instruction set it used. */
export interface NativeFmaPeak {
  gflops: number;
  /** 'avx512' | 'avx2' | 'generic', chosen by cpuid like the GEMM (EITP_SIMD caps it) */
  isa: string;
  threads: number;
  seconds: number;
}

/** The functions native/addon.cc exports. */
export interface NativeAddon {
  alloc(bytes: number): NativeHandle;
  free(handle: NativeHandle): void;
  write(handle: NativeHandle, data: ArrayBufferView): void;
  read(handle: NativeHandle, bytes: number): Promise<ArrayBuffer>;
  readSync(handle: NativeHandle, bytes: number): ArrayBuffer;
  /** A kernel call by op name, with the operand encoding and the attributes in their own arrays (tests). */
  run(op: string, handles: NativeHandle[], meta: Float64Array, attrs: Float64Array): void;
  /** The kernels by id (runKernel's first argument), in id order. */
  kernelNames(): string[];
  /** The engine's call path: kernel id, the call's encoding (encode.ts: operands, attribute count, attributes), then the inputs' handles and the output's. */
  runKernel(id: number, call: Float64Array, ...handles: NativeHandle[]): void;
  sync(): void;
  setThreads(n: number): number;
  /** How long the stream and pool threads spin on after JS stops waiting (microseconds); returns the value in effect. */
  setSpinLinger(us: number): number;
  trimCache(): void;
  info(): NativeInfo;
  /** The FMA peak probe: independent f32 FMA chains on `threads` threads for about `seconds` (default all, 0.2 s). */
  fmaPeak(threads?: number, seconds?: number): NativeFmaPeak;
  /** Synchronous C = A @ B on dense row-major arrays (tests and benchmarks of the GEMM alone). */
  sgemm(m: number, n: number, k: number, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** Tests only: whether malloc(bytes) now maps a block of its own (glibc's count of mapped blocks grows; false where malloc is not glibc's). */
  mallocMaps(bytes: number): boolean;
  /**
   * Tests only: queues idle work so that what is queued next is certainly still pending; with `items` > 1, a parallel
   * loop of that many items of `ms` each that checks every item ran once (a KernelError at the next wait if not).
   */
  stallStream(ms: number, items?: number): void;
  /** Starts (true) or stops (false) timing every task; both drain the queue first. Stopping returns the record. */
  profile(on: true): void;
  profile(on: false): { ops: string[]; start: Float64Array; ns: Float64Array };
}

export const ADDON_FILE = 'build/Release/eitp_native.node';

/** The package root: the nearest folder above this file that holds build/ or package.json (src and dist layouts). */
function candidates(): string[] {
  const fromEnv = process.env.EITP_NATIVE_ADDON;
  const here = fileURLToPath(new URL('.', import.meta.url));
  // engine/backends/native/ in the source tree, dist/engine/backends/native/ once compiled.
  const roots = ['../../../', '../../../../'].map((up) => fileURLToPath(new URL(up, `file://${here}`)));
  return [...(fromEnv ? [fromEnv] : []), ...roots.map((r) => `${r}${ADDON_FILE}`)];
}

let cached: NativeAddon | { unavailable: string } | undefined;

export function loadAddon(): NativeAddon | { unavailable: string } {
  if (cached) return cached;
  const paths = candidates();
  const found = paths.find((p) => existsSync(p));
  if (!found) {
    cached = { unavailable: `addon not built: ${ADDON_FILE} not found (run npm run build:native)` };
    return cached;
  }
  try {
    const require = createRequire(import.meta.url);
    cached = require(found) as NativeAddon;
  } catch (e) {
    cached = { unavailable: `addon failed to load from ${found}: ${e instanceof Error ? e.message : String(e)} (rebuild with npm run build:native)` };
  }
  return cached;
}
