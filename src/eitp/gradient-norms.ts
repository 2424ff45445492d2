/**
 * Per-term gradient norms at the shared parameters (EITP-SPEC: "log every term's value and its gradient norm, so
 * no term silently dominates"): ‖∂(w·term)/∂θ‖ for each computed term, w its factor in the total.
 *
 * The model's parameters are fields, not function arguments, so et.grad cannot take them; instead each term is
 * back-propagated on its own (the recorded graph survives backward) with the parameters' .grad set aside and
 * restored afterwards, so the trainer's accumulated gradients are untouched. One backward per term: log steps only.
 */
import { moduleArg, objectArg } from '../args.js';
import * as et from '../../engine/index.js';
import type { EitpModel } from '../models/eitp-model.js';
import type { EitpObjective, TermName } from './objective-api.js';

type Tensor = et.Tensor;

export function termGradientNorms(model: Pick<EitpModel, 'parameters'>, objective: EitpObjective): Partial<Record<TermName, Tensor>> {
  moduleArg(model, 'termGradientNorms', 'model', ['parameters']);
  objectArg(objective, 'termGradientNorms', 'the objective (eitpObjective(...))');
  const params = model.parameters();
  if (params.length === 0) throw new et.ArgumentError('the model has no parameters', { op: 'termGradientNorms' });
  const saved = params.map((p) => p.grad);
  for (const p of params) p.grad = null;
  const out: Partial<Record<TermName, Tensor>> = {};
  const like = params[0]!;
  try {
    for (const [name, term] of Object.entries(objective.terms) as [TermName, Tensor][]) {
      const w = Math.abs(objective.weights?.[name] ?? 1);
      if (!term.requiresGrad) {
        out[name] = et.zeros([], { dtype: like.dtype, backend: like.backend as et.BackendName });
        continue;
      }
      term.backward();
      out[name] = et.noGrad(() => {
        // ‖(g_1, …, g_P)‖ = ‖(‖g_1‖, …, ‖g_P‖)‖: a norm per parameter and one of their stack, P + 2 kernels where a
        // square, a sum and an add per parameter took 3P + 1 (the same value up to float rounding)
        const norms = params.flatMap((p) => (p.grad ? [p.grad.norm()] : []));
        if (norms.length === 0) return et.zeros([], { dtype: like.dtype, backend: like.backend as et.BackendName });
        const total = norms.length === 1 ? norms[0]! : et.stack(norms).norm();
        return w === 1 ? total : total.mul(w);
      });
      for (const p of params) p.zeroGrad();
    }
  } finally {
    params.forEach((p, i) => {
      p.zeroGrad();
      p.grad = saved[i]!;
    });
  }
  return out;
}
