/**
 * Reverse mode. Walks the recorded graph in reverse topological order (an explicit stack, no recursion, so deep
 * graphs such as long RNN unrolls cannot overflow the call stack) and applies each op's VJP.
 */
import { optionsArg, tensorArg } from '../args.js';
import { onesLike, zerosLike } from '../creation.js';
import { isFloat } from '../dtype.js';
import { GradError } from '../errors.js';
import { add } from '../ops/binary.js';
import { cast } from '../ops/views.js';
import { opTable } from '../ops/table.js';
import { type OpCtx, type OpDef, wantsCotangent } from '../ops/op-def.js';
import type { OpAttrs, OpName } from '../ops/attrs.js';
import { shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { alias } from './alias.js';
import { insideReverseTransform, withGradMode, withReverseTransform } from './grad-mode.js';
import { keep } from '../memory.js';
import { apply } from '../dispatch.js';
import { type SlicePiece, combineSlicePieces } from './slice-cotangents.js';

const contiguousCopy = (t: Tensor): Tensor => apply('contiguous', [t], {});

/** Tensors reachable from the roots through recorded nodes, inputs before outputs. */
export function topoOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // a depth-first walk with two parallel stacks (tensor, expanded?): a [tensor, flag] pair per push was the
  // walk's main allocation, and it runs once per backward pass over graphs of a thousand tensors
  const stack: Tensor[] = [...roots];
  const expanded: boolean[] = roots.map(() => false);
  while (stack.length) {
    const t = stack.pop()!;
    if (expanded.pop()) {
      order.push(t);
      continue;
    }
    if (visited.has(t)) continue;
    visited.add(t);
    stack.push(t);
    expanded.push(true);
    const inputs = t.node?.inputs;
    if (!inputs) continue;
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]!;
      if (input.requiresGrad && !visited.has(input)) {
        stack.push(input);
        expanded.push(false);
      }
    }
  }
  return order;
}

/** Tensors in `order` from which some target is reachable (only their cotangents matter). */
function relevantTo(order: readonly Tensor[], targets: ReadonlySet<Tensor> | null): Set<Tensor> | null {
  if (!targets) return null;
  const relevant = new Set<Tensor>();
  for (const t of order) {
    if (targets.has(t) || t.node?.inputs.some((i) => relevant.has(i))) relevant.add(t);
  }
  return relevant;
}

/**
 * The VJP of an op declared `vjp: 'composite'` (fused backward ops: a double backward through them is rare and only
 * needs to be right): its composite reference is recorded on aliases of the wanted float inputs and differentiated,
 * recorded in turn when this pass is, so it composes further. Integer inputs (class targets) get no cotangent.
 */
function compositeVjp(def: OpDef<OpName>, g: Tensor, c: OpCtx<OpName>): (Tensor | null)[] {
  const leaves = new Map<number, Tensor>();
  const out = withReverseTransform(() => {
    const inputs = c.inputs.map((x, i) => {
      if (!isFloat(x.dtype) || !wantsCotangent(c, i)) return x;
      const leaf = alias(x, { differentiate: true });
      leaves.set(i, leaf);
      return leaf;
    });
    return def.composite!(inputs, c.attrs);
  });
  const found = out.requiresGrad ? computeGradients([out], [g], [...leaves.values()]) : new Map<Tensor, Tensor>();
  return c.inputs.map((x, i) => {
    const leaf = leaves.get(i);
    return leaf ? (found.get(leaf) ?? zerosLike(x)) : null;
  });
}

export interface GradientOptions {
  /** Record the backward pass itself, so its results can be differentiated again. */
  createGraph?: boolean;
}

/**
 * Cotangents of `targets` (or of every reachable leaf when targets is null) for the given roots and seeds.
 * Returns the map from tensor to its total cotangent.
 */
/** a + b for two gradients of one tensor. f16 (a storage dtype, no arithmetic) sums in f32 and rounds once. */
function addGradients(a: Tensor, b: Tensor): Tensor {
  return a.dtype === 'f16' ? cast(add(cast(a, 'f32'), cast(b, 'f32')), 'f16') : add(a, b);
}

/** The one slice piece that is t's whole cotangent, when t's op has a VJP for such pieces (OpDef.vjpOfSlice). */
function pieceVjpCandidate(t: Tensor, list: readonly SlicePiece[] | undefined, direct: boolean): SlicePiece | null {
  if (direct || !list || list.length !== 1 || !t.node) return null;
  return (opTable()[t.node.op] as OpDef<OpName>).vjpOfSlice ? list[0]! : null;
}

