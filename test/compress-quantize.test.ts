/**
 * Int8 per-output-channel quantisation on the host: round half to even, s_j = max|W_j|/127, the quantise-dequantise
 * error bound |W − s·W_q| ≤ s/2, hand-computed codes; and the models' weight matmuls through their int8 forms
 * against the f32 matmul of the dequantised weights (cpu reference).
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { attachInt8, quantizeModel, weightMatrices } from '../src/compress/int8-model.js';
import { dequantize, quantizePerChannel, roundHalfEven } from '../src/compress/quantize.js';
import { CharGpt } from '../src/models/gpt.js';
import { int8Form, linear, setInt8Form } from '../src/models/linear.js';

/** A seeded uniform stream in [-1, 1) (mulberry32), independent of the engine's RNG. */
function uniform(seed: number, n: number, scale = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = scale * ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1);
  }
  return out;
}

describe('roundHalfEven', () => {
  it('rounds ties to the even neighbour and everything else to the nearest integer', () => {
    const cases: [number, number][] = [
      [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, 0], [-1.5, -2], [-2.5, -2], [-3.5, -4],
      [2.4999999, 2], [2.5000001, 3], [-2.5000001, -3], [126.5, 126], [127.5, 128], [0, 0], [7, 7],
    ];
    for (const [x, want] of cases) expect(roundHalfEven(x)).toBe(want);
  });
});

describe('quantizePerChannel', () => {
  it('matches hand-computed scales and codes', () => {
    // row 0: max 1.27 -> s = fl(1.27/127), codes by hand; row 1: all zero -> s = 0, codes 0;
    // row 2: max 254 -> s = 2 exactly, so 3/2 = 1.5, −5/2 = −2.5, 1/2 = 0.5 are exact ties: 2, −2, 0 (to even)
    const w = Float32Array.from([0.5, -1.27, 0.01, 0, 0, 0, 0, 0, 254, 3, -5, 1]);
    const q = quantizePerChannel(w, 3, 4);
    expect(Array.from(q.scales)).toEqual([Math.fround(Math.fround(1.27) / 127), 0, 2]);
    expect(Array.from(q.wq)).toEqual([50, -127, 1, 0, 0, 0, 0, 0, 127, 2, -2, 0]);
  });

  it('keeps every weight within half a step of its dequantised value, |W − s·W_q| ≤ s/2', () => {
    const rows = 48;
    const cols = 37;
    const w = uniform(7, rows * cols, 0.3);
    for (let i = 0; i < cols; i++) w[5 * cols + i] = 0; // an all-zero channel
    w[9 * cols + 3] = 40; // an outlier that makes its channel's step large
    for (let i = 0; i < cols; i++) w[11 * cols + i] = 1e-6 * (i - 18); // a tiny channel
    const q = quantizePerChannel(w, rows, cols);
    const deq = dequantize(q);
    for (let j = 0; j < rows; j++) {
      let amax = 0;
      for (let i = 0; i < cols; i++) amax = Math.max(amax, Math.abs(w[j * cols + i]!));
      const s = q.scales[j]!;
      expect(s).toBe(Math.fround(amax / 127));
      for (let i = 0; i < cols; i++) {
        const k = j * cols + i;
        expect(Math.abs(q.wq[k]!)).toBeLessThanOrEqual(127);
        // s·W_q in exact arithmetic against the bound; the f32 dequantised value adds at most one f32 rounding
        expect(Math.abs(w[k]! - s * q.wq[k]!)).toBeLessThanOrEqual(s / 2);
        expect(deq[k]).toBe(Math.fround(s * q.wq[k]!));
      }
      if (amax > 0) expect(Math.max(...Array.from(q.wq.subarray(j * cols, (j + 1) * cols), Math.abs))).toBe(127);
    }
  });

  it('refuses non-finite weights and data that does not fill the shape', () => {
    expect(() => quantizePerChannel(Float32Array.from([1, NaN]), 1, 2)).toThrow(et.ArgumentError);
    expect(() => quantizePerChannel(Float32Array.from([1, Infinity]), 1, 2)).toThrow(/weight \[0, 1\] is Infinity/);
    expect(() => quantizePerChannel(new Float32Array(5), 2, 3)).toThrow(et.ShapeError);
    expect(() => quantizePerChannel(new Float32Array(0), 0, 3)).toThrow(et.ArgumentError);
  });
});

