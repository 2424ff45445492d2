/**
 * The per-ISA row loops of the fused nn kernels (native/rows-vec*.{h,cc}: softmax and logSoftmax along the last axis,
 * crossEntropy and crossEntropyGrad, layerNorm and layerNormGrad) against float64 references written here: row
 * lengths 1 to 35 (every remainder of every vector width, whole vectors, half vectors), 64, 257 and 1000, one row and
 * many (so both the last row of a call and rows followed by another take each tail path), rows with the causal mask's
 * −1e9, −∞ entries, a NaN, +∞, arguments where e^x is subnormal (flushed to 0 below e^−87) and large offsets; on every
 * instruction set (EITP_SIMD=generic, avx2, best) and 1, 2 and 3 threads, each in a fresh process calling the addon
 * directly; the outputs of one ISA must also be bit-identical across the thread counts. Skipped when the addon is not
 * built.
 */
import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';
import { ADDON_FILE } from '../engine/backends/native/native-addon.js';
import { type IsaRun, describeIsaRuns } from './helpers/addon-script.js';
import { availableBackends } from './helpers/backends.js';

const hasNative = availableBackends().includes('native');

/**
 * Each case prints its worst excess over its tolerance (0 when every element is within it; NaN must match NaN) and
 * the script a checksum of every output's bits. Inputs are [data, shape, dtype code] (0 f32, 1 i32), dense.
 */
const script = `
  const a = require(${JSON.stringify(`${process.cwd()}/${ADDON_FILE}`)});
  const run = (op, inputs, outShape, attrs) => {
    const meta = [inputs.length];
    for (const [, shape, dtype = 0] of inputs) {
      const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
      meta.push(dtype, shape.length, 0, ...shape, ...strides);
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
  console.log(JSON.stringify({ kernel: a.info().gemmKernel, threads: a.info().threads, worst, checksum }));`;

describe.skipIf(!hasNative)('native nn row loops (rows-vec) against float64', () => {
  describeIsaRuns(
    (env) => {
      const r = JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })) as Omit<IsaRun, 'isa'> & { kernel: string };
      return { ...r, isa: r.kernel };
    },
    { cases: 5 * 5 + 4, identical: 'across threads', verb: 'are' },
  );
});
