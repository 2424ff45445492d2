/**
 * A character-level GPT: decoder-only, learned token and positional embeddings, pre-LN blocks of causal multi-head
 * self-attention and a GELU MLP, a final LayerNorm and an unembedding (optionally tied to the token embedding).
 * GPT-2 initialisation: N(0, 0.02) weights, residual projections scaled by 1/sqrt(2·layers), zero biases.
 *
 * `readout: 'last'` returns the logits of the last position only ([B, vocab]): the shape a retrieval or
 * classification target [B] wants; `'all'` (default) returns [B, T, vocab] for language modelling.
 */
import { objectArg } from '../args.js';
import * as et from '../../engine/index.js';
import { requirePositiveInt, requireTokens } from './check.js';
import { linear, matmulWeight } from './linear.js';
import type { ActivationTap, Dynamics, EitpModel, ForwardResult, PathStructure } from './eitp-model.js';

export interface GptConfig {
  vocabSize: number;
  /** Maximum sequence length (the positional table's size). */
  context: number;
  width: number;
  depth: number;
  heads: number;
  /** MLP hidden width as a multiple of width (default 4). */
  mlpRatio?: number;
  tieWeights?: boolean;
  readout?: 'all' | 'last';
  /**
   * "Smeared keys" (Olsson et al. 2022, "In-context learning and induction heads"): each head's key at position i
   * is σ(a)·k_i + (1 − σ(a))·k_{i−1} with a learned a per head, which lets attention match on the previous token
   * and so makes induction (the retrieval task's mechanism) learnable in far fewer steps. Causality is kept.
   */
  smearKeys?: boolean;
  seed?: number;
}

const std = 0.02;

function initLinear(layer: et.nn.Linear, seed: number, scale = 1): void {
  et.tidy(() =>
    et.noGrad(() => {
      layer.weight.assign(et.randn(layer.weight.shape, { seed, std: std * scale }));
      layer.bias?.assign(et.zeros(layer.bias.shape));
    }),
  );
}

/** One pre-LN transformer block: h + attn(ln1(h)), then + mlp(ln2(.)). */
export class GptBlock extends et.nn.Module<[et.Tensor, ActivationTap[]?], et.Tensor> {
  readonly ln1: et.nn.LayerNorm;
  readonly qkv: et.nn.Linear;
  readonly proj: et.nn.Linear;
  readonly ln2: et.nn.LayerNorm;
  readonly fc: et.nn.Linear;
  readonly fcOut: et.nn.Linear;
  /** [1, heads, 1, 1] smear logits a (present with smearKeys). */
  readonly smear: et.Tensor | null;

  constructor(
    readonly width: number,
    readonly heads: number,
    hidden: number,
    seed: number,
    residualScale: number,
    readonly index: number,
    smearKeys = false,
  ) {
    super();
    const s = (k: number) => et.nn.deriveSeed(seed, k);
    this.ln1 = new et.nn.LayerNorm(width);
    this.qkv = new et.nn.Linear(width, 3 * width, { seed: s(0) });
    this.proj = new et.nn.Linear(width, width, { seed: s(1) });
    this.ln2 = new et.nn.LayerNorm(width);
    this.fc = new et.nn.Linear(width, hidden, { seed: s(2) });
    this.fcOut = new et.nn.Linear(hidden, width, { seed: s(3) });
    initLinear(this.qkv, s(4));
    initLinear(this.proj, s(5), residualScale);
    initLinear(this.fc, s(6));
    initLinear(this.fcOut, s(7), residualScale);
    // σ(0) = 0.5: each key starts as an even mix of its own and the previous position's
    this.smear = smearKeys ? et.zeros([1, heads, 1, 1], { requiresGrad: true }) : null;
  }

  /** h: [B, T, d]. Taps (post-softmax attention and post-GELU activations) are appended to `taps` when given. */
  forward(h: et.Tensor, taps?: ActivationTap[]): et.Tensor {
    const [B, T, d] = h.shape as [number, number, number];
    const H = this.heads;
    const hd = d / H;
    const qkv = linear(this.qkv, this.ln1.forward(h)); // [B, T, 3d]
    // q, k, v [B, H, T, hd] as slices of one [3, B, H, T, hd] view: their cotangents meet in one concat and one copy
    // back to [B, T, 3d], where a split of qkv first copied each permuted cotangent on its own (same layouts forward)
    const heads = qkv.reshape([B, T, 3, H, hd]).permute([2, 0, 3, 1, 4]);
    const [q, k0, v] = [0, 1, 2].map((i) => heads.slice([i, 0, 0, 0, 0], [i + 1, B, H, T, hd]).reshape([B, H, T, hd])) as [et.Tensor, et.Tensor, et.Tensor];
    let k = k0;
    if (this.smear && T > 1) {
      const a = this.smear.sigmoid();
      const prev = et.pad(k0.slice([0, 0, 0, 0], [B, H, T - 1, hd]), [[0, 0], [0, 0], [1, 0], [0, 0]]);
      k = k0.mul(a).add(prev.mul(a.neg().add(1)));
    }
    const scores = q.matmul(k.transpose()).mul(1 / Math.sqrt(hd)).add(causalMask(T)); // [B, H, T, T]
    const probs = et.softmax(scores, -1);
    if (taps) taps.push({ name: `blocks.${this.index}.attn.probs`, activation: probs, flops: 2 * B * H * T * T * hd });
    const att = probs.matmul(v).permute([0, 2, 1, 3]).reshape([B, T, d]);
    const h1 = h.add(linear(this.proj, att));
    const a = linear(this.fc, this.ln2.forward(h1)).gelu({ approximate: 'tanh' });
    if (taps) taps.push({ name: `blocks.${this.index}.mlp.gelu`, activation: a, flops: 2 * B * T * this.fc.outFeatures * d });
    return h1.add(linear(this.fcOut, a));
  }
}

