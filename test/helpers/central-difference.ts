/** Central differences for derivative checks in f64. */
import * as et from '../../engine/index.js';

/** The directional derivative of f along ts at xs: (f(x + εt) − f(x − εt)) / 2ε, elementwise. */
export function centralDifference(f: (...xs: et.Tensor[]) => et.Tensor, xs: readonly et.Tensor[], ts: readonly et.Tensor[], eps = 1e-6): Float64Array {
  const at = (s: number) => {
    const moved = et.tidy(() => f(...xs.map((x, k) => et.add(x, et.mul(ts[k]!, s * eps)))));
    const values = moved.dataSync() as Float64Array;
    moved.dispose();
    return values;
  };
  const [hi, lo] = [at(1), at(-1)];
  return hi.map((v, j) => (v - lo[j]!) / (2 * eps));
}
