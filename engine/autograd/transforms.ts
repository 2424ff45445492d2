/**
 * Functional transforms: grad, valueAndGrad, vjp (reverse mode) and jvp (forward mode). They compose: a grad of a
 * grad records its inner backward pass (double backward), and a jvp of a grad pushes tangents through the VJP ops
 * (Hessian-vector products).
 */
import { onesLike, zerosLike } from '../creation.js';
import { isFloat } from '../dtype.js';
import { ArgumentError, GradError, ShapeError } from '../errors.js';
import { describeValue } from '../describe-value.js';
import { shapesEqual } from '../shape.js';
import { Tensor } from '../tensor.js';
import { alias } from './alias.js';
import { computeGradients } from './backward.js';
import { withJvpLevel, withReverseTransform } from './grad-mode.js';
import { isRecorded, transformScope } from '../memory.js';

type TensorFn = (...args: Tensor[]) => Tensor;

export function assertTensorArgs(op: string, args: readonly unknown[]): asserts args is Tensor[] {
  if (!Array.isArray(args)) throw new ArgumentError(`takes an array of Tensors, got ${describeValue(args)}`, { op });
  args.forEach((a, i) => {
    if (!(a instanceof Tensor)) throw new ArgumentError(`argument ${i} must be a Tensor, got ${describeValue(a)}`, { op });
  });
}

/** The function a transform differentiates: untyped callers passing something else get the op's typed error. */
function assertFunction(op: string, f: unknown): void {
  if (typeof f !== 'function') throw new ArgumentError(`takes the function to differentiate first, got ${f === null ? 'null' : typeof f}`, { op });
}

function differentiated(op: string, args: readonly Tensor[], argnums: readonly number[]): Tensor[] {
  return args.map((a, i) => {
    if (!argnums.includes(i)) return a;
    if (!isFloat(a.dtype)) throw new GradError(`argument ${i} must be a float tensor to differentiate with respect to it`, { op, dtypes: [a.dtype] });
    return alias(a, { differentiate: true });
  });
}

function argnumList(op: string, argnums: number | readonly number[] | undefined, count: number): number[] {
  const list = argnums === undefined ? [0] : typeof argnums === 'number' ? [argnums] : [...argnums];
  for (const i of list) if (!Number.isInteger(i) || i < 0 || i >= count) throw new ArgumentError(`argnum ${i} is out of range for ${count} arguments`, { op });
  return list;
}

export interface GradOptions {
  /** Which arguments to differentiate: a number gives one gradient, an array gives an array. Default 0. */
  argnums?: number | readonly number[];
}

/** f at args, recorded, and its gradient(s) with respect to the argnums (one tensor, or an array for an array). */
function differentiate(f: TensorFn, opts: GradOptions, args: Tensor[]): { value: Tensor; grads: Tensor | Tensor[] } {
  assertTensorArgs('valueAndGrad', args);
  const argnums = argnumList('grad', opts.argnums, args.length);
  let inputs: Tensor[] = [];
  const out = withReverseTransform(() => {
    inputs = differentiated('grad', args, argnums);
    return f(...inputs);
  });
  if (!(out instanceof Tensor)) throw new GradError('the function must return a Tensor', { op: 'grad' });
  if (out.size !== 1 || !isFloat(out.dtype)) {
    throw new GradError('grad needs a function returning a scalar float tensor; use vjp for other outputs', { op: 'grad', shapes: [out.shape], dtypes: [out.dtype] });
  }
  const targets = argnums.map((i) => inputs[i]!);
  const found = out.requiresGrad ? computeGradients([out], [onesLike(out)], targets) : new Map<Tensor, Tensor>();
  const grads = targets.map((t) => found.get(t) ?? zerosLike(t));
  return { value: out, grads: typeof opts.argnums === 'object' ? grads : grads[0]! };
}

const anyRecorded = (g: Tensor | Tensor[]): boolean => (Array.isArray(g) ? g : [g]).some(isRecorded);

/** Returns (...args) => [f(...args), gradient(s)]; f must return a scalar float tensor. */
export function valueAndGrad(f: TensorFn, opts: GradOptions = {}) {
  assertFunction('grad', f);
  return (...args: Tensor[]): [Tensor, Tensor | Tensor[]] =>
    transformScope(
      (): [Tensor, Tensor | Tensor[]] => {
        const { value, grads } = differentiate(f, opts, args);
        return [value, grads];
      },
      ([value, grads], madeHere) => {
        if (anyRecorded(grads)) return true;
        // the value's graph is freed with the forward pass: hand it back as a plain value
        if (madeHere(value) && value.node) {
          value.node = null;
          value.requiresGrad = false;
        }
        return false;
      },
    );
}

