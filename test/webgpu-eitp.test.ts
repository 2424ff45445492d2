/**
 * The fused EIT-P kernels of the webgpu backend (kernels/soft-histogram*.wgsl, kernels/correlation-*.wgsl,
 * kernels/coherence-*.wgsl, kernels/tanh-jvp*.wgsl and the FTLE step kernels/tanh-jvp-step*.wgsl) against
 * the cpu reference kernels, on shapes that reach every launch path: histograms over hundreds of workgroups and
 * over more bins than one workgroup's table holds, g read from storage instead of workgroup memory, SYRK blocks of
 * every size with and without split K, ragged edges and strided inputs.
 */
import { describe, expect, it } from 'vitest';
import { apply as applyOp } from '../engine/dispatch.js';
import * as et from '../engine/index.js';
import { initWebGPU, webgpuProfile, webgpuStats } from '../engine/backends/webgpu/index.js';
import { TOLERANCE, compareArrays } from './helpers/backends.js';
import { onBoth } from './helpers/on-both.js';
import { dispatchesOf } from './helpers/webgpu-dispatches.js';

const status = await initWebGPU();
if (!status.available && process.env.EITP_REQUIRE_WEBGPU === '1') throw new Error(`webgpu unavailable: ${status.reason}`);

type Attrs = et.OpAttrs['softHistogram'];

function expectClose([got, want]: [ArrayLike<number>, ArrayLike<number>], tol = TOLERANCE.f32): void {
  const cmp = compareArrays(got, want, tol);
  expect(cmp.ok, cmp.message).toBe(true);
}

/** u = scale·N(0, 1) with every 97th value pushed far outside the bins (both sides). */
function values(n: number, seed: number, scale: number, b: et.BackendName): et.Tensor {
  const r = et.randn([n], { seed, backend: 'cpu' });
  const host = r.dataSync() as Float32Array;
  r.dispose();
  const data = host.map((v, i) => (i % 97 === 5 ? (i % 2 ? 40 : -40) + v : scale * v));
  return et.tensor(data, { backend: b });
}

const EITP = et.EITP_HISTOGRAM;
const WIDE: Attrs = { bins: 300, low: -6, width: 0.04, bandwidth: 0.1 }; // > 128 bins: three workgroup slices, reach 20
// g (20 KB) no longer fits workgroup memory. Width and bandwidth are binary fractions: with a narrow bin like 0.002
// the f32 rounding of the attributes alone moves far centres by ~1e-4 bandwidths, which f32 kernels cannot avoid.
const HUGE: Attrs = { bins: 5000, low: -5, width: 2 ** -9, bandwidth: 2 ** -9 };

describe.runIf(status.available)('webgpu soft histogram', () => {
  it('300 000 values (hundreds of workgroups, two-stage sum) match cpu and add up to n', async () => {
    const n = 300_000;
    const [got, want] = await onBoth((b) => et.softHistogram(values(n, 1, 1.7, b)));
    expectClose([got, want]);
    // each value's assignments sum to 1
    expect(got.reduce((a, v) => a + v, 0)).toBeCloseTo(n, -1);
  });

  it.each([1, 7, 33, 257, 1031, 4099])('ragged n = %i matches cpu', async (n) => {
    expectClose(await onBoth((b) => et.softHistogram(values(n, n, 2.5, b))));
  });

  it.each([
    ['one bin', { bins: 1, low: -1, width: 2, bandwidth: 0.5 }],
    ['65 bins (32-invocation table)', { bins: 65, low: -4, width: 0.125, bandwidth: 0.3 }],
    ['300 bins (three slices)', WIDE],
    ['5000 bins', HUGE],
  ] as [string, Attrs][])('%s matches cpu', async (_label, attrs) => {
    expectClose(await onBoth((b) => et.softHistogram(values(20_011, 3, 1.3, b), attrs)));
  });

  it('reads a strided view of u', async () => {
    expectClose(await onBoth((b) => et.softHistogram(values(2 * 3001, 4, 2, b).reshape([3001, 2]).transpose().reshape([2 * 3001]).slice([3001], [6002]))));
  });

  it.each([
    ['EIT-P bins', 257, EITP],
    ['EIT-P bins, many workgroups', 70_001, EITP],
    ['300 bins', 1031, WIDE],
    ['5000 bins, g from storage', 4099, HUGE],
  ] as [string, number, Attrs][])('softHistogramGrad, %s, n = %i, matches cpu', async (_label, n, attrs) => {
    expectClose(
      await onBoth((b) => applyOp('softHistogramGrad', [values(n, n + 1, 2, b), et.randn([attrs.bins], { seed: 9, backend: b })], attrs)),
    );
  });

  it('softHistogramGrad is 0 for a constant cotangent (Σ_k a_ik = 1)', async () => {
    const du = et.tidy(() => applyOp('softHistogramGrad', [values(4099, 5, 3, 'webgpu'), et.full([64], 0.75, { backend: 'webgpu' })], EITP));
    const data = await du.data();
    du.dispose();
    expect(Math.max(...Array.from(data, Math.abs))).toBeLessThan(1e-5);
  });
});

