/**
 * linearize(f, ...primals) → [f(primals), pushforward, pullback]: J·t and Jᵀ·c at one point from ONE recorded forward
 * pass. The pushforward walks the recorded graph in topological order and applies each op's tangent rule to the
 * saved primal values, so repeated products (power iteration on JᵀJ, the FTLE's default) do not recompute f the way
 * jvp, which runs f again with tangents attached, does.
 */
import { zerosLike } from '../creation.js';
import { tangentOf } from '../dispatch.js';
import { ArgumentError } from '../errors.js';
import type { OpName } from '../ops/attrs.js';
import type { OpDef } from '../ops/op-def.js';
import { opTable } from '../ops/table.js';
import type { Tensor } from '../tensor.js';
import { topoOrder } from './backward.js';
import { activeJvpLevels, withJvpLevel } from './grad-mode.js';
import { assertTangents, recordForward } from './transforms.js';

type TensorFn = (...args: Tensor[]) => Tensor;

export function linearize(f: TensorFn, ...primals: Tensor[]): [Tensor, (...tangents: Tensor[]) => Tensor, (cotangent: Tensor) => Tensor[]] {
  const { output, inputs, pullback } = recordForward('linearize', f, primals);
  let order: readonly Tensor[] | null = null;
  const pushforward = (...tangents: Tensor[]): Tensor => {
    assertTangents('linearize', inputs, tangents);
    order ??= topoOrder([output]);
    return pushTangents(order, inputs, tangents, output);
  };
  return [output, pushforward, pullback];
}

/** Tangents through the recorded graph `order` (inputs before outputs), seeded at `inputs`; the tangent of `output`. */
function pushTangents(order: readonly Tensor[], inputs: readonly Tensor[], seeds: readonly Tensor[], output: Tensor): Tensor {
  const outer = activeJvpLevels();
  // a private level, for the rules that differentiate an op's composite reference (they read tangents off inputs)
  return withJvpLevel((level) => {
    const tangents = new Map<Tensor, Tensor>();
    inputs.forEach((x, i) => tangents.set(x, seeds[i]!));
    for (const t of order) {
      const node = t.node;
      if (!node) continue;
      const ins = node.inputs.map((x) => tangents.get(x) ?? null);
      if (ins.every((x) => x === null)) continue;
      for (const x of node.inputs) if (x.isDisposed) x.assertLive(`linearize through ${node.op}`);
      const def = opTable()[node.op] as OpDef<OpName>;
      if (!def.jvp) throw new ArgumentError(`op '${node.op}' has no tangent rule`, { op: 'linearize' });
      const composite = def.jvp === 'composite';
      if (composite) node.inputs.forEach((x, k) => ins[k] && (x.tangents ??= new Map()).set(level, ins[k]));
      try {
        const tangent = tangentOf(def, ins, node.inputs, t, node.attrs, level, outer);
        if (tangent) tangents.set(t, tangent);
      } finally {
        if (composite) for (const x of node.inputs) x.tangents?.delete(level);
      }
    }
    return tangents.get(output) ?? zerosLike(output);
  });
}
