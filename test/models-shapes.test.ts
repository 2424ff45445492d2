/** The models: shapes, causal masking, taps/features/dynamics/path structure of the EitpModel contract, seeding, errors. */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { CharGpt, MlpModel, TanhRnn } from '../src/models/index.js';
import { causalMask } from '../src/models/gpt.js';

et.setBackend('cpu');

const tokens = (rows: number[][]) => et.tensor(Int32Array.from(rows.flat()), { shape: [rows.length, rows[0]!.length], dtype: 'i32' });

async function close(a: et.Tensor, b: et.Tensor, tol = 1e-5): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  expect(worst).toBeLessThanOrEqual(tol);
  return worst;
}

describe('CharGpt', () => {
  const cfg = { vocabSize: 11, context: 8, width: 16, depth: 2, heads: 4, seed: 3 };

  it('maps [B, T] tokens to [B, T, vocab] logits (readout all) or [B, vocab] (readout last)', () => {
    const x = tokens([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]]);
    expect(new CharGpt(cfg).forward(x).logits.shape).toEqual([2, 5, 11]);
    expect(new CharGpt({ ...cfg, readout: 'last' }).forward(x).logits.shape).toEqual([2, 11]);
    expect(new CharGpt({ ...cfg, tieWeights: false, smearKeys: true }).forward(x).logits.shape).toEqual([2, 5, 11]);
  });

  for (const smearKeys of [false, true]) {
    it(`is causal: changing a future token leaves earlier logits unchanged${smearKeys ? ' (smeared keys)' : ''}`, async () => {
      const m = new CharGpt({ ...cfg, smearKeys });
      const a = [3, 1, 4, 1, 5, 9, 2, 6];
      for (const t of [2, 5, 7]) {
        const b = [...a];
        b[t] = (b[t]! + 3) % 11;
        const la = m.forward(tokens([a])).logits;
        const lb = m.forward(tokens([b])).logits;
        await close(la.slice([0, 0, 0], [1, t, 11]), lb.slice([0, 0, 0], [1, t, 11]), 1e-6);
        // ... while the logits at the changed position do change
        const d = await la.slice([0, t, 0], [1, t + 1, 11]).sub(lb.slice([0, t, 0], [1, t + 1, 11])).abs().max().item();
        expect(d).toBeGreaterThan(1e-4);
      }
    });
  }

  it("a block's attention takes q, k, v from the qkv projection's thirds, hd columns a head (forward and gradients)", async () => {
    const m = new CharGpt({ ...cfg, depth: 1 });
    const block = m.blocks[0]!;
    const [B, T, d, H] = [2, 5, 16, 4];
    const hd = d / H;
    const h = et.randn([B, T, d], { seed: 7 });
    const c = et.randn([B, T, d], { seed: 8 });
    // the attention written out per sequence and head on the 2-D [T, 3d] projection: columns [i·d + j·hd, +hd) of
    // third i (q, k, v) belong to head j
    const reference = (x: et.Tensor): et.Tensor => {
      const rows: et.Tensor[] = [];
      for (let b = 0; b < B; b++) {
        const xb = x.slice([b, 0, 0], [b + 1, T, d]).reshape([T, d]);
        const qkv = block.qkv.forward(block.ln1.forward(xb));
        const cols = (i: number, j: number) => qkv.slice([0, i * d + j * hd], [T, i * d + (j + 1) * hd]);
        const heads = Array.from({ length: H }, (_, j) => {
          const scores = cols(0, j).matmul(cols(1, j).transpose()).mul(1 / Math.sqrt(hd)).add(causalMask(T));
          return et.softmax(scores, -1).matmul(cols(2, j));
        });
        const h1 = xb.add(block.proj.forward(et.concat(heads, -1)));
        const a = block.fc.forward(block.ln2.forward(h1)).gelu({ approximate: 'tanh' });
        rows.push(h1.add(block.fcOut.forward(a)));
      }
      return et.stack(rows, 0);
    };
    await close(block.forward(h), reference(h), 1e-5);
    const gradOf = (f: (x: et.Tensor) => et.Tensor) => {
      const s = f(h).mul(c).sum();
      s.backward();
      const g = block.qkv.weight.grad!.dataSync().slice();
      for (const p of m.parameters()) p.zeroGrad();
      return et.tensor(g, { shape: block.qkv.weight.shape });
    };
    await close(gradOf((x) => block.forward(x)), gradOf(reference), 1e-5);
  });

  it('taps, features and dynamics follow the EitpModel contract', async () => {
    const m = new CharGpt(cfg);
    const x = tokens([[1, 2, 3, 4], [4, 3, 2, 1], [0, 0, 1, 1]]);
    const out = m.forward(x, { taps: true });
    expect(out.taps!.features.shape).toEqual([12, 16]);
    expect(out.taps!.activations.map((a) => a.name)).toEqual(['blocks.0.attn.probs', 'blocks.0.mlp.gelu', 'blocks.1.attn.probs', 'blocks.1.mlp.gelu']);
    expect(out.taps!.activations[0]!.activation.shape).toEqual([3, 4, 4, 4]);
    expect(out.taps!.activations[1]!.activation.shape).toEqual([3, 4, 64]);
    expect(out.taps!.activations[1]!.flops).toBe(2 * 12 * 64 * 16); // the matmul consuming the GELU output
    // composing the dynamics' blocks from h0 gives the final residual stream (= the features)
    const d = m.dynamics(x);
    expect(d.blocks.length).toBe(m.depth);
    const hL = d.blocks.reduce((h, f) => f(h), d.h0);
    await close(hL.reshape([12, 16]), out.taps!.features);
    const p = m.pathStructure();
    expect(p.kind).toBe('transformer');
    if (p.kind === 'transformer') {
      expect(p.blocks[0]!.wv.shape).toEqual([16, 16]);
      expect(p.blocks[0]!.w1.shape).toEqual([64, 16]);
      expect(p.unembed).toBe(m.wte); // tied
    }
    // rank >= 2 weights only, the tied embedding once
    const ws = m.entropyWeights();
    expect(ws.every((w) => w.rank >= 2)).toBe(true);
    expect(new Set(ws).size).toBe(ws.length);
    expect(ws.length).toBe(2 + 4 * 2);
  });

  it('is seeded: the same seed gives the same weights, another seed different ones', async () => {
    const [a, b, c] = [new CharGpt(cfg), new CharGpt(cfg), new CharGpt({ ...cfg, seed: 4 })];
    await close(a.blocks[1]!.fc.weight, b.blocks[1]!.fc.weight, 0);
    expect(await a.wte.sub(c.wte).abs().max().item()).toBeGreaterThan(0);
  });

  it('rejects bad inputs and configs with clear errors', () => {
    const m = new CharGpt(cfg);
    expect(() => m.forward(et.zeros([2, 4]))).toThrow(/CharGpt: input must be \[batch, time\] i32 tokens with 1 <= time <= 8, got \[2, 4\] f32/);
    expect(() => m.forward(tokens([[1, 2, 3, 4, 5, 6, 7, 8, 9]]))).toThrow(/time <= 8, got \[1, 9\]/);
    expect(() => new CharGpt({ ...cfg, heads: 3 })).toThrow(/width 16 must be divisible by heads 3/);
    expect(() => new CharGpt({ ...cfg, depth: 0 })).toThrow(/depth must be a positive integer/);
  });
});