describe.runIf(status.available)('webgpu correlation', () => {
  // [N, d]: d picks the SYRK block (1 below 16, 4 below 64, 8 above) and is ragged against it; N from 2 to 4099
  // covers one split and split K (N ≥ 512 with few block pairs: 2..16 partial Grams summed)
  const SHAPES: [number, number][] = [[2, 2], [7, 3], [33, 9], [257, 33], [130, 64], [1031, 257], [301, 300], [4099, 5], [4099, 67], [600, 130]];
  /** z with columns of different means and scales, so standardisation matters. */
  const zOf = (n: number, d: number, b: et.BackendName): et.Tensor =>
    et.randn([n, d], { seed: n + d, backend: b }).mul(et.rand([d], { seed: 2, backend: b }).add(0.5)).add(et.randn([d], { seed: 1, backend: b }));

  it.each(SHAPES)('correlation of [%i, %i] matches cpu and is exactly symmetric', async (n, d) => {
    const [got, want] = await onBoth((b) => et.correlation(zOf(n, d, b)));
    expectClose([got, want]);
    const bits = new Uint32Array(got.buffer, got.byteOffset, got.length);
    let asymmetric = 0;
    for (let j = 0; j < d; j++) for (let k = j + 1; k < d; k++) if (bits[j * d + k] !== bits[k * d + j]) asymmetric++;
    expect(asymmetric).toBe(0);
  });

  it.each(SHAPES)('correlationGrad of [%i, %i] with a non-symmetric gR matches cpu', async (n, d) => {
    // gR·N keeps S = (gR + gRᵀ)/N of order one
    const gR = (b: et.BackendName) => et.randn([d, d], { seed: n * d, backend: b }).mul(n);
    const [got, want] = await onBoth((b) => applyOp('correlationGrad', [zOf(n, d, b), gR(b)], { eps: 1e-5 }));
    // dz_ij = r_j(dẐ_ij − column means) cancels (wholly for N = 2), so f32 leaves rounding of size ε·r·|dẐ| in it:
    // the absolute tolerance follows max r·max|dẐ|, from primitive ops on cpu
    const scale = et.tidy(() => {
      const z = zOf(n, d, 'cpu');
      const r = et.rsqrt(et.variance(z, 0, true, 0).add(1e-5));
      const dzhat = et.matmul(z.sub(et.mean(z, 0, true)).mul(r), gR('cpu').add(gR('cpu').transpose()).div(n));
      return et.max(r).mul(et.max(et.abs(dzhat)));
    });
    expectClose([got, want], { rtol: TOLERANCE.f32.rtol, atol: 1e-6 * (await scale.item()) });
    scale.dispose();
  });

  it('correlationGrad of an antisymmetric gR is exactly 0 (S = (gR + gRᵀ)/N = 0)', async () => {
    const dz = et.tidy(() => {
      const a = et.randn([67, 67], { seed: 5, backend: 'webgpu' });
      return applyOp('correlationGrad', [zOf(1031, 67, 'webgpu'), a.sub(a.transpose())], { eps: 1e-5 });
    });
    expect(Array.from(await dz.data()).every((v) => v === 0)).toBe(true);
    dz.dispose();
  });

  it('R has var/(var + eps) on its diagonal and ±1 for (anti)proportional columns', async () => {
    // columns x, 3x + 1 and −x/2: |ρ| = var/(var + eps) with each column's own variance (eps = 0.1 makes it visible)
    const [r, v] = et.tidy(() => {
      const x = et.randn([4096, 1], { seed: 3, backend: 'webgpu' });
      return [et.correlation(et.concat([x, x.mul(3).add(1), x.mul(-0.5)], 1), { eps: 0.1 }), et.variance(x, 0, false, 0)];
    });
    const [rv, vx] = [await r.data(), await v.item()];
    const rho = [vx, 9 * vx, vx / 4].map((s) => s / (s + 0.1));
    const geo = (a: number, b: number) => Math.sqrt(rho[a]! * rho[b]!);
    const want = [rho[0], geo(0, 1), -geo(0, 2), geo(0, 1), rho[1], -geo(1, 2), -geo(0, 2), -geo(1, 2), rho[2]] as number[];
    expectClose([rv, want]);
    et.dispose([r, v]);
  });

  it('reads transposed views of z and gR', async () => {
    expectClose(await onBoth((b) => et.correlation(et.randn([17, 100], { seed: 8, backend: b }).transpose())));
    expectClose(
      await onBoth((b) =>
        applyOp('correlationGrad', [et.randn([17, 100], { seed: 8, backend: b }).transpose(), et.randn([17, 17], { seed: 9, backend: b }).transpose().mul(100)], { eps: 1e-5 }),
      ),
    );
  });
});

