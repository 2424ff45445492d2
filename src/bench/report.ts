/**
 * The machine-readable report (--json), reading one back, and --compare: the change of each row's median against
 * an earlier report, matched by case id and implementation.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { REPORT_VERSION, type BenchReport, type BenchRow } from './types.js';
import { filePathArg } from '../args.js';

export function writeReport(path: string, report: BenchReport): void {
  filePathArg(path, 'writeReport');
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}

export function readReport(path: string): BenchReport {
  filePathArg(path, 'readReport');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`--compare: cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const r = parsed as Partial<BenchReport>;
  if (r.tool !== 'eitp-bench' || !Array.isArray(r.rows)) throw new Error(`--compare: ${path} is not an eitp bench report`);
  if (r.version !== REPORT_VERSION) throw new Error(`--compare: ${path} has report version ${String(r.version)}, this tool writes ${REPORT_VERSION}`);
  return r as BenchReport;
}

export interface RowChange {
  caseId: string;
  impl: string;
  oldMs?: number;
  newMs?: number;
  /** old median / new median: > 1 means the new run is faster */
  speedup?: number;
  /** (new - old) / old of the median time, in percent: negative means faster */
  changePct?: number;
  /** whether the two interquartile ranges overlap (an overlapping change may be noise) */
  overlap?: boolean;
  note?: string;
}

const rowKey = (r: Pick<BenchRow, 'caseId' | 'impl'>) => `${r.caseId}\u0000${r.impl}`;

/**
 * Old rows outside the new run's selection (another family, backend or peer list) are left out, so comparing a
 * filtered run against a full one lists only what the filtered run could have measured.
 */
export function compareReports(oldReport: Pick<BenchReport, 'rows'>, newReport: Pick<BenchReport, 'rows'> & Partial<Pick<BenchReport, 'options'>>): RowChange[] {
  const sel = newReport.options;
  const selected = (r: BenchRow) =>
    !sel || (sel.families.includes(r.family) && (r.implKind === 'engine' ? sel.backends.includes(r.impl.replace(/^eitp:/, '')) : sel.peers.includes(r.impl)));
  const old = new Map(oldReport.rows.map((r) => [rowKey(r), r]));
  const changes: RowChange[] = [];
  for (const n of newReport.rows) {
    const o = old.get(rowKey(n));
    old.delete(rowKey(n));
    const base = { caseId: n.caseId, impl: n.impl };
    if (!o) {
      changes.push({ ...base, newMs: n.stats?.medianMs, note: 'new row' });
    } else if (!o.stats || !n.stats) {
      changes.push({ ...base, oldMs: o.stats?.medianMs, newMs: n.stats?.medianMs, note: `${o.status} -> ${n.status}` });
    } else {
      const oldMs = o.stats.medianMs;
      const newMs = n.stats.medianMs;
      changes.push({
        ...base,
        oldMs,
        newMs,
        speedup: oldMs / newMs,
        changePct: ((newMs - oldMs) / oldMs) * 100,
        overlap: n.stats.p25Ms <= o.stats.p75Ms && o.stats.p25Ms <= n.stats.p75Ms,
      });
    }
  }
  for (const o of old.values()) {
    if (selected(o)) changes.push({ caseId: o.caseId, impl: o.impl, oldMs: o.stats?.medianMs, note: 'missing in this run' });
  }
  return changes;
}
