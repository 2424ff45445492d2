/**
 * CPU energy from Intel RAPL counters (Linux powercap): the package domains /sys/class/powercap/intel-rapl:N
 * (not their sub-domains intel-rapl:N:M, which the package already contains), each a microjoule counter that wraps
 * at max_energy_range_uj. Unreadable on most machines without root or on non-Intel/virtualised CPUs: then
 * `openRapl` returns null with the reason, and callers fall back to a labelled estimate.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const POWERCAP = '/sys/class/powercap';

export interface RaplDomain {
  readonly path: string;
  readonly maxRangeUj: number;
}

export type RaplProbe = { ok: true; domains: readonly RaplDomain[] } | { ok: false; reason: string };

function readNumber(path: string): number {
  const v = Number(readFileSync(path, 'utf8').trim());
  if (!Number.isFinite(v)) throw new Error(`${path} does not hold a number`);
  return v;
}

/** Finds the package domains under `root` and checks that each counter can be read. */
export function probeRapl(root = POWERCAP): RaplProbe {
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => /^intel-rapl:\d+$/.test(n));
  } catch (e) {
    return { ok: false, reason: `${root} is not readable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  if (names.length === 0) return { ok: false, reason: `no intel-rapl package domains under ${root}` };
  const domains: RaplDomain[] = [];
  for (const n of names.sort()) {
    const dir = join(root, n);
    try {
      readNumber(join(dir, 'energy_uj'));
      domains.push({ path: join(dir, 'energy_uj'), maxRangeUj: readNumber(join(dir, 'max_energy_range_uj')) });
    } catch (e) {
      return { ok: false, reason: `${join(dir, 'energy_uj')} is not readable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
    }
  }
  return { ok: true, domains };
}

/** Energy between two readings of one counter, in joules, allowing for one wrap-around. */
export function counterDeltaJoules(beforeUj: number, afterUj: number, maxRangeUj: number): number {
  const d = afterUj >= beforeUj ? afterUj - beforeUj : afterUj + maxRangeUj - beforeUj;
  return d / 1e6;
}

/** Starts a measurement over every package domain; the returned function gives the joules used since. */
export function startRapl(domains: readonly RaplDomain[]): () => number {
  const before = domains.map((d) => readNumber(d.path));
  return () => domains.reduce((sum, d, i) => sum + counterDeltaJoules(before[i]!, readNumber(d.path), d.maxRangeUj), 0);
}
