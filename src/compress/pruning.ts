/**
 * Gradual global magnitude pruning (EITP-SPEC "Compression"; Zhu & Gupta 2017, "To prune, or not to prune"):
 * the target sparsity follows the cubic schedule s_t = s_f·(1 − (1 − t/T)³) from startStep to endStep, the masks
 * are recomputed every `every` steps by global unstructured magnitude (the smallest |w| over all pruned tensors
 * together), and after every optimizer step the pruned weights are set back to zero.
 */
import { describeArg, objectArg, tensorListArg } from '../args.js';
import * as et from '../../engine/index.js';
import type { HostTensor } from '../train/safetensors.js';

export interface PruneSchedule {
  /** s_f in [0, 1). */
  finalSparsity: number;
  /** The step at which pruning starts (sparsity 0 up to here). */
  startStep: number;
  /** The step at which s_f is reached (startStep == endStep: one-shot pruning at startStep). */
  endStep: number;
  /** Masks are recomputed every this many steps between startStep and endStep (and at endStep). */
  every: number;
}

export function validatePruneSchedule(s: PruneSchedule, op = 'prune'): void {
  const bad = (why: string): never => {
    throw new et.ArgumentError(`${op}: ${why}`, { op });
  };
  if (s === null || typeof s !== 'object') bad(`the schedule must be an object ({ finalSparsity, startStep, endStep, every }), got ${describeArg(s)}`);
  if (!(s.finalSparsity >= 0 && s.finalSparsity < 1)) bad(`finalSparsity must be in [0, 1), got ${s.finalSparsity}`);
  if (!Number.isInteger(s.startStep) || s.startStep < 0) bad(`startStep must be an integer >= 0, got ${s.startStep}`);
  if (!Number.isInteger(s.endStep) || s.endStep < s.startStep) bad(`endStep must be an integer >= startStep (${s.startStep}), got ${s.endStep}`);
  if (!Number.isInteger(s.every) || s.every < 1) bad(`every must be a positive integer, got ${s.every}`);
}

/** s_t = s_f·(1 − (1 − t/T)³) with t = step − startStep clamped to [0, T], T = endStep − startStep. */
export function cubicSparsity(step: number, s: PruneSchedule): number {
  objectArg(s, 'prune', 'the schedule');
  if (step < s.startStep) return 0;
  const T = s.endStep - s.startStep;
  if (T === 0 || step >= s.endStep) return s.finalSparsity;
  const r = 1 - (step - s.startStep) / T;
  return s.finalSparsity * (1 - r * r * r);
}

/** The sparsity of the masks in force after `step`: the schedule's value at the last mask update so far. */
export function sparsityAfter(step: number, s: PruneSchedule): number {
  objectArg(s, 'prune', 'the schedule');
  if (step < s.startStep) return 0;
  if (step >= s.endStep) return s.finalSparsity;
  return cubicSparsity(s.startStep + Math.floor((step - s.startStep) / s.every) * s.every, s);
}

/** Whether the masks are recomputed after `step`. */
export function isPruneStep(step: number, s: PruneSchedule): boolean {
  objectArg(s, 'prune', 'the schedule');
  if (step < s.startStep || step > s.endStep) return false;
  return step === s.endStep || (step - s.startStep) % s.every === 0;
}

/**
 * Global magnitude masks: exactly round(sparsity·n) of the n weights (over all tensors) are pruned, the smallest
 * |w| first; ties at the threshold are broken by position (earlier tensor, then earlier index), so the count is
 * exact. Returns 1 = kept, 0 = pruned, one Uint8Array per tensor.
 */
export function globalMagnitudeMasks(weights: readonly ArrayLike<number>[], sparsity: number): Uint8Array[] {
  if (!Array.isArray(weights)) throw new et.ArgumentError(`weights must be an array of weight arrays, got ${describeArg(weights)}`, { op: 'prune' });
  if (!(sparsity >= 0 && sparsity <= 1)) throw new et.ArgumentError(`globalMagnitudeMasks: sparsity must be in [0, 1], got ${sparsity}`, { op: 'globalMagnitudeMasks' });
  const n = weights.reduce((a, w) => a + w.length, 0);
  const k = Math.round(sparsity * n);
  const masks = weights.map((w) => new Uint8Array(w.length).fill(1));
  if (k === 0) return masks;
  const mags = new Float64Array(n);
  let at = 0;
  for (const w of weights) for (let i = 0; i < w.length; i++) mags[at++] = Math.abs(w[i]!);
  if (mags.some((v) => Number.isNaN(v))) throw new et.ArgumentError('globalMagnitudeMasks: a weight is NaN', { op: 'globalMagnitudeMasks' });
  const threshold = mags.slice().sort()[k - 1]!;
  // everything strictly below the threshold goes; then weights equal to it, in order, until k are gone
  let below = 0;
  for (const v of mags) if (v < threshold) below++;
  let tiesToPrune = k - below;
  at = 0;
  weights.forEach((w, t) => {
    const m = masks[t]!;
    for (let i = 0; i < w.length; i++, at++) {
      const v = mags[at]!;
      if (v < threshold) m[i] = 0;
      else if (v === threshold && tiesToPrune > 0) {
        m[i] = 0;
        tiesToPrune--;
      }
    }
  });
  return masks;
}

