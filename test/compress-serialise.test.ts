/**
 * Compressed checkpoints: bitmask packing by hand (−0.0 kept, ragged last byte), sparse storage chosen exactly when
 * smaller, corrupted layouts refused, and a quantised + pruned char-GPT written, read back and written again bit for
 * bit, with the reloaded model computing the same logits.
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { loadCompressed, saveCompressed } from '../src/compress/compressed-checkpoint.js';
import { finetune } from '../src/compress/finetune.js';
import { quantizeModel, weightMatrices } from '../src/compress/int8-model.js';
import { dequantize } from '../src/compress/quantize.js';
import { decodeTensors, encodeTensors, packSparse, unpackSparse } from '../src/compress/serialise.js';
import { buildModel, buildTask } from '../src/train/build.js';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { resolveConfig } from '../src/train/config.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'eitp-compress-'));
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('bitmask packing', () => {
  it('packs the nonzero values and their bitmap, least significant bit first, by hand', () => {
    const data = Int8Array.from([0, 5, 0, 0, -3, 0, 0, 0, 0, 7]); // 10 values -> 2 mask bytes
    const { mask, values } = packSparse(data);
    expect(Array.from(mask)).toEqual([0b00010010, 0b00000010]);
    expect(Array.from(values)).toEqual([5, -3, 7]);
    expect(Array.from(unpackSparse(mask, values, 10, 't'))).toEqual(Array.from(data));
  });

  it('keeps −0.0 (nonzero bits) and round-trips f32 bit patterns', () => {
    const data = Float32Array.from([0, -0, 1.5, 0, NaN, -2e-45]);
    const { mask, values } = packSparse(data);
    expect(Array.from(mask)).toEqual([0b00110110]);
    expect(values.length).toBe(4);
    expect(bits(unpackSparse(mask, values, 6, 't'))).toEqual(bits(data));
  });

  it('refuses masks that do not match their values', () => {
    const { mask, values } = packSparse(Int8Array.from([1, 0, 2]));
    expect(() => unpackSparse(mask, values.subarray(0, 1), 3, 't')).toThrow(/marks more values/);
    expect(() => unpackSparse(mask, Int8Array.from([1, 2, 3]), 3, 't')).toThrow(/marks 2 values but 3 are stored/);
    expect(() => unpackSparse(Uint8Array.from([0b1000_0101]), values, 3, 't')).toThrow(/bits set past its 3 values/);
    expect(() => unpackSparse(new Uint8Array(2), values, 3, 't')).toThrow(CheckpointError);
  });
});

describe('encodeTensors', () => {
  it('stores a tensor sparse exactly when ⌈n/8⌉ + nnz·bytes < n·bytes', () => {
    const n = 64;
    const f = (nnz: number) => Float32Array.from({ length: n }, (_, i) => (i < nnz ? 1 : 0));
    const q = (nnz: number) => ({ rows: 8, cols: 8, wq: Int8Array.from({ length: n }, (_, i) => (i < nnz ? 1 : 0)), scales: new Float32Array(8).fill(0.5) });
    // f32: 8 + 4·nnz < 256 <=> nnz <= 61; int8: 8 + nnz < 64 <=> nnz <= 55
    const { layout, tensors } = encodeTensors({
      a: { kind: 'f32', shape: [n], data: f(61) },
      b: { kind: 'f32', shape: [n], data: f(62) },
      c: { kind: 'int8', shape: [8, 8], q: q(55) },
      d: { kind: 'int8', shape: [8, 8], q: q(56) },
    });
    expect(Object.fromEntries(Object.entries(layout).map(([k, v]) => [k, v.encoding]))).toEqual({ a: 'f32-sparse', b: 'f32', c: 'int8-sparse', d: 'int8' });
    expect(Object.keys(tensors).sort()).toEqual(['a.mask', 'a.values', 'b', 'c.mask', 'c.q', 'c.scale', 'd.q', 'd.scale']);
    expect(tensors['c.q']!.data.length).toBe(55);
    const back = decodeTensors(tensors, layout, 't');
    expect(back.c!.kind === 'int8' && Array.from(back.c.q.wq)).toEqual(Array.from(q(55).wq));
  });

  it('decodeTensors refuses missing, extra and mistyped tensors', () => {
    const { layout, tensors } = encodeTensors({ w: { kind: 'f32', shape: [2], data: Float32Array.from([1, 2]) } });
    expect(() => decodeTensors({}, layout, 'x')).toThrow(/tensor "w" is missing/);
    expect(() => decodeTensors({ ...tensors, z: tensors.w! }, layout, 'x')).toThrow(/not described by the layout: z/);
    expect(() => decodeTensors({ w: { dtype: 'i32', shape: [2], data: Int32Array.from([1, 2]) } }, layout, 'x')).toThrow(/is i32, expected f32/);
    expect(() => decodeTensors(tensors, { w: { encoding: 'int4' as never, shape: [2] } }, 'x')).toThrow(/unknown encoding/);
  });
});

describe('compressed checkpoints', () => {
  const config = resolveConfig({
    task: { kind: 'retrieval', seqLen: 12, pairs: 2, keys: 4, values: 4, fillers: 2, minDistance: 3, buckets: 2, evalSize: 32 },
    model: { kind: 'gpt', width: 16, depth: 1, heads: 2 },
    batchSize: 8,
    seed: 3,
  });

  for (const sparsity of [0, 0.7]) {
    it(`a quantised${sparsity ? ' and 70 % pruned' : ''} char-GPT round-trips bit for bit and computes the same logits`, async () => {
      const data = buildTask(config.task, config.seed);
      const model = buildModel(config.model, data, config.seed);
      if (sparsity) await finetune(model, data, { steps: 4, lr: 1e-2, batchSize: 8, weightDecay: 0, clip: 1, dataPosition: 0, prune: { finalSparsity: sparsity, startStep: 0, endStep: 4, every: 2 } });
      const { matrices, forms } = await quantizeModel(model, 'int8');
      const x = et.tensor(data.evalSet().inputs.subarray(0, 4 * 12), { shape: [4, 12] });
      const logits = model.forward(x).logits.dataSync();
      const dir = fresh();
      const vocab = [...data.vocab.chars];
      const input = { step: 7, config, vocab, activations: 'int8' as const, source: { checkpoint: 'test', step: 7 }, pruning: null, finetune: null };
      const saved = await saveCompressed(dir, model, matrices, input);
      const ck = loadCheckpoint(saved.path);
      const file = readFileSync(join(dir, (JSON.parse(readFileSync(saved.path, 'utf8')) as { tensors: string }).tensors));
      expect(saved.bytes).toBe(file.length);
      const encodings = new Set(Object.values((ck.state as unknown as { layout: Record<string, { encoding: string }> }).layout).map((l) => l.encoding));
      expect(encodings.has(sparsity ? 'int8-sparse' : 'int8')).toBe(true);

      const loaded = loadCompressed(dir);
      expect(loaded.bytes).toBe(saved.bytes);
      expect(loaded.state.vocab).toEqual(vocab);
      // the int8 codes and scales come back exactly, and the parameters hold their dequantised values
      expect([...loaded.matrices.keys()]).toEqual([...matrices.keys()]);
      for (const [name, q] of matrices) {
        const back = loaded.matrices.get(name)!;
        expect(Array.from(back.wq)).toEqual(Array.from(q.wq));
        expect(bits(back.scales)).toEqual(bits(q.scales));
      }
      const own = new Map(model.namedParameters());
      for (const [name, p] of loaded.model.namedParameters()) {
        const want = matrices.has(name) ? dequantize(matrices.get(name)!) : (own.get(name)!.dataSync() as Float32Array);
        expect(bits(p.dataSync() as Float32Array)).toEqual(bits(want));
      }
      // writing the loaded model again gives the same bytes
      const dir2 = fresh();
      const again = await saveCompressed(dir2, loaded.model, loaded.matrices, input);
      const file2 = readFileSync(join(dir2, (JSON.parse(readFileSync(again.path, 'utf8')) as { tensors: string }).tensors));
      expect(file2.equals(file)).toBe(true);
      // same backend, same kernels, same weights: the same logits
      expect(Array.from(loaded.model.forward(x).logits.dataSync())).toEqual(Array.from(logits));

      // the payload is exactly what the encodings promise: ⌈n/8⌉ + nnz int8 bytes for a sparse matrix, n for a
      // dense one, plus 4 bytes per row scale; 4 bytes per value (or ⌈n/8⌉ + 4·nnz) for the f32 parameters
      let expected = 0;
      for (const [name, p] of model.namedParameters()) {
        const q = matrices.get(name);
        if (!q) {
          // (zero-initialised biases of an untrained model are all zero: stored as an empty bitmap)
          const nnz = bits(p.dataSync() as Float32Array).filter((b) => b !== 0).length;
          expected += Math.min(4 * p.size, Math.ceil(p.size / 8) + 4 * nnz);
          continue;
        }
        const nnz = q.wq.reduce((a, v) => a + (v !== 0 ? 1 : 0), 0);
        expected += 4 * q.rows + Math.min(q.wq.length, Math.ceil(q.wq.length / 8) + nnz);
        if (sparsity) expect(nnz).toBeLessThanOrEqual(Math.ceil(0.3 * q.wq.length) + q.rows);
      }
      const headerBytes = Number(file.readBigUInt64LE(0));
      expect(file.length - 8 - headerBytes).toBe(expected);
      expect(statSync(join(dir, (JSON.parse(readFileSync(saved.path, 'utf8')) as { tensors: string }).tensors)).size).toBe(saved.bytes);
      expect(weightMatrices(model).length).toBe(matrices.size);
      forms.dispose();
      loaded.forms.dispose();
      et.dispose([...model.parameters(), ...loaded.model.parameters()]);
    });
  }

  it('refuses a training checkpoint and a layout that does not fit the model', async () => {
    const dir = fresh();
    saveCheckpoint(dir, {}, { step: 1, format: 'eitp-train/1' });
    expect(() => loadCompressed(dir)).toThrow(/not a compressed checkpoint/);
    const data = buildTask(config.task, config.seed);
    const model = buildModel(config.model, data, config.seed);
    const { matrices, forms } = await quantizeModel(model, 'f32');
    const other = resolveConfig({ ...config, model: { kind: 'gpt', width: 32, depth: 1, heads: 2 } });
    const dir2 = fresh();
    await saveCompressed(dir2, model, matrices, { step: 1, config: other, vocab: [...data.vocab.chars], activations: 'f32', source: { checkpoint: 't', step: 1 }, pruning: null, finetune: null });
    expect(() => loadCompressed(dir2)).toThrow(/does not fit its model/);
    forms.dispose();
    et.dispose(model.parameters());
  });
});