/** [T, T] additive mask: 0 on and below the diagonal, -1e9 above (a position never sees a later one). */
export function causalMask(T: number): et.Tensor {
  if (!Number.isInteger(T) || T < 1) throw new et.ArgumentError(`T must be a positive integer, got ${String(T)}`, { op: 'causalMask' });
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
  return et.tensor(m, { shape: [T, T] });
}

export class CharGpt extends et.nn.Module<[et.Tensor, { taps?: boolean }?], ForwardResult> implements EitpModel {
  readonly config: Required<GptConfig>;
  /** [vocab, d] token embedding (also the unembedding when tied). */
  readonly wte: et.Tensor;
  /** [context, d] learned positional embedding. */
  readonly wpe: et.Tensor;
  readonly blocks: GptBlock[];
  readonly lnF: et.nn.LayerNorm;
  readonly head: et.nn.Linear | null;

  constructor(config: GptConfig) {
    super();
    objectArg(config, 'CharGpt', 'config');
    const c: Required<GptConfig> = { mlpRatio: 4, tieWeights: true, readout: 'all', smearKeys: false, seed: 0, ...config };
    for (const k of ['vocabSize', 'context', 'width', 'depth', 'heads', 'mlpRatio'] as const) requirePositiveInt('CharGpt', k, c[k]);
    if (c.width % c.heads !== 0) {
      throw new et.ArgumentError(`CharGpt: width ${c.width} must be divisible by heads ${c.heads}`, { op: 'CharGpt' });
    }
    if (c.readout !== 'all' && c.readout !== 'last') throw new et.ArgumentError(`CharGpt: readout must be 'all' or 'last', got ${String(c.readout)}`, { op: 'CharGpt' });
    this.config = c;
    const s = (k: number) => et.nn.deriveSeed(c.seed, k);
    this.wte = et.randn([c.vocabSize, c.width], { seed: s(0), std, requiresGrad: true });
    this.wpe = et.randn([c.context, c.width], { seed: s(1), std, requiresGrad: true });
    const residualScale = 1 / Math.sqrt(2 * c.depth);
    this.blocks = Array.from({ length: c.depth }, (_, i) => new GptBlock(c.width, c.heads, c.mlpRatio * c.width, s(10 + i), residualScale, i, c.smearKeys));
    this.lnF = new et.nn.LayerNorm(c.width);
    if (c.tieWeights) this.head = null;
    else {
      this.head = new et.nn.Linear(c.width, c.vocabSize, { bias: false, seed: s(2) });
      initLinear(this.head, s(3));
    }
  }

  get depth(): number {
    return this.config.depth;
  }

  /** Token plus positional embedding: [B, T] -> [B, T, d] (h_0 of the dynamics). */
  embed(x: et.Tensor): et.Tensor {
    requireTokens('CharGpt', x, this.config.context);
    const T = x.shape[1]!;
    const pos = this.wpe.slice([0, 0], [T, this.config.width]);
    return et.embedding(this.wte, x).add(pos);
  }

  forward(x: et.Tensor, opts: { taps?: boolean } = {}): ForwardResult {
    const taps: ActivationTap[] | undefined = opts.taps ? [] : undefined;
    let h = this.embed(x);
    for (const block of this.blocks) h = block.forward(h, taps);
    const [B, T, d] = h.shape as [number, number, number];
    const features = opts.taps ? h.reshape([B * T, d]) : undefined;
    const last = this.config.readout === 'last' ? h.slice([0, T - 1, 0], [B, T, d]).reshape([B, d]) : h;
    const logits = this.unembed(this.lnF.forward(last));
    return taps ? { logits, taps: { activations: taps, features: features! } } : { logits };
  }

  private unembed(h: et.Tensor): et.Tensor {
    return this.head ? linear(this.head, h) : matmulWeight(h, this.wte);
  }

  entropyWeights(): et.Tensor[] {
    const ws = [this.wte, this.wpe];
    for (const b of this.blocks) ws.push(b.qkv.weight, b.proj.weight, b.fc.weight, b.fcOut.weight);
    if (this.head) ws.push(this.head.weight);
    return ws;
  }

  dynamics(x: et.Tensor): Dynamics {
    return { h0: this.embed(x), blocks: this.blocks.map((b) => (h: et.Tensor) => b.forward(h)) };
  }

  pathStructure(): PathStructure {
    const d = this.config.width;
    return {
      kind: 'transformer',
      embedding: this.wte,
      blocks: this.blocks.map((b) => ({
        // rows [2d, 3d) of the fused qkv weight are W_V ([out, in] like torch)
        wv: b.qkv.weight.slice([2 * d, 0], [3 * d, d]),
        wo: b.proj.weight,
        w1: b.fc.weight,
        w2: b.fcOut.weight,
        ...(b.ln1.weight ? { ln1: b.ln1.weight } : {}),
        ...(b.ln2.weight ? { ln2: b.ln2.weight } : {}),
      })),
      ...(this.lnF.weight ? { finalNorm: this.lnF.weight } : {}),
      unembed: this.head ? this.head.weight : this.wte,
    };
  }
}
