/**
 * Tensor lifetimes: tidy scopes, keep, dispose, live counts, and a FinalizationRegistry backstop that frees and
 * warns about tensors that were garbage-collected without being disposed.
 */
import type { Backend, DeviceBuffer } from './backend.js';
import { ArgumentError } from './errors.js';
import { describeValue } from './describe-value.js';
import type { Tensor } from './tensor.js';

/** Reference-counted allocation shared by a tensor and its views. */
export class Storage {
  refs = 1;
  freed = false;
  private readonly stats: BackendStats;
  constructor(
    readonly backend: Backend,
    readonly buffer: DeviceBuffer,
    readonly numel: number,
  ) {
    const s = (this.stats = statsFor(backend.name));
    s.liveBuffers++;
    s.bytes += buffer.bytes;
  }

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs > 0 || this.freed) return;
    this.freed = true;
    const s = this.stats;
    s.liveBuffers--;
    s.bytes -= this.buffer.bytes;
    this.backend.free(this.buffer);
  }
}

interface BackendStats {
  liveBuffers: number;
  bytes: number;
}

const stats = new Map<string, BackendStats>();
function statsFor(name: string): BackendStats {
  let s = stats.get(name);
  if (!s) stats.set(name, (s = { liveBuffers: 0, bytes: 0 }));
  return s;
}

let liveTensors = 0;
let leakedCount = 0;
let leakWarned = false;

const leakRegistry = new FinalizationRegistry<Storage>((storage) => {
  // A tensor became unreachable without dispose(): free its share of the storage and warn once.
  liveTensors--;
  leakedCount++;
  storage.release();
  if (!leakWarned && !process.env.EITP_QUIET_LEAKS) {
    leakWarned = true;
    process.emitWarning(
      'a tensor was garbage-collected without dispose(); wrap per-step work in et.tidy() or call dispose(). ' +
        'memory().leaked counts them (set EITP_QUIET_LEAKS=1 to silence).',
      'EitpLeakWarning',
    );
  }
});

/**
 * A tidy scope: the tensors made in it (or handed to it by an inner scope). A tensor belongs to at most one scope,
 * the one its `scope` field names; disposing or keeping it clears the field, and the scope skips the entries that no
 * longer name it (a Set per scope, with a delete from every open scope per dispose, was about a twentieth of the JS
 * time of an EIT-P step's hundreds of small ops). `live` counts the entries that still name it: when most are stale
 * (a long loop inside one tidy that disposes as it goes), the list is compacted, so it never holds on to more than
 * twice its live tensors.
 */
export interface Scope {
  list: Tensor[];
  live: number;
}

/** The open scopes, innermost last. */
const scopes: Scope[] = [];

function adopt(scope: Scope, t: Tensor): void {
  if (scope.list.length >= 64 && scope.list.length >= 2 * scope.live) scope.list = scope.list.filter((x) => x.scope === scope);
  scope.list.push(t);
  scope.live++;
  t.scope = scope;
}

/** @internal tests: how many entries each open scope's list holds, outermost first (stale ones included). */
export function openScopeLengths(): number[] {
  return scopes.map((s) => s.list.length);
}

/** Takes t out of the scope that owns it, if any. */
function release(t: Tensor): void {
  const owner = t.scope;
  if (!owner) return;
  owner.live--;
  t.scope = null;
}

/**
 * Tensors registered with the leak backstop. A tensor made inside a tidy scope is registered only once it outlives
 * every scope (returned from the outermost one, or kept): until then the scope disposes it, so it cannot leak, and
 * most tensors (a step's temporaries) never pay for a FinalizationRegistry entry.
 */
const guarded = new WeakSet<Tensor>();

function guard(t: Tensor): void {
  if (guarded.has(t)) return;
  guarded.add(t);
  leakRegistry.register(t, t.storage, t);
}

/** Called once for every new tensor. */
export function track(t: Tensor): void {
  liveTensors++;
  const scope = scopes[scopes.length - 1];
  if (scope) adopt(scope, t);
  else guard(t);
}

/** Called once when a tensor is disposed. */
export function untrack(t: Tensor): void {
  liveTensors--;
  if (guarded.delete(t)) leakRegistry.unregister(t);
  release(t);
}

/** Called when a tensor's storage is replaced (assign): the backstop must free the new storage, not the old. */
export function retrack(t: Tensor): void {
  if (!guarded.has(t)) return;
  leakRegistry.unregister(t);
  leakRegistry.register(t, t.storage, t);
}

/** Excludes t from disposal by the enclosing tidy scopes. */
export function keep<T extends Tensor>(t: T): T {
  // memory.ts sits below tensor.ts (it cannot import the class): a tensor is what has a scope slot and isDisposed
  if (t === null || typeof t !== 'object' || !('scope' in t) || typeof t.isDisposed !== 'boolean') {
    throw new ArgumentError(`takes a Tensor, got ${describeValue(t)}`, { op: 'keep' });
  }
  release(t);
  if (!t.isDisposed) guard(t);
  return t;
}

export type TensorContainer = Tensor | null | undefined | void | number | string | boolean | readonly TensorContainer[] | { readonly [k: string]: TensorContainer };

