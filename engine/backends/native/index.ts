/**
 * The native backend: C++ kernels (SIMD GEMM, threaded elementwise/reduction/nn kernels) in the Node addon.
 * Kernels are queued on the addon's stream thread in call order, so the JS thread runs ahead; `read` waits for the
 * work it depends on. Small kernels issued while the queue is empty run at the call instead (a hand-off would cost
 * more than they do). Errors found on the stream reject the next read (or throw at the next kernel call), naming the
 * op; index errors whose indices are already computed throw at the call, as on cpu.
 *
 * Environment: EITP_THREADS (pool size, default the cores this process may use), EITP_NATIVE_SYNC=1 (run each
 * kernel at its call), EITP_SIMD=generic|avx2 (cap the instruction set, to test fallbacks),
 * EITP_INT8_KERNEL=generic|avx2|avxvnni|avx512vnni (pick matmulInt8's tiles, where the CPU has them), EITP_NATIVE_CACHE_MB
 * (freed memory kept for reuse, default 1024; a buffer freed while queued kernels still use it backs the next
 * allocation of its size at once, ordered after them: native/allocator.h), EITP_NATIVE_MAX_PENDING_MB (how far, in
 * bytes of freed buffers the cache had no room for and whose release waits in the queue, the JS thread may run ahead
 * before an allocation waits for the stream; default 512), EITP_NATIVE_MAX_QUEUED (tasks the queue may hold before a
 * new one waits for the stream to run half of them; default 65536), EITP_NATIVE_SPIN_US (how long the stream and pool
 * threads spin on for work after JS stops waiting for them, default 300: setNativeSpinLinger) — these four must be
 * integers (>= 0, >= 1, >= 2, >= 0),
 * else the first allocation (or queued task) is a BackendError naming the variable (Tensor.allocate wraps the
 * addon's message) —, EITP_NATIVE_GLIBC_THRESHOLDS (1, the default: at load, glibc's malloc thresholds go where its
 * own dynamic rule takes them once a process frees a 32 MiB block, so large buffers and readbacks do not page-fault
 * afresh each time, native/heap-thresholds.cc; 0 leaves them; another value: the same error at the first allocation),
 * EITP_GEMM_KC/MC/NC (GEMM blocking), EITP_GEMM_SPLIT_MFLOP (products up to this many million multiply-adds run as
 * independent per-thread blocks, default 32), EITP_GEMM_SMALL_M (rows up to which products skip packing, 0 = off), EITP_GEMM_BATCHED=0 (batches of
 * small products through the packed GEMM one by one), EITP_NATIVE_ADDON (addon path).
 */
import type { Backend, KernelArg, KernelOpName, KernelSpan, KernelTable, KernelTime } from '../../backend.js';
import { type DType, type TypedArray, itemSize } from '../../dtype.js';
import { ArgumentError, BackendError, EngineError } from '../../errors.js';
import { describeValue } from '../../describe-value.js';
import { KernelTimeSummary } from '../../kernel-times.js';
import type { OpAttrs } from '../../ops/attrs.js';
import { encodeCall } from './encode.js';
import { type NativeAddon, type NativeFmaPeak, type NativeHandle, type NativeInfo, loadAddon } from './native-addon.js';

export interface NativeBuffer {
  readonly bytes: number;
  readonly handle: NativeHandle;
}

/** Every kernel op of the engine: the native backend covers the whole table (view ops need no kernel). */
export const KERNEL_OPS = [
  'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'sigmoid', 'relu', 'gelu', 'abs', 'square', 'erf', 'sign',
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'where',
  'sum', 'mean', 'max', 'logsumexp', 'var', 'norm', 'argmax', 'matmul',
  'softmax', 'softmaxGrad', 'softmaxGradGrad', 'logSoftmax', 'crossEntropy', 'layerNorm', 'softHistogram', 'softHistogramGrad', 'correlation', 'correlationGrad',
  'coherence', 'coherenceGrad', 'matmulInt8', 'tanhJvp', 'tanhJvpStep', 'tanhJvpStepGrad', 'crossEntropyGrad', 'layerNormGrad', 'layerNormGradGrad', 'geluGrad', 'activationGrad',
  'linear', 'adamStep', 'sgdStep', 'activationDensity', 'activationDensityGrad',
  'embedding', 'scatterAdd', 'oneHot', 'concat', 'pad',
  'contiguous', 'cast',
] as const satisfies readonly KernelOpName[];

// A compile error here means an op was added to the engine without a native kernel entry.
type Missing = Exclude<KernelOpName, (typeof KERNEL_OPS)[number]>;
const _allCovered: Missing extends never ? true : Missing = true;
void _allCovered;

