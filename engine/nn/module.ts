/**
 * Module: the base class of every layer. Parameters and submodules are discovered from the object's own fields
 * (like PyTorch's __setattr__ registration, but without hooks): a field holding a Tensor with requiresGrad is a
 * parameter, a field holding a Module (or an array of them) is a submodule. Field order gives parameter order,
 * so the order is stable and follows the constructor.
 */
import * as et from '../core.js';

type Tensor = et.Tensor;

/** Any module, whatever its forward signature. */
export type AnyModule = Module<any[], any>;

export interface LoadStateDictOptions {
  /** When true (default), keys missing from the dict or unknown to the module are errors. */
  strict?: boolean;
}

function isTensor(v: unknown): v is Tensor {
  return v instanceof et.Tensor;
}

function isParameter(v: unknown): v is Tensor {
  return isTensor(v) && v.requiresGrad;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export abstract class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** Training mode (dropout active). Set through train()/eval() so children follow. */
  training = true;

  abstract forward(...args: In): Out;

  /**
   * The (name, value) pairs scanned for parameters and submodules. Defaults to the own enumerable fields in
   * definition order; containers override it to name their children by index (Sequential's "0.weight").
   */
  protected members(): [string, unknown][] {
    return Object.entries(this).filter(([k]) => k !== 'training');
  }

  /** Direct submodules with their names; array elements are named "field.i". */
  namedChildren(): [string, AnyModule][] {
    const out: [string, AnyModule][] = [];
    for (const [name, v] of this.members()) {
      if (v instanceof Module) out.push([name, v]);
      else if (Array.isArray(v)) v.forEach((m, i) => m instanceof Module && out.push([`${name}.${i}`, m]));
    }
    return out;
  }

  /**
   * Every parameter with its dotted path, in field order. A tensor reachable twice (tied weights, a shared
   * submodule) is listed once under its first name, so optimizers never update it twice.
   */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    this.collect('', out, new Set(), new Set());
    return out;
  }

  private collect(prefix: string, out: [string, Tensor][], seenTensors: Set<Tensor>, seenModules: Set<AnyModule>): void {
    if (seenModules.has(this)) return;
    seenModules.add(this);
    const addParam = (name: string, t: Tensor): void => {
      if (seenTensors.has(t)) return;
      seenTensors.add(t);
      out.push([name, t]);
    };
    for (const [name, v] of this.members()) {
      if (isParameter(v)) addParam(prefix + name, v);
      else if (v instanceof Module) v.collect(`${prefix}${name}.`, out, seenTensors, seenModules);
      else if (Array.isArray(v)) {
        v.forEach((el, i) => {
          if (isParameter(el)) addParam(`${prefix}${name}.${i}`, el);
          else if (el instanceof Module) el.collect(`${prefix}${name}.${i}.`, out, seenTensors, seenModules);
        });
      }
    }
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  numParameters(): number {
    return this.parameters().reduce((n, t) => n + t.size, 0);
  }

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    this.training = mode;
    for (const [, child] of this.namedChildren()) child.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * The parameters by dotted name. The values are the live parameter tensors (no copies, like PyTorch), so a
   * checkpoint writer can read them without allocating; do not dispose them.
   */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Copies values into the parameters with `assign`, so optimizers holding the parameters keep working.
   * Everything is validated before anything is written: a failed load leaves the module unchanged.
   */
  loadStateDict(dict: Readonly<Record<string, Tensor>>, { strict = true }: LoadStateDictOptions = {}): void {
    const op = `${this.constructor.name}.loadStateDict`;
    const own = this.namedParameters();
    const ownNames = new Set(own.map(([n]) => n));
    if (strict) {
      const missing = own.map(([n]) => n).filter((n) => !(n in dict));
      const unexpected = Object.keys(dict).filter((n) => !ownNames.has(n));
      if (missing.length || unexpected.length) {
        const parts: string[] = [];
        if (missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
        if (unexpected.length) parts.push(`unexpected keys: ${unexpected.join(', ')}`);
        throw new et.ArgumentError(`state dict does not match the module (${parts.join('; ')})`, { op });
      }
    }
    const pairs: [Tensor, Tensor][] = [];
    for (const [name, p] of own) {
      const v = dict[name];
      if (v === undefined) continue;
      if (!isTensor(v)) throw new et.ArgumentError(`"${name}" is not a Tensor in the state dict`, { op });
      if (v.isDisposed) throw new et.ArgumentError(`"${name}" is a disposed tensor in the state dict`, { op });
      if (v.shape.length !== p.shape.length || v.shape.some((d, i) => d !== p.shape[i])) {
        throw new et.ShapeError(`"${name}" has shape ${fmt(p.shape)} in the module but ${fmt(v.shape)} in the state dict`, {
          op,
          shapes: [p.shape, v.shape],
        });
      }
      if (v.dtype !== p.dtype) {
        throw new et.DTypeError(`"${name}" has dtype ${p.dtype} in the module but ${v.dtype} in the state dict`, {
          op,
          dtypes: [p.dtype, v.dtype],
        });
      }
      pairs.push([p, v]);
    }
    et.noGrad(() => {
      for (const [p, v] of pairs) if (p !== v) p.assign(v);
    });
  }
}
