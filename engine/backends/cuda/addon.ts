/**
 * Loading the CUDA addon: build/Release/eitp_cuda.node (nvcc, a real GPU) or, with EITP_CUDA_EMULATION=1,
 * eitp_cuda_emu.node (the same kernels compiled by g++ under the CPU emulator in cuda/emu). EITP_CUDA_ADDON_DIR
 * points at another build directory. The addon's JS surface is typed here once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArgumentError } from '../../errors.js';

export type CudaDType = 'f32' | 'i32' | 'i8' | 'u8';

export interface CudaDeviceInfo {
  available: boolean;
  emulated: boolean;
  reason: string;
  name: string;
  runtimeVersion: number;
  driverVersion: number;
  multiprocessors: number;
  clockKHz: number;
  computeCapability: string;
  totalMemory: number;
}

type Id = number;
type Strides = readonly number[];
type Shape = readonly number[];

/** The addon's functions; argument lists mirror cuda/addon/ops.cc. Every one throws a JS Error on failure. */
export interface CudaAddon {
  info(): CudaDeviceInfo;
  alloc(bytes: number): Id;
  free(id: Id): void;
  write(id: Id, data: ArrayBufferView, byteOffset?: number): void;
  read(id: Id, byteOffset: number, bytes: number): Promise<ArrayBuffer>;
  synchronize(): Promise<ArrayBuffer>;
  stats(): { inUseBytes: number; cachedBytes: number; liveBuffers: number };
  trim(): void;
  unary(op: string, dtype: CudaDType, out: Id, shape: Shape, x: Id, xOffset: number, xStrides: Strides, attr: number): void;
  binary(op: string, dtype: CudaDType, out: Id, shape: Shape, a: Id, aOffset: number, aStrides: Strides, b: Id, bOffset: number, bStrides: Strides): void;
  where(dtype: CudaDType, out: Id, shape: Shape, c: Id, cOffset: number, cStrides: Strides, a: Id, aOffset: number, aStrides: Strides, b: Id, bOffset: number, bStrides: Strides): void;
  cast(to: CudaDType, from: CudaDType, out: Id, shape: Shape, x: Id, xOffset: number, xStrides: Strides): void;
  copy(dtype: CudaDType, out: Id, shape: Shape, x: Id, xOffset: number, xStrides: Strides): void;
  reduce(op: string, dtype: CudaDType, out: Id, x: Id, xOffset: number, kept: Shape, keptStrides: Strides, red: Shape, redStrides: Strides, correction: number): void;
  argmax(dtype: CudaDType, out: Id, x: Id, xOffset: number, kept: Shape, keptStrides: Strides, red: Shape, redStrides: Strides): void;
  matmul(
    out: Id, batch: Shape, m: number, n: number, k: number,
    a: Id, aOffset: number, aRowStride: number, aColStride: number, aBatchStrides: Strides,
    b: Id, bOffset: number, bRowStride: number, bColStride: number, bBatchStrides: Strides,
  ): void;
  tanhJvp(out: Id, h: Id, hOffset: number, v: Id, vOffset: number, w: Id, wOffset: number, batch: number, outFeatures: number, inFeatures: number): void;
  /** out [batch, out + 1] = [δ/‖δ‖ | ln‖δ‖] per row, δ = (1 − h²) ⊙ (v·wᵀ); h, w dense, v [batch, in] strided. */
  tanhJvpStep(
    out: Id, h: Id, hOffset: number, v: Id, vOffset: number, vRowStride: number, vColStride: number, w: Id, wOffset: number,
    batch: number, outFeatures: number, inFeatures: number,
  ): void;
  /** out [2, batch, out] = [dp; dh], tanhJvpStep's backward for the dense cotangent gy [batch, out + 1]. */
  tanhJvpStepGrad(
    out: Id, h: Id, hOffset: number, v: Id, vOffset: number, vRowStride: number, vColStride: number, w: Id, wOffset: number,
    gy: Id, gyOffset: number, batch: number, outFeatures: number, inFeatures: number,
  ): void;
  softmax(out: Id, x: Id, xOffset: number, outer: number, len: number, inner: number, log: boolean): void;
  /** out = y ⊙ (g − Σ g ⊙ y) along `len` of dense [outer, len, inner] operands (softmax's backward). */
  softmaxGrad(out: Id, y: Id, yOffset: number, g: Id, gOffset: number, outer: number, len: number, inner: number): void;
  /** out [2, n] = [ȳ; ḡ] of softmaxGrad(y, g) for the cotangent o, lines of len along the middle of [outer, len, inner]. */
  softmaxGradGrad(out: Id, y: Id, yOffset: number, g: Id, gOffset: number, o: Id, oOffset: number, outer: number, len: number, inner: number): void;
  crossEntropy(loss: Id, x: Id, xOffset: number, targets: Id, tOffset: number, rows: number, classes: number): void;
  layerNorm(out: Id, x: Id, xOffset: number, w: Id, wOffset: number, b: Id, bOffset: number, rows: number, d: number, eps: number): void;
  softHistogram(out: Id, u: Id, uOffset: number, n: number, bins: number, low: number, width: number, bandwidth: number): void;
  softHistogramGrad(out: Id, u: Id, uOffset: number, g: Id, gOffset: number, n: number, bins: number, low: number, width: number, bandwidth: number): void;
  /** out [cols, cols] = the correlation matrix of z [rows, cols]'s columns. */
  correlation(out: Id, z: Id, zOffset: number, rows: number, cols: number, eps: number): void;
  /** out [rows, cols] = dz for the cotangent gR [cols, cols] of correlation(z). */
  correlationGrad(out: Id, z: Id, zOffset: number, gR: Id, gOffset: number, rows: number, cols: number, eps: number): void;
  /** out [1] = ‖R − I‖_F²/(cols (cols − 1)) for R = correlation(z); R is never materialised as a tensor. */
  coherence(out: Id, z: Id, zOffset: number, rows: number, cols: number, eps: number): void;
  /** out [rows, cols] = dz of coherence(z) for the scalar cotangent g (one f32 at gOffset, read on the device). */
  coherenceGrad(out: Id, z: Id, zOffset: number, g: Id, gOffset: number, rows: number, cols: number, eps: number): void;
  /** out [1] = mean(a²/(a² + τ² + eps)); a strided over shape, τ the one f32 at tauOffset (read on the device). */
  activationDensity(out: Id, shape: Shape, a: Id, aOffset: number, aStrides: Strides, tau: Id, tauOffset: number, eps: number): void;
  /** out (dense over shape) = g·2ac/(a² + c)²/n, c = τ² + eps; τ and g one f32 each, read on the device. */
  activationDensityGrad(out: Id, shape: Shape, a: Id, aOffset: number, aStrides: Strides, tau: Id, tauOffset: number, g: Id, gOffset: number, eps: number): void;
  matmulInt8(out: Id, x: Id, xOffset: number, wq: Id, wqOffset: number, ws: Id, wsOffset: number, m: number, n: number, k: number, activations: 'f32' | 'int8'): void;
  embedding(dtype: CudaDType, out: Id, table: Id, tableOffset: number, ids: Id, idsOffset: number, n: number, rows: number, dim: number): void;
  scatterAdd(out: Id, ids: Id, idsOffset: number, values: Id, valuesOffset: number, n: number, rows: number, dim: number): void;
  oneHot(dtype: CudaDType, out: Id, ids: Id, idsOffset: number, n: number, classes: number): void;
  copy2d(dtype: CudaDType, dst: Id, dstOffset: number, src: Id, srcOffset: number, rows: number, cols: number, pitch: number): void;
  pad(dtype: CudaDType, out: Id, x: Id, xOffset: number, inShape: Shape, outShape: Shape, before: Shape): void;
  crossEntropyGrad(out: Id, x: Id, xOffset: number, targets: Id, tOffset: number, g: Id, gOffset: number, rows: number, classes: number, reduction: 'mean' | 'sum' | 'none'): void;
  layerNormGrad(out: Id, x: Id, xOffset: number, w: Id, wOffset: number, g: Id, gOffset: number, rows: number, d: number, eps: number): void;
  /** out [2, rows, d] = [J o; ∂⟨o, J u⟩/∂x] for LayerNorm rows of dense x, u, o [rows, d]. */
  layerNormGradGrad(out: Id, x: Id, xOffset: number, u: Id, uOffset: number, o: Id, oOffset: number, rows: number, d: number, eps: number): void;
  /** out = g·gelu′(x), or g·gelu″(x) with order 2 (exact, or the tanh form's); x and g are strided views over `shape`. */
  geluGrad(approximate: 'none' | 'tanh', out: Id, shape: Shape, x: Id, xOffset: number, xStrides: Strides, g: Id, gOffset: number, gStrides: Strides, order?: 1 | 2): void;
  activationGrad(activation: 'relu' | 'tanh' | 'sigmoid', out: Id, shape: Shape, y: Id, yOffset: number, yStrides: Strides, g: Id, gOffset: number, gStrides: Strides): void;
  linear(
    out: Id, m: number, n: number, k: number,
    x: Id, xOffset: number, xRowStride: number, xColStride: number,
    w: Id, wOffset: number, wRowStride: number, wColStride: number,
    b: Id, bOffset: number, activation: 'none' | 'relu' | 'tanh' | 'sigmoid',
  ): void;
  adamStep(
    out: Id, p: Id, pOffset: number, g: Id, gOffset: number, m: Id, mOffset: number, v: Id, vOffset: number, n: number,
    beta1: number, beta2: number, eps: number, weightDecay: number, decay: number, stepSize: number, bias2Sqrt: number,
  ): void;
  /** out = [p′] (momentum 0) or [p′; buf′]; buf / bufOffset are ignored when momentum is 0 or first is true. */
  sgdStep(
    out: Id, p: Id, pOffset: number, g: Id, gOffset: number, buf: Id, bufOffset: number, n: number,
    lr: number, momentum: number, dampening: number, nesterov: boolean, weightDecay: number, first: boolean,
  ): void;
}