/** Returns (...args) => gradient(s) of the scalar f. */
export function grad(f: TensorFn, opts: GradOptions = {}) {
  assertFunction('grad', f);
  return (...args: Tensor[]): Tensor | Tensor[] => transformScope(() => differentiate(f, opts, args).grads, anyRecorded);
}

/** Runs f and returns its output and a function from an output cotangent to the cotangent of every primal. */
export function vjp(f: TensorFn, ...primals: Tensor[]): [Tensor, (cotangent: Tensor) => Tensor[]] {
  const { output, pullback } = recordForward('vjp', f, primals);
  return [output, pullback];
}

/** Tangents are tensors, one per primal, each of its primal's shape and dtype (a float one). */
export function assertTangents(op: string, primals: readonly Tensor[], tangents: readonly unknown[]): asserts tangents is Tensor[] {
  assertTensorArgs(op, tangents);
  if (primals.length !== tangents.length) throw new ArgumentError(`${primals.length} primals but ${tangents.length} tangents`, { op });
  primals.forEach((p, i) => {
    const t = tangents[i]!;
    if (!shapesEqual(p.shape, t.shape) || p.dtype !== t.dtype) {
      throw new ShapeError(`tangent ${i} must match its primal's shape and dtype`, { op, shapes: [p.shape, t.shape], dtypes: [p.dtype, t.dtype] });
    }
    if (!isFloat(p.dtype)) throw new GradError(`primal ${i} must be a float tensor`, { op, dtypes: [p.dtype] });
  });
}

/** A recorded forward pass of f at primals: its output, the aliases it was called with, and the pullback. */
export interface RecordedForward {
  readonly output: Tensor;
  readonly inputs: readonly Tensor[];
  readonly pullback: (cotangent: Tensor) => Tensor[];
}

/** Runs f once with every primal differentiated and its ops recorded (vjp and linearize share it). */
export function recordForward(op: string, f: TensorFn, primals: readonly Tensor[]): RecordedForward {
  assertFunction(op, f);
  assertTensorArgs(op, primals);
  let inputs: Tensor[] = [];
  const out = withReverseTransform(() => {
    inputs = differentiated(
      op,
      primals,
      primals.map((_, i) => i),
    );
    return f(...inputs);
  });
  if (!(out instanceof Tensor)) throw new GradError('the function must return a Tensor', { op });
  const pullback = (cotangent: Tensor): Tensor[] => {
    if (!(cotangent instanceof Tensor) || !shapesEqual(cotangent.shape, out.shape) || cotangent.dtype !== out.dtype) {
      throw new ShapeError('the cotangent must match the output shape and dtype', {
        op,
        shapes: [out.shape, cotangent?.shape ?? []],
        dtypes: [out.dtype, cotangent?.dtype ?? '?'],
      });
    }
    const found = out.requiresGrad ? computeGradients([out], [cotangent], inputs) : new Map<Tensor, Tensor>();
    return inputs.map((t) => found.get(t) ?? zerosLike(t));
  };
  return { output: out, inputs, pullback };
}

/** Forward mode: [f(...primals), J·tangents] in one pass, without building a reverse graph for the tangents. */
export function jvp(f: TensorFn, primals: readonly Tensor[], tangents: readonly Tensor[]): [Tensor, Tensor] {
  assertFunction('jvp', f);
  assertTensorArgs('jvp', primals);
  assertTangents('jvp', primals, tangents);
  let level = 0;
  return transformScope(
    () =>
      withJvpLevel((l): [Tensor, Tensor] => {
        level = l;
        const inputs = primals.map((p, i) => {
          const a = alias(p, { differentiate: false });
          (a.tangents ??= new Map()).set(level, tangents[i]!);
          return a;
        });
        const out = f(...inputs);
        if (!(out instanceof Tensor)) throw new GradError('the function must return a Tensor', { op: 'jvp' });
        const tangent = out.tangents?.get(level) ?? zerosLike(out);
        return [out, tangent];
      }),
    ([out, tangent], madeHere) => {
      // this level is over: its tangent is returned, and out no longer carries it
      if (madeHere(out)) out.tangents?.delete(level);
      return isRecorded(out) || isRecorded(tangent);
    },
  );
}
