/**
 * The benchmark cases of every kernel family, at full and at --quick sizes. Byte counts are the minimal traffic
 * (every input read once, the output written once), so GB/s is comparable across implementations even where one
 * of them makes several passes.
 */
import { matmulFlops } from './stats.js';
import type { BenchCase, CaseSpec, Family } from './types.js';

const F32 = 4;
const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function matmulCase(label: string, a: number[], b: number[]): BenchCase {
  const m = a[a.length - 2]!;
  const k = a[a.length - 1]!;
  const n = b[b.length - 1]!;
  const batch = a.length > 2 ? numel(a.slice(0, -2)) : 1;
  const out = batch * m * n;
  return {
    id: `matmul ${label} ${a.join('x')} @ ${b.join('x')}`,
    family: 'matmul',
    series: `matmul ${label}`,
    spec: { kind: 'matmul', a, b },
    flops: matmulFlops(m, n, k, batch),
    bytes: F32 * (numel(a) + numel(b) + out),
    metric: 'GFLOP/s',
  };
}

function memCase(family: Family, id: string, spec: CaseSpec, bytes: number, flops = 0): BenchCase {
  const series = spec.kind === 'sum' ? `sum axis ${spec.axis}` : spec.kind;
  return { id, family, series, spec, flops, bytes, metric: 'GB/s' };
}

interface Sizes {
  square: number[];
  skinny: [number[], number[]][];
  batched: [number[], number[]][];
  rowsCols: [number, number];
  flat: number;
  ce: [number, number];
  ln: [number, number];
  adamw: { label: string; params: number[][] }[];
  emb: { vocab: number; dim: number; n: number };
}

const FULL: Sizes = {
  square: [128, 256, 512, 1024, 2048],
  skinny: [
    [[1, 1024], [1024, 1024]], // matrix-vector (batch-1 inference)
    [[1024, 1024], [1024, 1]], // matrix times a column (W·v: the path norm's products)
    [[64, 784], [784, 256]], // the starter MLP's first layer
    [[4096, 64], [64, 64]], // tall and thin
  ],
  batched: [
    [[8, 256, 64], [8, 64, 256]], // attention scores: heads x seq x head_dim
    [[32, 64, 64], [32, 64, 64]],
  ],
  rowsCols: [1024, 1024],
  flat: 1 << 20,
  ce: [1024, 1000],
  ln: [2048, 768],
  adamw: [
    { label: 'MLP 784-256-10', params: [[784, 256], [256], [256, 10], [10]] },
    { label: '4x 1024x1024', params: [[1024, 1024], [1024, 1024], [1024, 1024], [1024, 1024]] },
  ],
  emb: { vocab: 32768, dim: 256, n: 4096 },
};

const QUICK: Sizes = {
  square: [64, 128],
  skinny: [[[1, 256], [256, 256]]],
  batched: [[[4, 32, 16], [4, 16, 32]]],
  rowsCols: [128, 256],
  flat: 1 << 14,
  ce: [64, 100],
  ln: [64, 128],
  adamw: [{ label: 'MLP 64-32', params: [[64, 32], [32]] }],
  emb: { vocab: 512, dim: 32, n: 128 },
};

export function benchCases(quick: boolean): BenchCase[] {
  const s = quick ? QUICK : FULL;
  const cases: BenchCase[] = [];
  for (const n of s.square) cases.push(matmulCase('square', [n, n], [n, n]));
  for (const [a, b] of s.skinny) cases.push(matmulCase('skinny', a, b));
  for (const [a, b] of s.batched) cases.push(matmulCase('batched', a, b));

  const [r, c] = s.rowsCols;
  cases.push(memCase('elementwise', `add broadcast ${r}x${c} + ${c}`, { kind: 'add-broadcast', a: [r, c], b: [c] }, F32 * (2 * r * c + c), r * c));
  cases.push(memCase('elementwise', `exp ${s.flat}`, { kind: 'exp', x: [s.flat] }, F32 * 2 * s.flat));
  cases.push(memCase('elementwise', `chain tanh(x*y+z) ${s.flat}`, { kind: 'chain', x: [s.flat] }, F32 * 4 * s.flat, 2 * s.flat));

  cases.push(memCase('reduction', `sum rows ${r}x${c} axis -1`, { kind: 'sum', x: [r, c], axis: -1 }, F32 * (r * c + r), r * c));
  cases.push(memCase('reduction', `sum cols ${r}x${c} axis 0`, { kind: 'sum', x: [r, c], axis: 0 }, F32 * (r * c + c), r * c));

  const [b, classes] = s.ce;
  cases.push(memCase('softmax-ce', `cross-entropy ${b}x${classes}`, { kind: 'softmax-ce', logits: [b, classes] }, F32 * (b * classes + b + 1)));

  const [lr, ld] = s.ln;
  cases.push(memCase('layernorm', `layerNorm ${lr}x${ld}`, { kind: 'layernorm', x: [lr, ld] }, F32 * (2 * lr * ld + 2 * ld)));

  for (const { label, params } of s.adamw) {
    const total = params.reduce((acc, p) => acc + numel(p), 0);
    // reads p, g, m, v and writes p, m, v: seven f32 per parameter
    cases.push(memCase('adamw', `AdamW step ${label} (${total} params)`, { kind: 'adamw', params }, F32 * 7 * total));
  }

  const { vocab, dim, n } = s.emb;
  cases.push(memCase('embedding', `gather ${vocab}x${dim}[${n}]`, { kind: 'gather', vocab, dim, n }, F32 * (2 * n * dim + n)));
  cases.push(memCase('embedding', `scatterAdd ${n}x${dim} -> ${vocab}x${dim}`, { kind: 'scatter-add', vocab, dim, n }, F32 * (n * dim + n + vocab * dim)));
  return cases;
}

/** Deterministic pseudo-random f32 data in [-1, 1) (a small LCG: identical in every implementation that needs it). */
export function fillData(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

export function fillIndices(size: number, high: number, seed: number): Int32Array {
  const out = new Int32Array(size);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s % high;
  }
  return out;
}

export { numel };
