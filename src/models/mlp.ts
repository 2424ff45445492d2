/**
 * An MLP classifier as an EitpModel, built on et.nn.MLP: the taps are the post-activation hidden layers (each
 * consumed by the next Linear), the features the last hidden layer, and the dynamics the hidden layers as blocks.
 */
import { objectArg } from '../args.js';
import * as et from '../../engine/index.js';
import { fmtShape, requirePositiveInt } from './check.js';
import { linear } from './linear.js';
import type { ActivationTap, Dynamics, EitpModel, ForwardResult, PathStructure } from './eitp-model.js';

export interface MlpConfig {
  /** [in, hidden..., out]: at least one hidden layer. */
  sizes: readonly number[];
  activation?: et.nn.Activation;
  seed?: number;
}

export class MlpModel extends et.nn.Module<[et.Tensor, { taps?: boolean }?], ForwardResult> implements EitpModel {
  readonly net: et.nn.MLP;

  constructor(readonly config: MlpConfig) {
    super();
    objectArg(config, 'MlpModel', 'config');
    if (!Array.isArray(config.sizes) || config.sizes.length < 3) {
      throw new et.ArgumentError(`MlpModel: sizes must be [in, hidden..., out] with at least one hidden layer, got ${JSON.stringify(config.sizes)}`, { op: 'MlpModel' });
    }
    config.sizes.forEach((s, i) => requirePositiveInt('MlpModel', `sizes[${i}]`, s));
    this.net = new et.nn.MLP(config.sizes, { activation: config.activation ?? 'tanh', seed: config.seed ?? 0 });
  }

  get depth(): number {
    return this.net.layers.length - 1;
  }

  private checkInput(x: et.Tensor): void {
    const n = this.config.sizes[0]!;
    if (x.rank !== 2 || x.shape[1] !== n || (x.dtype !== 'f32' && x.dtype !== 'f64')) {
      throw new et.ShapeError(`MlpModel: input must be [batch, ${n}] float, got ${fmtShape(x.shape)} ${x.dtype}`, { op: 'MlpModel', shapes: [x.shape], dtypes: [x.dtype] });
    }
  }

  private hiddenBlock(i: number): (h: et.Tensor) => et.Tensor {
    const layer = this.net.layers[i]!;
    const act = this.net.activation;
    // relu and tanh run in the matmul's epilogue; gelu's backward needs its input, so it stays a separate op.
    return act === 'gelu' ? (h) => et.nn.activate(linear(layer, h), act) : (h) => linear(layer, h, act);
  }

  forward(x: et.Tensor, opts: { taps?: boolean } = {}): ForwardResult {
    this.checkInput(x);
    const taps: ActivationTap[] = [];
    const layers = this.net.layers;
    let h = x;
    for (let i = 0; i < layers.length - 1; i++) {
      h = this.hiddenBlock(i)(h);
      const next = layers[i + 1]!;
      if (opts.taps) taps.push({ name: `layers.${i}.${this.net.activation}`, activation: h, flops: 2 * x.shape[0]! * next.inFeatures * next.outFeatures });
    }
    const logits = linear(layers[layers.length - 1]!, h);
    return opts.taps ? { logits, taps: { activations: taps, features: h } } : { logits };
  }

  entropyWeights(): et.Tensor[] {
    return this.net.layers.map((l) => l.weight);
  }

  dynamics(x: et.Tensor): Dynamics {
    this.checkInput(x);
    const blocks = Array.from({ length: this.depth }, (_, i) => this.hiddenBlock(i));
    // tanh hidden layers: the FTLE can step tangents through them with the fused et.tanhJvp
    if (this.net.activation !== 'tanh') return { h0: x, blocks };
    return { h0: x, blocks, tanhWeights: this.net.layers.slice(0, this.depth).map((l) => l.weight) };
  }

  pathStructure(): PathStructure {
    return { kind: 'mlp', weights: this.net.layers.map((l) => l.weight) };
  }
}
