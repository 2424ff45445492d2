/**
 * The Tensor: a strided view over reference-counted backend storage, plus the autograd fields (requiresGrad,
 * grad, the node that produced it, forward-mode tangents). Ops and methods live in engine/ops and
 * tensor-methods.ts; this file holds only identity, layout, lifetime and readback.
 */
import type { Backend, DeviceBuffer, KernelArg } from './backend.js';
import { type DType, type TypedArray, carriesGradient } from './dtype.js';
import { decodeF16 } from './half.js';
import { describeValue } from './describe-value.js';
import { ArgumentError, BackendError, DisposedError, EngineError, GradError, ShapeError } from './errors.js';
import { type Scope, Storage, retrack, setTensorCheck, track, untrack } from './memory.js';
import type { OpAttrs, OpName } from './ops/attrs.js';
import { type Layout, type Shape, contiguousStrides, isContiguous, numel, shapesEqual } from './shape.js';

/** How a tensor was produced, for reverse-mode autodiff. */
export interface GradNode {
  readonly op: OpName;
  readonly inputs: readonly Tensor[];
  readonly attrs: OpAttrs[OpName];
}

let nextId = 1;

/** An immutable copy of a, or a itself when it already is immutable (an op's output often reuses an input's shape). */
function frozenCopy(a: readonly number[]): readonly number[] {
  return Object.isFrozen(a) ? a : Object.freeze([...a]);
}

/**
 * Frozen contiguous strides per frozen shape. An op's output usually takes an input's shape (the same frozen array),
 * and building and freezing its strides again on every call was about a tenth of a small op's JS cost.
 */
