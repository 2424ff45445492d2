/**
 * The per-ISA row loops of the fused nn kernels (native/rows-vec*.{h,cc}: softmax, softmaxGrad and logSoftmax along
 * the last axis, crossEntropy and crossEntropyGrad, layerNorm and layerNormGrad) against float64 references written
 * here: row lengths 1 to 35 (every remainder of every vector width, whole vectors, half vectors), 64, 257 and 1000, one
 * row and many (so both the last row of a call and rows followed by another take each tail path), rows with the causal
 * mask's −1e9, −∞ entries, a NaN, +∞, arguments where e^x is subnormal (flushed to 0 below e^−87) and large offsets.
 * softmaxGrad also on rows of 1024, up to 300 rows (58 of 1024), softmax outputs with exact zeros (masked), NaN in y or
 * g and an infinite g, along a non-last axis (lines stride `inner` apart), and on strided views (a transposed y, g every
 * other float at an offset). All on every instruction set (EITP_SIMD=generic, avx2, best) and 1, 2 and 3 threads, each
 * in a fresh process calling the addon directly; the outputs of one ISA must also be bit-identical across the thread
 * counts. softmaxGrad's malformed calls are native errors. Skipped when the addon is not built.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { type NativeAddon, loadAddon } from '../engine/backends/native/native-addon.js';
import { ADDON_PATH, type IsaRun, describeIsaRuns } from './helpers/addon-script.js';
import { availableBackends } from './helpers/backends.js';

const hasNative = availableBackends().includes('native');

/**
 * Each case prints its worst excess over its tolerance (0 when every element is within it; NaN must match NaN) and
 * the script a checksum of every output's bits. Inputs are [data, shape, dtype code] (0 f32, 1 i32), dense.
 */