function collect(x: unknown, into: Set<Tensor>, isTensor: (v: unknown) => v is Tensor, depth = 0): void {
  if (depth > 16 || x === null || typeof x !== 'object') return;
  if (isTensor(x)) {
    into.add(x);
    return;
  }
  if (Array.isArray(x)) for (const v of x) collect(v, into, isTensor, depth + 1);
  else if (Object.getPrototypeOf(x) === Object.prototype) for (const v of Object.values(x)) collect(v, into, isTensor, depth + 1);
}

let tensorCheck: (v: unknown) => v is Tensor = (_v): _v is Tensor => false;
/** tensor.ts registers its instanceof check here (avoids an import cycle). */
export function setTensorCheck(f: (v: unknown) => v is Tensor): void {
  tensorCheck = f;
}

/** The tensors in a scope's result (alone, in arrays or in plain objects): what it returns. */
function tensorsIn(result: unknown): Set<Tensor> {
  const found = new Set<Tensor>();
  collect(result, found, tensorCheck);
  return found;
}

/**
 * Runs fn in a new scope, then keeps the scope's tensors for which `survives` holds (handed to the enclosing scope,
 * or to the leak backstop outside any) and disposes the rest. Nothing escapes a failed scope: what it made is freed
 * and the error rethrown.
 */
function scoped<T>(fn: () => T, survivors: (result: T, madeHere: (t: Tensor) => boolean) => (t: Tensor) => boolean): T {
  const scope: Scope = { list: [], live: 0 };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope.list) if (t.scope === scope) t.dispose();
    throw e;
  }
  scopes.pop();
  const survives = survivors(result, (t) => t.scope === scope);
  const parent = scopes[scopes.length - 1];
  for (const t of scope.list) {
    if (t.scope !== scope) continue; // disposed or kept (a tensor is listed once: adopt runs once per owner)
    if (!survives(t)) t.dispose();
    else {
      release(t);
      if (parent) adopt(parent, t);
      else guard(t);
    }
  }
  return result;
}

/**
 * Runs fn and disposes every tensor created inside it, except the tensors it returns (in arrays or plain objects)
 * and those passed to keep(). Returned tensors belong to the enclosing scope.
 */
export function tidy<T extends TensorContainer>(fn: () => T): T {
  if (typeof fn !== 'function') throw new ArgumentError(`takes a function, got ${describeValue(fn)}`, { op: 'tidy' });
  return scoped(fn, (result) => {
    if (result && typeof (result as { then?: unknown }).then === 'function') {
      throw new ArgumentError('tidy() takes a synchronous function; it returned a Promise (await outside tidy)', { op: 'tidy' });
    }
    const returned = tensorsIn(result);
    return (t) => returned.has(t);
  });
}

/**
 * The scope of one public op made of several engine calls (a number operand's scalar, broadcast views, matmul's
 * reshapes around its product, an op's output handed out as views). When the result is not recorded, its
 * intermediates are garbage once the op returns and are freed here: without this, disposing the result of `x.mul(2)` outside tidy left the scalar and its view to
 * the leak backstop, with a warning about tensors the caller never saw. A recorded result (reverse or forward mode)
 * has them as graph inputs that later passes read: they then live on as any recorded intermediate does (an
 * enclosing tidy frees them).
 */
export function opScope<T extends TensorContainer>(fn: () => T): T {
  return scoped(fn, (result) => {
    const returned = tensorsIn(result);
    const recorded = [...returned].some(isRecorded);
    return (t) => recorded || returned.has(t);
  });
}

/** Whether t is part of a graph that a later pass reads (reverse mode, or a forward-mode level's tangent). */
export function isRecorded(t: Tensor): boolean {
  return t.requiresGrad || (t.tangents?.size ?? 0) > 0;
}

/**
 * The scope of a transform's call that hands back values only (grad, valueAndGrad, jvp). `settle` runs once fn has
 * returned, told which tensors fn made, and says whether the result is recorded for an enclosing pass (a grad inside
 * a grad, a jvp of a grad, reverse over forward): then everything fn made lives on as recorded intermediates do.
 * Otherwise the recorded forward pass and the backward's temporaries are garbage and are freed here (tfjs's
 * gradients() frees them the same way), keeping only the returned tensors.
 */
export function transformScope<T extends TensorContainer>(fn: () => T, settle: (result: T, madeHere: (t: Tensor) => boolean) => boolean): T {
  return scoped(fn, (result, made) => {
    const recorded = settle(result, made);
    const returned = tensorsIn(result);
    return (t) => recorded || returned.has(t);
  });
}

export function dispose(x: TensorContainer): void {
  for (const t of tensorsIn(x)) t.dispose();
}

export interface MemoryInfo {
  liveTensors: number;
  /** Tensors freed by the garbage-collector backstop because nobody disposed them. */
  leaked: number;
  backends: Record<string, BackendStats>;
}

export function memory(): MemoryInfo {
  const backends: Record<string, BackendStats> = {};
  for (const [k, v] of stats) backends[k] = { ...v };
  return { liveTensors, leaked: leakedCount, backends };
}