describe.runIf(status.available)('webgpu coherence', () => {
  type Composite = (inputs: readonly et.Tensor[], attrs: { eps: number }) => et.Tensor;
  /** The loss from primitive ops: the correlation op's composite (standardise, ẐᵀẐ/N), then − I, square, sum. */
  const composite = (z: et.Tensor) => et.coherenceOfCorrelation((et.opTable().correlation.composite as Composite)([z], { eps: 1e-5 }));
  /** z with columns of different means and scales, so standardisation matters. */
  const zOf = (n: number, d: number, b: et.BackendName): et.Tensor =>
    et.randn([n, d], { seed: n + d, backend: b }).mul(et.rand([d], { seed: 2, backend: b }).add(0.5)).add(et.randn([d], { seed: 1, backend: b }));
  const grad = (f: (z: et.Tensor) => et.Tensor, z: et.Tensor) => et.grad(f)(z) as et.Tensor;

  /**
   * max r · max|dẐ| for dẐ = Ẑ·S, S = 4g(R − I)/(N d(d − 1)), from primitive ops on cpu: dz_ij = r_j(dẐ_ij − column
   * means) cancels (wholly for N = 2), so f32 leaves rounding of this size times ε in it, whatever dz's own size.
   */
  async function gradScale(z: et.Tensor, eps: number, cotangent: number): Promise<number> {
    const [n, d] = z.shape as [number, number];
    const scale = et.tidy(() => {
      const r = et.rsqrt(et.variance(z, 0, true, 0).add(eps));
      const zhat = z.sub(et.mean(z, 0, true)).mul(r);
      const residual = et.matmul(zhat.transpose(), zhat).div(n).sub(et.eye(d, d));
      const dzhat = et.matmul(zhat, residual.mul((4 * cotangent) / (n * d * (d - 1))));
      return et.max(r).mul(et.max(et.abs(dzhat)));
    });
    const value = await scale.item();
    scale.dispose();
    return value;
  }

  /**
   * [L, dL/dz] of L = coherence(z)·cotangent on webgpu against cpu: L within 1e-5 relative (f32 leaves ≤ 5e-7 on these
   * shapes; one term of R − I lost from a sum of d² moves L by ~1/d²), dz within ~1e-6 of gradScale.
   */
  async function expectLossAndGrad(zOn: (b: et.BackendName) => et.Tensor, eps = 1e-5, cotangent = 1): Promise<void> {
    const f = (x: et.Tensor) => et.coherence(x, { eps }).mul(cotangent);
    const [got, want] = await onBoth((b) => {
      const z = zOn(b);
      return et.concat([f(z).reshape([1]), grad(f, z).reshape([-1])]);
    });
    expectClose([got.subarray(0, 1), want.subarray(0, 1)], { rtol: 1e-5, atol: 0 });
    const z = et.tidy(() => zOn('cpu'));
    const atol = 1e-6 * (await gradScale(z, eps, cotangent));
    z.dispose();
    expectClose([got.subarray(1), want.subarray(1)], { rtol: TOLERANCE.f32.rtol, atol });
  }

  // [N, d]: d picks the SYRK block (1, 4, 8) ragged against it; N < d (R of rank N − 1 < d); N = 3001 and 4099 take
  // split K; d = 130 and 257 make R more than one loss workgroup covers (partials summed by reduce.wgsl). N ≤ d/2 takes
  // the rows' Gram K = ẐẐᵀ instead of R: [2, 4] (its smallest), [9, 67], the MLP's [64, 256], and [100, 257], whose K
  // is more than one loss workgroup covers (the d − N term must enter once, not once per partial)
  const SHAPES: [number, number][] = [[2, 2], [67, 9], [257, 33], [9, 67], [3001, 130], [1031, 257], [4099, 5], [2, 4], [64, 256], [100, 257]];

  it.each(SHAPES)('coherence of [%i, %i] and its gradient match cpu', async (n, d) => {
    await expectLossAndGrad((b) => zOf(n, d, b));
  });

  it.each([[257, 33], [9, 67]])('with a large eps (R_jj well below 1, so the −I reaches the gradient) [%i, %i] matches cpu', async (n, d) => {
    await expectLossAndGrad((b) => zOf(n, d, b), 0.5);
  });

  it('reads a transposed view of z', async () => {
    await expectLossAndGrad((b) => zOf(130, 301, b).transpose());
  });

  it('scales the gradient by the cotangent g (L·3 and L·(−0.25))', async () => {
    await expectLossAndGrad((b) => zOf(257, 33, b), 1e-5, 3);
    await expectLossAndGrad((b) => zOf(67, 9, b), 1e-5, -0.25);
  });

  it('coherenceGrad reads g as a one-element view at an offset', async () => {
    const [got, want] = await onBoth((b) => {
      const g = et.tensor([7, -2.5, 7], { backend: b }).slice([1], [2]).reshape([]);
      return applyOp('coherenceGrad', [zOf(257, 33, b), g], { eps: 1e-5 });
    });
    const z = et.tidy(() => zOf(257, 33, 'cpu'));
    expectClose([got, want], { rtol: TOLERANCE.f32.rtol, atol: 1e-6 * (await gradScale(z, 1e-5, -2.5)) });
    z.dispose();
  });

  it('the fused loss and gradient match the composite on webgpu', async () => {
    const z = et.tidy(() => zOf(1031, 67, 'webgpu'));
    const run = async (f: (x: et.Tensor) => et.Tensor) => {
      const [loss, dz] = et.tidy(() => [f(z), grad(f, z)]);
      const out = [await loss!.item(), ...Array.from(await dz!.data(), (v) => v * 1031 * 67)];
      et.dispose([loss!, dz!]);
      return out;
    };
    expectClose([await run((x) => et.coherence(x)), await run(composite)]);
    z.dispose();
  });

  it('correlated columns: the loss is ≈ 1 (two identical features, d = 2)', async () => {
    const l = et.tidy(() => {
      const x = et.randn([4096, 1], { seed: 3, backend: 'webgpu' });
      return et.coherence(et.concat([x, x.mul(3).add(1)], 1));
    });
    // R = [[1, ρ], [ρ, 1]] with ρ = var/(var + eps) ≈ 1, so ‖R − I‖²/(d(d − 1)) = ρ² ≈ 1
    expect(await l.item()).toBeCloseTo(1, 3);
    l.dispose();
  });

  it('gives the same bits on every run (split K and loss partials included)', async () => {
    const z = et.tidy(() => zOf(3001, 130, 'webgpu'));
    const bitsOf = async () => {
      const [loss, dz] = et.tidy(() => [et.coherence(z), grad((x) => et.coherence(x), z)]);
      const out = [new Uint32Array((await loss!.data()).buffer.slice(0)), new Uint32Array((await dz!.data()).buffer.slice(0))];
      et.dispose([loss!, dz!]);
      return out;
    };
    const [loss0, dz0] = await bitsOf();
    for (let i = 0; i < 2; i++) {
      const [loss, dz] = await bitsOf();
      expect(loss).toEqual(loss0);
      expect(dz).toEqual(dz0);
    }
    z.dispose();
  });

  it.runIf(status.available && webgpuStats().features.includes('timestamp-query'))('takes the rows\' Gram (a matmul, no SYRK) for N ≤ d/2 and R otherwise', async () => {
    const kernelsOf = async (n: number, d: number, backward: boolean) => {
      const z = et.tidy(() => zOf(n, d, 'webgpu'));
      const g = et.full([], 2, { backend: 'webgpu' });
      const { kernels } = await webgpuProfile(async () => {
        const out = backward ? applyOp('coherenceGrad', [z, g], { eps: 1e-5 }) : et.coherence(z);
        await out.data();
        out.dispose();
      });
      et.dispose([z, g]);
      return kernels.map((k) => k.kernel).sort();
    };
    for (const backward of [false, true]) {
      for (const [n, d] of [[2, 4], [64, 256], [128, 256]]) expect(await kernelsOf(n, d, backward), `[${n}, ${d}]`).not.toContain('correlation-syrk');
      for (const [n, d] of [[129, 256], [67, 9]]) expect(await kernelsOf(n, d, backward), `[${n}, ${d}]`).toContain('correlation-syrk');
    }
    expect(await kernelsOf(64, 256, false)).toEqual(['coherence-loss', 'correlation-stats', 'matmul']);
  });

  it('records only its own dispatches: R stays in scratch, g is never read back', async () => {
    // forward: statistics, SYRK (+ the split-K sum), loss (+ the partials' sum); backward: statistics, SYRK (+ sum),
    // residual, Ẑ·S, column means, finish
    // N ≤ d/2: statistics, K = ẐẐᵀ, loss (+ the partials' sum); backward: statistics, K, residual, S'·Ẑ, means, finish
    for (const [n, d, forward, backward] of [[67, 9, 3, 6], [3001, 130, 5, 7], [9, 67, 3, 6], [100, 257, 4, 6]] as const) {
      const z = et.tidy(() => zOf(n, d, 'webgpu'));
      const g = et.full([], 2, { backend: 'webgpu' });
      const reads = webgpuStats().reads;
      expect(await dispatchesOf(() => et.coherence(z)), `[${n}, ${d}]`).toBe(forward);
      expect(await dispatchesOf(() => applyOp('coherenceGrad', [z, g], { eps: 1e-5 })), `[${n}, ${d}]`).toBe(backward);
      // the two results' reads only
      expect(webgpuStats().reads - reads).toBe(2);
      et.dispose([z, g]);
    }
  });

  it('rejects non-f32 z with a typed error (f16 is storage-only on webgpu)', () => {
    const z = et.tidy(() => zOf(9, 4, 'webgpu'));
    const ints = z.cast('i32');
    expect(() => et.coherence(ints)).toThrow(et.DTypeError);
    if (webgpuStats().features.includes('shader-f16')) {
      const [half, g] = [z.cast('f16'), et.full([], 1, { backend: 'webgpu', dtype: 'f16' })];
      expect(() => et.coherence(half)).toThrow(et.DTypeError);
      expect(() => applyOp('coherenceGrad', [half, g], { eps: 1e-5 })).toThrow(et.DTypeError);
      et.dispose([half, g]);
    }
    et.dispose([z, ints]);
  });
});

