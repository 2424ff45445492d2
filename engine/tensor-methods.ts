/**
 * Method forms of the ops (`a.add(b)`, `x.sum(1)`), attached to Tensor's prototype here so that tensor.ts does
 * not depend on the op modules.
 */
import { tensorArg } from './args.js';
import { backward, type GradientOptions } from './autograd/backward.js';
import { noGrad } from './autograd/grad-mode.js';
import { apply } from './dispatch.js';
import type { DType } from './dtype.js';
import { ShapeError, DTypeError } from './errors.js';
import * as b from './ops/binary.js';
import * as ix from './ops/indexing.js';
import { matmul } from './ops/matmul.js';
import * as nn from './ops/nn.js';
import * as r from './ops/reduce.js';
import * as s from './ops/structure.js';
import * as u from './ops/unary.js';
import * as v from './ops/views.js';
import { shapesEqual } from './shape.js';
import { Tensor, type TensorLike } from './tensor.js';

type AxisArg = r.AxisArg;

declare module './tensor.js' {
  interface Tensor {
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    gelu(opts?: { approximate?: 'none' | 'tanh' }): Tensor;
    abs(): Tensor;
    square(): Tensor;
    erf(): Tensor;
    sign(): Tensor;
    add(o: TensorLike): Tensor;
    sub(o: TensorLike): Tensor;
    mul(o: TensorLike): Tensor;
    div(o: TensorLike): Tensor;
    pow(o: TensorLike): Tensor;
    maximum(o: TensorLike): Tensor;
    minimum(o: TensorLike): Tensor;
    eq(o: TensorLike): Tensor;
    ne(o: TensorLike): Tensor;
    lt(o: TensorLike): Tensor;
    le(o: TensorLike): Tensor;
    gt(o: TensorLike): Tensor;
    ge(o: TensorLike): Tensor;
    sum(axis?: AxisArg, keepdims?: boolean): Tensor;
    mean(axis?: AxisArg, keepdims?: boolean): Tensor;
    max(axis?: AxisArg, keepdims?: boolean): Tensor;
    logsumexp(axis?: AxisArg, keepdims?: boolean): Tensor;
    var(axis?: AxisArg, keepdims?: boolean, correction?: number): Tensor;
    norm(axis?: AxisArg, keepdims?: boolean): Tensor;
    argmax(axis?: number): Tensor;
    matmul(o: Tensor): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
    reshape(shape: readonly number[]): Tensor;
    transpose(a0?: number, a1?: number): Tensor;
    permute(axes: readonly number[]): Tensor;
    slice(starts: readonly number[], ends?: readonly (number | undefined)[]): Tensor;
    expand(shape: readonly number[]): Tensor;
    squeeze(axis?: number | readonly number[]): Tensor;
    unsqueeze(axis: number): Tensor;
    flatten(): Tensor;
    contiguous(): Tensor;
    pad(widths: readonly (readonly [number, number])[]): Tensor;
    cast(dtype: DType): Tensor;
    stopGradient(): Tensor;
    detach(): Tensor;
    split(sizesOrCount: number | readonly number[], axis?: number): Tensor[];
    embedding(indices: Tensor): Tensor;
    backward(seed?: Tensor, opts?: GradientOptions): void;
    /** Replaces this tensor's values with v's (same shape and dtype). Not recorded by autograd. */
    assign(v: Tensor): this;
    /** A copy with its own storage. */
    clone(): Tensor;
  }
}

const P = Tensor.prototype;
for (const name of ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'sigmoid', 'relu', 'abs', 'square', 'erf', 'sign'] as const) {
  P[name] = function (this: Tensor) {
    return u[name](this);
  };
}
for (const name of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
  P[name] = function (this: Tensor, o: TensorLike) {
    return b[name](this, o);
  };
}
for (const name of ['sum', 'mean', 'max', 'logsumexp', 'norm'] as const) {
  P[name] = function (this: Tensor, axis?: AxisArg, keepdims?: boolean) {
    return r[name](this, axis, keepdims);
  };
}
P.gelu = function (opts) {
  return u.gelu(this, opts);
};
P.var = function (axis, keepdims, correction) {
  return r.variance(this, axis, keepdims, correction);
};
P.argmax = function (axis) {
  return r.argmax(this, axis);
};
P.matmul = function (o) {
  return matmul(this, o);
};
P.softmax = function (axis) {
  return nn.softmax(this, axis);
};
P.logSoftmax = function (axis) {
  return nn.logSoftmax(this, axis);
};
P.reshape = function (shape) {
  return v.reshape(this, shape);
};
P.transpose = function (a0, a1) {
  return v.transpose(this, a0, a1);
};
P.permute = function (axes) {
  return v.permute(this, axes);
};
P.slice = function (starts, ends) {
  return v.slice(this, starts, ends);
};
P.expand = function (shape) {
  return v.expand(this, shape);
};
P.squeeze = function (axis) {
  return v.squeeze(this, axis);
};
P.unsqueeze = function (axis) {
  return v.unsqueeze(this, axis);
};
P.flatten = function () {
  return v.flatten(this);
};
P.contiguous = function () {
  return v.contiguous(this);
};
P.pad = function (widths) {
  return s.pad(this, widths);
};
P.cast = function (dtype) {
  return v.cast(this, dtype);
};
P.stopGradient = function () {
  return v.stopGradient(this);
};
P.detach = P.stopGradient;
P.split = function (sizesOrCount, axis) {
  return s.split(this, sizesOrCount, axis);
};
P.embedding = function (indices) {
  return ix.embedding(this, indices);
};
P.backward = function (seed, opts) {
  backward(this, seed, opts);
};
P.clone = function () {
  return apply('contiguous', [this], {});
};
P.assign = function (src) {
  this.assertLive('assign');
  tensorArg(src, 'assign', 'src').assertLive('assign');
  if (!shapesEqual(src.shape, this.shape)) throw new ShapeError('assign needs equal shapes', { op: 'assign', shapes: [this.shape, src.shape] });
  if (src.dtype !== this.dtype) throw new DTypeError('assign needs equal dtypes', { op: 'assign', dtypes: [this.dtype, src.dtype] });
  // A dense src is shared (storage is immutable); a strided view, or one that would pin a larger buffer, is copied.
  if (src.isContiguous && src.offset === 0 && src.storage.numel === src.size && src.storage.backend === this.storage.backend) {
    this.shareStorage(src);
    return this;
  }
  const copy = noGrad(() => apply('contiguous', [src], {}));
  this.adoptStorage(copy);
  return this;
};
