/**
 * The native activationDensity and activationDensityGrad kernels (native/activation-density.cc and the per-ISA loops of
 * native/activation-density-vec*.{h,cc}) against float64 references written here. On every instruction set
 * (EITP_SIMD=generic, avx2, best) and 1, 2 and 3 threads, each in a fresh process calling the addon directly: sizes
 * around the 16-wide vector loop, its tail and the forward's 16384-element chunks, up to a million elements (many
 * chunks and threads); a transposed a at an offset, τ and g as one-element views at offsets; NaN and ∞ entries, an
 * all-zero a at τ = 0 with eps = 1e-30, c = τ² + eps = 0 (where a zero entry, and only a real one, makes 0/0), values
 * whose squares overflow or underflow f32 (the kernels square in double), and c below and above the range in which
 * the forward pairs two terms per division. The outputs must be bit-identical on all nine runs: chunks are fixed by n
 * alone and every ISA rounds every element and sum the same. Then, in this process, through the engine (encoding of
 * eps, the stream for large n, the inline path for small n, autograd) and bad operands as typed errors. Skipped when
 * the addon is not built.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Backend, DeviceBuffer, KernelArg } from '../engine/backend.js';
import { backendByName } from '../engine/device.js';
import * as et from '../engine/index.js';
import { ADDON_SCRIPT_PRELUDE, type IsaRun, describeIsaRuns } from './helpers/addon-script.js';
import { availableBackends } from './helpers/backends.js';

const hasNative = availableBackends().includes('native');

/**
 * Each case prints its worst excess over its tolerance (0 when every element is within it; NaN must match NaN) and the
 * script a checksum of every output's bits. The tolerance is one f32 rounding of the float64 value (2^-23 relative,
 * with 2^-149 for results in f32's subnormal range): the kernels work in double and round once.
 */
