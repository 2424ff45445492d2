/**
 * The native vmath kernels (native/vmath-impl.h: exp, tanh, sigmoid, erf, gelu, geluGrad and its second order, in both
 * forms) against float64 references written here, on every instruction set (EITP_SIMD=generic, avx2, best) and 1, 2 and 3 threads,
 * each in a fresh process calling the addon directly. Inputs: normal values at scale 4, a wide log-uniform sweep of
 * both signs (up to 1e3, into the subnormal-result range of exp and the overflow of e^{−2a} in gelu's tanh form),
 * every special value (±0, ±∞, NaN, ±1e30, the clamps' edges), an odd length (so every thread's share ends in a
 * partial vector) and a strided view (the kernels' buffered path). The outputs must also be bit-identical across
 * thread counts and across instruction sets: every element goes through the same vector code, tail included, and
 * each step is one IEEE operation. Skipped when the addon is not built.
 */
import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';
import { ADDON_SCRIPT_PRELUDE, type IsaRun, describeIsaRuns } from './helpers/addon-script.js';
import { availableBackends } from './helpers/backends.js';

const hasNative = availableBackends().includes('native');

const script = `${ADDON_SCRIPT_PRELUDE}
  let seed = 7;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 1073741824 - 1; };
  const special = [-1e30, -1000, -200, -104, -90, -88, -87.5, -87, -50, -20, -13.5, -10.5, -10, -9, -5, -4.9, -3, -1, -0.625,
    -0.3, -1e-6, -1e-30, -0, 0, 1e-30, 1e-6, 0.3, 0.625, 0.7, 1, 3, 5, 9, 20, 50, 88.5, 88.7228, 88.8, 89, 100, 1e30,
    Infinity, -Infinity, NaN];
  const n = 100003;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 4;
    x[i] = k === 0 ? special[(i >> 2) % special.length] : k === 1 ? 4 * rnd() : (rnd() < 0 ? -1 : 1) * Math.pow(10, 3 * rnd());
  }
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) g[i] = 2 * rnd();
  // a strided view of the same values: every other element of a buffer twice as long, from offset 1
  const xs = new Float32Array(2 * n + 1);
  for (let i = 0; i < n; i++) xs[1 + 2 * i] = x[i];

  // float64 references
  const erfSeries = (z) => { let t = z, s = z; for (let k = 1; k < 200 && Math.abs(t) > 1e-18 * Math.abs(s); k++) { t *= -z * z / k; s += t / (2 * k + 1); } return 2 / Math.sqrt(Math.PI) * s; };
  const erfcFrac = (z) => { let f = 0; for (let k = 80; k >= 1; k--) f = (k / 2) / (z + f); return Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + f); }; // z >= 3
  const erf = (z) => z !== z ? NaN : Math.abs(z) < 3 ? erfSeries(z) : Math.sign(z) * (1 - erfcFrac(Math.abs(z)));
  const Phi = (v) => v !== v ? NaN : v / Math.SQRT2 < -3 ? 0.5 * erfcFrac(-v / Math.SQRT2) : 0.5 * (1 + erf(v / Math.SQRT2));
  const phi = (v) => Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
  const sig = (t) => t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
  const aOf = (v) => Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v);
  const refs = {
    exp: [(v) => Math.exp(v), (w) => 2e-6 * Math.abs(w) + 2e-45],
    tanh: [(v) => Math.tanh(v), (w) => 2e-6 * Math.abs(w) + 1e-7],
    sigmoid: [(v) => v === Infinity ? 1 : v === -Infinity ? 0 : sig(v), (w) => 2e-6 * Math.abs(w) + 2e-45],
    erf: [(v) => erf(v), () => 1e-6],
    gelu: [(v) => v * Phi(v),
      (w, v) => 2e-6 * Math.abs(w) + 3e-7 * Math.max(1, Math.abs(v))],
    // x·σ(2a): relative accuracy in the negative tail too, down to where the result is below 1e-37 (flushed to ∓0)
    geluTanh: [(v) => v === -Infinity ? NaN : v * sig(2 * aOf(v)), (w) => 2e-5 * Math.abs(w) + 1e-37],
    geluGrad: [(v) => Math.abs(v) === Infinity ? NaN : Phi(v) + v * phi(v), (w, v) => 2e-6 * Math.abs(w) + 3e-7 * Math.max(1, Math.abs(v))],
    geluTanhGrad: [(v) => {
      if (v !== v) return NaN;
      const a = aOf(v), up = sig(2 * a), down = sig(-2 * a), both = up * down;
      return up + (both === 0 ? 0 : 2 * v * both * Math.sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * v * v));
    }, (w, v) => 2e-5 * Math.abs(w) + 3e-7 * Math.max(1, Math.abs(v))],
    // gelu″: 0 in the limit at ±∞ and wherever φ or s = 1 − th² underflows
    geluCurvature: [(v) => v !== v ? NaN : Math.abs(v) === Infinity ? 0 : phi(v) * (2 - v * v), (w, v) => 2e-6 * Math.abs(w) + 3e-7 * Math.max(1, Math.abs(v))],
    geluTanhCurvature: [(v) => {
      if (v !== v) return NaN;
      const a = aOf(v), up = sig(2 * a), down = sig(-2 * a), both = up * down;
      const du = Math.sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * v * v);
      return both === 0 ? 0 : 4 * both * (du + 3 * 0.044715 * Math.sqrt(2 / Math.PI) * v * v - v * (up - down) * du * du);
    }, (w, v) => 2e-5 * Math.abs(w) + 3e-7 * Math.max(1, Math.abs(v))],
  };
  const calls = {
    exp: (xi) => run('exp', [xi], [n], []),
    tanh: (xi) => run('tanh', [xi], [n], []),
    sigmoid: (xi) => run('sigmoid', [xi], [n], []),
    erf: (xi) => run('erf', [xi], [n], []),
    gelu: (xi) => run('gelu', [xi], [n], [0]),
    geluTanh: (xi) => run('gelu', [xi], [n], [1]),
    geluGrad: (xi) => run('geluGrad', [xi, [g, [n], [1]]], [n], [0]),
    geluTanhGrad: (xi) => run('geluGrad', [xi, [g, [n], [1]]], [n], [1]),
    geluCurvature: (xi) => run('geluGrad', [xi, [g, [n], [1]]], [n], [0, 2]),
    geluTanhCurvature: (xi) => run('geluGrad', [xi, [g, [n], [1]]], [n], [1, 2]),
  };
  const worst = {};
  let checksum = 0;
  const bits = new Uint32Array(1), asFloat = new Float32Array(bits.buffer);
  for (const [name, call] of Object.entries(calls)) {
    const [ref, tol] = refs[name];
    const grad = name.endsWith('Grad') || name.endsWith('Curvature');
    for (const [layout, xi] of [['dense', [x, [n], [1]]], ['strided', [xs, [n], [2], 1]]]) {
      const got = call(xi);
      let w = 0;
      for (let i = 0; i < n; i++) {
        asFloat[0] = got[i];
        checksum = (checksum * 31 + bits[0]) % 2147483647;
        const v = x[i];
        const want = Math.fround((grad ? g[i] : 1) * ref(v));
        if ((Number.isNaN(want) && Number.isNaN(got[i])) || got[i] === want) continue;
        const excess = Math.abs(got[i] - want) - (grad ? Math.abs(g[i]) : 1) * tol(want / (grad ? g[i] || 1 : 1), v);
        if (!(excess <= 0)) w = Math.max(w, Number.isNaN(excess) ? Infinity : excess);
      }
      worst[name + ' ' + layout] = w;
    }
  }
  console.log(JSON.stringify({ vmath: a.info().vmath, threads: a.info().threads, worst, checksum }));`;

describe.skipIf(!hasNative)('native vmath kernels against float64', () => {
  describeIsaRuns(
    (env) => {
      const r = JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })) as Omit<IsaRun, 'isa'> & { vmath: string };
      return { ...r, isa: r.vmath };
    },
    { cases: 20, identical: 'everywhere', verb: 'are' },
  );
});
