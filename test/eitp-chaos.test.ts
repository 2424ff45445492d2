/**
 * The FTLE Λ̂: the spec's golden values (a·Q orthogonal blocks → ln a in both modes; repeated diag(s) → ln max s in
 * power mode), a plain-JS reference on a tanh network, and its gradient in θ (reverse over forward) against finite
 * differences in f64.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import {
  chaosLoss,
  isEdgeOfChaos,
  lyapunovAlong,
  lyapunovExponent,
  powerDirection,
  randomDirection,
} from '../src/eitp/index.js';
import type { Dynamics } from '../src/models/eitp-model.js';
import { TinyTanhMlp } from './fixtures/tiny-models.js';
import { matFrom, scalar, worstRatio } from './fixtures/numeric.js';
import { expectNoLeaks } from './fixtures/leaks.js';
import { compareArrays } from './helpers/backends.js';

beforeAll(() => et.setBackend('cpu'));
expectNoLeaks();

/** A random orthogonal matrix by Gram-Schmidt on seeded Gaussian columns (plain JS). */
function orthogonal(d: number, seed: number): number[][] {
  const g = matFrom(et.randn([d, d], { seed, dtype: 'f64' }));
  const q: number[][] = [];
  for (let j = 0; j < d; j++) {
    let v = g.map((row) => row[j]!);
    for (const u of q) {
      const dot = v.reduce((s, x, i) => s + x * u[i]!, 0);
      v = v.map((x, i) => x - dot * u[i]!);
    }
    const n = Math.hypot(...v);
    q.push(v.map((x) => x / n));
  }
  return Array.from({ length: d }, (_, i) => q.map((col) => col[i]!)); // columns → rows
}

/** Linear blocks h ← h Mᵀ (rows are batch items), so a row h maps to M h. */
function linearDynamics(mats: number[][][], h0: et.Tensor): Dynamics {
  const ts = mats.map((m) => et.tensor(m, { dtype: h0.dtype }));
  return { h0, blocks: ts.map((m) => (h: et.Tensor) => h.matmul(m.transpose())) };
}

describe('FTLE golden values', () => {
  it('blocks h ← a·Q_l h with Q_l orthogonal give exactly ln a (power and benettin)', () => {
    et.tidy(() => {
      for (const a of [0.7, 1, 1.9]) {
        const mats = [0, 1, 2].map((l) => orthogonal(6, 100 + l).map((row) => row.map((x) => a * x)));
        const d = linearDynamics(mats, et.randn([3, 6], { seed: 5, dtype: 'f64' }));
        expect(Math.abs(scalar(lyapunovExponent(d, { mode: 'power', seed: 1 })) - Math.log(a))).toBeLessThan(1e-12);
        expect(Math.abs(scalar(lyapunovExponent(d, { mode: 'benettin', seed: 1 })) - Math.log(a))).toBeLessThan(1e-12);
      }
    });
  });

  it('repeated diag(s) gives ln max|s| in power mode', () => {
    et.tidy(() => {
      const s = [1.5, -1.0, 0.5, 0.3];
      const diag = s.map((x, i) => s.map((_, j) => (i === j ? x : 0)));
      const d = linearDynamics([diag, diag, diag, diag], et.randn([4, 4], { seed: 9, dtype: 'f64' }));
      // after two power steps the direction's error is ~ (1/1.5)^(8L) of the start; ln‖Jv‖ is then exact to ~1e-6
      expect(Math.abs(scalar(lyapunovExponent(d, { mode: 'power', seed: 3 })) - Math.log(1.5))).toBeLessThan(1e-5);
    });
  });

  it('works on [B, T, d] states: one direction per sequence', () => {
    et.tidy(() => {
      const a = 1.3;
      const q = orthogonal(5, 7).map((r) => r.map((x) => a * x));
      const d = linearDynamics([q, q], et.randn([2, 3, 5], { seed: 2, dtype: 'f64' }));
      expect(Math.abs(scalar(lyapunovExponent(d, { seed: 4 })) - Math.log(a))).toBeLessThan(1e-12);
    });
  });
});