const script = `${ADDON_SCRIPT_PRELUDE}
  let seed = 5;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 1073741824 - 1; };
  const worst = {};
  let checksum = 0;
  const bits = new Uint32Array(1), asFloat = new Float32Array(bits.buffer);
  const check = (name, got, want) => {
    expectLength(name, got, want);
    let w = 0;
    for (let i = 0; i < want.length; i++) {
      asFloat[0] = got[i];
      checksum = (checksum * 31 + bits[0]) % 2147483647;
      if ((Number.isNaN(want[i]) && Number.isNaN(got[i])) || got[i] === want[i]) continue;
      const excess = Math.abs(got[i] - want[i]) - (Math.abs(want[i]) * 2 ** -23 + 2 ** -149);
      if (!(excess <= 0)) w = Math.max(w, Number.isNaN(excess) ? Infinity : excess);
    }
    worst[name] = Math.max(worst[name] ?? 0, w);
  };
  const expectLength = (name, got, want) => { if (got.length !== want.length) throw new Error(name + ': length ' + got.length); };
  // float64 references on the values as a (dense, row-major) list
  const density = (x, tau, eps) => {
    const c = tau * tau + eps;
    let s = 0;
    for (const v of x) s += (v * v) / (v * v + c);
    return [s / x.length];
  };
  const densityGrad = (x, tau, eps, g) => {
    const c = tau * tau + eps;
    return Array.from(x, (v) => (2 * v * c * g) / (x.length * (v * v + c) ** 2));
  };
  const dense = (n) => [[n], [1]];
  const scalar = (v) => [Float32Array.of(v), [], []];
  const f32 = (v) => Math.fround(v);
  // Both kernels on dense a of n elements with a scalar τ and g; their references from the same f32 values.
  const both = (name, x, tau, eps, g) => {
    const n = x.length;
    check(name + ' forward', run('activationDensity', [[x, ...dense(n)], scalar(tau)], [], [eps]), density(x, f32(tau), eps));
    check(name + ' backward', run('activationDensityGrad', [[x, ...dense(n)], scalar(tau), scalar(g)], [n], [eps]), densityGrad(x, f32(tau), eps, f32(g)));
  };

  // sizes: every tail of the 16-wide loop, and past one, three and 61 chunks of 16384
  for (const n of [1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, 16383, 16384, 16385, 49157, 1000003]) {
    const x = Float32Array.from({ length: n }, () => 2 * rnd() * (rnd() < 0 ? 0.1 : 1));
    both('sizes', x, 0.3, 1e-5, -1.7);
    both('sizes eps 0', x, 0.45, 0, 0.25);
  }

  // strided: a is the transpose of a [130, 257] array (element (i, j) at 3 + j·257 + i), τ and g one-element views
  {
    const [m, k] = [257, 130];
    const data = Float32Array.from({ length: 3 + m * k }, () => rnd());
    const x = new Float32Array(m * k);
    for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) x[i * k + j] = data[3 + j * m + i];
    const tauView = [Float32Array.of(9, 9, 9, -0.2, 9), [1, 1], [5, 2], 3];
    const gView = [Float32Array.of(9, 9, 3.5), [1], [4], 2];
    const a = [data, [m, k], [1, m], 3];
    check('strided forward', run('activationDensity', [a, tauView], [], [1e-6]), density(x, f32(-0.2), 1e-6));
    check('strided backward', run('activationDensityGrad', [a, tauView, gView], [m, k], [1e-6]), densityGrad(x, f32(-0.2), 1e-6, 3.5));
  }

  // special values
  const withAt = (n, at, v) => { const x = Float32Array.from({ length: n }, () => rnd()); for (const i of at) x[i] = v; return x; };
  both('NaN', withAt(17, [16], NaN), 0.3, 1e-5, 1);
  both('NaN', withAt(40000, [20000], NaN), 0.3, 1e-5, 1);
  both('infinity', withAt(33, [5], Infinity), 0.3, 1e-5, 1);
  both('zeros at tau 0', new Float32Array(37), 0, 1e-30, 2);
  both('zeros at tau 0', new Float32Array(20000), 0, 1e-30, 2);
  // c = 0: a²/a² = 1 exactly for every nonzero entry (so the density is exactly 1), and 0/0 for a zero one
  both('c = 0', withAt(17, [], 0), 0, 0, 1);
  both('c = 0', withAt(16390, [], 0), 0, 0, 1);
  both('c = 0 with a zero', withAt(19, [18], 0), 0, 0, 1);
  both('c = 0 with a zero', withAt(19, [3], 0), 0, 0, 1);
  // squares beyond f32's range: 1e30² overflows it and 1e-30² underflows it
  both('huge', Float32Array.from({ length: 21 }, (_, i) => (i % 2 ? -1e30 : 3e29) * (1 + i)), 2e29, 0, 1);
  both('tiny', Float32Array.from({ length: 21 }, (_, i) => 1e-30 * (i - 10)), 3e-30, 1e-62, 1);
  // c outside [1e-150, 1e150], where the forward takes one division per term (two per division would leave double's
  // range): zeros 8 apart (one vector pair) at c = 1e-200 must add 0, not 0/0; at c = 1e300 (and τ = ∞) products overflow
  const zerosApart = Float32Array.from({ length: 37 }, (_, i) => (i % 8 === 3 ? 0 : 1e-30 * (1 + i)));
  both('c below the paired range', zerosApart, 0, 1e-200, 1);
  both('c below the paired range', Float32Array.from({ length: 16390 }, (_, i) => (i % 8 === 0 ? 0 : rnd())), 0, 1e-160, 1);
  both('c above the paired range', Float32Array.from({ length: 37 }, (_, i) => 1e10 * (1 + i)), 1, 1e300, 1);
  both('c above the paired range', Float32Array.from({ length: 40 }, (_, i) => 1e30 * (i - 20)), 1, 1e200, 1);
  both('c above the paired range', Float32Array.from({ length: 40 }, (_, i) => i - 20), Infinity, 0, 1);
  console.log(JSON.stringify({ isa: a.info().vmath, threads: a.info().threads, worst, checksum }));`;

describe.skipIf(!hasNative)('native activationDensity kernels (activation-density-vec) against float64', () => {
  describeIsaRuns(
    (env) => JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })) as IsaRun,
    { cases: 24, identical: 'everywhere', verb: 'are' },
  );
});

/** mean(a²/(a² + c)) and its gradient g·2ac/(a² + c)²/n in float64. */
function reference(x: ArrayLike<number>, tau: number, eps: number, g: number): { rho: number; grad: Float64Array } {
  const c = tau * tau + eps;
  let s = 0;
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    s += (v * v) / (v * v + c);
    grad[i] = (2 * v * c * g) / (x.length * (v * v + c) ** 2);
  }
  return { rho: s / x.length, grad };
}

