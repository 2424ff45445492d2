/** Data: generated tasks are deterministic by seed and well formed; text files load with a vocabulary and a split. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataFileError, Vocab, addingTask, copyTask, retrievalTask, textData } from '../src/data/index.js';

const opts = { seqLen: 24, pairs: 3, keys: 8, values: 8, fillers: 4, seed: 7 };

describe('multi-key retrieval', () => {
  it('is deterministic by seed and batch index, and different for another seed or index', () => {
    const a = retrievalTask(opts).trainBatch(5, 16);
    const b = retrievalTask(opts).trainBatch(5, 16);
    expect(a.inputs).toEqual(b.inputs);
    expect(a.targets).toEqual(b.targets);
    expect(retrievalTask(opts).trainBatch(6, 16).inputs).not.toEqual(a.inputs);
    expect(retrievalTask({ ...opts, seed: 8 }).trainBatch(5, 16).inputs).not.toEqual(a.inputs);
    expect(retrievalTask(opts).evalSet().inputs).toEqual(retrievalTask(opts).evalSet().inputs);
  });

  it('places the queried pair at the stated key-query distance and the value is the target', () => {
    const task = retrievalTask(opts);
    const v = task.vocab;
    for (const set of [task.trainBatch(0, 200), task.evalSet()]) {
      const T = set.seqLen;
      for (let r = 0; r < set.batch; r++) {
        const s = v.decode(set.inputs.subarray(r * T, (r + 1) * T));
        const d = set.distances![r]!;
        expect(s[T - 2]).toBe('?');
        const key = s[T - 1]!;
        expect(key).toMatch(/[A-H]/);
        expect(s.indexOf(key)).toBe(T - 1 - d); // the key occurs once before the query, d positions back
        expect(s.slice(0, T - 1).split(key).length).toBe(2);
        expect(s[T - d]).toBe(v.chars[set.targets[r]!]);
        expect((s.match(/[A-H]/g) ?? []).length).toBe(opts.pairs + 1);
        expect(d).toBeGreaterThanOrEqual(3);
        expect(d).toBeLessThanOrEqual(T - 1);
      }
    }
    // the evaluation set covers every distance evenly, and the buckets partition [3, T-1]
    const ev = task.evalSet();
    const counts = new Map<number, number>();
    ev.distances!.forEach((d) => counts.set(d, (counts.get(d) ?? 0) + 1));
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 21 }, (_, i) => i + 3));
    expect(task.distanceBuckets).toEqual([[3, 7], [8, 12], [13, 17], [18, 23]]);
  });

  it('rejects impossible settings naming the field', () => {
    expect(() => retrievalTask({ ...opts, seqLen: 9, pairs: 3 })).toThrow(/seqLen 9 is too short for 3 pairs/);
    expect(() => retrievalTask({ ...opts, pairs: 9 })).toThrow(/pairs must be in \[1, keys=8\]/);
  });
});

describe('copy and adding', () => {
  it('copy: the second half repeats the first and only it is scored', () => {
    const t = copyTask({ length: 5, symbols: 6, seed: 1 });
    const b = t.trainBatch(3, 4);
    expect(b.inputs).toEqual(copyTask({ length: 5, symbols: 6, seed: 1 }).trainBatch(3, 4).inputs);
    for (let r = 0; r < 4; r++) {
      const x = t.vocab.decode(b.inputs.subarray(r * 10, r * 10 + 10));
      const y = t.vocab.decode(b.targets.subarray(r * 10, r * 10 + 10));
      expect(x[5]).toBe('|');
      expect(y.slice(4)).toBe('|' + x.slice(0, 5));
      expect(y.slice(0, 4)).toBe('____');
      expect(Array.from(b.scored!.subarray(r * 10, r * 10 + 10))).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    }
  });

  it('adding: two marked digits, one per half, target = their sum mod 10', () => {
    const t = addingTask({ seqLen: 12, seed: 2 });
    const b = t.trainBatch(0, 50);
    expect(b.inputs).toEqual(addingTask({ seqLen: 12, seed: 2 }).trainBatch(0, 50).inputs);
    for (let r = 0; r < 50; r++) {
      const row = Array.from(b.inputs.subarray(r * 12, r * 12 + 12));
      const marked = row.map((v, i) => [v, i] as const).filter(([v]) => v >= 10);
      expect(marked.length).toBe(2);
      expect(marked[0]![1]).toBeLessThan(6);
      expect(marked[1]![1]).toBeGreaterThanOrEqual(6);
      expect(b.targets[r]).toBe((marked[0]![0] - 10 + marked[1]![0] - 10) % 10);
    }
  });
});

describe('text files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eitp-text-'));
  const path = join(dir, 'tiny.txt');
  writeFileSync(path, 'the quick brown fox jumps over the lazy dog. '.repeat(40));

  it('builds the vocabulary, a held-out split and deterministic windows', () => {
    const t = textData({ path, seqLen: 16, seed: 0 });
    expect(t.vocab.chars.join('')).toBe(' .abcdefghijklmnopqrstuvwxyz'.split('').filter((c) => 'the quick brown fox jumps over the lazy dog.'.includes(c)).join(''));
    const b = t.trainBatch(2, 8);
    expect(b.inputs).toEqual(textData({ path, seqLen: 16, seed: 0 }).trainBatch(2, 8).inputs);
    // targets are the inputs shifted by one character
    expect(Array.from(b.targets.subarray(0, 15))).toEqual(Array.from(b.inputs.subarray(1, 16)));
    const ev = t.evalSet();
    expect(ev.batch).toBeGreaterThan(0);
    expect(ev.seqLen).toBe(16);
  });

  it('an unreadable file is an error naming the path; a saved vocabulary is enforced', () => {
    expect(() => textData({ path: join(dir, 'missing.txt'), seqLen: 8, seed: 0 })).toThrow(DataFileError);
    expect(() => textData({ path: join(dir, 'missing.txt'), seqLen: 8, seed: 0 })).toThrow(`cannot read data file '${join(dir, 'missing.txt')}': no such file`);
    expect(() => textData({ path: dir, seqLen: 8, seed: 0 })).toThrow(/it is a directory/);
    expect(() => textData({ path, seqLen: 8, seed: 0, vocab: ['a', 'b'] })).toThrow(/is not in the vocabulary/);
  });

  it('vocabulary round trip', () => {
    const v = Vocab.fromText('héllo wörld');
    expect(v.decode(v.encode('wörld héllo'))).toBe('wörld héllo');
    expect(new Vocab(v.toJSON()).chars).toEqual(v.chars);
  });
});
