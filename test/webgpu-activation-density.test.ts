/**
 * The fused activation density on webgpu (kernels/activation-density*.wgsl) against a float64 reference computed
 * here from the same f32 values: sizes on both sides of every launch boundary (one workgroup, many partials, the
 * 1024-partial cap past which workgroups take more elements), strided and broadcast views of a read in place, τ and
 * g as views at an offset (also into a's own buffer), non-finite and extreme entries, the cotangent's scaling, the
 * number of dispatches (one pass each way), determinism, and f16 refused whether or not the adapter has it.
 */
import { describe, expect, it } from 'vitest';
import { apply as applyOp } from '../engine/dispatch.js';
import * as et from '../engine/index.js';
import { initWebGPU, webgpuStats } from '../engine/backends/webgpu/index.js';
import { compareArrays } from './helpers/backends.js';
import { dispatchesOf } from './helpers/webgpu-dispatches.js';

const status = await initWebGPU();
if (!status.available && process.env.EITP_REQUIRE_WEBGPU === '1') throw new Error(`webgpu unavailable: ${status.reason}`);

const b = 'webgpu';

/** n f32 values: normal(0, 1) by Box–Muller from a fixed LCG, every 13th one exactly 0. */
function normals(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = i % 13 === 6 ? 0 : Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

/** c = τ² + eps as the reference forms it (τ already rounded to f32, as the device holds it). */
const offsetOf = (tau: number, eps: number) => Math.fround(tau) ** 2 + eps;

function densityRef(a: ArrayLike<number>, tau: number, eps: number): number {
  const c = offsetOf(tau, eps);
  let total = 0;
  for (let i = 0; i < a.length; i++) total += (a[i]! * a[i]!) / (a[i]! * a[i]! + c);
  return total / a.length;
}

function gradRef(a: ArrayLike<number>, tau: number, eps: number, g: number): Float64Array {
  const c = offsetOf(tau, eps);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (2 * g * a[i]! * c) / (a[i]! * a[i]! + c) ** 2 / a.length;
  return out;
}

/** The density on webgpu, read back. */
async function density(a: et.Tensor, tau: et.Tensor, eps: number): Promise<number> {
  const r = et.activationDensity(a, tau, { eps });
  const v = (await r.data())[0]!;
  r.dispose();
  return v;
}

/** activationDensityGrad on webgpu with the cotangent g (a one-element tensor), read back. */
async function grad(a: et.Tensor, tau: et.Tensor, g: et.Tensor, eps: number): Promise<Float32Array> {
  const r = applyOp('activationDensityGrad', [a, tau, g], { eps });
  const v = (await r.data()) as Float32Array;
  r.dispose();
  return v;
}

function expectDensity(got: number, want: number): void {
  expect(Math.abs(got - want), `density ${got}, reference ${want}`).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(want));
}

/** The gradient elementwise, with an absolute floor scaled to its largest entry (entries carry the factor 1/n). */
function expectGrad(got: ArrayLike<number>, want: ArrayLike<number>): void {
  let peak = 0;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i]!)) peak = Math.max(peak, Math.abs(want[i]!));
  const cmp = compareArrays(got, want, { rtol: 1e-5, atol: 1e-6 * peak });
  expect(cmp.ok, cmp.message).toBe(true);
}

