/**
 * Backend selection. Each backend registers a loader that either returns the backend or says why it cannot run
 * here; `backendInfo()` and `eitp info` report both.
 */
import { BACKEND_NAMES, type Backend, type BackendName, type BackendStatus } from './backend.js';
import { BackendError } from './errors.js';

type Loader = () => Backend | { unavailable: string };

const loaders = new Map<BackendName, Loader>();
const loaded = new Map<BackendName, Backend | { unavailable: string }>();

/** Preference of 'auto': a real accelerator first, then the native CPU path, then the TypeScript reference. */
const AUTO_ORDER: readonly BackendName[] = ['cuda', 'native', 'webgpu', 'cpu'];

let current: Backend | null = null;

export function registerBackend(name: BackendName, loader: Loader): void {
  loaders.set(name, loader);
  loaded.delete(name);
}

function load(name: BackendName): Backend | { unavailable: string } {
  let r = loaded.get(name);
  if (!r) {
    const loader = loaders.get(name);
    if (!loader) r = { unavailable: 'not registered in this build' };
    else {
      try {
        r = loader();
      } catch (e) {
        r = { unavailable: e instanceof Error ? e.message : String(e) };
      }
    }
    loaded.set(name, r);
  }
  return r;
}

function isBackend(r: Backend | { unavailable: string }): r is Backend {
  return !('unavailable' in r);
}

export function backendInfo(): BackendStatus[] {
  return BACKEND_NAMES.map((name) => {
    const r = load(name);
    if (!isBackend(r)) return { name, available: false, reason: r.unavailable };
    return { name, available: true, ...(r.detail && { detail: r.detail }), ...(r.emulated && { emulated: true }) };
  });
}

/** Selects the backend for tensors created from now on. */
export function setBackend(name: BackendName | 'auto'): BackendName {
  if (name === 'auto') {
    for (const n of AUTO_ORDER) {
      const r = load(n);
      if (isBackend(r) && !r.emulated) {
        current = r;
        return n;
      }
    }
    throw new BackendError('no backend is available', { op: 'setBackend' });
  }
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new BackendError(`unknown backend '${String(name)}'; expected one of auto, ${BACKEND_NAMES.join(', ')}`, { op: 'setBackend' });
  }
  const r = load(name);
  if (!isBackend(r)) throw new BackendError(`backend '${name}' is unavailable: ${r.unavailable}`, { op: 'setBackend', backend: name });
  current = r;
  return name;
}

export function getBackend(): BackendName {
  return currentBackend().name;
}

/** @internal the Backend object new tensors are created on. */
export function currentBackend(): Backend {
  // EITP_BACKEND lets a user or CI pin the default without code changes.
  if (!current) setBackend((process.env.EITP_BACKEND as BackendName | 'auto' | undefined) ?? 'auto');
  return current!;
}

/** @internal a backend by name, loading it if needed. */
export function backendByName(name: BackendName): Backend {
  const r = load(name);
  if (!isBackend(r)) throw new BackendError(`backend '${name}' is unavailable: ${r.unavailable}`, { backend: name });
  return r;
}