function expectF32(got: ArrayLike<number>, want: ArrayLike<number>, label: string) {
  expect(got.length).toBe(want.length);
  let bad = -1;
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= Math.abs(want[i]!) * 2 ** -23 + 2 ** -149)) bad = i;
  }
  expect(bad, `${label}: index ${bad}: got ${got[bad]}, expected ${want[bad]}`).toBe(-1);
}

describe.skipIf(!hasNative)('native activationDensity through the engine', () => {
  // 300 x 700 = 210000 elements: beyond the inline limit, so the kernels run on the stream; 9 x 11 runs inline.
  it.each([
    [300, 700],
    [9, 11],
  ])('a transposed view of [%i, %i] and τ a slice: density and the autograd gradient match float64', async (rows, cols) => {
    const rng = new et.Rng(rows);
    const values = Float32Array.from({ length: rows * cols }, () => rng.normal());
    const taus = Float32Array.of(5, 0.4, 5);
    const [rho, grad, seen] = et.tidy(() => {
      const a = et.transpose(et.tensor(values, { shape: [rows, cols], backend: 'native' }));
      const tau = et.slice(et.tensor(taus, { backend: 'native' }), [1], [2]);
      const density = (x: et.Tensor) => et.activationDensity(x, tau, { eps: 1e-4 });
      // the cotangent -2.5 of the density reaches activationDensityGrad as its g
      const gr = et.grad((x: et.Tensor) => et.mul(density(x), -2.5))(a) as et.Tensor;
      return [et.keep(density(a)), et.keep(gr), et.keep(et.contiguous(a))];
    });
    const want = reference(await seen.data(), Math.fround(0.4), 1e-4, -2.5);
    expectF32(await rho.data(), [want.rho], 'density');
    expect(grad.shape).toEqual([cols, rows]);
    expectF32(await grad.data(), want.grad, 'gradient');
    et.dispose([rho, grad, seen]);
  });

  it('reports malformed operands of direct kernel calls as BackendErrors', () => {
    const nb: Backend = backendByName('native');
    const held: DeviceBuffer[] = [];
    const arg = (data: Float32Array | Int32Array, shape: number[]): KernelArg => {
      const dtype = data instanceof Int32Array ? 'i32' : 'f32';
      const buffer = nb.allocate(Math.max(data.length, 1), dtype);
      nb.write(buffer, data);
      held.push(buffer);
      return { buffer, dtype, layout: { shape, strides: shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1)), offset: 0 } };
    };
    const output = (shape: number[]) => arg(new Float32Array(shape.reduce((p, d) => p * d, 1)), shape);
    // Errors surface at the call (small work runs inline) or at the read of the output: either way typed.
    const fails = (op: 'activationDensity' | 'activationDensityGrad', inputs: KernelArg[], outShape: number[], message: RegExp) => {
      const o = output(outShape);
      let error: unknown;
      try {
        nb.kernels[op]!(inputs, o, { eps: 0 });
        nb.readSync!(o.buffer, 'f32', 1);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(et.BackendError);
      expect((error as Error).message).toMatch(message);
    };
    try {
      const a = arg(Float32Array.of(1, 2, 3), [3]);
      const half = arg(Float32Array.of(0.5), []);
      fails('activationDensity', [a, arg(Float32Array.of(1, 2), [2])], [], /tau must hold one element/);
      fails('activationDensity', [arg(Int32Array.of(1, 2), [2]), half], [], /every input must be f32, got i32/);
      fails('activationDensityGrad', [a, half, arg(Float32Array.of(1, 1), [2])], [3], /g must hold one element/);
      fails('activationDensityGrad', [a, half, half], [4], /the output must have a's size/);
      fails('activationDensity', [arg(new Float32Array(0), [0]), half], [], /at least one element/);
      // the stream carries on
      const o = output([]);
      nb.kernels.activationDensity!([a, half], o, { eps: 0 });
      expect(nb.readSync!(o.buffer, 'f32', 1)[0]).toBeCloseTo((1 / 1.25 + 4 / 4.25 + 9 / 9.25) / 3, 6);
    } finally {
      for (const b of held) nb.free(b);
    }
  });
});
