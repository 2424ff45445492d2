/**
 * A tanh RNN over character tokens: h_t = tanh(W_ih e(x_t) + b + W_hh h_{t-1}), logits_t = W_out h_t + b_out.
 * The FTLE runs over time (one block per step, the inputs held fixed); `readout: 'last'` returns the logits of the
 * last step only. The recurrent weight starts as a scaled random orthogonal-like matrix N(0, 1/H) (gain ≈ 1).
 */
import { objectArg } from '../args.js';
import * as et from '../../engine/index.js';
import { requirePositiveInt, requireTokens } from './check.js';
import { linear } from './linear.js';
import type { ActivationTap, Dynamics, EitpModel, ForwardResult, PathStructure } from './eitp-model.js';

export interface RnnConfig {
  vocabSize: number;
  /** Maximum sequence length (the FTLE depth and the path norm's steps). */
  context: number;
  hidden: number;
  embed: number;
  readout?: 'all' | 'last';
  seed?: number;
}

export class TanhRnn extends et.nn.Module<[et.Tensor, { taps?: boolean }?], ForwardResult> implements EitpModel {
  readonly config: Required<RnnConfig>;
  readonly embedding: et.nn.Embedding;
  readonly input: et.nn.Linear;
  readonly recurrent: et.nn.Linear;
  readonly output: et.nn.Linear;

  constructor(config: RnnConfig) {
    super();
    objectArg(config, 'TanhRnn', 'config');
    const c: Required<RnnConfig> = { readout: 'all', seed: 0, ...config };
    for (const k of ['vocabSize', 'context', 'hidden', 'embed'] as const) requirePositiveInt('TanhRnn', k, c[k]);
    this.config = c;
    const s = (k: number) => et.nn.deriveSeed(c.seed, k);
    this.embedding = new et.nn.Embedding(c.vocabSize, c.embed, { seed: s(0) });
    this.input = new et.nn.Linear(c.embed, c.hidden, { seed: s(1) });
    this.recurrent = new et.nn.Linear(c.hidden, c.hidden, { bias: false, seed: s(2) });
    this.output = new et.nn.Linear(c.hidden, c.vocabSize, { seed: s(3) });
    et.tidy(() => et.noGrad(() => this.recurrent.weight.assign(et.randn([c.hidden, c.hidden], { seed: s(4), std: 1 / Math.sqrt(c.hidden) }))));
  }

  get depth(): number {
    return this.config.context;
  }

  /** The input drive W_ih e(x_t) + b of every step: [B, T, H]. */
  private drive(x: et.Tensor): et.Tensor {
    requireTokens('TanhRnn', x, this.config.context);
    return linear(this.input, this.embedding.forward(x));
  }

  private step(u: et.Tensor, t: number): (h: et.Tensor) => et.Tensor {
    const [B, , H] = u.shape as [number, number, number];
    const ut = u.slice([0, t, 0], [B, t + 1, H]).reshape([B, H]);
    return (h) => ut.add(linear(this.recurrent, h)).tanh();
  }

  forward(x: et.Tensor, opts: { taps?: boolean } = {}): ForwardResult {
    const u = this.drive(x);
    const [B, T, H] = u.shape as [number, number, number];
    let h = et.zeros([B, H]);
    const hs: et.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      h = this.step(u, t)(h);
      hs.push(h);
    }
    const states = et.stack(hs, 1); // [B, T, H]
    const logits = linear(this.output, this.config.readout === 'last' ? h : states);
    if (!opts.taps) return { logits };
    const V = this.config.vocabSize;
    // each h_t feeds the next recurrent matmul (except the last) and the output layer (all of them for 'all')
    const flops = 2 * B * (T - 1) * H * H + 2 * B * (this.config.readout === 'last' ? 1 : T) * H * V;
    const taps: ActivationTap[] = [{ name: 'hidden.tanh', activation: states, flops }];
    return { logits, taps: { activations: taps, features: states.reshape([B * T, H]) } };
  }

  entropyWeights(): et.Tensor[] {
    return [this.embedding.weight, this.input.weight, this.recurrent.weight, this.output.weight];
  }

  dynamics(x: et.Tensor): Dynamics {
    const u = this.drive(x);
    const [B, T, H] = u.shape as [number, number, number];
    // every step is h ↦ tanh(u_t + h W_hhᵀ + b): the FTLE steps tangents with the fused et.tanhJvp
    const tanhWeights = Array.from({ length: T }, () => this.recurrent.weight);
    return { h0: et.zeros([B, H]), blocks: Array.from({ length: T }, (_, t) => this.step(u, t)), tanhWeights };
  }

  pathStructure(): PathStructure {
    return { kind: 'rnn', input: this.input.weight, recurrent: this.recurrent.weight, output: this.output.weight, steps: this.config.context };
  }
}
