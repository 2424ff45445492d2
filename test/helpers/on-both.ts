import * as et from '../../engine/index.js';

/** fn's result on `backend` and on the cpu reference, read back: [backend, cpu]. */
export async function onBoth(fn: (b: et.BackendName) => et.Tensor, backend: et.BackendName = 'webgpu'): Promise<[Float32Array, Float32Array]> {
  const out: Float32Array[] = [];
  for (const b of [backend, 'cpu'] as const) {
    const t = et.tidy(() => fn(b));
    out.push((await t.data()) as Float32Array);
    t.dispose();
  }
  return out as [Float32Array, Float32Array];
}