/** The fields of the rejection when a kernel found a bad index or target (read() and synchronize() report it). */
interface DeviceIndexRejection {
  code: 'EITP_CUDA_INDEX';
  op: string;
  what: string;
  value: number;
  position: number;
  limit: number;
}

/**
 * An index or target that a kernel found out of range is bad input, as on the other backends: the addon's
 * rejection becomes an ArgumentError naming the op; any other rejection passes through unchanged.
 */
export function deviceIndexError(e: unknown): unknown {
  const r = e as Partial<DeviceIndexRejection> | null;
  if (!(e instanceof Error) || r?.code !== 'EITP_CUDA_INDEX') return e;
  return new ArgumentError(`${r.what} ${r.value} at position ${r.position} is outside [0, ${r.limit}) (checked on the device, reported at the next readback)`, {
    op: r.op,
    backend: 'cuda',
  });
}

export interface LoadedAddon {
  addon: CudaAddon;
  file: string;
  info: CudaDeviceInfo;
}

/** The package root: the nearest directory above this file whose package.json is eitp's (source or dist). */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'eitp') return dir;
      } catch {
        // not a readable package.json: keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

export function loadCudaAddon(): LoadedAddon | { unavailable: string } {
  const emulated = process.env.EITP_CUDA_EMULATION === '1';
  const name = emulated ? 'eitp_cuda_emu.node' : 'eitp_cuda.node';
  const root = packageRoot();
  // build/Release: cmake-js with the root CMakeLists.txt; build/cuda/Release: scripts/cuda-build.mjs on its own.
  const dirs = [process.env.EITP_CUDA_ADDON_DIR, root && join(root, 'build', 'Release'), root && join(root, 'build', 'cuda', 'Release')].filter(
    (d): d is string => !!d,
  );
  const file = dirs.map((d) => join(d, name)).find((f) => existsSync(f));
  if (!file) {
    const hint = emulated
      ? 'build it with cmake-js (the root CMakeLists.txt includes cuda/cuda.cmake; a C++20 compiler is enough)'
      : 'it is built only where nvcc is installed; set EITP_CUDA_EMULATION=1 to use the CPU-emulated kernels instead';
    return { unavailable: `${name} not found in ${dirs.join(', ') || '(no build directory)'}: ${hint}` };
  }
  let addon: CudaAddon;
  try {
    addon = createRequire(import.meta.url)(file) as CudaAddon;
  } catch (e) {
    return { unavailable: `${file} failed to load: ${e instanceof Error ? e.message : String(e)}` };
  }
  const info = addon.info();
  if (!info.available) return { unavailable: `${info.reason} (addon ${file})` };
  return { addon, file, info };
}
