/**
 * The finite-time Lyapunov exponent (FTLE) of the depth (or time) map h_0 → h_L = F_L ∘ … ∘ F_1(h_0)
 * (EITP-SPEC "Chaos"). Λ̂ = (1/L)·ln of the growth of a perturbation: > 0 chaotic (gradients explode),
 * < 0 ordered (they vanish), ≈ 0 the edge of chaos the L_chaos term pulls towards.
 *
 * Built from et.linearize (J v, Jᵀ w: the power iterations) and et.jvp (the differentiated J v) on the composed
 * blocks, so it works on any model. The gradient of Λ̂ in θ is reverse-over-forward: et.jvp runs inside the recorded
 * computation and its tangent ops are recorded.
 */
import { describeArg, objectArg, tensorArg } from '../args.js';
import * as et from '../../engine/index.js';
import type { Dynamics } from '../models/eitp-model.js';

type Tensor = et.Tensor;

export type ChaosMode = 'power' | 'benettin';

export interface LyapunovOptions {
  readonly mode?: ChaosMode;
  /** Seed of the random start direction v ~ N(0, I). */
  readonly seed?: number;
  /** Power-iteration steps before the differentiated one (spec: 2). */
  readonly powerIterations?: number;
  /**
   * 'fused' (default): where the dynamics are tanh layers (Dynamics.tanhWeights), tangents step through the fused
   * et.tanhJvp; 'composite': always the generic et.jvp.
   */
  readonly kernels?: 'fused' | 'composite';
}

/** ‖t_b‖ over all non-batch axes: [B]. */
export function rowNorms(t: Tensor): Tensor {
  return tensorArg(t, 'lyapunov', 't').reshape([t.shape[0]!, -1]).norm(1);
}

/** t_b / ‖t_b‖ for each batch row b. */
export function normalizeRows(t: Tensor): Tensor {
  tensorArg(t, 'lyapunov', 't');
  const shape = [t.shape[0]!, ...Array<number>(t.rank - 1).fill(1)];
  return t.div(rowNorms(t).reshape(shape));
}

function checkDynamics(d: Dynamics): void {
  const op = 'lyapunov';
  objectArg(d, op, 'the dynamics (model.dynamics(...))');
  if (!Array.isArray(d.blocks) || d.blocks.some((f) => typeof f !== 'function')) {
    throw new et.ArgumentError(`dynamics.blocks must be an array of functions (h => h'), got ${describeArg(d.blocks)}`, { op });
  }
  tensorArg(d.h0, op, 'dynamics.h0');
  if (d.blocks.length === 0) throw new et.ArgumentError('dynamics has no blocks: the FTLE needs L >= 1', { op });
  if (d.h0.rank < 2 || d.h0.shape[0]! < 1) throw new et.ShapeError('h0 must be [B, ...] with B >= 1', { op, shapes: [d.h0.shape] });
  if (d.h0.dtype !== 'f32' && d.h0.dtype !== 'f64') throw new et.DTypeError('h0 must be a float tensor', { op, dtypes: [d.h0.dtype] });
}

const composed =
  (blocks: Dynamics['blocks']) =>
  (h: Tensor): Tensor =>
    blocks.reduce((x, f) => f(x), h);

/** A seeded N(0, I) direction with unit norm per batch row, shaped like h0. */
export function randomDirection(h0: Tensor, seed: number): Tensor {
  tensorArg(h0, 'lyapunov', 'h0');
  return normalizeRows(et.randn(h0.shape, { seed: seed >>> 0, dtype: h0.dtype, backend: h0.backend as et.BackendName }));
}

/** The dynamics' tanh weights when the fused tangent step applies (one weight per block, [B, width] states). */
function fusedWeights(d: Dynamics, kernels: 'fused' | 'composite' | undefined): readonly Tensor[] | null {
  const w = d.tanhWeights;
  return (kernels ?? 'fused') === 'fused' && w && w.length === d.blocks.length && d.h0.rank === 2 ? w : null;
}

/** J v through tanh layers, forward mode by hand from their states h_l: t_l = (1 − h_l²) ⊙ (t_{l−1} W_lᵀ). */
function tanhTangentAt(states: readonly Tensor[], weights: readonly Tensor[], v: Tensor): Tensor {
  return states.reduce((t, h, l) => et.tanhJvp(h, t, weights[l]!), v);
}

