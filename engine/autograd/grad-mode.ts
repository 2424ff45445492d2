/**
 * Global autodiff state: whether ops are recorded for reverse mode, how many reverse transforms are running
 * (a backward pass inside one must itself be recorded, for double backward), and the active forward-mode levels.
 */
import { describeValue } from '../describe-value.js';
import { ArgumentError } from '../errors.js';

let gradEnabled = true;
let reverseDepth = 0;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with recording switched on or off, restoring the previous mode afterwards. */
export function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs fn without recording ops for autodiff (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new ArgumentError(`takes a function, got ${describeValue(fn)}`, { op: 'noGrad' });
  return withGradMode(false, fn);
}

/** True while the function of a grad/vjp transform runs: backward passes then record their own ops. */
export function insideReverseTransform(): boolean {
  return reverseDepth > 0;
}

export function withReverseTransform<T>(fn: () => T): T {
  reverseDepth++;
  try {
    return withGradMode(true, fn);
  } finally {
    reverseDepth--;
  }
}

/**
 * Forward-mode levels; nested jvp() calls get increasing ids. The active list is never changed in place: entering a
 * level or a restricted set swaps in another array and leaving swaps the old one back, so a caller may keep what
 * activeJvpLevels() returned, and the per-op tangent rules (withOnlyLevels) allocate nothing.
 */
let nextLevel = 1;
let activeLevels: readonly number[] = [];

export function activeJvpLevels(): readonly number[] {
  return activeLevels;
}

export function withJvpLevel<T>(fn: (level: number) => T): T {
  const level = nextLevel++;
  const prev = activeLevels;
  activeLevels = [...prev, level];
  try {
    return fn(level);
  } finally {
    activeLevels = prev;
  }
}

/** Runs fn with only the given levels active (used while computing tangents of one level). */
export function withOnlyLevels<T>(levels: readonly number[], fn: () => T): T {
  const prev = activeLevels;
  activeLevels = levels;
  try {
    return fn();
  } finally {
    activeLevels = prev;
  }
}
