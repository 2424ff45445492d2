/**
 * Fixed, seeded index subsets (the entropy's 65 536 weight samples, the coherence loss's 256 features). The same
 * seed gives the same subset on every step and every backend, so the terms are deterministic functions of θ and
 * their fused kernels (phase 2) can be compared with these composites index for index.
 */
import * as et from '../../engine/index.js';

/**
 * k distinct indices of [0, n), sorted, by Floyd's algorithm: O(k) memory and time even when n is in the
 * hundreds of millions (a Fisher-Yates shuffle would need an n-element array).
 */
export function seededSubset(n: number, k: number, seed: number): Int32Array {
  if (!Number.isInteger(n) || !Number.isInteger(k) || k < 0 || k > n) {
    throw new et.ArgumentError(`needs integers 0 <= k <= n, got k = ${k}, n = ${n}`, { op: 'seededSubset' });
  }
  const rng = new et.Rng(seed >>> 0);
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = rng.int(0, j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  // Sorted indices gather memory in order: friendlier to caches and to coalesced GPU reads.
  return Int32Array.from(chosen).sort();
}

/** Index tensors are small and reused every step: cached per (n, k, seed, backend) and kept out of tidy scopes. */
const cache = new Map<string, et.Tensor>();

export function subsetIndices(n: number, k: number, seed: number, backend: string): et.Tensor {
  const key = `${n}:${k}:${seed >>> 0}:${backend}`;
  let t = cache.get(key);
  if (!t || t.isDisposed) {
    t = et.keep(et.tensor(seededSubset(n, k, seed), { dtype: 'i32', backend: backend as et.BackendName }));
    cache.set(key, t);
  }
  return t;
}

/** Frees the cached index tensors (they are otherwise kept for the life of the process). */
export function clearSubsetCache(): void {
  for (const t of cache.values()) t.dispose();
  cache.clear();
}

/** An independent 32-bit seed for stream k of a user seed (same mixing as et.nn.deriveSeed). */
export const mixSeed = (seed: number, k: number): number => et.nn.deriveSeed(seed, k);
