/**
 * The single entry point through which every op runs: validate, infer, run the kernel (or build the view),
 * record the autodiff node, and propagate forward-mode tangents.
 */
import type { KernelArg, KernelOpName } from './backend.js';
import { activeJvpLevels, isGradEnabled, withOnlyLevels } from './autograd/grad-mode.js';
import { ArgumentError, BackendError, EngineError } from './errors.js';
import type { OpAttrs, OpName } from './ops/attrs.js';
import { opTable } from './ops/table.js';
import type { OpDef } from './ops/op-def.js';
import { Tensor, setDenseCopy } from './tensor.js';

const kernelArg = (t: Tensor): KernelArg => t.kernelArg;

/** inputs.some(t => t.requiresGrad) without a closure per call (apply runs once per op). */
function anyRequiresGrad(inputs: readonly Tensor[]): boolean {
  for (let i = 0; i < inputs.length; i++) if (inputs[i]!.requiresGrad) return true;
  return false;
}

function errorContext(op: string, inputs: readonly Tensor[]) {
  return {
    op,
    shapes: inputs.map((t) => t.shape),
    dtypes: inputs.map((t) => t.dtype),
    backend: inputs[0]?.backend,
  };
}

export function apply<K extends OpName>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K]): Tensor {
  const def = opTable()[op] as OpDef<K>;
  if (def.arity !== 'variadic' && inputs.length !== def.arity) {
    throw new EngineError(`expects ${def.arity} inputs, got ${inputs.length}`, { op });
  }
  if (inputs.length === 0) throw new EngineError('needs at least one input', { op });
  // index loops: apply runs once per op, and a closure or an iterator per call showed in allocation profiles
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i];
    if (!(t instanceof Tensor)) throw new ArgumentError(`input ${i} must be a Tensor, got ${t === null ? 'null' : typeof t}`, { op });
    t.assertLive(op);
  }
  const backend = inputs[0]!.storage.backend;
  for (let i = 1; i < inputs.length; i++) {
    if (inputs[i]!.storage.backend !== backend) {
      throw new BackendError('inputs live on different backends; copy one over with et.toBackend(t, name) first', {
        ...errorContext(op, inputs),
        backend: inputs.map((x) => x.backend).join(' vs '),
      });
    }
  }
  const meta = def.infer(inputs, attrs);
  let out: Tensor;
  if (def.view) {
    out = Tensor.view(inputs[0]!, def.view(inputs[0]!, attrs), meta.dtype);
  } else {
    const kernel = backend.kernels[op as KernelOpName];
    if (!kernel) {
      throw new BackendError(`no kernel for this op on backend '${backend.name}'`, errorContext(op, inputs));
    }
    if (!backend.dtypes.includes(meta.dtype)) {
      throw new BackendError(`backend '${backend.name}' does not support dtype ${meta.dtype}`, errorContext(op, inputs));
    }
    out = Tensor.allocate(backend, meta.shape, meta.dtype, op);
    try {
      (kernel as (i: KernelArg[], o: KernelArg, a: OpAttrs[K]) => void)(inputs.map(kernelArg), kernelArg(out), attrs);
    } catch (e) {
      out.dispose();
      if (e instanceof EngineError) throw e;
      throw new BackendError(`kernel failed: ${e instanceof Error ? e.message : String(e)}`, errorContext(op, inputs));
    }
  }
  if (def.vjp && isGradEnabled() && anyRequiresGrad(inputs)) {
    out.requiresGrad = true;
    // fixed-arity ops get fresh input arrays from their wrappers; a variadic op's may be the caller's own list
    out.node = { op, inputs: def.arity === 'variadic' ? [...inputs] : inputs, attrs };
  }
  if (activeJvpLevels().length > 0) propagateTangents(def, inputs, out, attrs);
  return out;
}

/** Forward mode: for each active level whose tangents reach this op, compute the output tangent. */
function propagateTangents<K extends OpName>(def: OpDef<K>, inputs: readonly Tensor[], out: Tensor, attrs: OpAttrs[K]): void {
  const levels = activeJvpLevels(); // never changed in place (grad-mode.ts): no copy needed while rules run
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    const tangents = inputs.map((t) => t.tangents?.get(level) ?? null);
    if (tangents.every((t) => t === null) || !def.jvp) continue;
    const tangent = tangentOf(def, tangents, inputs, out, attrs, level, levels.filter((l) => l !== level));
    if (!tangent) continue;
    (out.tangents ??= new Map()).set(level, tangent);
  }
}

/**
 * The output tangent of one op at JVP level `level`, given its inputs' tangents (null: zero). The rule runs with
 * only `others` active, so tangents of this level get none of their own. A 'composite' rule differentiates the
 * op's reference: the inputs must carry their tangents at `level` while it runs (dispatch's inputs do; a walk over a
 * recorded graph attaches them for the call, see linearize).
 */
export function tangentOf<K extends OpName>(
  def: OpDef<K>,
  tangents: readonly (Tensor | null)[],
  inputs: readonly Tensor[],
  out: Tensor,
  attrs: OpAttrs[K],
  level: number,
  others: readonly number[],
): Tensor | null {
  const jvp = def.jvp;
  if (!jvp) return null;
  if (jvp !== 'composite') return withOnlyLevels(others, () => jvp(tangents, { inputs, output: out, attrs }));
  // Differentiate the reference with this level active and keep its tangent. The other levels stay active too, so
  // the tangent carries theirs (nested forward mode: d/dw of J_x f · v through logsumexp was 0 without them).
  const composite = def.composite;
  if (!composite) throw new EngineError('jvp is "composite" but the op has no composite', { op: 'jvp' });
  return withOnlyLevels([...others, level], () => {
    const ref = composite(inputs, attrs);
    const tan = ref.tangents?.get(level);
    ref.tangents?.delete(level);
    // A tangent with a recorded graph may read ref (tanh's and exp's JVPs use their output), so ref then lives
    // on like the composite's other intermediates (an enclosing tidy frees it); otherwise it is freed now.
    if (!tan?.requiresGrad) ref.dispose();
    return tan!;
  });
}

setDenseCopy((t) => apply('contiguous', [t], {}));