describe('TanhRnn', () => {
  const cfg = { vocabSize: 7, context: 6, hidden: 12, embed: 5, seed: 1 };
  it('shapes, causality, taps and the dynamics over time', async () => {
    const m = new TanhRnn(cfg);
    const x = tokens([[1, 2, 3, 4, 5], [0, 1, 0, 1, 0]]);
    const out = m.forward(x, { taps: true });
    expect(out.logits.shape).toEqual([2, 5, 7]);
    expect(out.taps!.features.shape).toEqual([10, 12]);
    expect(new TanhRnn({ ...cfg, readout: 'last' }).forward(x).logits.shape).toEqual([2, 7]);
    const y = tokens([[1, 2, 3, 4, 6], [0, 1, 0, 1, 6]]);
    await close(m.forward(y).logits.slice([0, 0, 0], [2, 4, 7]), out.logits.slice([0, 0, 0], [2, 4, 7]), 0);
    const d = m.dynamics(x);
    expect(d.blocks.length).toBe(5);
    await close(d.blocks.reduce((h, f) => f(h), d.h0), out.taps!.features.reshape([2, 5, 12]).slice([0, 4, 0], [2, 5, 12]).reshape([2, 12]));
    expect(m.pathStructure().kind).toBe('rnn');
    expect(() => m.forward(et.zeros([2, 3]))).toThrow(/TanhRnn: input must be/);
  });
});

describe('MlpModel', () => {
  it('shapes, taps with FLOPs, dynamics and path structure', async () => {
    const m = new MlpModel({ sizes: [2, 8, 6, 3], seed: 0 });
    const x = et.randn([5, 2], { seed: 1 });
    const out = m.forward(x, { taps: true });
    expect(out.logits.shape).toEqual([5, 3]);
    expect(out.taps!.activations.map((a) => [a.activation.shape, a.flops])).toEqual([
      [[5, 8], 2 * 5 * 8 * 6],
      [[5, 6], 2 * 5 * 6 * 3],
    ]);
    expect(out.taps!.features.shape).toEqual([5, 6]);
    const d = m.dynamics(x);
    expect(m.depth).toBe(2);
    await close(d.blocks.reduce((h, f) => f(h), d.h0), out.taps!.features);
    const p = m.pathStructure();
    expect(p.kind === 'mlp' && p.weights.map((w) => w.shape)).toEqual([[8, 2], [6, 8], [3, 6]]);
    expect(() => m.forward(et.zeros([5, 3]))).toThrow(/MlpModel: input must be \[batch, 2\] float, got \[5, 3\]/);
    expect(() => new MlpModel({ sizes: [2, 3] })).toThrow(/at least one hidden layer/);
  });
});