const stridesOfShape = new WeakMap<Shape, readonly number[]>();
function contiguousStridesOf(shape: Shape): readonly number[] {
  // frozen here, as the constructor would freeze a copy of it otherwise
  if (!Object.isFrozen(shape)) return Object.freeze(contiguousStrides(shape));
  let strides = stridesOfShape.get(shape);
  if (!strides) stridesOfShape.set(shape, (strides = Object.freeze(contiguousStrides(shape))));
  return strides;
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: Shape;
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** @internal */ storage: Storage;
  /** @internal set by the dispatcher for outputs of recorded ops. */ node: GradNode | null = null;
  /** @internal forward-mode tangents keyed by JVP level. */ tangents: Map<number, Tensor> | null = null;
  /** @internal the tidy scope that owns it (memory.ts), or null. */ scope: Scope | null = null;
  private _requiresGrad = false;
  private _grad: Tensor | null = null;
  private _disposed = false;
  private _kernelArg: KernelArg | null = null;

  /** @internal use the creation functions or ops. */
  constructor(storage: Storage, layout: Layout, dtype: DType) {
    this.storage = storage;
    this.shape = frozenCopy(layout.shape);
    this.strides = frozenCopy(layout.strides);
    this.offset = layout.offset;
    this.dtype = dtype;
    track(this);
  }

  /** @internal a new tensor over fresh storage; `op` names what asked for it when the backend cannot provide it. */
  static allocate(backend: Backend, shape: Shape, dtype: DType, op = 'allocate'): Tensor {
    const n = numel(shape);
    let buffer: DeviceBuffer;
    try {
      buffer = backend.allocate(n, dtype);
    } catch (e) {
      // a host array past its length limit (RangeError), an addon's failed allocation: a typed error with the size
      if (e instanceof EngineError) throw e;
      const why = e instanceof Error ? e.message : String(e);
      throw new BackendError(`cannot allocate ${n} elements (${why})`, { op, shapes: [shape], dtypes: [dtype], backend: backend.name });
    }
    return new Tensor(new Storage(backend, buffer, n), { shape, strides: contiguousStridesOf(shape), offset: 0 }, dtype);
  }

  /**
   * @internal a view sharing `base`'s storage. The layout's arrays become the view's, frozen where they are: a view
   * op builds its layout for the view alone (copying it first made two arrays of garbage per view, and an EIT-P step
   * makes hundreds of views).
   */
  static view(base: Tensor, layout: Layout, dtype: DType = base.dtype): Tensor {
    base.storage.retain();
    Object.freeze(layout.shape);
    Object.freeze(layout.strides);
    return new Tensor(base.storage, layout, dtype);
  }

  get size(): number {
    return numel(this.shape);
  }
  get rank(): number {
    return this.shape.length;
  }
  get backend(): string {
    return this.storage.backend.name;
  }
  /** Its shape, strides and offset: the tensor itself, which holds them (one object fewer per tensor). */
  get layout(): Layout {
    return this;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }
  /**
   * @internal what a kernel reads of this tensor (buffer, dtype, layout), made once per storage: its layout is the
   * tensor, whose strides and offset change only with its storage (shareStorage).
   */
  get kernelArg(): KernelArg {
    const cached = this._kernelArg;
    if (cached && cached.buffer === this.storage.buffer) return cached;
    return (this._kernelArg = { buffer: this.storage.buffer, dtype: this.dtype, layout: this });
  }
  get isContiguous(): boolean {
    return isContiguous(this.layout);
  }
  /** A leaf is a tensor not produced by a recorded op; gradients accumulate into leaves. */
  get isLeaf(): boolean {
    return this.node === null;
  }

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(v: boolean) {
    if (!v && this.node) {
      throw new GradError('cannot clear requiresGrad on a tensor produced by an op; use stopGradient()', { shapes: [this.shape] });
    }
    // f16 carries gradients too: a cast to f16 of a weight, or an f16 matmul operand, passes its gradient back
    if (v && !carriesGradient(this.dtype)) {
      throw new GradError(`only float tensors can require gradients`, { shapes: [this.shape], dtypes: [this.dtype] });
    }
    this._requiresGrad = v;
  }

  get grad(): Tensor | null {
    return this._grad;
  }
  set grad(g: Tensor | null) {
    if (g && !shapesEqual(g.shape, this.shape)) {
      throw new ShapeError('gradient shape must equal the tensor shape', { op: 'grad', shapes: [this.shape, g.shape] });
    }
    this._grad = g;
  }

  /** Disposes the accumulated gradient and clears it. */
  zeroGrad(): void {
    this._grad?.dispose();
    this._grad = null;
  }

  /** @internal throws a clear error when a disposed tensor is used. */
  assertLive(op: string): void {
    if (this._disposed) {
      throw new DisposedError(`tensor #${this.id} was disposed and cannot be used`, {
        op,
        shapes: [this.shape],
        dtypes: [this.dtype],
        backend: this.backend,
      });
    }
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    untrack(this);
    this.storage.release();
    this.node = null;
    this.tangents = null;
    if (this._grad) {
      this._grad.dispose();
      this._grad = null;
    }
  }

  /**
   * @internal makes this tensor a view of `src`'s storage: src must be contiguous (any offset) with this tensor's
   * size, on the same backend. Storage is never written after creation, so sharing it is safe; src stays usable.
   */
  shareStorage(src: Tensor): void {
    if (!(src instanceof Tensor)) throw new ArgumentError(`takes a Tensor, got ${describeValue(src)}`, { op: 'assign' });
    if (!src.isContiguous || src.size !== this.size) {
      throw new BackendError('shareStorage needs a contiguous tensor of the same size', { op: 'assign', shapes: [this.shape, src.shape] });
    }
    if (src.storage.backend !== this.storage.backend) {
      throw new BackendError(`cannot assign a ${src.backend} tensor to a ${this.backend} tensor; copy it over with et.toBackend(t, name) first`, {
        op: 'assign',
        backend: this.backend,
      });
    }
    src.storage.retain();
    this.storage.release();
    this.storage = src.storage;
    (this as { strides: readonly number[] }).strides = Object.freeze(contiguousStrides(this.shape));
    (this as { offset: number }).offset = src.offset;
    retrack(this);
  }

  /** @internal replaces this tensor's storage by `src`'s (a contiguous tensor of the same size); src is consumed. */
  adoptStorage(src: Tensor): void {
    this.shareStorage(src);
    src.dispose();
  }

  /** A copy of the elements in row-major order (f16 tensors: a Float32Array of their values, never the bits). */
  async data(): Promise<TypedArray> {
    this.assertLive('data');
    const dense = this.denseOrCopy();
    try {
      const all = await dense.storage.backend.read(dense.storage.buffer, dense.dtype, dense.storage.numel);
      return hostValuesOf(dense.dtype, all.length === this.size ? all : all.slice(0, this.size));
    } finally {
      if (dense !== this) dense.dispose();
    }
  }

  /** Synchronous readback; only backends whose memory is host memory (cpu, native) support it. */
  dataSync(): TypedArray {
    this.assertLive('dataSync');
    const backend = this.storage.backend;
    if (!backend.readSync) {
      throw new BackendError('reads host memory (the cpu and native backends); use await t.data()', { op: 'dataSync', backend: backend.name });
    }
    const dense = this.denseOrCopy();
    try {
      const all = backend.readSync(dense.storage.buffer, dense.dtype, dense.storage.numel);
      return hostValuesOf(dense.dtype, all.length === this.size ? all.slice() : all.slice(0, this.size));
    } finally {
      if (dense !== this) dense.dispose();
    }
  }

  async item(): Promise<number> {
    if (this.size !== 1) throw new ShapeError('item() needs a tensor with exactly one element', { op: 'item', shapes: [this.shape] });
    return (await this.data())[0]!;
  }

  /** Nested arrays (a number for rank 0). */
  async array(): Promise<unknown> {
    const flat = Array.from(await this.data());
    const build = (dim: number, start: number): unknown => {
      if (dim === this.rank) return flat[start];
      const stride = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, start + i * stride));
    };
    return build(0, 0);
  }

  toString(): string {
    return `Tensor#${this.id}(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, backend=${this.backend}${this._disposed ? ', disposed' : ''})`;
  }

  /** A tensor whose storage holds exactly its elements from offset 0 (itself when already so). */
  private denseOrCopy(): Tensor {
    if (this.isContiguous && this.offset === 0 && this.storage.numel === this.size) return this;
    return copyToDense(this);
  }
}

/** What a read returns for data of dtype d read from storage: f16 bit patterns decoded to their f32 values. */
function hostValuesOf(d: DType, data: TypedArray): TypedArray {
  return d === 'f16' ? decodeF16(data as Uint16Array) : data;
}

setTensorCheck((v: unknown): v is Tensor => v instanceof Tensor);

let copyToDense: (t: Tensor) => Tensor = () => {
  throw new Error('engine not initialised');
};
/** @internal the dispatcher registers its contiguous-copy here (avoids an import cycle). */
export function setDenseCopy(f: (t: Tensor) => Tensor): void {
  copyToDense = f;
}

export type TensorLike = Tensor | number;