/** The fraction of exact zeros over the tensors (a measured sparsity, independent of any mask). */
export async function measuredSparsity(weights: readonly et.Tensor[]): Promise<number> {
  tensorListArg(weights, 'measuredSparsity', 'weights');
  let zeros = 0;
  let n = 0;
  for (const w of weights) {
    const d = await w.data();
    for (let i = 0; i < d.length; i++) if (d[i] === 0) zeros++;
    n += d.length;
  }
  return n ? zeros / n : 0;
}

/**
 * Holds the masks of a set of weight tensors and applies them. The masks live on the weights' backend as f32 0/1
 * tensors (w ← w·m is one elementwise multiply per tensor per step).
 */
export class MagnitudePruner {
  private masks: et.Tensor[] | null = null;
  /** The sparsity the current masks were computed for. */
  currentSparsity = 0;

  constructor(
    readonly weights: readonly et.Tensor[],
    readonly schedule: PruneSchedule,
  ) {
    tensorListArg(weights, 'MagnitudePruner', 'weights');
    validatePruneSchedule(schedule, 'MagnitudePruner');
    if (weights.length === 0) throw new et.ArgumentError('MagnitudePruner: no weights to prune', { op: 'MagnitudePruner' });
  }

  /** Recomputes the masks for `sparsity` from the weights' current magnitudes and applies them. */
  async prune(sparsity: number): Promise<void> {
    const host = await Promise.all(this.weights.map((w) => w.data()));
    this.setMasks(globalMagnitudeMasks(host, sparsity));
    this.currentSparsity = sparsity;
    this.apply();
  }

  /** Call after each optimizer step (`step` = steps completed): updates the masks on schedule, then applies them. */
  async afterStep(step: number): Promise<void> {
    if (isPruneStep(step, this.schedule)) await this.prune(cubicSparsity(step, this.schedule));
    else this.apply();
  }

  /** w ← w·mask + 0 for every weight (nothing before the first mask). */
  apply(): void {
    const masks = this.masks;
    if (!masks) return;
    // + 0 turns the −0 of a pruned negative weight (−w·0) into +0, so a pruned weight is all-zero bits
    et.tidy(() => et.noGrad(() => this.weights.forEach((w, i) => w.assign(w.mul(masks[i]!).add(0)))));
  }

  private setMasks(host: readonly Uint8Array[]): void {
    const next = host.map((m, i) => et.tensor(Float32Array.from(m), { shape: this.weights[i]!.shape, backend: this.weights[i]!.backend as et.BackendName }));
    this.dispose();
    this.masks = next;
  }

  /** The masks as u8 host tensors (for a training checkpoint), keyed prefix + index; empty before the first mask. */
  async hostMasks(prefix: string): Promise<Record<string, HostTensor>> {
    const out: Record<string, HostTensor> = {};
    if (!this.masks) return out;
    for (const [i, m] of this.masks.entries()) {
      const d = await m.data();
      out[`${prefix}${i}`] = { dtype: 'u8', shape: [...m.shape], data: Uint8Array.from(d) };
    }
    return out;
  }

  /** Restores masks saved by hostMasks (resuming a run), with the sparsity they were computed for. */
  loadMasks(host: Readonly<Record<string, HostTensor>>, prefix: string, sparsity: number): void {
    const found = this.weights.map((_, i) => host[`${prefix}${i}`]);
    if (found.every((m) => m === undefined)) return;
    const masks = found.map((m, i) => {
      const w = this.weights[i]!;
      if (!m || m.data.length !== w.size) {
        throw new et.ShapeError(`MagnitudePruner: the saved mask ${prefix}${i} does not fit the weight [${w.shape.join(', ')}]`, { op: 'MagnitudePruner.loadMasks', shapes: [w.shape] });
      }
      return Uint8Array.from(m.data);
    });
    this.setMasks(masks);
    this.currentSparsity = sparsity;
  }

  dispose(): void {
    if (this.masks) et.dispose(this.masks);
    this.masks = null;
  }
}
