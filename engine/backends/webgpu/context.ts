/** What every webgpu kernel needs: the command stream and the pipeline cache of one device. */
import type { Runtime } from './runtime.js';
import type { PipelineCache } from './shaders.js';

/** How matmulInt8 multiplies packed int8 words: dot4I8Packed, or byte arithmetic where WGSL lacks it. */
export type Int8DotPath = 'packed' | 'unpacked';

export interface GpuContext {
  readonly runtime: Runtime;
  readonly pipelines: PipelineCache;
  /** WGSL language features of the instance (navigator.gpu.wgslLanguageFeatures). */
  readonly wgslFeatures: ReadonlySet<string>;
  /** 'packed' only where wgslFeatures has packed_4x8_integer_dot_product; tests switch it to reach both paths. */
  int8Dot: Int8DotPath;
  /** The device has 'shader-f16': f16 tensors (storage, casts, copies, f16 x f16 matmul) are available. */
  readonly f16: boolean;
}

/** The device feature that f16 storage needs (f16 in WGSL, 16-bit storage buffer access). */
export const SHADER_F16_FEATURE = 'shader-f16';

export const PACKED_DOT_FEATURE = 'packed_4x8_integer_dot_product';
