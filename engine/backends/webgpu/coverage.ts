/** The coverage table of the webgpu backend, generated from the op table (no device needed). */
import { opTable } from '../../ops/table.js';
import type { OpName } from '../../ops/attrs.js';
import { webgpuKernels } from './backend.js';
import type { GpuContext } from './context.js';

export interface CoverageRow {
  readonly op: OpName;
  /** 'kernel': a webgpu kernel; 'view': needs no kernel (shares storage); 'missing'. */
  readonly status: 'kernel' | 'view' | 'missing';
}

export function webgpuCoverage(): { rows: CoverageRow[]; percent: number } {
  // the factories only capture the context; nothing runs, so an empty one is enough to list the table
  const kernels = webgpuKernels({} as GpuContext) as Record<string, unknown>;
  const rows = (Object.keys(opTable()) as OpName[]).map((op): CoverageRow => {
    const def = opTable()[op] as { view?: unknown };
    return { op, status: def.view ? 'view' : kernels[op] ? 'kernel' : 'missing' };
  });
  const covered = rows.filter((r) => r.status !== 'missing').length;
  return { rows, percent: (100 * covered) / rows.length };
}

export function formatCoverage(): string {
  const { rows, percent } = webgpuCoverage();
  const w = Math.max(...rows.map((r) => r.op.length));
  const lines = rows.map((r) => `${r.op.padEnd(w)}  ${r.status === 'kernel' ? 'webgpu kernel' : r.status === 'view' ? 'view (no kernel)' : 'MISSING'}`);
  return [`${'op'.padEnd(w)}  webgpu`, ...lines, `coverage: ${percent.toFixed(0)} % of ${rows.length} ops`].join('\n');
}
