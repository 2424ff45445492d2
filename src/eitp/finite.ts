/**
 * NaN/Inf weights make every EIT-P term NaN without saying where they came from. This check names the tensor. It
 * reads back one count per parameter, so it runs at log steps (readEitpReport) or on demand, never every step.
 */
import { moduleArg } from '../args.js';
import * as et from '../../engine/index.js';

export interface NamedParameters {
  namedParameters(): [string, et.Tensor][];
}

/** Throws ArgumentError naming each parameter that holds NaN or ±Inf, with how many of its values do. */
export async function assertFiniteWeights(model: NamedParameters): Promise<void> {
  moduleArg(model, 'assertFiniteWeights', 'model', ['namedParameters']);
  const bad: string[] = [];
  for (const [name, p] of model.namedParameters()) {
    // x − x is 0 for finite x and NaN for NaN and ±Inf; ne(NaN, 0) is true.
    const count = et.noGrad(() => et.tidy(() => p.sub(p).ne(0).cast('f32').sum()));
    const n = await count.item();
    count.dispose();
    if (n > 0) bad.push(`"${name}" [${p.shape.join(', ')}] has ${n} non-finite of ${p.size} values`);
  }
  if (bad.length) throw new et.ArgumentError(`non-finite weights: ${bad.join('; ')}`, { op: 'eitp' });
}
