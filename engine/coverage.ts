/** Which ops each available backend can run: generated from the op table, so a new op shows up as missing everywhere. */
import type { BackendName } from './backend.js';
import { backendByName, backendInfo } from './device.js';
import type { OpName } from './ops/attrs.js';
import { opTable } from './ops/table.js';

export interface KernelCoverage {
  readonly backend: BackendName;
  /** Ops that need a kernel (view ops share storage and need none). */
  readonly total: number;
  readonly missing: readonly OpName[];
}

export function kernelOps(): OpName[] {
  return (Object.entries(opTable()) as [OpName, { view?: unknown }][]).filter(([, def]) => !def.view).map(([name]) => name);
}

export function kernelCoverage(): KernelCoverage[] {
  const ops = kernelOps();
  return backendInfo()
    .filter((b) => b.available)
    .map((b) => {
      const kernels = backendByName(b.name).kernels as Record<string, unknown>;
      return { backend: b.name, total: ops.length, missing: ops.filter((op) => !kernels[op]) };
    });
}