describe.runIf(status.available)('webgpu tanhJvp', () => {
  // [b, out, in]: the matmul block shapes (small, skinny, medium, large) and ragged edges
  it.each([[1, 1, 1], [7, 3, 5], [3, 257, 67], [33, 33, 33], [64, 256, 784], [257, 65, 9]])('[%i, %i] from in = %i matches cpu', async (b, out, inner) => {
    expectClose(
      await onBoth((bk) =>
        et.tanhJvp(et.randn([b, out], { seed: b, backend: bk }).tanh(), et.randn([b, inner], { seed: out, backend: bk }), et.randn([out, inner], { seed: inner, backend: bk })),
      ),
      { rtol: 1e-3, atol: 1e-4 },
    );
  });

  it('h = 0 leaves v wᵀ; |h| = 1 gives 0', async () => {
    const v = et.tensor([[1, 2]], { backend: 'webgpu' });
    const w = et.tensor([[3, 4], [5, -6], [0.5, 0.25]], { backend: 'webgpu' });
    const h = et.tensor([[0, 1, -0.5]], { backend: 'webgpu' });
    const out = et.tanhJvp(h, v, w);
    // v wᵀ = [11, −7, 1]; (1 − h²) = [1, 0, 0.75] (+ 0 folds the −0 of 0·(−7))
    expect(Array.from(await out.data(), (x) => x + 0)).toEqual([11, 0, 0.75]);
    et.dispose([h, v, w, out]);
  });

  it('reads transposed operands', async () => {
    expectClose(
      await onBoth((bk) =>
        et.tanhJvp(et.randn([9, 5], { seed: 1, backend: bk }).tanh().transpose(), et.randn([7, 5], { seed: 2, backend: bk }).transpose(), et.randn([7, 9], { seed: 3, backend: bk }).transpose()),
      ),
    );
  });
});