export const NATIVE_DTYPES: readonly DType[] = ['f32', 'i32', 'i8', 'u8'];

// f16 is listed for the exhaustive DType index only: NATIVE_DTYPES excludes it, so no native buffer holds f16
const CTORS = { f32: Float32Array, i32: Int32Array, i8: Int8Array, u8: Uint8Array, f64: Float64Array, f16: Uint16Array } as const;

interface NativeErrorFields {
  code?: string;
  op?: string;
  detail?: string;
}

/** Turns an addon error into the engine's typed errors (index errors are ArgumentErrors, as on cpu). */
export function toEngineError(e: unknown, fallbackOp: string): unknown {
  if (!(e instanceof Error) || e instanceof EngineError) return e;
  const f = e as Error & NativeErrorFields;
  const op = f.op || fallbackOp;
  const message = f.message.startsWith(`${op}: `) ? f.message.slice(op.length + 2) : f.message;
  if (f.code === 'EITP_ARGUMENT') return new ArgumentError(message, { op, backend: 'native' });
  if (f.code === 'EITP_NATIVE') return new BackendError(message, { op, backend: 'native' });
  return e;
}

function makeKernels(addon: NativeAddon): KernelTable<NativeBuffer> {
  const ids = new Map(addon.kernelNames().map((name, id) => [name, id]));
  const table: Record<string, unknown> = {};
  for (const op of KERNEL_OPS) {
    const id = ids.get(op);
    if (id === undefined) throw new BackendError(`the addon has no kernel for '${op}' (rebuild it with npm run build:native)`, { op, backend: 'native' });
    table[op] = (inputs: readonly KernelArg<NativeBuffer>[], output: KernelArg<NativeBuffer>, attrs: OpAttrs[typeof op]) => {
      const call = encodeCall(op, inputs, output, attrs);
      const out = output.buffer.handle;
      try {
        // positional handles: no array to build, nor for the addon to walk
        if (inputs.length === 1) addon.runKernel(id, call, inputs[0]!.buffer.handle, out);
        else if (inputs.length === 2) addon.runKernel(id, call, inputs[0]!.buffer.handle, inputs[1]!.buffer.handle, out);
        else if (inputs.length === 3) addon.runKernel(id, call, inputs[0]!.buffer.handle, inputs[1]!.buffer.handle, inputs[2]!.buffer.handle, out);
        else addon.runKernel(id, call, ...inputs.map((x) => x.buffer.handle), out);
      } catch (e) {
        throw toEngineError(e, op);
      }
    };
  }
  return table as KernelTable<NativeBuffer>;
}

function view(dtype: DType, ab: ArrayBuffer, numel: number): TypedArray {
  return new CTORS[dtype](ab, 0, numel);
}

export function createNativeBackend(addon: NativeAddon): Backend<NativeBuffer> {
  return {
    name: 'native',
    dtypes: NATIVE_DTYPES,
    // read when asked: the pool's size and the spin linger change with setNativeThreads / setNativeSpinLinger (an
    // addon built before the linger has none to report)
    get detail(): string {
      const i = addon.info();
      const spin = i.spinLingerUs === undefined ? '' : i.spinLingerUs > 0 ? `, spin linger ${i.spinLingerUs} µs` : ', no spin linger';
      const heap = i.glibcThresholds === 'raised' ? ', glibc thresholds raised' : '';
      return `${i.gemmKernel} GEMM, ${i.vmath} exp/tanh, ${i.int8Kernel} int8, ${i.threads} thread${i.threads === 1 ? '' : 's'}${spin}${heap}${i.sync ? ', synchronous (EITP_NATIVE_SYNC)' : ''}`;
    },
    kernels: makeKernels(addon),
    allocate(numel: number, dtype: DType): NativeBuffer {
      const bytes = numel * itemSize(dtype);
      return { bytes, handle: addon.alloc(bytes) };
    },
    free(buffer: NativeBuffer) {
      addon.free(buffer.handle);
    },
    write(buffer: NativeBuffer, data: TypedArray) {
      addon.write(buffer.handle, data);
    },
    async read(buffer: NativeBuffer, dtype: DType, numel: number): Promise<TypedArray> {
      try {
        return view(dtype, await addon.read(buffer.handle, numel * itemSize(dtype)), numel);
      } catch (e) {
        throw toEngineError(e, 'read');
      }
    },
    // Host memory: a synchronous read is possible (it waits for the queued work it depends on).
    readSync(buffer: NativeBuffer, dtype: DType, numel: number): TypedArray {
      try {
        return view(dtype, addon.readSync(buffer.handle, numel * itemSize(dtype)), numel);
      } catch (e) {
        throw toEngineError(e, 'readSync');
      }
    },
  };
}