/** Plain-JS FTLE of the tiny tanh MLP fixture, from its weights: explicit Jacobians J_l = diag(1 − h_l²) W_l. */
function referenceFtle(model: TinyTanhMlp, x: number[][], v0: number[][], mode: 'power' | 'benettin'): number {
  const W = model.wHidden.map(matFrom);
  const b = model.bHidden.map((t) => Array.from(t.dataSync()));
  const Win = matFrom(model.wIn);
  const bin = Array.from(model.bIn.dataSync());
  const mv = (m: number[][], v: number[]) => m.map((row) => row.reduce((s, w, j) => s + w * v[j]!, 0));
  const mtv = (m: number[][], v: number[]) => m[0]!.map((_, j) => m.reduce((s, row, i) => s + row[j]! * v[i]!, 0));
  const norm = (v: number[]) => Math.hypot(...v);
  const L = W.length;
  let total = 0;
  x.forEach((xr, r) => {
    let h = mv(Win, xr).map((z, i) => Math.tanh(z + bin[i]!));
    const jac: ((v: number[]) => number[])[] = [];
    const jacT: ((v: number[]) => number[])[] = [];
    for (let l = 0; l < L; l++) {
      h = mv(W[l]!, h).map((z, i) => Math.tanh(z + b[l]![i]!));
      const dd = h.map((y) => 1 - y * y);
      const Wl = W[l]!;
      jac.push((v) => mv(Wl, v).map((z, i) => dd[i]! * z));
      jacT.push((v) => mtv(Wl, v.map((z, i) => dd[i]! * z)));
    }
    const J = (v: number[]) => jac.reduce((acc, f) => f(acc), v);
    const JT = (v: number[]) => jacT.reduceRight((acc, f) => f(acc), v);
    let v = v0[r]!.map((z) => z / norm(v0[r]!));
    if (mode === 'power') {
      for (let i = 0; i < 2; i++) {
        const w = JT(J(v));
        v = w.map((z) => z / norm(w));
      }
      total += Math.log(norm(J(v)));
    } else {
      for (let l = 0; l < L; l++) {
        const dl = jac[l]!(v);
        total += Math.log(norm(dl));
        v = dl.map((z) => z / norm(dl));
      }
    }
  });
  return total / x.length / L;
}

describe('FTLE on a tanh network', () => {
  it.each(['fused', 'composite'] as const)('matches a plain-JS reference with explicit Jacobians (both modes, %s tangents)', (kernels) => {
    et.tidy(() => {
      const model = new TinyTanhMlp({ inputs: 3, hidden: 5, classes: 2, blocks: 3 }, { seed: 1, dtype: 'f64', gain: 1.5 });
      const x = et.randn([2, 3], { seed: 8, dtype: 'f64' });
      const d = model.dynamics(x);
      const v0 = matFrom(randomDirection(d.h0, 77));
      for (const mode of ['power', 'benettin'] as const) {
        const got = scalar(lyapunovExponent(d, { mode, seed: 77, kernels }));
        expect(Math.abs(got - referenceFtle(model, matFrom(x), v0, mode)), mode).toBeLessThan(1e-10);
      }
    });
  });
});

/** Central differences of a scalar of the model's state, moving one parameter's values in place. */
function paramFiniteDifference(p: et.Tensor, f: () => number, eps = 1e-6): Float64Array {
  const base = Float64Array.from(p.dataSync() as Float64Array);
  const out = new Float64Array(base.length);
  const set = (vals: Float64Array) => et.noGrad(() => p.assign(et.tensor(vals, { shape: [...p.shape], dtype: 'f64' })));
  for (let j = 0; j < base.length; j++) {
    const at = (dlt: number) => {
      const m = base.slice();
      m[j] += dlt;
      set(m);
      return et.tidy(f);
    };
    out[j] = (at(eps) - at(-eps)) / (2 * eps);
  }
  set(base);
  return out;
}

