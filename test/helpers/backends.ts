/**
 * Which backends the parity suites run on. cpu is the oracle; every other available backend is compared with it.
 * EITP_REQUIRE_<NAME>=1 turns "unavailable" into a failure instead of a skip (CI sets it where the backend must run).
 */
import * as et from '../../engine/index.js';

export function availableBackends(): et.BackendName[] {
  const info = et.backendInfo();
  for (const b of info) {
    const required = process.env[`EITP_REQUIRE_${b.name.toUpperCase()}`] === '1';
    if (required && !b.available) throw new Error(`EITP_REQUIRE_${b.name.toUpperCase()}=1 but backend '${b.name}' is unavailable: ${b.reason}`);
  }
  return info.filter((b) => b.available).map((b) => b.name);
}

/** Backends other than the cpu oracle. */
export function acceleratedBackends(): et.BackendName[] {
  return availableBackends().filter((b) => b !== 'cpu');
}

/** Per-dtype tolerances for comparing a backend with the cpu reference. */
export const TOLERANCE: Record<'f32' | 'f64', { rtol: number; atol: number }> = {
  f32: { rtol: 2e-4, atol: 2e-5 },
  f64: { rtol: 1e-10, atol: 1e-12 },
};

/** Max violation of |a − b| <= atol + rtol·|b| (0 when all within tolerance), with the worst index. */
export function compareArrays(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: { rtol: number; atol: number }) {
  if (actual.length !== expected.length) return { ok: false, message: `length ${actual.length} != ${expected.length}` };
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    if (a === e) continue;
    const excess = Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  return worst < 0
    ? { ok: true, message: '' }
    : { ok: false, message: `index ${worst}: got ${actual[worst]}, expected ${expected[worst]} (rtol ${tol.rtol}, atol ${tol.atol})` };
}
