/**
 * A short description of a bad argument for an error message: `undefined`, `null`, `NaN`, `a string ("x")`,
 * `an array [1, string]`, `a Tensor [2, 3]`, `an object`.
 */
export function describeValue(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)})`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) {
    const items = v.slice(0, 6).map((x: unknown) => (typeof x === 'number' ? String(x) : x === null ? 'null' : typeof x));
    return `an array [${items.join(', ')}${v.length > 6 ? ', …' : ''}]`;
  }
  const shape = (v as { shape?: unknown }).shape;
  if (Array.isArray(shape) && typeof (v as { dtype?: unknown }).dtype === 'string') return `a Tensor [${shape.join(', ')}]`;
  return 'an object';
}