describe('FTLE gradient (reverse over forward) against finite differences, f64', () => {
  it('power mode: dΛ̂/dθ along the (stop-gradient) direction, for every parameter', () => {
    et.tidy(() => {
      const model = new TinyTanhMlp({ inputs: 3, hidden: 4, classes: 2, blocks: 2 }, { seed: 2, dtype: 'f64', gain: 1.3 });
      const x = et.randn([3, 3], { seed: 1, dtype: 'f64' });
      const v = et.noGrad(() => powerDirection(model.dynamics(x), randomDirection(model.dynamics(x).h0, 5)));
      const lam = lyapunovAlong(model.dynamics(x), v);
      lam.backward();
      for (const [name, p] of model.namedParameters()) {
        if (name.startsWith('wOut')) {
          expect(p.grad).toBeNull(); // the output layer is not part of the dynamics
          continue;
        }
        const numeric = paramFiniteDifference(p, () => scalar(lyapunovAlong(model.dynamics(x), v)));
        expect(worstRatio(p.grad!.dataSync(), numeric, 1e-6, 1e-8), name).toBeLessThan(1);
      }
    });
  });

  it('benettin with L = 1: the whole Λ̂ (its start direction does not depend on θ)', () => {
    et.tidy(() => {
      const model = new TinyTanhMlp({ inputs: 3, hidden: 4, classes: 2, blocks: 1 }, { seed: 3, dtype: 'f64', gain: 1.2 });
      const x = et.randn([2, 3], { seed: 2, dtype: 'f64' });
      lyapunovExponent(model.dynamics(x), { mode: 'benettin', seed: 9 }).backward();
      for (const p of [model.wHidden[0]!, model.wIn]) {
        const numeric = paramFiniteDifference(p, () => scalar(lyapunovExponent(model.dynamics(x), { mode: 'benettin', seed: 9 })));
        expect(worstRatio(p.grad!.dataSync(), numeric, 1e-6, 1e-8)).toBeLessThan(1);
      }
    });
  });

  it('power mode on generic blocks (one shared linearisation) has the gradient of the direction-then-jvp composition, into what made h0 too', () => {
    // independent paths: lyapunovExponent pushes J v through the power iterations' recorded pass (et.linearize);
    // lyapunovAlong runs the blocks again under et.jvp. lyapunovAlong's own gradient is checked against finite
    // differences above.
    const grads = (shared: boolean) =>
      et.tidy(() => {
        const E = et.randn([3, 5], { seed: 11, dtype: 'f64' }).mul(0.7);
        const Ws = [12, 13].map((seed) => et.randn([5, 5], { seed, dtype: 'f64' }).mul(0.6));
        for (const t of [E, ...Ws]) t.requiresGrad = true;
        const x = et.randn([2, 4, 3], { seed: 14, dtype: 'f64' });
        const d: Dynamics = { h0: x.matmul(E), blocks: Ws.map((w) => (h: et.Tensor) => et.gelu(h.matmul(w.transpose())).add(h)) };
        const lam = shared
          ? lyapunovExponent(d, { seed: 7 })
          : lyapunovAlong(d, et.noGrad(() => powerDirection(d, randomDirection(d.h0, 7))));
        lam.backward();
        return [lam, E.grad!, ...Ws.map((w) => w.grad!)].map((t) => Array.from(t.dataSync()));
      });
    const [a, b] = [grads(true), grads(false)];
    a.forEach((values, k) => {
      const cmp = compareArrays(values, b[k]!, { rtol: 1e-10, atol: 1e-12 });
      expect(cmp.ok, `${['Λ̂', 'E', 'W1', 'W2'][k]}: ${cmp.message}`).toBe(true);
    });
  });

  it('power mode on tanh layers (one recorded forward pass for the iterations and the fused step) has the gradient of the direction-then-lyapunovAlong composition, into the stem too', () => {
    // lyapunovExponent steps the power iterations by hand on the states of the forward pass it differentiates;
    // lyapunovAlong (checked against finite differences above) runs the blocks again for its own pass
    const grads = (shared: boolean) =>
      et.tidy(() => {
        const model = new TinyTanhMlp({ inputs: 3, hidden: 5, classes: 2, blocks: 3 }, { seed: 4, dtype: 'f64', gain: 1.4 });
        const x = et.randn([3, 3], { seed: 5, dtype: 'f64' });
        const d = model.dynamics(x);
        const lam = shared
          ? lyapunovExponent(d, { seed: 3 })
          : lyapunovAlong(d, et.noGrad(() => powerDirection(d, randomDirection(d.h0, 3))));
        lam.backward();
        const params = [model.wIn, ...model.wHidden];
        return [lam, ...params.map((p) => p.grad!)].map((t) => Array.from(t.dataSync()));
      });
    const [a, b] = [grads(true), grads(false)];
    expect(a).toHaveLength(5);
    a.forEach((values, k) => {
      const cmp = compareArrays(values, b[k]!, { rtol: 1e-10, atol: 1e-12 });
      expect(cmp.ok, `${['Λ̂', 'wIn', 'W1', 'W2', 'W3'][k]}: ${cmp.message}`).toBe(true);
    });
  });

  it('power mode, whole Λ̂ (direction recomputed) when the power iteration has converged: a strongly gapped map', () => {
    et.tidy(() => {
      const base = [
        [4, 0.1, -0.2],
        [0.05, 0.3, 0.1],
        [-0.1, 0.02, 0.2],
      ];
      const W = et.tensor(base, { dtype: 'f64', requiresGrad: true });
      const h0 = et.randn([2, 3], { seed: 4, dtype: 'f64' });
      const dyn = (): Dynamics => ({ h0, blocks: [0, 1].map(() => (h: et.Tensor) => h.matmul(W.transpose())) });
      lyapunovExponent(dyn(), { seed: 6 }).backward();
      const numeric = paramFiniteDifference(W, () => scalar(lyapunovExponent(dyn(), { seed: 6 })));
      expect(worstRatio(W.grad!.dataSync(), numeric, 1e-6, 1e-8)).toBeLessThan(1);
    });
  });
});

describe('L_chaos and the edge-of-chaos flag', () => {
  it('(Λ̂ − Λ*)², one-sided max(Λ̂ − Λ*, 0)², |Λ̂ − Λ*| < 0.1', () => {
    et.tidy(() => {
      const lam = et.tensor(-0.3, { dtype: 'f64' });
      expect(scalar(chaosLoss(lam, 0.2))).toBeCloseTo(0.25, 14);
      expect(scalar(chaosLoss(lam, 0.2, true))).toBe(0);
      expect(scalar(chaosLoss(et.tensor(0.5, { dtype: 'f64' }), 0.2, true))).toBeCloseTo(0.09, 14);
      expect(isEdgeOfChaos(0.05)).toBe(true);
      expect(isEdgeOfChaos(-0.15)).toBe(false);
      expect(isEdgeOfChaos(0.95, 1)).toBe(true);
    });
  });
  it('bad dynamics are typed errors', () => {
    et.tidy(() => {
      expect(() => lyapunovExponent({ h0: et.randn([2, 3]), blocks: [] })).toThrow(et.ArgumentError);
      expect(() => lyapunovExponent({ h0: et.randn([2, 3]), blocks: [(h) => h] }, { mode: 'lyap' as 'power' })).toThrow(et.ArgumentError);
    });
  });
});