const script = `
  const a = require(${JSON.stringify(ADDON_PATH)});
  const denseStrides = (shape) => shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
  const run = (op, inputs, outShape, attrs) => {
    const meta = [inputs.length];
    for (const [, shape, dtype = 0, strides = denseStrides(shape), offset = 0] of inputs) {
      meta.push(dtype, shape.length, offset, ...shape, ...strides);
    }
    meta.push(0, outShape.length, ...outShape);
    const handles = inputs.map(([data]) => { const h = a.alloc(Math.max(4, data.byteLength)); a.write(h, data); return h; });
    const numel = outShape.reduce((p, d) => p * d, 1);
    const out = a.alloc(Math.max(4, 4 * numel));
    a.run(op, [...handles, out], new Float64Array(meta), new Float64Array(attrs));
    const r = new Float32Array(a.readSync(out, 4 * numel));
    for (const h of [...handles, out]) a.free(h);
    return r;
  };
  let seed = 11;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 1073741824 - 1; };
  const worst = {};
  let checksum = 0;
  const bits = new Uint32Array(1), asFloat = new Float32Array(bits.buffer);
  const check = (name, got, want, tol) => {
    let w = 0;
    for (let i = 0; i < want.length; i++) {
      asFloat[0] = got[i];
      checksum = (checksum * 31 + bits[0]) % 2147483647;
      if ((Number.isNaN(want[i]) && Number.isNaN(got[i])) || got[i] === want[i]) continue;
      const excess = Math.abs(got[i] - want[i]) - tol(want[i], i);
      if (!(excess <= 0)) w = Math.max(w, Number.isNaN(excess) ? Infinity : excess);
    }
    worst[name] = Math.max(worst[name] ?? 0, w);
  };
  // rows x len inputs: normal values at scale 3 around an offset, with special rows mixed in.
  const input = (rows, len, kind) => {
    const x = new Float32Array(rows * len);
    for (let i = 0; i < rows; i++) for (let j = 0; j < len; j++) {
      let v = 3 * rnd() + (kind === 'offset' ? 1000 : 0);
      if (kind === 'masked' && j > i % len) v = -1e9;
      if (kind === 'special' && i % 5 === 1 && j === len - 1) v = -Infinity;
      if (kind === 'special' && i % 5 === 2 && j === 0) v = NaN;
      if (kind === 'special' && i % 5 === 3 && j === len >> 1) v = Infinity;
      if (kind === 'subnormal' && j % 3 === 1) v = -88 - 15 * Math.abs(rnd());
      x[i * len + j] = v;
    }
    return x;
  };
  const lseOf = (x, i, len) => {
    let m = -Infinity, nan = false;
    for (let j = 0; j < len; j++) { const v = x[i * len + j]; if (v !== v) nan = true; else if (v > m) m = v; }
    if (nan) return NaN;
    let s = 0;
    for (let j = 0; j < len; j++) s += Math.exp(x[i * len + j] - m);
    return m + Math.log(s);
  };
  const lengths = [];
  for (let n = 1; n <= 35; n++) lengths.push(n);
  lengths.push(64, 257, 1000);
  for (const len of lengths) {
    for (const rows of [1, 7, 300]) {
      if (rows * len > 60000) continue;
      for (const kind of ['plain', 'offset', 'masked', 'special', 'subnormal']) {
        const x = input(rows, len, kind);
        const lse = Array.from({ length: rows }, (_, i) => lseOf(x, i, len));
        const soft = new Float64Array(rows * len), logSoft = new Float64Array(rows * len);
        for (let i = 0; i < rows; i++) for (let j = 0; j < len; j++) {
          logSoft[i * len + j] = x[i * len + j] - lse[i];
          soft[i * len + j] = Math.exp(x[i * len + j] - lse[i]);
        }
        // softmax values: a few float ulp (exp's and the scaling's), and below e^-87 (1.7e-38) they may be 0
        check('softmax ' + kind, run('softmax', [[x, [rows, len]]], [rows, len], [1]), soft, (e) => 1e-6 * Math.abs(e) + 2e-38);
        check('logSoftmax ' + kind, run('logSoftmax', [[x, [rows, len]]], [rows, len], [1]), logSoft, (e) => 2e-7 * Math.abs(e) + 2e-6);
        const targets = Int32Array.from({ length: rows }, (_, i) => (i * 7) % len);
        const losses = lse.map((l, i) => l - x[i * len + targets[i]]);
        check('crossEntropy none ' + kind, run('crossEntropy', [[x, [rows, len]], [targets, [rows], 1]], [rows], [2]), losses, (e) => 1e-6 * (1 + Math.abs(e)) + 1e-4 * (kind === 'offset'));
        const mean = losses.reduce((p, v) => p + v, 0) / rows;
        check('crossEntropy mean ' + kind, run('crossEntropy', [[x, [rows, len]], [targets, [rows], 1]], [], [0]), [mean], (e) => 1e-6 * (1 + Math.abs(e)) + 1e-4 * (kind === 'offset'));
        const g = Float32Array.from({ length: rows }, () => rnd());
        const grad = new Float64Array(rows * len);
        for (let i = 0; i < rows; i++) for (let j = 0; j < len; j++) grad[i * len + j] = (soft[i * len + j] - (j === targets[i] ? 1 : 0)) * g[i];
        check('crossEntropyGrad none ' + kind, run('crossEntropyGrad', [[x, [rows, len]], [targets, [rows], 1], [g, [rows]]], [rows, len], [2]), grad,
          (e, k) => 1e-6 * Math.abs(e) + 3e-7 * Math.abs(g[Math.floor(k / len)]));
      }
      // layerNorm and layerNormGrad: [rows, d] with a per-row offset and spread to take out
      const d = len;
      const x = Float32Array.from({ length: rows * d }, (_, k) => 2 * rnd() + 0.5 * (k % d) + (k % 3 === 0 ? 4 : 0));
      const w = Float32Array.from({ length: d }, () => rnd()), b = Float32Array.from({ length: d }, () => rnd());
      const g = Float32Array.from({ length: rows * d }, () => rnd());
      const eps = 1e-5;
      const y = new Float64Array(rows * d), dx = new Float64Array(rows * d), dw = new Float64Array(d), db = new Float64Array(d);
      let scaleY = 1e-30, scaleDx = 1e-30;
      for (let i = 0; i < rows; i++) {
        let mu = 0;
        for (let j = 0; j < d; j++) mu += x[i * d + j];
        mu /= d;
        let v = 0;
        for (let j = 0; j < d; j++) v += (x[i * d + j] - mu) ** 2;
        const rstd = 1 / Math.sqrt(v / d + eps);
        let mg = 0, mgx = 0;
        for (let j = 0; j < d; j++) {
          const xh = (x[i * d + j] - mu) * rstd;
          y[i * d + j] = xh * w[j] + b[j];
          dw[j] += g[i * d + j] * xh;
          db[j] += g[i * d + j];
          mg += g[i * d + j] * w[j];
          mgx += g[i * d + j] * w[j] * xh;
        }
        for (let j = 0; j < d; j++) {
          const xh = (x[i * d + j] - mu) * rstd;
          dx[i * d + j] = rstd * (g[i * d + j] * w[j] - mg / d - xh * mgx / d);
        }
      }
      for (let k = 0; k < rows * d; k++) { scaleY = Math.max(scaleY, Math.abs(y[k])); scaleDx = Math.max(scaleDx, Math.abs(dx[k])); }
      check('layerNorm', run('layerNorm', [[x, [rows, d]], [w, [d]], [b, [d]]], [rows, d], [eps]), y, (e) => 1e-6 * Math.abs(e) + 1e-6 * scaleY);
      const packed = run('layerNormGrad', [[x, [rows, d]], [w, [d]], [g, [rows, d]]], [rows + 2, d], [eps]);
      check('layerNormGrad dx', packed.subarray(0, rows * d), dx, (e) => 1e-5 * Math.abs(e) + 1e-6 * scaleDx);
      const sw = Math.max(1e-30, ...dw.map(Math.abs)), sb = Math.max(1e-30, ...db.map(Math.abs));
      check('layerNormGrad dw', packed.subarray(rows * d, (rows + 1) * d), dw, (e) => 1e-5 * Math.abs(e) + 1e-6 * sw);
      check('layerNormGrad db', packed.subarray((rows + 1) * d), db, (e) => 1e-5 * Math.abs(e) + 1e-6 * sb);
    }
  }
  // softmaxGrad: y = y ⊙ (g − Σ g ⊙ y) against float64 from the same f32 values. Lines [outer, len, inner] around the
  // axis; the error allowed is the output's rounding (half an ulp, computed in double) and the dot's order of sums.
  const sgradCheck = (name, y, g, outer, len, inner, got) => {
    const want = new Float64Array(outer * len * inner), scale = new Float64Array(outer * len * inner);
    for (let p = 0; p < outer; p++) for (let q = 0; q < inner; q++) {
      const s = p * len * inner + q;
      let dot = 0, mag = 0;
      for (let j = 0; j < len; j++) { dot += g[s + j * inner] * y[s + j * inner]; mag += Math.abs(g[s + j * inner] * y[s + j * inner]); }
      for (let j = 0; j < len; j++) {
        const k = s + j * inner;
        want[k] = y[k] * (g[k] - dot);
        scale[k] = Math.abs(y[k]) * mag;
      }
    }
    check(name, got, want, (e, k) => 6e-8 * Math.abs(e) + 1e-13 * scale[k] + 2e-45);
  };
  // y: softmax along the last axis of x (rounded to f32); g: values around ±1.
  const softmaxOf = (x, rows, len) => {
    const y = new Float32Array(rows * len);
    for (let i = 0; i < rows; i++) { const l = lseOf(x, i, len); for (let j = 0; j < len; j++) y[i * len + j] = Math.exp(x[i * len + j] - l); }
    return y;
  };
  const gOf = (n) => Float32Array.from({ length: n }, () => 2 * rnd());
  // Contiguous rows on the row loops: every tail, rows of 1000 and 1024, one row to many.
  for (const len of [...lengths, 1024]) {
    for (const wantRows of [1, 7, 300]) {
      const rows = Math.min(wantRows, Math.floor(60000 / len));
      for (const kind of ['plain', 'masked', 'special']) {
        const y = softmaxOf(input(rows, len, kind === 'masked' ? 'masked' : 'plain'), rows, len), g = gOf(rows * len);
        if (kind === 'special') for (let i = 0; i < rows; i++) {
          // a NaN in g, a NaN in y, an infinite g: each turns its whole row non-finite
          if (i % 4 === 1) g[i * len + len - 1] = NaN;
          if (i % 4 === 2) y[i * len] = NaN;
          if (i % 4 === 3) g[i * len + (len >> 1)] = Infinity;
        }
        sgradCheck('softmaxGrad ' + kind, y, g, rows, len, 1, run('softmaxGrad', [[y, [rows, len]], [g, [rows, len]]], [rows, len], [1]));
      }
    }
  }
  // Another axis (inner > 1: lines stride inner apart), and one whose inner dims are all 1 (the row loops again).
  for (const [shape, axis] of [[[3, 17, 5], 1], [[2, 1024, 3], 1], [[40, 33], 0], [[2, 3, 24, 24], 2], [[4, 24, 1], 1], [[1000, 2], 0]]) {
    const n = shape.reduce((p, d) => p * d, 1);
    const len = shape[axis], inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1), outer = n / (len * inner);
    // y: softmax along the axis (each line of x normalised in float64), g with one NaN in the first line
    const x = input(1, n, 'plain'), y = new Float32Array(n), g = gOf(n);
    for (let p = 0; p < outer; p++) for (let q = 0; q < inner; q++) {
      const s = p * len * inner + q;
      let z = 0;
      for (let j = 0; j < len; j++) z += Math.exp(x[s + j * inner]);
      for (let j = 0; j < len; j++) y[s + j * inner] = Math.exp(x[s + j * inner]) / z;
    }
    g[(len >> 1) * inner] = NaN;
    sgradCheck('softmaxGrad axis', y, g, outer, len, inner, run('softmaxGrad', [[y, shape], [g, shape]], shape, [axis]));
  }
  // Strided views: y a transposed [rows, len] (stored as [len, rows]), g every other float of wider rows at an offset;
  // both, or one of them, along the last axis and along axis 0.
  for (const [rows, len] of [[7, 24], [40, 33], [3, 1024]]) {
    const y = softmaxOf(input(rows, len, 'plain'), rows, len), g = gOf(rows * len);
    const yT = new Float32Array(rows * len), gW = new Float32Array(rows * (2 * len + 3) + 1);
    for (let i = 0; i < rows; i++) for (let j = 0; j < len; j++) { yT[j * rows + i] = y[i * len + j]; gW[1 + i * (2 * len + 3) + 2 * j] = g[i * len + j]; }
    const yView = [yT, [rows, len], 0, [1, rows]], gView = [gW, [rows, len], 0, [2 * len + 3, 2], 1];
    const yDense = [y, [rows, len]], gDense = [g, [rows, len]];
    for (const [yi, gi] of [[yView, gView], [yView, gDense], [yDense, gView]]) {
      sgradCheck('softmaxGrad strided', y, g, rows, len, 1, run('softmaxGrad', [yi, gi], [rows, len], [1]));
      sgradCheck('softmaxGrad strided', y, g, 1, rows, len, run('softmaxGrad', [yi, gi], [rows, len], [0]));
    }
  }
  console.log(JSON.stringify({ kernel: a.info().gemmKernel, threads: a.info().threads, worst, checksum }));`;

