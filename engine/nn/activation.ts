/** Activations by name, shared by MLP and Linear's unfused path. */
import type * as et from '../core.js';

export type Activation = 'relu' | 'tanh' | 'gelu';

/** An activation by name ('none' returns x). */
export function activate(x: et.Tensor, activation: Activation | 'sigmoid' | 'none'): et.Tensor {
  switch (activation) {
    case 'none':
      return x;
    case 'sigmoid':
      return x.sigmoid();
    case 'relu':
      return x.relu();
    case 'tanh':
      return x.tanh();
    case 'gelu':
      // torch.nn.GELU's default is the exact erf form.
      return x.gelu({ approximate: 'none' });
  }
}
