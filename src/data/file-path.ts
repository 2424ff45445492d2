/**
 * A file or directory path from a caller, checked before it reaches node:fs: fs takes a number as a file descriptor,
 * so `loadCheckpoint(4)` from untyped code read descriptor 4 (and blocked forever where that was a pipe) instead of
 * failing. Every function of the framework that opens a path a caller gave goes through this.
 */
import * as et from '../../engine/index.js';

export function filePathArg(path: unknown, op: string, what = 'path'): string {
  if (typeof path === 'string' && path.length > 0) return path;
  const got = typeof path === 'string' ? 'an empty string' : path === null || path === undefined ? String(path) : `a ${typeof path}`;
  throw new et.ArgumentError(`${what} must be a non-empty string (a file or directory path), got ${got}`, { op });
}
