/**
 * A model with int8 weights. The quantised set is every weight matrix of the model (EitpModel.entropyWeights: the
 * rank-2 weights, biases and norm gains excluded, tied weights once); biases, norm gains and other small
 * parameters stay f32. For each quantised weight W the model gets
 *   - its int8 form (i8 [out, in] + f32 scales [out]) attached, which the weight matmuls (src/models/linear.ts)
 *     run through et.matmulInt8, and
 *   - W itself overwritten with the dequantised s_j·W_q, so embedding lookups (token and position tables) and
 *     anything else that reads W see exactly the numbers the int8 matmuls multiply by.
 */
import { describeArg, moduleArg } from '../args.js';
import * as et from '../../engine/index.js';
import { setInt8Form } from '../models/linear.js';
import type { EitpModel } from '../models/eitp-model.js';
import { type QuantizedMatrix, dequantize, quantizePerChannel } from './quantize.js';

export type Activations = 'f32' | 'int8';

/** The model's weight matrices with their parameter names (the quantisation and pruning set). */
export function weightMatrices(model: EitpModel): { name: string; tensor: et.Tensor }[] {
  moduleArg(model, 'weightMatrices');
  const names = new Map(model.namedParameters().map(([n, t]) => [t, n]));
  return model
    .entropyWeights()
    .filter((t) => t.rank === 2)
    .map((tensor) => {
      const name = names.get(tensor);
      if (name === undefined) throw new et.ArgumentError('weightMatrices: a weight of the model is not one of its parameters', { op: 'weightMatrices' });
      return { name, tensor };
    });
}

/** The int8 forms attached to a model; dispose() detaches and frees them. */
export class Int8Forms {
  constructor(private readonly entries: { weight: et.Tensor; wq: et.Tensor; scales: et.Tensor }[]) {}

  dispose(): void {
    for (const e of this.entries) {
      setInt8Form(e.weight, null);
      et.dispose([e.wq, e.scales]);
    }
    this.entries.length = 0;
  }
}

/**
 * Attaches int8 forms for the given matrices (by parameter name) and overwrites those parameters with their
 * dequantised values. The tensors are created on the parameters' backend.
 */
export function attachInt8(model: EitpModel, matrices: ReadonlyMap<string, QuantizedMatrix>, activations: Activations): Int8Forms {
  moduleArg(model, 'attachInt8');
  if (!(matrices instanceof Map)) throw new et.ArgumentError(`matrices must be a Map of quantized weights (from quantizeModel), got ${describeArg(matrices)}`, { op: 'attachInt8' });
  const params = new Map(model.namedParameters());
  const entries: { weight: et.Tensor; wq: et.Tensor; scales: et.Tensor }[] = [];
  const forms = new Int8Forms(entries);
  try {
    for (const [name, q] of matrices) {
      const weight = params.get(name);
      if (!weight) throw new et.ArgumentError(`attachInt8: the model has no parameter "${name}"`, { op: 'attachInt8' });
      if (weight.dtype !== 'f32') throw new et.DTypeError(`attachInt8: "${name}" is ${weight.dtype}; int8 weights replace f32 ones`, { op: 'attachInt8', dtypes: [weight.dtype] });
      if (weight.rank !== 2 || weight.shape[0] !== q.rows || weight.shape[1] !== q.cols) {
        throw new et.ShapeError(`attachInt8: "${name}" is [${weight.shape.join(', ')}] but its int8 matrix is [${q.rows}, ${q.cols}]`, { op: 'attachInt8', shapes: [weight.shape, [q.rows, q.cols]] });
      }
      const backend = weight.backend as et.BackendName;
      const wq = et.tensor(q.wq, { shape: [q.rows, q.cols], dtype: 'i8', backend });
      const scales = et.tensor(q.scales, { shape: [q.rows], backend });
      entries.push({ weight, wq, scales });
      setInt8Form(weight, { wq, scales, activations });
      et.tidy(() => et.noGrad(() => weight.assign(et.tensor(dequantize(q), { shape: weight.shape, backend }))));
    }
  } catch (e) {
    forms.dispose();
    throw e;
  }
  return forms;
}

/** Quantises every weight matrix of the model (per output channel) and attaches the int8 forms. */
export async function quantizeModel(model: EitpModel, activations: Activations): Promise<{ matrices: Map<string, QuantizedMatrix>; forms: Int8Forms }> {
  moduleArg(model, 'quantizeModel');
  const matrices = new Map<string, QuantizedMatrix>();
  for (const { name, tensor } of weightMatrices(model)) {
    const [rows, cols] = tensor.shape as [number, number];
    matrices.set(name, quantizePerChannel(await tensor.data(), rows, cols));
  }
  return { matrices, forms: attachInt8(model, matrices, activations) };
}
