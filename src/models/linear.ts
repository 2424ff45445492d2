/**
 * The weight matmul y = x·Wᵀ (+ b) that every model routes its weights through, so that a weight can run as int8
 * (per-output-channel symmetric quantisation, et.matmulInt8) without the model knowing how it was quantised.
 *
 * The int8 form is attached to the f32 weight tensor (a WeakMap keyed by the tensor), not stored in the model:
 * the models keep one definition of their forward pass and their parameter lists (training, EIT-P terms,
 * checkpoints) are unchanged. src/compress attaches the forms and keeps the f32 weight equal to the dequantised
 * int8 weight, so embedding lookups and the f32 path see the same numbers the int8 matmul uses.
 */
import { describeArg, objectArg, tensorArg } from '../args.js';
import * as et from '../../engine/index.js';

/** W ≈ wq[j, :]·scales[j] for W [out, in]. */
export interface Int8Weight {
  /** i8 [out, in]: rows are output channels. */
  readonly wq: et.Tensor;
  /** f32 [out]: one scale per output channel. */
  readonly scales: et.Tensor;
  /** 'int8' quantises the activations per row (per token) on the fly; 'f32' multiplies f32 activations. */
  readonly activations: 'f32' | 'int8';
}

const int8Forms = new WeakMap<et.Tensor, Int8Weight>();

/** Attaches (or with null, detaches) the int8 form of a weight [out, in]. */
export function setInt8Form(weight: et.Tensor, form: Int8Weight | null): void {
  tensorArg(weight, 'setInt8Form', 'weight');
  if (form !== null) objectArg(form, 'setInt8Form', 'form');
  if (form === null) {
    int8Forms.delete(weight);
    return;
  }
  const [out, inn] = weight.shape;
  if (weight.rank !== 2 || form.wq.dtype !== 'i8' || form.wq.rank !== 2 || form.wq.shape[0] !== out || form.wq.shape[1] !== inn) {
    throw new et.ShapeError(`setInt8Form: the int8 weight must be i8 [${weight.shape.join(', ')}], got ${form.wq.dtype} [${form.wq.shape.join(', ')}]`, {
      op: 'setInt8Form',
      shapes: [weight.shape, form.wq.shape],
      dtypes: [weight.dtype, form.wq.dtype],
    });
  }
  if (form.scales.dtype !== 'f32' || form.scales.rank !== 1 || form.scales.shape[0] !== out) {
    throw new et.ShapeError(`setInt8Form: the scales must be f32 [${out}], got ${form.scales.dtype} [${form.scales.shape.join(', ')}]`, {
      op: 'setInt8Form',
      shapes: [form.scales.shape],
      dtypes: [form.scales.dtype],
    });
  }
  int8Forms.set(weight, form);
}

export function int8Form(weight: et.Tensor): Int8Weight | undefined {
  return int8Forms.get(weight);
}

/** x·Wᵀ for a weight W [out, in]; x [..., in] -> [..., out]. */
export function matmulWeight(x: et.Tensor, w: et.Tensor): et.Tensor {
  tensorArg(x, 'matmulWeight', 'x');
  tensorArg(w, 'matmulWeight', 'w');
  const q = int8Forms.get(w);
  return q ? et.matmulInt8(x, q.wq, q.scales, { activations: q.activations }) : x.matmul(w.transpose());
}

/** A Linear layer's forward act(x·Wᵀ + b), through the int8 form of its weight when it has one. */
export function linear(layer: et.nn.Linear, x: et.Tensor, activation: 'none' | et.GradActivation = 'none'): et.Tensor {
  if (!(layer instanceof et.nn.Linear)) throw new et.ArgumentError(`layer must be an et.nn.Linear, got ${describeArg(layer)}`, { op: 'linear' });
  if (!int8Forms.has(layer.weight)) return layer.forward(x, activation);
  const y = matmulWeight(x, layer.weight);
  const z = layer.bias ? y.add(layer.bias) : y;
  return et.nn.activate(z, activation);
}