describe.runIf(status.available)('webgpu tanhJvpStep', () => {
  const TOL = { rtol: 1e-3, atol: 1e-4 };
  const N = (shape: number[], seed: number, b: et.BackendName) => et.randn(shape, { seed, backend: b });
  /** h = tanh(x) [B, out], v [B, in], w [out, in] (w scaled so that p stays of order one). */
  const layer = (b: et.BackendName, rows: number, out: number, inner: number, seed = out): [et.Tensor, et.Tensor, et.Tensor] => [
    N([rows, out], seed, b).tanh(),
    N([rows, inner], seed + 1, b),
    N([out, inner], seed + 2, b).mul(1 / Math.sqrt(Math.max(inner, 1))),
  ];
  const step = (h: et.Tensor, v: et.Tensor, w: et.Tensor) => applyOp('tanhJvpStep', [h, v, w], {});
  const stepGrad = (h: et.Tensor, v: et.Tensor, w: et.Tensor, gy: et.Tensor) => applyOp('tanhJvpStepGrad', [h, v, w, gy], {});

  // [B, out, in]: 1..2500 columns take 1, 2 or 4 columns per invocation in workgroups of 32..256, with ragged last
  // columns everywhere but 32, 256 and 512; out = 1031 and 2500 need 2 and 3 passes of a 256-invocation workgroup
  // (4 columns each), so a wrong cross-invocation tree or a lost pass changes every row's norm. B picks 1, 2 or 4 rows
  // per workgroup (15, 33 and 67 leave a ragged last workgroup); in = 1..512 covers the typical FTLE sizes.
  const SHAPES: [number, number, number][] = [
    [1, 1, 1], [3, 257, 9], [7, 257, 67], [3, 1031, 9], [5, 1031, 130], [2, 2500, 9], [33, 33, 33], [40, 256, 32], [67, 100, 17], [64, 512, 512], [4, 32, 512], [15, 65, 48],
  ];

  it.each(SHAPES)('tanhJvpStep [%i, %i] from in = %i matches cpu, with unit directions', async (rows, out, inner) => {
    const [got, want] = await onBoth((b) => step(...layer(b, rows, out, inner)));
    expectClose([got, want], TOL);
    // independent of the reference: every direction has norm 1 (the tree's sum is what each element is divided by)
    for (let r = 0; r < rows; r++) {
      let ss = 0;
      for (let j = 0; j < out; j++) ss += got[r * (out + 1) + j]! ** 2;
      expect(Math.abs(Math.sqrt(ss) - 1)).toBeLessThan(1e-5);
    }
  });

  it.each(SHAPES)('tanhJvpStepGrad [%i, %i] from in = %i matches cpu', async (rows, out, inner) => {
    expectClose(await onBoth((b) => stepGrad(...layer(b, rows, out, inner), N([rows, out + 1], 7, b))), TOL);
  });

  it('one column: direction ±1 and ln|(1 − h²)·v·w| by hand', async () => {
    // δ_b = (1 − h_b²) v_b w: h = [0, 0.5, −0.5], v = [2, −3, 0.25], w = 4 → δ = [8, −9, 0.75]
    const y = et.tidy(() => step(et.tensor([[0], [0.5], [-0.5]], { backend: 'webgpu' }), et.tensor([[2], [-3], [0.25]], { backend: 'webgpu' }), et.tensor([[4]], { backend: 'webgpu' })));
    expectClose([await y.data(), [1, Math.log(8), -1, Math.log(9), 1, Math.log(0.75)]], TOL);
    y.dispose();
  });

  it('B = 262 147 rows spill the grid into y (more than 65 535 workgroups of 4 rows) and match cpu', async () => {
    expectClose(await onBoth((b) => step(...layer(b, 262_147, 1, 1))), TOL);
    expectClose(await onBoth((b) => stepGrad(...layer(b, 262_147, 1, 1), N([262_147, 2], 8, b))), TOL);
  });

  it('reads the strided direction of a previous step as v (Benettin chain) and its gradients match cpu', async () => {
    // two chained layers 48 → 257 → 130: the second step's v is the [B, 257] view with row stride 258
    const chain = (b: et.BackendName) => {
      const [h1, v0, w1] = layer(b, 9, 257, 48, 11);
      const [h2, , w2] = layer(b, 9, 130, 257, 21);
      const f = (v: et.Tensor, wa: et.Tensor, wb: et.Tensor, ha: et.Tensor, hb: et.Tensor) => {
        const s1 = et.tanhJvpStep(ha, v, wa);
        const s2 = et.tanhJvpStep(hb, s1.direction, wb);
        // both blocks of the output reach the loss, so the backward sees a strided v and a full cotangent
        return et.concat([s2.direction.mul(N([9, 130], 5, b)).reshape([-1]), s1.logNorm, s2.logNorm.mul(3)]);
      };
      const [y, pullback] = et.vjp(f, v0, w1, w2, h1, h2);
      const grads = pullback(N([y.shape[0]!], 6, b));
      return et.concat([y, ...grads.map((t) => t.reshape([-1]))]);
    };
    expectClose(await onBoth(chain), TOL);
  });

  it.each([
    [
      'offset, row-strided views (read in place)',
      (b: et.BackendName) => [
        N([9, 71], 1, b).tanh().slice([2, 3], [7, 70]), // [5, 67], offset 145, row stride 71
        N([7, 25], 2, b).slice([1, 3], [6, 22]), // [5, 19], offset 28, row stride 25
        N([67, 40], 3, b).slice([0, 10], [67, 29]), // [67, 19], offset 10, row stride 40
        N([6, 70], 4, b).slice([1, 2], [6, 70]), // [5, 68], offset 72, row stride 70
      ],
    ],
    [
      'transposed views (gathered)',
      (b: et.BackendName) => [N([67, 5], 1, b).tanh().transpose(), N([19, 5], 2, b).transpose(), N([19, 67], 3, b).transpose(), N([68, 5], 4, b).transpose()],
    ],
    [
      'broadcast rows (row stride 0)',
      (b: et.BackendName) => [N([1, 67], 1, b).tanh().expand([5, 67]), N([1, 19], 2, b).expand([5, 19]), N([67, 19], 3, b), N([1, 68], 4, b).expand([5, 68])],
    ],
  ] as [string, (b: et.BackendName) => et.Tensor[]][])('reads %s of every operand', async (_label, views) => {
    expectClose(await onBoth((b) => step(...(views(b).slice(0, 3) as [et.Tensor, et.Tensor, et.Tensor]))), TOL);
    expectClose(await onBoth((b) => stepGrad(...(views(b) as [et.Tensor, et.Tensor, et.Tensor, et.Tensor]))), TOL);
  });

  it('a zero tangent row does not crash and leaves the other rows right', async () => {
    const inputs = (b: et.BackendName) => {
      const [h, v, w] = layer(b, 6, 257, 9);
      // row 2 of v is zero, so δ_2 = 0 and g_2 = 0
      const mask = et.tensor([1, 1, 0, 1, 1, 1], { backend: b }).reshape([6, 1]);
      return [h, v.mul(mask), w, N([6, 258], 9, b)] as const;
    };
    const [y, yc] = await onBoth((b) => step(...(inputs(b).slice(0, 3) as [et.Tensor, et.Tensor, et.Tensor])));
    const [z, zc] = await onBoth((b) => stepGrad(...inputs(b)));
    const rowsOf = (a: Float32Array, width: number, rows: number[]) => rows.flatMap((r) => Array.from(a.subarray(r * width, (r + 1) * width)));
    const others = [0, 1, 3, 4, 5];
    expectClose([rowsOf(y, 258, others), rowsOf(yc, 258, others)], TOL);
    // z = [dp rows 0..5, dh rows 0..5]
    expectClose([rowsOf(z, 257, [...others, ...others.map((r) => r + 6)]), rowsOf(zc, 257, [...others, ...others.map((r) => r + 6)])], TOL);
    // the zero row's log norm is ln 0 on the reference; whatever the adapter makes of it, it is no finite real value
    expect(yc[2 * 258 + 257]).toBe(-Infinity);
    expect(Number.isFinite(y[2 * 258 + 257]!)).toBe(false);
  });

  it('empty batches and in = 0 give what cpu gives', async () => {
    for (const [rows, out, inner] of [[0, 5, 3], [4, 0, 3], [4, 5, 0]] as const) {
      const [y, yc] = await onBoth((b) => step(...layer(b, rows, out, inner)));
      expect(Array.from(y)).toEqual(Array.from(yc));
      const [z, zc] = await onBoth((b) => stepGrad(...layer(b, rows, out, inner), N([rows, out + 1], 3, b)));
      expect(Array.from(z)).toEqual(Array.from(zc));
    }
  });

  it('rejects wrong shapes with ShapeError and non-f32 operands with a typed error', () => {
    const [h, v, w] = layer('webgpu', 3, 5, 4);
    expect(() => step(h, v, w.transpose())).toThrow(et.ShapeError);
    expect(() => stepGrad(h, v, w, N([3, 5], 1, 'webgpu'))).toThrow(et.ShapeError);
    expect(() => step(h, v.cast('i32'), w)).toThrow(et.DTypeError);
    if (webgpuStats().features.includes('shader-f16')) {
      // f16 is storage-only on webgpu: a typed error, never f16 words read as f32
      expect(() => step(h.cast('f16'), v.cast('f16'), w.cast('f16'))).toThrow(et.DTypeError);
    }
    et.dispose([h, v, w]);
  });
});
