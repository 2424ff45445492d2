/**
 * Interleaved spirals: a small classification task that a linear model cannot solve and an MLP can, generated
 * deterministically from a seed (no download, no files).
 */
import { describeArg, optionsArg } from '../args.js';
import { ArgumentError, Rng } from '../../engine/index.js';

export interface ClassificationData {
  /** [n, 2] row-major features. */
  readonly x: Float32Array;
  /** [n] class ids. */
  readonly y: Int32Array;
  readonly n: number;
  readonly classes: number;
}

export function spirals(n: number, classes: number, options?: { noise?: number; seed?: number; turns?: number }): ClassificationData {
  const opts = optionsArg(options, 'spirals');
  for (const [name, v] of [['n', n], ['classes', classes]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`${name} must be a positive integer, got ${describeArg(v)}`, { op: 'spirals' });
  }
  const rng = new Rng(opts.seed ?? 0);
  const noise = opts.noise ?? 0.05;
  const turns = opts.turns ?? 1.25;
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    const r = rng.next();
    const angle = 2 * Math.PI * (turns * r + c / classes);
    x[2 * i] = r * Math.cos(angle) + noise * rng.normal();
    x[2 * i + 1] = r * Math.sin(angle) + noise * rng.normal();
    y[i] = c;
  }
  return { x, y, n, classes };
}