describe.runIf(status.available)('webgpu activationDensity', () => {
  // 8192 elements fill one workgroup (256 invocations × 32); past 8 388 608 = 1024 partials × 8192, the cap,
  // workgroups take more elements
  it.each([1, 7, 255, 8192, 8193, 65_537, 1_048_577, 4_194_305, 8_388_609])(
    'n = %i: density and gradient match a float64 reference',
    async (n) => {
      const host = normals(n, n);
      const rms = Math.sqrt(host.reduce((s, v) => s + v * v, 0) / n);
      const tau = 0.1 * rms;
      const eps = 1e-8;
      const a = et.tensor(host, { backend: b });
      const t = et.tensor([tau], { backend: b });
      const g = et.tensor([1], { backend: b });
      expectDensity(await density(a, t, eps), densityRef(host, tau, eps));
      expectGrad(await grad(a, t, g, eps), gradRef(host, tau, eps, 1));
      et.dispose([a, t, g]);
    },
  );

  it('the cotangent scales the gradient (g = −3.5 from a scalar tensor)', async () => {
    const host = normals(30_011, 5);
    const a = et.tensor(host, { backend: b, shape: [30_011] });
    const t = et.tensor([0.2], { backend: b });
    const g = et.tensor(-3.5, { backend: b });
    expectGrad(await grad(a, t, g, 0), gradRef(host, 0.2, 0, -3.5));
    et.dispose([a, t, g]);
  });

  it('reads a transposed a, a sliced a at an offset and a broadcast a in place', async () => {
    const [m, k] = [301, 67];
    const host = normals(m * k, 11);
    const base = et.tensor(host, { backend: b, shape: [m, k] });
    const t = et.tensor([0.3], { backend: b });
    const one = et.tensor([1], { backend: b });
    // row-major values of each view, built from the host data
    const transposed = Array.from({ length: m * k }, (_, f) => host[(f % m) * k + Math.floor(f / m)]!);
    const sliced = Array.from({ length: (m - 5) * 40 }, (_, f) => host[(5 + Math.floor(f / 40)) * k + 20 + (f % 40)]!);
    const row = host.subarray(0, k);
    const broadcast = Array.from({ length: 200 * k }, (_, f) => row[f % k]!);
    const firstRow = base.slice([0], [1]);
    const views: [string, et.Tensor, number[]][] = [
      ['transposed', base.transpose(), transposed],
      ['sliced', base.slice([5, 20], [m, 60]), sliced],
      ['broadcast', firstRow.expand([200, k]), broadcast],
    ];
    for (const [label, view, values] of views) {
      expect(view.isContiguous, label).toBe(false);
      expectDensity(await density(view, t, 1e-6), densityRef(values, 0.3, 1e-6));
      expectGrad(await grad(view, t, one, 1e-6), gradRef(values, 0.3, 1e-6, 1));
      // read through the layout: the op's dispatches only (every view spans several workgroups), no gather
      expect(await dispatchesOf(() => et.activationDensity(view, t)), label).toBe(2);
      expect(await dispatchesOf(() => applyOp('activationDensityGrad', [view, t, one], { eps: 0 })), label).toBe(1);
    }
    et.dispose([base, firstRow, t, one, ...views.map(([, view]) => view)]);
  });

  it('reads τ and g as one-element views at an offset, also into the buffer of a itself', async () => {
    const n = 20_000;
    const host = normals(n + 3, 17);
    host[n + 1] = 0.45;
    host[n + 2] = 2.5;
    const all = et.tensor(host, { backend: b });
    const a = all.slice([0], [n]);
    const tauSlice = all.slice([n + 1], [n + 2]);
    const tau = tauSlice.reshape([1, 1]);
    const gSlice = all.slice([n + 2], [n + 3]);
    const g = gSlice.reshape([]);
    const values = host.subarray(0, n);
    expectDensity(await density(a, tau, 1e-4), densityRef(values, 0.45, 1e-4));
    expectGrad(await grad(a, tau, g, 1e-4), gradRef(values, 0.45, 1e-4, 2.5));
    // τ and g from a separate buffer, past its start
    const other = et.tensor([7, 7, 7, -0.6, 7, -1.25], { backend: b });
    const tau2 = other.slice([3], [4]);
    const g2 = other.slice([5], [6]);
    expectDensity(await density(a, tau2, 0), densityRef(values, -0.6, 0));
    expectGrad(await grad(a, tau2, g2, 0), gradRef(values, -0.6, 0, -1.25));
    et.dispose([all, a, tauSlice, tau, gSlice, g, other, tau2, g2]);
  });

  it('a NaN or an infinite entry (in the last workgroup) makes the density NaN; the gradient is NaN there only', async () => {
    const n = 70_001;
    for (const bad of [NaN, Infinity, -Infinity]) {
      const host = normals(n, 23);
      host[n - 1] = bad;
      const a = et.tensor(host, { backend: b });
      const t = et.tensor([0.1], { backend: b });
      const g = et.tensor([1], { backend: b });
      expect(Number.isNaN(await density(a, t, 0)), `a = ${bad}`).toBe(true);
      const got = await grad(a, t, g, 0);
      // the reference's own value there: 2·∞·c/∞² is NaN too
      const want = gradRef(host, 0.1, 0, 1);
      expect(Number.isNaN(want[n - 1]!)).toBe(true);
      expectGrad(got, want);
      et.dispose([a, t, g]);
    }
  });

  it('finite entries whose square overflows f32 count as fully on, as in the float64 reference', async () => {
    const host = normals(5000, 29);
    for (let i = 0; i < host.length; i += 7) host[i] = (i % 2 ? -1 : 1) * 1e30;
    const a = et.tensor(host, { backend: b });
    const t = et.tensor([0.5], { backend: b });
    const g = et.tensor([1], { backend: b });
    expectDensity(await density(a, t, 0), densityRef(host, 0.5, 0));
    expectGrad(await grad(a, t, g, 0), gradRef(host, 0.5, 0, 1));
    et.dispose([a, t, g]);
  });

  it('an all-zero activation over many workgroups at τ = 0, eps = 1e-30 has density 0 and gradient 0', async () => {
    const n = 300_007;
    const a = et.zeros([n], { backend: b });
    const t = et.zeros([1], { backend: b });
    const g = et.tensor([1], { backend: b });
    expect(await density(a, t, 1e-30)).toBe(0);
    const got = await grad(a, t, g, 1e-30);
    expect(got.every((v) => v === 0)).toBe(true);
    et.dispose([a, t, g]);
  });

  it('one dispatch for a single workgroup, two past it (partials, then their sum), one for the gradient', async () => {
    const t = et.tensor([0.5], { backend: b });
    const g = et.tensor([1], { backend: b });
    for (const [n, forward] of [[8192, 1], [8193, 2], [3_000_000, 2]] as const) {
      const a = et.tensor(normals(n, 3), { backend: b });
      expect(await dispatchesOf(() => et.activationDensity(a, t)), `n = ${n}`).toBe(forward);
      expect(await dispatchesOf(() => applyOp('activationDensityGrad', [a, t, g], { eps: 0 })), `n = ${n}`).toBe(1);
      a.dispose();
    }
    et.dispose([t, g]);
  });

  it('is deterministic: the same bits on every run', async () => {
    const a = et.tensor(normals(2_000_003, 31), { backend: b });
    const t = et.tensor([0.05], { backend: b });
    const first = await density(a, t, 0);
    for (let i = 0; i < 3; i++) expect(await density(a, t, 0)).toBe(first);
    et.dispose([a, t]);
  });

  it('refuses f16 with a typed error (f16 is storage-only on webgpu, and absent without shader-f16)', () => {
    if (webgpuStats().features.includes('shader-f16')) {
      const a = et.tensor([1, 2, 3], { backend: b, dtype: 'f16' });
      const t = et.tensor([0.5], { backend: b, dtype: 'f16' });
      expect(() => et.activationDensity(a, t)).toThrow(et.DTypeError);
      expect(() => applyOp('activationDensityGrad', [a, t, t], { eps: 0 })).toThrow(et.DTypeError);
      et.dispose([a, t]);
    } else {
      expect(() => et.tensor([1, 2, 3], { backend: b, dtype: 'f16' })).toThrow(et.BackendError);
    }
  });
});