/** The registered loader: the backend, or why it cannot run here. */
export function loadNativeBackend(): Backend<NativeBuffer> | { unavailable: string } {
  const addon = loadAddon();
  if ('unavailable' in addon) return addon;
  if (typeof addon.runKernel !== 'function') return { unavailable: 'the native addon is older than the engine (rebuild it with npm run build:native)' };
  return createNativeBackend(addon);
}

function requireAddon(): NativeAddon {
  const addon = loadAddon();
  if ('unavailable' in addon) throw new BackendError(addon.unavailable, { backend: 'native' });
  return addon;
}

/** Sets the native thread-pool size (the calling stream thread included); returns the size in effect. */
export function setNativeThreads(n: number): number {
  return requireAddon().setThreads(n);
}

/**
 * Sets how long (microseconds) the stream and pool threads keep spinning for their next work item after the JS thread
 * stops waiting for the stream, and the stream thread after each task it runs where the process has a second core
 * (EITP_NATIVE_SPIN_US at load, default 300; 0 = sleep after a short fixed spin). While JS waits (an awaited read, a
 * sync) they spin anyway, up to 2 ms per idle period: native/spin-hint.h. Returns the linger in effect.
 */
export function setNativeSpinLinger(us: number): number {
  if (!Number.isInteger(us) || us < 0 || us > 1e6) throw new ArgumentError(`setNativeSpinLinger: expected an integer number of microseconds in [0, 1000000], got ${us}`, { op: 'setNativeSpinLinger', backend: 'native' });
  return requireAddon().setSpinLinger(us);
}

/** Threads, the GEMM micro-kernel and int8 tiles chosen by cpuid, and whether kernels run synchronously. */
export function nativeInfo(): NativeInfo {
  return requireAddon().info();
}

/**
 * The CPU's f32 FMA peak measured by the addon's probe (chains of independent FMAs on every thread, timed), or null
 * when the addon is unavailable. Synchronous and busy for about `seconds`.
 */
export function nativeFmaPeak(threads?: number, seconds?: number): NativeFmaPeak | null {
  // the addon takes anything but a number as "the default", so a mistyped argument would silently run the default probe
  for (const [name, v] of [['threads', threads], ['seconds', seconds]] as const) {
    if (v !== undefined && typeof v !== 'number') throw new ArgumentError(`${name} must be a number or undefined, got ${describeValue(v)}`, { op: 'nativeFmaPeak' });
  }
  const addon = loadAddon();
  if ('unavailable' in addon || typeof addon.fmaPeak !== 'function') return null;
  try {
    return addon.fmaPeak(threads, seconds);
  } catch (e) {
    throw toEngineError(e, 'fmaPeak');
  }
}

let profiling = false;

/**
 * Runs fn and returns the wall time of every native task it queued (kernels, and the stream's own write/read/free
 * tasks), per kernel name. Kernels are timed on the thread that runs them (the stream thread, or the JS thread for
 * small work on an idle stream); time between tasks (JS dispatch, waiting for the next kernel) is not counted, and
 * `timeline` (every call with its start) shows where the stream waited.
 */
export async function nativeProfile<T>(
  fn: () => T | Promise<T>,
): Promise<{ result: T; kernels: KernelTime[]; totalMs: number; timeline: KernelSpan[] }> {
  const addon = requireAddon();
  if (profiling) throw new BackendError('profile() calls cannot nest', { op: 'profile', backend: 'native' });
  profiling = true;
  let result: T;
  let record: { ops: string[]; start: Float64Array; ns: Float64Array };
  try {
    addon.profile(true);
    try {
      result = await fn();
    } finally {
      // stop even when fn threw, so that the stream does not go on timing every task
      record = addon.profile(false);
    }
  } catch (e) {
    throw toEngineError(e, 'profile');
  } finally {
    profiling = false;
  }
  const summary = new KernelTimeSummary();
  record.ops.forEach((op, i) => summary.add(op, record.ns[i]!));
  const kernels = summary.kernels();
  const timeline = record.ops.map((kernel, i) => ({ kernel, startMs: record.start[i]! / 1e6, ms: record.ns[i]! / 1e6 }));
  return { result, kernels, totalMs: kernels.reduce((a, k) => a + k.ms, 0), timeline };
}

/** Waits until every queued native kernel has run; throws the first error found on the stream. */
export function nativeSync(): void {
  try {
    requireAddon().sync();
  } catch (e) {
    throw toEngineError(e, 'sync');
  }
}
