/**
 * The fused EIT-P kernels of the webgpu backend (kernels/soft-histogram*.wgsl, kernels/coherence-*.wgsl) against
 * the cpu reference kernels, on shapes that reach every launch path: histograms over hundreds of workgroups and
 * over more bins than one workgroup's table holds, g read from storage instead of workgroup memory, Gram blocks of
 * every size, ragged edges and strided inputs.
 */
import { describe, expect, it } from 'vitest';
import { apply as applyOp } from '../engine/dispatch.js';
import * as et from '../engine/index.js';
import { initWebGPU } from '../engine/backends/webgpu/index.js';
import { TOLERANCE, compareArrays } from './helpers/backends.js';

const status = await initWebGPU();
if (!status.available && process.env.EITP_REQUIRE_WEBGPU === '1') throw new Error(`webgpu unavailable: ${status.reason}`);

type Attrs = et.OpAttrs['softHistogram'];

async function onBoth(fn: (b: et.BackendName) => et.Tensor): Promise<[Float32Array, Float32Array]> {
  const out: Float32Array[] = [];
  for (const b of ['webgpu', 'cpu'] as const) {
    const t = et.tidy(() => fn(b));
    out.push((await t.data()) as Float32Array);
    t.dispose();
  }
  return out as [Float32Array, Float32Array];
}

function expectClose([got, want]: [ArrayLike<number>, ArrayLike<number>], tol = TOLERANCE.f32): void {
  const cmp = compareArrays(got, want, tol);
  expect(cmp.ok, cmp.message).toBe(true);
}

/** u = scale·N(0, 1) with every 97th value pushed far outside the bins (both sides). */
function values(n: number, seed: number, scale: number, b: et.BackendName): et.Tensor {
  const host = et.randn([n], { seed, backend: 'cpu' }).dataSync() as Float32Array;
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
    const du = applyOp('softHistogramGrad', [values(4099, 5, 3, 'webgpu'), et.full([64], 0.75, { backend: 'webgpu' })], EITP);
    const data = await du.data();
    du.dispose();
    expect(Math.max(...Array.from(data, Math.abs))).toBeLessThan(1e-5);
  });
});

describe.runIf(status.available)('webgpu coherence', () => {
  // [N, d]: d picks the Gram block (1 below 32, 4 below 256, 8 above); ragged against the 8×8 workgroups
  const SHAPES: [number, number][] = [[2, 2], [7, 3], [33, 9], [257, 33], [130, 64], [1031, 257], [301, 300]];

  it.each(SHAPES)('coherence of [%i, %i] matches cpu', async (n, d) => {
    expectClose(await onBoth((b) => et.coherence(et.randn([n, d], { seed: n + d, backend: b }).add(et.randn([d], { seed: 1, backend: b })))));
  });

  it.each(SHAPES)('coherenceGrad of [%i, %i] matches cpu', async (n, d) => {
    expectClose(
      await onBoth((b) => applyOp('coherenceGrad', [et.randn([n, d], { seed: n * d, backend: b }), et.full([], 0.7, { backend: b })], { eps: 1e-5 })),
    );
  });

  it('correlated columns: the loss is ≈ 1 (two identical features, d = 2)', async () => {
    const x = et.randn([4096, 1], { seed: 3, backend: 'webgpu' });
    const l = et.coherence(et.concat([x, x.mul(3).add(1)], 1));
    // R = [[1, ρ], [ρ, 1]] with ρ = var/(var + eps) ≈ 1, so ‖R − I‖²/(d(d − 1)) = ρ² ≈ 1
    expect(await l.item()).toBeCloseTo(1, 3);
    l.dispose();
  });

  it('reads a transposed view of z', async () => {
    expectClose(await onBoth((b) => et.coherence(et.randn([17, 100], { seed: 8, backend: b }).transpose())));
    expectClose(await onBoth((b) => applyOp('coherenceGrad', [et.randn([17, 100], { seed: 8, backend: b }).transpose(), et.full([], 1, { backend: b })], { eps: 1e-5 })));
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
    const out = et.tanhJvp(et.tensor([[0, 1, -0.5]], { backend: 'webgpu' }), v, w);
    // v wᵀ = [11, −7, 1]; (1 − h²) = [1, 0, 0.75] (+ 0 folds the −0 of 0·(−7))
    expect(Array.from(await out.data(), (x) => x + 0)).toEqual([11, 0, 0.75]);
    et.dispose([v, w, out]);
  });

  it('reads transposed operands', async () => {
    expectClose(
      await onBoth((bk) =>
        et.tanhJvp(et.randn([9, 5], { seed: 1, backend: bk }).tanh().transpose(), et.randn([7, 5], { seed: 2, backend: bk }).transpose(), et.randn([7, 9], { seed: 3, backend: bk }).transpose()),
      ),
    );
  });
});