/** J v at h0 through the generic blocks (differentiable in θ and h0 where they require it). */
function tangent(d: Dynamics, h0: Tensor, v: Tensor): Tensor {
  return et.jvp(composed(d.blocks), [h0], [v])[1];
}

/** J v and Jᵀ w of the composed blocks at one point, from one recorded forward pass (et.linearize). */
interface Linearization {
  readonly push: (v: Tensor) => Tensor;
  readonly pull: (w: Tensor) => Tensor;
}

function linearization(d: Dynamics, h0: Tensor): Linearization {
  const [, push, pull] = et.linearize(composed(d.blocks), h0);
  return { push, pull: (w) => pull(w)[0]! };
}

/** Jᵀ w through tanh layers, reverse mode by hand from their states: s_{l−1} = ((1 − h_l²) ⊙ s_l) W_l. */
function tanhCotangentAt(states: readonly Tensor[], weights: readonly Tensor[], w: Tensor): Tensor {
  return states.reduceRight((s, h, l) => et.activationGrad(h, s, 'tanh').matmul(weights[l]!), w);
}

/** The power iterations themselves: v ← Jᵀ(J v)/‖Jᵀ(J v)‖, unrecorded (nothing differentiates them). */
function iterate(v0: Tensor, iterations: number, step: (v: Tensor) => Tensor): Tensor {
  let v = v0.stopGradient();
  for (let i = 0; i < iterations; i++) v = et.noGrad(() => normalizeRows(step(v)));
  return v;
}

/** The blocks' states h_1 … h_L from h0, recorded when h0 or θ require it (the fused tanh path's forward pass). */
function statesOf(d: Dynamics, h0: Tensor): Tensor[] {
  const states: Tensor[] = [];
  d.blocks.reduce((h, f) => {
    const next = f(h);
    states.push(next);
    return next;
  }, h0);
  return states;
}

/** Power iterations through tanh layers on their states: J v by et.tanhJvp, Jᵀ w by hand, no linearisation. */
function tanhPowerDirection(states: readonly Tensor[], weights: readonly Tensor[], v0: Tensor, iterations: number): Tensor {
  return iterate(v0, iterations, (v) => tanhCotangentAt(states, weights, tanhTangentAt(states, weights, v)));
}

/**
 * Two (by default) power-iteration steps on JᵀJ at h0 without θ-gradients: w = J v (JVP), v ← Jᵀw/‖Jᵀw‖ (VJP).
 * Returns the direction (stop-gradient). J is linearised once: one recorded forward pass serves every J v (the
 * pushforward walks it, as jax.linearize) and every Jᵀ w; tanh layers step by hand on their states instead.
 */
export function powerDirection(d: Dynamics, v0: Tensor, iterations = 2, kernels?: 'fused' | 'composite'): Tensor {
  checkDynamics(d);
  tensorArg(v0, 'lyapunov', 'v0');
  if (iterations <= 0) return v0.stopGradient();
  return et.tidy(() => {
    const h0 = d.h0.stopGradient();
    const weights = fusedWeights(d, kernels);
    if (weights) return et.noGrad(() => tanhPowerDirection(statesOf(d, h0), weights, v0, iterations));
    const lin = linearization(d, h0);
    return iterate(v0, iterations, (v) => lin.pull(lin.push(v)));
  });
}

/**
 * ln‖J v_b‖ per row [B]: through tanh layers (given their states h_1 … h_L) the tangent steps by et.tanhJvp and the
 * last step is the fused et.tanhJvpStep (norm and log in its pass); otherwise et.jvp through the blocks.
 */
function logGrowth(d: Dynamics, v: Tensor, kernels: 'fused' | 'composite' | undefined, states?: readonly Tensor[]): Tensor {
  const weights = fusedWeights(d, kernels);
  if (!weights) return rowNorms(tangent(d, d.h0, v)).log();
  const hs = states ?? statesOf(d, d.h0);
  const last = hs.length - 1;
  const t = tanhTangentAt(hs.slice(0, last), weights, v);
  return et.tanhJvpStep(hs[last]!, t, weights[last]!).logNorm;
}

/** Λ̂ along a fixed direction: (1/L)·mean_b ln‖J v_b‖, differentiable in θ (and h0); v is stop-gradient. */
export function lyapunovAlong(d: Dynamics, v: Tensor, kernels?: 'fused' | 'composite'): Tensor {
  checkDynamics(d);
  tensorArg(v, 'lyapunov', 'v');
  return logGrowth(d, v.stopGradient(), kernels).mean().div(d.blocks.length);
}

