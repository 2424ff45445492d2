/**
 * The distillation loss of EITP-SPEC (Hinton et al. 2015):
 *   L = α_KD·T²·KL(softmax(z_t/T) ‖ softmax(z_s/T)) + (1 − α_KD)·CE(z_s, y),   T = 3, α_KD = 0.7
 * over logits [..., C]; KL and CE are both means over the rows (every leading position), so the two terms are on
 * the same per-example scale. T² keeps the soft term's gradient, α·T·(p_s − p_t), comparable across temperatures.
 * The teacher's logits are constants: no gradient reaches the teacher.
 */
import { optionsArg, tensorArg } from '../args.js';
import * as et from '../../engine/index.js';

export interface DistillOptions {
  /** T > 0 (default 3). */
  temperature?: number;
  /** α_KD in [0, 1] (default 0.7). */
  alpha?: number;
}

export const DISTILL_DEFAULTS: Required<DistillOptions> = { temperature: 3, alpha: 0.7 };

export function distillationLoss(student: et.Tensor, teacher: et.Tensor, targets: et.Tensor, opts: DistillOptions = {}): et.Tensor {
  for (const [name, t] of [['student', student], ['teacher', teacher], ['targets', targets]] as const) tensorArg(t, 'distillationLoss', name);
  const { temperature: T, alpha } = { ...DISTILL_DEFAULTS, ...optionsArg(opts, 'distillationLoss') };
  const op = 'distillationLoss';
  if (!(T > 0) || !Number.isFinite(T)) throw new et.ArgumentError(`${op}: temperature must be a finite number > 0, got ${T}`, { op });
  if (!(alpha >= 0 && alpha <= 1)) throw new et.ArgumentError(`${op}: alpha must be in [0, 1], got ${alpha}`, { op });
  const sameShape = student.rank === teacher.rank && student.shape.every((d, i) => d === teacher.shape[i]);
  if (student.rank < 1 || !sameShape) {
    throw new et.ShapeError(`${op}: student and teacher logits must have the same shape [..., classes], got [${student.shape.join(', ')}] and [${teacher.shape.join(', ')}]`, {
      op,
      shapes: [student.shape, teacher.shape],
    });
  }
  const lead = student.shape.slice(0, -1);
  if (targets.rank !== lead.length || targets.shape.some((d, i) => d !== lead[i])) {
    throw new et.ShapeError(`${op}: targets must have the logits' leading shape [${lead.join(', ')}], got [${targets.shape.join(', ')}]`, {
      op,
      shapes: [student.shape, targets.shape],
    });
  }
  const C = student.shape[student.rank - 1]!;
  const rows = student.size / C;
  const zs = student.reshape([rows, C]);
  const zt = et.stopGradient(teacher).reshape([rows, C]);
  const logPs = et.logSoftmax(zs.mul(1 / T), -1);
  const logPt = et.logSoftmax(zt.mul(1 / T), -1);
  const kl = logPt.exp().mul(logPt.sub(logPs)).sum().mul(1 / rows);
  const ce = et.crossEntropy(zs, targets.reshape([rows]));
  return kl.mul(alpha * T * T).add(ce.mul(1 - alpha));
}
