/**
 * Seed derivation for layers that need several independent random streams from one user seed (a Linear's
 * weight and bias, the layers of an MLP, the k-th mask of a Dropout). A plain `seed + k` would make
 * `Linear(..., {seed: 1}).bias` equal `Linear(..., {seed: 2}).weight`'s stream; mixing through a hash avoids
 * such accidental overlaps while staying a pure function of (seed, k), which is what makes results reproducible.
 */
export function deriveSeed(seed: number, k: number): number {
  // murmur3's 32-bit finaliser over a combination of both inputs: cheap, well mixed, deterministic.
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((k + 1) >>> 0, 0x85ebca77)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Options object for et.rand/et.randn with the seed only when one was given (absent = the global RNG). */
export function seedOpt(seed: number | undefined, k: number): { seed?: number } {
  return seed === undefined ? {} : { seed: deriveSeed(seed, k) };
}
