/**
 * Optimizer: the base class. It owns the bookkeeping every optimizer shares: which parameters it updates,
 * per-parameter step counts (a parameter whose grad is null is skipped and its count does not advance, as in
 * PyTorch, so Adam's bias correction stays per parameter), state tensors, zeroGrad and (de)serialisation.
 * Subclasses only write `update`, the math of one parameter.
 */
import * as et from '../core.js';
import { paramList } from './param-list.js';

type Tensor = et.Tensor;

/** The JSON half of a state dict. */
export interface OptimizerMeta {
  type: string;
  lr: number;
  stepCount: number;
  /** Per-parameter step counts, aligned with `params`. */
  paramSteps: number[];
  /** The constructor hyperparameters, for the record (loading does not change them). */
  hyper: Record<string, number | boolean | number[]>;
}

/**
 * `meta` is plain JSON; `tensors` holds state tensors keyed "paramIndex.name" (e.g. "0.expAvg"), the layout a
 * safetensors checkpoint wants. The tensors are the optimizer's live state: copy them if you mutate them.
 */
export interface OptimizerStateDict {
  meta: OptimizerMeta;
  tensors: Record<string, Tensor>;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export abstract class Optimizer {
  readonly params: readonly Tensor[];
  lr: number;
  /** Calls to step() so far. */
  stepCount = 0;
  protected readonly paramSteps: number[];
  /** Per-parameter state tensors (kept outside every tidy scope), created lazily on a parameter's first update. */
  protected readonly state: Map<number, Record<string, Tensor>> = new Map();

  /** The name written into state dicts, checked on load. */
  abstract get type(): string;
  protected abstract hyper(): Record<string, number | boolean | number[]>;
  /** One parameter's update. Runs under noGrad inside a tidy: temporaries are freed, state must be kept. */
  protected abstract update(index: number, param: Tensor, grad: Tensor, step: number): void;

  constructor(params: Iterable<Tensor>, lr: number) {
    const op = this.constructor.name;
    this.params = paramList(params, op);
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new et.ArgumentError(`lr must be a finite number >= 0, got ${lr}`, { op });
    if (this.params.length === 0) throw new et.ArgumentError(`got an empty parameter list`, { op });
    if (new Set(this.params).size !== this.params.length) {
      throw new et.ArgumentError(`a parameter appears more than once in params`, { op });
    }
    this.lr = lr;
    this.paramSteps = this.params.map(() => 0);
  }

  step(): void {
    this.stepCount++;
    et.tidy(() =>
      et.noGrad(() => {
        this.params.forEach((p, i) => {
          const g = p.grad;
          if (g === null) return;
          if (g.shape.length !== p.shape.length || g.shape.some((d, j) => d !== p.shape[j])) {
            throw new et.ShapeError(`params[${i}] has shape ${fmt(p.shape)} but its grad has shape ${fmt(g.shape)}`, {
              op: `${this.constructor.name}.step`,
              shapes: [p.shape, g.shape],
            });
          }
          this.update(i, p, g, ++this.paramSteps[i]!);
        });
      }),
    );
  }

  /** Disposes every parameter's grad and sets it to null (so the next backward starts fresh). */
  zeroGrad(): void {
    for (const p of this.params) {
      const g = p.grad;
      if (g === null) continue;
      g.dispose();
      p.grad = null;
    }
  }

  /** A state tensor of parameter i, created (zeros like the parameter, kept) on first use. */
  protected stateTensor(i: number, name: string): Tensor {
    let s = this.state.get(i);
    if (!s) this.state.set(i, (s = {}));
    return (s[name] ??= et.keep(et.zerosLike(this.params[i]!)));
  }

  /**
   * Makes targets[k] a view of packed[k] (a fused step's output [k, ...shape]), contiguous at offset k·n of one
   * buffer: the fused kernels' results are adopted without copies.
   */
  protected adoptPacked(packed: Tensor, targets: readonly Tensor[]): void {
    const shape = targets[0]!.shape;
    targets.forEach((t, k) => {
      const row = packed.shape[0] === 1 ? packed : et.slice(packed, [k, ...shape.map(() => 0)], [k + 1, ...shape]);
      t.shareStorage(et.reshape(row, shape));
    });
  }

  protected hasState(i: number, name: string): boolean {
    return this.state.get(i)?.[name] !== undefined;
  }

  stateDict(): OptimizerStateDict {
    const tensors: Record<string, Tensor> = {};
    for (const [i, s] of this.state) for (const [name, t] of Object.entries(s)) tensors[`${i}.${name}`] = t;
    return {
      meta: { type: this.type, lr: this.lr, stepCount: this.stepCount, paramSteps: [...this.paramSteps], hyper: this.hyper() },
      tensors,
    };
  }

  /**
   * Restores lr, step counts and state tensors (copied, so the dict may be disposed afterwards). Validates
   * everything first: on error the optimizer is unchanged.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    const op = `${this.constructor.name}.loadStateDict`;
    const { meta, tensors } = dict;
    if (meta.type !== this.type) throw new et.ArgumentError(`state dict is for ${meta.type}, not ${this.type}`, { op });
    if (meta.paramSteps.length !== this.params.length) {
      throw new et.ArgumentError(`state dict has ${meta.paramSteps.length} parameters, the optimizer ${this.params.length}`, { op });
    }
    const entries: [number, string, Tensor][] = [];
    for (const [key, t] of Object.entries(tensors)) {
      const m = /^(\d+)\.(.+)$/.exec(key);
      const i = m ? Number(m[1]) : -1;
      const p = this.params[i];
      if (!m || !p) throw new et.ArgumentError(`unexpected state tensor "${key}"`, { op });
      if (t.shape.length !== p.shape.length || t.shape.some((d, j) => d !== p.shape[j])) {
        throw new et.ShapeError(`state tensor "${key}" has shape ${fmt(t.shape)} but params[${i}] has shape ${fmt(p.shape)}`, {
          op,
          shapes: [p.shape, t.shape],
        });
      }
      if (t.dtype !== p.dtype) {
        throw new et.DTypeError(`state tensor "${key}" has dtype ${t.dtype} but params[${i}] has dtype ${p.dtype}`, {
          op,
          dtypes: [p.dtype, t.dtype],
        });
      }
      entries.push([i, m[2]!, t]);
    }
    // Copy first, then free the old state: the dict may hold this optimizer's own tensors.
    const fresh = new Map<number, Record<string, Tensor>>();
    et.tidy(() =>
      et.noGrad(() => {
        for (const [i, name, t] of entries) {
          const copy = et.keep(et.zerosLike(this.params[i]!));
          copy.assign(t);
          let s = fresh.get(i);
          if (!s) fresh.set(i, (s = {}));
          s[name] = copy;
        }
      }),
    );
    this.disposeState();
    for (const [i, s] of fresh) this.state.set(i, s);
    this.lr = meta.lr;
    this.stepCount = meta.stepCount;
    meta.paramSteps.forEach((n, i) => (this.paramSteps[i] = n));
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const t of Object.values(s)) t.dispose();
    this.state.clear();
  }

  /** Frees the state tensors (the parameters are not touched). */
  dispose(): void {
    this.disposeState();
  }
}