describe.skipIf(!hasNative)('native softmaxGrad on malformed calls', () => {
  it('throws a native error for mismatched shapes or an axis out of range; a good call then runs', () => {
    const a = loadAddon() as NativeAddon;
    const handles = [0, 1, 2].map(() => a.alloc(24));
    for (const h of handles) a.write(h, Float32Array.of(0.5, 0.25, 0.25, 0.5, 0.25, 0.25));
    // inputs, then per operand: dtype, rank, offset, shape, strides (the output: dtype, rank, shape)
    const call = (gShape: number[], axis: number) => () => {
      const gStrides = gShape.map((_, i) => gShape.slice(i + 1).reduce((p, d) => p * d, 1));
      const meta = [2, 0, 2, 0, 2, 3, 3, 1, 0, gShape.length, 0, ...gShape, ...gStrides, 0, 2, 2, 3];
      a.run('softmaxGrad', handles, new Float64Array(meta), Float64Array.of(axis));
      return Array.from(new Float32Array(a.readSync(handles[2]!, 24)));
    };
    expect(call([3, 2], 1)).toThrow(/^softmaxGrad: y, g and the output must have one shape/);
    expect(call([2, 3], 2)).toThrow(/^softmaxGrad: axis out of range/);
    // rows of y = g = [0.5, 0.25, 0.25]: Σ g·y = 0.375, out = y·(g − 0.375)
    expect(call([2, 3], 1)()).toEqual([0.0625, -0.03125, -0.03125, 0.0625, -0.03125, -0.03125]);
    for (const h of handles) a.free(h);
  });
});

describe.skipIf(!hasNative)('native nn row loops (rows-vec) against float64', () => {
  describeIsaRuns(
    (env) => {
      const r = JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })) as Omit<IsaRun, 'isa'> & { kernel: string };
      return { ...r, isa: r.kernel };
    },
    { cases: 5 * 5 + 4 + 5, identical: 'across threads', verb: 'are' },
  );
});
