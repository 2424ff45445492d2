/**
 * THE op table: one entry per op. Typed as `OpTable` (every key of OpAttrs), so an op without a definition
 * does not compile.
 */
import { activationDensityDefs } from './activation-density.js';
import { binaryDefs } from './binary.js';
import { coherenceDefs } from './coherence.js';
import { eitpFusedDefs } from './eitp-fused.js';
import { indexingDefs } from './indexing.js';
import { layerNormGradGradDefs } from './layer-norm-grad-grad.js';
import { matmulDefs } from './matmul.js';
import { nnDefs } from './nn.js';
import type { OpTable } from './op-def.js';
import { quantDefs } from './quant.js';
import { reduceDefs } from './reduce.js';
import { softmaxGradDefs } from './softmax-grad.js';
import { softmaxGradGradDefs } from './softmax-grad-grad.js';
import { structureDefs } from './structure.js';
import { tanhJvpStepDefs } from './tanh-jvp-step.js';
import { trainFusedDefs } from './train-fused.js';
import { unaryDefs } from './unary.js';
import { viewDefs } from './views.js';

let table: OpTable | null = null;

/**
 * Built on first use: the op modules import each other (VJPs are written with ops), so the table is assembled
 * only after every module has finished evaluating.
 */
export function opTable(): OpTable {
  table ??= {
    ...unaryDefs,
    ...binaryDefs,
    ...reduceDefs,
    ...matmulDefs,
    ...nnDefs,
    ...trainFusedDefs,
    ...layerNormGradGradDefs,
    ...softmaxGradDefs,
    ...softmaxGradGradDefs,
    ...eitpFusedDefs,
    ...coherenceDefs,
    ...tanhJvpStepDefs,
    ...activationDensityDefs,
    ...quantDefs,
    ...indexingDefs,
    ...structureDefs,
    ...viewDefs,
  };
  return table;
}