export function computeGradients(
  roots: readonly Tensor[],
  seeds: readonly Tensor[],
  targets: readonly Tensor[] | null,
  opts: GradientOptions = {},
): Map<Tensor, Tensor> {
  const createGraph = opts.createGraph ?? insideReverseTransform();
  const order = topoOrder(roots);
  const targetSet = targets ? new Set(targets) : null;
  const relevant = relevantTo(order, targetSet);
  const grads = new Map<Tensor, Tensor>();
  const accumulate = (t: Tensor, g: Tensor) => {
    const prev = grads.get(t);
    grads.set(t, prev ? addGradients(prev, g) : g);
  };
  // slice VJPs' cotangents per input, combined once every consumer of the input has been visited
  const pieces = new Map<Tensor, SlicePiece[]>();
  const settle = (t: Tensor) => {
    const list = pieces.get(t);
    if (!list) return;
    pieces.delete(t);
    accumulate(t, combineSlicePieces(t.shape, list, addGradients, t.strides));
  };
  roots.forEach((r, i) => accumulate(r, seeds[i]!));
  withGradMode(createGraph, () => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const node = t.node;
      // a target's own cotangent is part of the answer: it is combined, never bypassed
      const only = targetSet?.has(t) ? null : pieceVjpCandidate(t, pieces.get(t), grads.has(t));
      if (!only) settle(t);
      const g = grads.get(t);
      if (!node || (!g && !only)) continue;
      if (relevant && !relevant.has(t)) continue;
      // the message only when it is needed: building it for every input of every node showed in profiles
      for (const input of node.inputs) if (input.isDisposed) input.assertLive(`backward through ${node.op}`);
      if (node.op === 'slice') {
        if (!g) continue; // (only a piece for an op with vjpOfSlice comes without g, and slice has none)
        const input = node.inputs[0]!;
        if (input.requiresGrad && (!relevant || relevant.has(input))) {
          const { starts, ends } = node.attrs as OpAttrs['slice'];
          const list = pieces.get(input);
          if (list) list.push({ g, starts, ends });
          else pieces.set(input, [{ g, starts, ends }]);
        }
        continue;
      }
      const def = opTable()[node.op] as OpDef<OpName>;
      // with targets, a VJP skips the cotangents that lead to none of them (a weight's, when only the input's is asked for)
      const wanted = relevant ? node.inputs.map((input) => input.requiresGrad && relevant.has(input)) : undefined;
      const c = { inputs: node.inputs, output: t, attrs: node.attrs, ...(wanted && { wanted }) };
      // t used through one slice only: its op's rule for that slice's piece, when it has one, else the padded piece
      let inputGrads = only ? (def.vjpOfSlice?.(only, c) ?? null) : null;
      if (inputGrads) pieces.delete(t);
      else {
        if (only) settle(t);
        inputGrads = def.vjp === 'composite' ? compositeVjp(def, grads.get(t)!, c) : def.vjp!(grads.get(t)!, c);
      }
      node.inputs.forEach((input, k) => {
        const gi = inputGrads[k];
        if (!gi || !input.requiresGrad) return;
        if (relevant && !relevant.has(input)) return;
        if (!shapesEqual(gi.shape, input.shape)) {
          throw new GradError(`VJP produced a gradient of the wrong shape for input ${k}`, { op: node.op, shapes: [input.shape, gi.shape] });
        }
        accumulate(input, gi);
      });
    }
    for (const t of [...pieces.keys()]) settle(t);
  });
  return grads;
}

/**
 * t.backward(): accumulates d(root)/d(leaf) into `.grad` of every leaf that requires grad. A non-scalar root
 * needs an explicit seed of its shape.
 */
export function backward(root: Tensor, seed?: Tensor, options?: GradientOptions): void {
  root.assertLive('backward');
  if (seed !== undefined && seed !== null) tensorArg(seed, 'backward', 'the seed gradient');
  const opts = optionsArg(options, 'backward');
  if (!root.requiresGrad) {
    throw new GradError('the tensor does not require grad: no input of the computation had requiresGrad set', {
      op: 'backward',
      shapes: [root.shape],
      backend: root.backend,
    });
  }
  if (!seed && root.size !== 1) {
    throw new GradError('backward() of a non-scalar needs a seed gradient of the same shape', { op: 'backward', shapes: [root.shape] });
  }
  if (seed && !shapesEqual(seed.shape, root.shape)) {
    throw new GradError('the seed gradient must have the shape of the tensor', { op: 'backward', shapes: [root.shape, seed.shape] });
  }
  const grads = computeGradients([root], [seed ?? onesLike(root)], null, opts);
  const owned = new Set<Tensor>();
  for (const [t, g] of grads) {
    if (!t.isLeaf) continue;
    // Leaf gradients belong to the leaf, not to any tidy scope: they live until zeroGrad or dispose. A VJP may
    // hand the same tensor to several inputs (add), and the seed belongs to the caller: those are copied.
    const prev = t.grad;
    const fresh = prev ? addGradients(prev, g) : owned.has(g) || g === seed ? contiguousCopy(g) : g;
    owned.add(fresh);
    t.grad = keep(fresh);
    prev?.dispose();
  }
}