/** Benettin: per block δ_l = J_l u_{l−1}, g_l = ‖δ_l‖, u_l = sg(δ_l/g_l); Λ̂ = (1/L) Σ_l mean_b ln g_l. */
export function lyapunovBenettin(d: Dynamics, u0: Tensor, kernels?: 'fused' | 'composite'): Tensor {
  checkDynamics(d);
  tensorArg(u0, 'lyapunov', 'u0');
  const weights = fusedWeights(d, kernels);
  let h = d.h0;
  let u = u0.stopGradient();
  let acc: Tensor | null = null;
  for (const [l, block] of d.blocks.entries()) {
    let next: Tensor;
    let logNorm: Tensor;
    if (weights) {
      next = block(h);
      // one kernel: δ_l, ‖δ_l‖, ln‖δ_l‖ and δ_l/‖δ_l‖
      const step = et.tanhJvpStep(next, u, weights[l]!);
      logNorm = step.logNorm;
      u = step.direction.stopGradient();
    } else {
      let delta: Tensor;
      [next, delta] = et.jvp(block, [h], [u]);
      const g = rowNorms(delta);
      logNorm = g.log();
      u = delta.div(g.reshape([delta.shape[0]!, ...Array<number>(delta.rank - 1).fill(1)])).stopGradient();
    }
    const term = logNorm.mean();
    acc = acc ? acc.add(term) : term;
    h = next;
  }
  return acc!.div(d.blocks.length);
}

/** Λ̂ of the dynamics (pass the sub-batch as h0: the spec uses B' = min(B, 4) sequences). */
export function lyapunovExponent(d: Dynamics, opts: LyapunovOptions = {}): Tensor {
  checkDynamics(d);
  const mode = opts.mode ?? 'power';
  const v0 = et.noGrad(() => randomDirection(d.h0, opts.seed ?? 0));
  if (mode === 'benettin') return lyapunovBenettin(d, v0, opts.kernels);
  if (mode !== 'power') throw new et.ArgumentError(`unknown FTLE mode '${String(mode)}' (power | benettin)`, { op: 'lyapunov' });
  const iterations = opts.powerIterations ?? 2;
  const weights = fusedWeights(d, opts.kernels);
  if (weights) {
    // tanh layers: one forward pass (recorded: the differentiated step reads it) serves the unrecorded power
    // iterations, which step by hand on its states, and the differentiated J v
    const states = statesOf(d, d.h0);
    const v = iterations > 0 ? et.noGrad(() => tanhPowerDirection(states, weights, v0, iterations)) : v0;
    return logGrowth(d, v.stopGradient(), opts.kernels, states).mean().div(d.blocks.length);
  }
  if (iterations <= 0 || !et.isGradEnabled()) return lyapunovAlong(d, powerDirection(d, v0, iterations, opts.kernels), opts.kernels);
  // Generic blocks: one linearisation at h0 (recorded with h0's own graph, so the gradient still reaches what made
  // h0) serves the power iterations and then, recorded, the differentiated J v: the blocks run forward once, not
  // once more for et.jvp. Its tape belongs to the caller's scope, like any recorded forward pass.
  const lin = linearization(d, d.h0);
  const v = iterate(v0, iterations, (w) => lin.pull(lin.push(w)));
  return rowNorms(lin.push(v.stopGradient())).log().mean().div(d.blocks.length);
}

/** L_chaos = (Λ̂ − Λ*)², or max(Λ̂ − Λ*, 0)² when one-sided (only chaos is penalised). */
export function chaosLoss(lyapunov: Tensor, target = 0, oneSided = false): Tensor {
  tensorArg(lyapunov, 'chaosLoss', 'lyapunov');
  if (typeof target !== 'number' || Number.isNaN(target)) throw new et.ArgumentError(`target must be a number, got ${describeArg(target)}`, { op: 'chaosLoss' });
  const diff = target === 0 ? lyapunov : lyapunov.sub(target); // Λ̂ − 0 is Λ̂ exactly: no kernel for it
  return (oneSided ? diff.relu() : diff).square();
}

/** The edge-of-chaos flag: |Λ̂ − Λ*| < 0.1. */
export function isEdgeOfChaos(lyapunov: number, target = 0, tolerance = 0.1): boolean {
  return Math.abs(lyapunov - target) < tolerance;
}
