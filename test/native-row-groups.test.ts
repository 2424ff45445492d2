/**
 * The row loops of native/rows-vec-impl.h run short rows in groups of four (each phase for every row of the group,
 * then the next phase), the last rows of a call one at a time. A row's result must not depend on that: here softmax,
 * logSoftmax, crossEntropy (per-row losses: logSumExp), crossEntropyGrad (per-row scales) and layerNorm and layerNormGrad's dx are run on 13 rows and on
 * the same rows from an offset of 1, 2 and 3 rows (so every row lands once in a group and once alone, at every
 * position of a group), with row lengths 1 to 35 and 64, and the overlapping rows must be bit-identical. Each call is
 * also checked against a float64 reference written here (the tolerances of test/native-rows.test.ts). On every
 * instruction set (EITP_SIMD=generic, avx2, best) and 1, 2 and 3 threads, each in a fresh process calling the addon
 * directly. Skipped when the addon is not built.
 */
import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';
import { ADDON_SCRIPT_PRELUDE, type IsaRun, describeIsaRuns } from './helpers/addon-script.js';
import { availableBackends } from './helpers/backends.js';

const hasNative = availableBackends().includes('native');

const script = `
  ${ADDON_SCRIPT_PRELUDE}
  // inputs: [data, shape, strides (undefined: dense), offset, dtype code]
  let seed = 5;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 1073741824 - 1; };
  const worst = {};
  let checksum = 0;
  const bits = new Uint32Array(1), asFloat = new Float32Array(bits.buffer);
  const N = 13, eps = 1e-5;
  // float64 references of element j of row i (rows of len); layerNorm's third operand is b, layerNormGrad's g
  const lse = (x, i, len) => { let m = -Infinity; for (let j = 0; j < len; j++) m = Math.max(m, x[i * len + j]); let s = 0; for (let j = 0; j < len; j++) s += Math.exp(x[i * len + j] - m); return m + Math.log(s); };
  const stats = (x, i, d) => { let mu = 0; for (let j = 0; j < d; j++) mu += x[i * d + j]; mu /= d; let v = 0; for (let j = 0; j < d; j++) v += (x[i * d + j] - mu) ** 2; return [mu, 1 / Math.sqrt(v / d + eps)]; };
  const refs = {
    softmax: (x, w, g, i, len, j) => Math.exp(x[i * len + j] - lse(x, i, len)),
    logSoftmax: (x, w, g, i, len, j) => x[i * len + j] - lse(x, i, len),
    layerNorm: (x, w, g, i, d, j) => { const [mu, r] = stats(x, i, d); return (x[i * d + j] - mu) * r * w[j] + g[j]; },
    layerNormGrad: (x, w, g, i, d, j) => {
      const [mu, r] = stats(x, i, d);
      let mg = 0, mgx = 0;
      for (let k = 0; k < d; k++) { const xh = (x[i * d + k] - mu) * r; mg += g[i * d + k] * w[k]; mgx += g[i * d + k] * w[k] * xh; }
      return r * (g[i * d + j] * w[j] - mg / d - (x[i * d + j] - mu) * r * mgx / d);
    },
  };
  const lengths = [];
  for (let n = 1; n <= 35; n++) lengths.push(n);
  lengths.push(64);
  for (const len of lengths) {
    const x = new Float32Array(N * len), g = new Float32Array(N * len), w = new Float32Array(len), b = new Float32Array(len);
    for (let i = 0; i < x.length; i++) { x[i] = 3 * rnd() + 0.5; g[i] = rnd(); }
    for (let j = 0; j < len; j++) { w[j] = 1 + rnd(); b[j] = rnd(); }
    const targets = Int32Array.from({ length: N }, (_, i) => (i * 7) % len);
    const scale = Float32Array.from({ length: N }, (_, i) => 0.5 + i / N);
    // rows [k, N) of each op's output, as an array of rows
    const calls = {
      softmax: (k) => run('softmax', [[x, [N - k, len], undefined, k * len]], [N - k, len], [1]),
      logSoftmax: (k) => run('logSoftmax', [[x, [N - k, len], undefined, k * len]], [N - k, len], [1]),
      layerNorm: (k) => run('layerNorm', [[x, [N - k, len], undefined, k * len], [w, [len]], [b, [len]]], [N - k, len], [eps]),
      layerNormGrad: (k) => run('layerNormGrad', [[x, [N - k, len], undefined, k * len], [w, [len]], [g, [N - k, len], undefined, k * len]], [N - k + 2, len], [eps]).slice(0, (N - k) * len),
      crossEntropy: (k) => run('crossEntropy', [[x, [N - k, len], undefined, k * len], [targets, [N - k], undefined, k, 1]], [N - k], [2]),
      crossEntropyGrad: (k) => run('crossEntropyGrad', [[x, [N - k, len], undefined, k * len], [targets, [N - k], undefined, k, 1], [scale, [N - k], undefined, k]], [N - k, len], [2]),
    };
    for (const [name, call] of Object.entries(calls)) {
      const width = name === 'crossEntropy' ? 1 : len;
      const full = call(0);
      let bad = 0;
      for (let i = 0; i < full.length; i++) { asFloat[0] = full[i]; checksum = (checksum * 31 + bits[0]) % 2147483647; }
      // against float64
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < width; j++) {
          const want = name === 'crossEntropy' ? lse(x, i, len) - x[i * len + targets[i]]
            : name === 'crossEntropyGrad' ? (Math.exp(x[i * len + j] - lse(x, i, len)) - (j === targets[i] ? 1 : 0)) * scale[i]
            : refs[name](x, w, name === 'layerNorm' ? b : g, i, len, j);
          const got = full[i * width + j];
          const tol = name === 'layerNormGrad' ? 1e-5 * (1 + Math.abs(want)) * 10 : 2e-6 * (1 + Math.abs(want)) * 4;
          if (!(Math.abs(got - want) <= tol)) bad++;
        }
      }
      // the same rows from offsets 1, 2, 3: bit for bit
      for (const k of [1, 2, 3]) {
        const part = call(k);
        for (let i = 0; i < part.length; i++) {
          if (!Object.is(part[i], full[k * width + i])) bad++;
        }
      }
      worst[name + ' ' + len] = bad;
    }
  }
  console.log(JSON.stringify({ isa: a.info().vmath, threads: a.info().threads, worst, checksum }));`;

describe.skipIf(!hasNative)('native row loops: grouped rows match single rows bit for bit', () => {
  describeIsaRuns((env) => JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })) as IsaRun, {
    cases: 216,
    identical: 'across threads',
  });
});
