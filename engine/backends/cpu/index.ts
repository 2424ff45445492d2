/** The cpu backend: the TypeScript reference every other backend is tested against. */
import type { Backend, KernelTable } from '../../backend.js';
import { DTYPES, type DType, type TypedArray, allocTyped } from '../../dtype.js';
import { activationDensityKernels } from './activation-density.js';
import type { CpuBuffer } from './cpu-buffer.js';
import { eitpFusedKernels } from './eitp-fused.js';
import { elementwiseKernels } from './elementwise.js';
import { indexingKernels } from './indexing.js';
import { layerNormGradGradKernels } from './layer-norm-grad-grad.js';
import { matmulKernels } from './matmul.js';
import { nnKernels } from './nn.js';
import { quantKernels } from './quant.js';
import { reduceKernels } from './reduce.js';
import { tanhJvpStepKernels } from './tanh-jvp-step.js';
import { trainFusedKernels } from './train-fused.js';

/** Every kernel op is required here: the cpu backend is the oracle, so it must cover the whole table. */
const kernels = {
  ...elementwiseKernels,
  ...reduceKernels,
  ...matmulKernels,
  ...nnKernels,
  ...trainFusedKernels,
  ...layerNormGradGradKernels,
  ...eitpFusedKernels,
  ...tanhJvpStepKernels,
  ...activationDensityKernels,
  ...quantKernels,
  ...indexingKernels,
} satisfies Required<KernelTable<CpuBuffer>>;

export function createCpuBackend(): Backend<CpuBuffer> {
  return {
    name: 'cpu',
    dtypes: DTYPES,
    kernels,
    allocate(numel: number, dtype: DType): CpuBuffer {
      const data = allocTyped(dtype, numel);
      return { data, bytes: data.byteLength };
    },
    free() {
      // host memory: the garbage collector reclaims the typed array once no tensor holds it
    },
    write(buffer: CpuBuffer, data: TypedArray) {
      buffer.data.set(data);
    },
    async read(buffer: CpuBuffer): Promise<TypedArray> {
      return buffer.data.slice();
    },
    readSync(buffer: CpuBuffer): TypedArray {
      return buffer.data;
    },
  };
}
