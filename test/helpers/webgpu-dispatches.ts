/** Counting the webgpu dispatches an op records (tests of the webgpu kernels' launch plans). */
import { webgpuStats } from '../../engine/backends/webgpu/index.js';
import type * as et from '../../engine/index.js';

/** Dispatches recorded while fn runs (the op is recorded at once; reading back adds none). */
export async function dispatchesOf(fn: () => et.Tensor): Promise<number> {
  const before = webgpuStats().dispatches;
  const r = fn();
  const after = webgpuStats().dispatches;
  await r.data();
  r.dispose();
  return after - before;
}