describe('int8 weight forms in the models', () => {
  it('a Linear with an int8 form computes x·(s·W_q)ᵀ + b (f32 activations) like the f32 matmul of the dequantised weight', () => {
    const layer = new et.nn.Linear(24, 10, { seed: 3 });
    const [rows, cols] = [10, 24];
    const q = quantizePerChannel(layer.weight.dataSync() as Float32Array, rows, cols);
    const deq = et.tensor(dequantize(q), { shape: [rows, cols] });
    const x = et.tensor(uniform(11, 2 * 5 * cols), { shape: [2, 5, cols] });
    const wq = et.tensor(q.wq, { shape: [rows, cols], dtype: 'i8' });
    const scales = et.tensor(q.scales);
    setInt8Form(layer.weight, { wq, scales, activations: 'f32' });
    const got = linear(layer, x).dataSync();
    const want = x.matmul(deq.transpose()).add(layer.bias!).dataSync();
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
    // the matmul reads the int8 form, not the f32 weight: all-zero codes leave the bias alone
    setInt8Form(layer.weight, { wq: et.zeros([rows, cols], { dtype: 'i8' }), scales, activations: 'int8' });
    const biasOnly = linear(layer, x).dataSync();
    const b = layer.bias!.dataSync();
    for (let i = 0; i < biasOnly.length; i++) expect(biasOnly[i]).toBe(b[i % rows]);
    setInt8Form(layer.weight, null);
    expect(int8Form(layer.weight)).toBeUndefined();
    // without the form the layer is its f32 self again
    const f32 = linear(layer, x).dataSync();
    const ref = layer.forward(x).dataSync();
    expect(Array.from(f32)).toEqual(Array.from(ref));
  });

  it('refuses an int8 form that does not fit the weight', () => {
    const w = et.zeros([4, 3]);
    expect(() => setInt8Form(w, { wq: et.zeros([3, 4], { dtype: 'i8' }), scales: et.zeros([4]), activations: 'f32' })).toThrow(et.ShapeError);
    expect(() => setInt8Form(w, { wq: et.zeros([4, 3], { dtype: 'i32' }), scales: et.zeros([4]), activations: 'f32' })).toThrow(/i8 \[4, 3\]/);
    expect(() => setInt8Form(w, { wq: et.zeros([4, 3], { dtype: 'i8' }), scales: et.zeros([3]), activations: 'f32' })).toThrow(/scales must be f32 \[4\]/);
  });

  it('a quantised char-GPT: every weight matrix gets an int8 form and holds its dequantised values; logits stay close to fp32', async () => {
    const make = () => new CharGpt({ vocabSize: 11, context: 8, width: 16, depth: 2, heads: 2, readout: 'last', tieWeights: true, seed: 5 });
    const ref = make();
    const model = make();
    const x = et.tensor(Int32Array.from({ length: 3 * 8 }, (_, i) => (i * 7) % 11), { shape: [3, 8] });
    const want = ref.forward(x).logits.dataSync();
    for (const activations of ['f32', 'int8'] as const) {
      const m = make();
      const { matrices, forms } = await quantizeModel(m, activations);
      const mats = weightMatrices(m);
      expect(mats.map((w) => w.name)).toEqual(['wte', 'wpe', 'blocks.0.qkv.weight', 'blocks.0.proj.weight', 'blocks.0.fc.weight', 'blocks.0.fcOut.weight', 'blocks.1.qkv.weight', 'blocks.1.proj.weight', 'blocks.1.fc.weight', 'blocks.1.fcOut.weight']);
      for (const { name, tensor } of mats) {
        expect(int8Form(tensor)?.activations).toBe(activations);
        expect(Array.from(tensor.dataSync())).toEqual(Array.from(dequantize(matrices.get(name)!)));
      }
      const got = m.forward(x).logits.dataSync();
      // small random weights: 8-bit codes keep logits within a few percent of their spread
      const spread = Math.max(...Array.from(want, Math.abs));
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(0.05 * spread + 1e-3);
      forms.dispose();
      for (const { tensor } of mats) expect(int8Form(tensor)).toBeUndefined();
    }
    // with f32 activations the int8 matmuls reproduce the f32 model of the dequantised weights; quantised
    // activations add their own rounding, so that path differs from it (while staying close)
    const { forms } = await quantizeModel(model, 'f32');
    const viaInt8 = model.forward(x).logits.dataSync();
    forms.dispose();
    const viaF32 = model.forward(x).logits.dataSync();
    for (let i = 0; i < viaF32.length; i++) expect(viaInt8[i]).toBeCloseTo(viaF32[i]!, 5);
    const again = await quantizeModel(model, 'int8');
    const viaInt8Acts = model.forward(x).logits.dataSync();
    again.forms.dispose();
    expect(Math.max(...Array.from(viaF32, (v, i) => Math.abs(v - viaInt8Acts[i]!)))).toBeGreaterThan(1e-6);
    expect(() => attachInt8(model, new Map([['nope', quantizePerChannel(new Float32Array(4), 2, 2)]]), 'f32')).toThrow(/no parameter "nope"/);
  });
});
