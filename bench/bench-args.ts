/** Helpers shared by the bench scripts (imported, so bench/run.ts does not run this file on its own). */
import * as et from '../engine/index.js';

/** The value after `--name` on the command line, or the fallback. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** The positive integer after `--name`, or the fallback; anything else is an error naming the option. */
export function countArg(name: string, fallback: number): number {
  const raw = arg(name, String(fallback));
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer, got '${raw}'`);
  return n;
}

/** "64x784x256" → [64, 784, 256]. */
export const dims = (s: string): number[] => s.split('x').map(Number);

type Composite = (inputs: readonly et.Tensor[], attrs: never) => et.Tensor;

/** A fused op's composite reference from the op table (the attrs type is erased: the op is chosen at run time). */
export const compositeOf = (op: et.OpName): Composite => (et.opTable()[op] as unknown as { composite: Composite }).composite;

/** The coherence loss from primitive ops only: standardise, ẐᵀẐ/N, − I, square, sum (the fused path's peer). */
export const coherenceComposite = (z: et.Tensor): et.Tensor => et.coherenceOfCorrelation(compositeOf('correlation')([z], { eps: 1e-5 } as never));

/** Selects the native backend, or says it cannot and returns false (the native-only benches then measure nothing). */
export function useNativeBackend(): boolean {
  if (!et.backendInfo().some((b) => b.name === 'native' && b.available)) {
    console.log('native backend unavailable: nothing to measure');
    return false;
  }
  et.setBackend('native');
  return true;
}
