/**
 * The cuda backend: hand-written CUDA kernels (cuda/*.cuh) in a Node addon. One stream: `run` queues a kernel
 * and returns, `read` resolves when the stream reaches the copy, so the event loop never blocks on the GPU.
 * With EITP_CUDA_EMULATION=1 the same kernels run on the CPU under cuda/emu (for tests on machines without a GPU).
 */
import type { Backend, KernelTable } from '../../backend.js';
import { type DType, type TypedArray, itemSize } from '../../dtype.js';
import { BackendError } from '../../errors.js';
import { activationDensityKernels } from './activation-density.js';
import { type CudaDeviceInfo, type LoadedAddon, deviceIndexError, loadCudaAddon } from './addon.js';
import { CUDA_DTYPES, CudaContext } from './context.js';
import type { CudaBuffer } from './cuda-buffer.js';
import { eitpFusedKernels } from './eitp-fused.js';
import { elementwiseKernels } from './elementwise.js';
import { indexingKernels } from './indexing.js';
import { nnKernels } from './nn.js';
import { quantKernels } from './quant.js';
import { reduceKernels } from './reduce.js';
import { tanhJvpStepKernels } from './tanh-jvp-step.js';
import { trainFusedKernels } from './train-fused.js';

export interface CudaBackend extends Backend<CudaBuffer> {
  /** The device and which addon runs the kernels (a GPU build, or the CPU emulator). */
  readonly info: CudaDeviceInfo & { addon: string };
}

const TYPED = { f32: Float32Array, i32: Int32Array, i8: Int8Array, u8: Uint8Array } as const;

export function createCudaBackend(loaded: LoadedAddon): CudaBackend {
  const { addon } = loaded;
  const ctx = new CudaContext(addon);
  // Every kernel op: a missing one would be a compile error here.
  const kernels = {
    ...elementwiseKernels(ctx),
    ...reduceKernels(ctx),
    ...nnKernels(ctx),
    ...eitpFusedKernels(ctx),
    ...tanhJvpStepKernels(ctx),
    ...quantKernels(ctx),
    ...indexingKernels(ctx),
    ...trainFusedKernels(ctx),
    ...activationDensityKernels(ctx),
  } satisfies Required<KernelTable<CudaBuffer>>;
  return {
    name: 'cuda',
    dtypes: CUDA_DTYPES,
    kernels,
    info: { ...loaded.info, addon: loaded.file },
    emulated: loaded.info.emulated,
    detail: `${loaded.info.emulated ? 'CPU emulation of the CUDA kernels' : 'GPU'} (${loaded.file})`,
    allocate(numel: number, dtype: DType): CudaBuffer {
      const bytes = numel * itemSize(ctx.dt(dtype, 'allocate'));
      return { id: addon.alloc(bytes), bytes };
    },
    free(buffer: CudaBuffer) {
      addon.free(buffer.id);
    },
    write(buffer: CudaBuffer, data: TypedArray) {
      if (data.byteLength > buffer.bytes) {
        throw new BackendError(`write of ${data.byteLength} bytes into a ${buffer.bytes}-byte buffer`, { op: 'write', backend: 'cuda' });
      }
      addon.write(buffer.id, data);
    },
    async read(buffer: CudaBuffer, dtype: DType, numel: number): Promise<TypedArray> {
      const Ctor = TYPED[ctx.dt(dtype, 'read')];
      const bytes = await addon.read(buffer.id, 0, numel * Ctor.BYTES_PER_ELEMENT).catch((e: unknown) => {
        throw deviceIndexError(e);
      });
      return new Ctor(bytes);
    },
    destroy() {
      addon.trim();
    },
  };
}

let cached: CudaBackend | { unavailable: string } | null = null;
let loadedAddon: LoadedAddon['addon'] | null = null;

/** The registry's loader: the backend, or why it cannot run here (missing addon, no device, old driver). */
export function loadCudaBackend(): Backend | { unavailable: string } {
  if (!cached) {
    const loaded = loadCudaAddon();
    cached = 'unavailable' in loaded ? loaded : createCudaBackend(loaded);
    if (!('unavailable' in loaded)) loadedAddon = loaded.addon;
  }
  // Buffers never cross backends (the dispatcher checks), so the typed buffer can be erased here.
  return cached as unknown as Backend | { unavailable: string };
}

/** Device details of the loaded cuda backend (null when unavailable), for `eitp info` and benchmarks. */
export function cudaInfo(): (CudaDeviceInfo & { addon: string }) | null {
  const r = loadCudaBackend();
  return 'unavailable' in r ? null : (r as unknown as CudaBackend).info;
}

/** Resolves when every kernel queued so far on the cuda stream has finished (rejects with a device error). */
export async function cudaSynchronize(): Promise<void> {
  const r = loadCudaBackend();
  if ('unavailable' in r) throw new BackendError(`backend 'cuda' is unavailable: ${r.unavailable}`, { backend: 'cuda' });
  await loadedAddon!.synchronize().catch((e: unknown) => {
    throw deviceIndexError(e);
  });
}
