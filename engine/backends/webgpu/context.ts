/** What every webgpu kernel needs: the command stream and the pipeline cache of one device. */
import type { Runtime } from './runtime.js';
import type { PipelineCache } from './shaders.js';

export interface GpuContext {
  readonly runtime: Runtime;
  readonly pipelines: PipelineCache;
}
