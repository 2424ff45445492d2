/** Plain-text rendering of the results table and of a --compare table. */
import type { RowChange } from './report.js';
import type { BenchReport, BenchRow } from './types.js';

export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 1) return `${ms.toFixed(ms >= 100 ? 0 : ms >= 10 ? 1 : 2)} ms`;
  const us = ms * 1000;
  return `${us.toFixed(us >= 100 ? 0 : us >= 10 ? 1 : 2)} us`;
}

function formatNumber(x: number | undefined, digits = 3): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  if (x >= 1000) return x.toFixed(0);
  return x.toPrecision(digits);
}

function formatRatio(x: number): string {
  return `${x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(2)}x`;
}

/** Lays out rows of cells in columns; numbers-like columns right-aligned. */
export function renderColumns(header: string[], rows: string[][], rightAligned: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function rowCells(r: BenchRow): string[] {
  const s = r.stats;
  if (r.status !== 'ok' || !s) {
    return [r.family, r.caseId, r.impl, '-', '-', '-', '-', '-', `${r.status}: ${r.reason ?? ''}`];
  }
  const peers = Object.entries(r.vsPeers ?? {})
    .map(([p, x]) => `${p} ${formatRatio(x)}`)
    .join(', ');
  return [
    r.family,
    r.caseId,
    r.impl,
    formatMs(s.medianMs),
    `${formatMs(s.p25Ms)}-${formatMs(s.p75Ms)}`,
    String(s.n),
    r.throughput === undefined ? '-' : `${formatNumber(r.throughput)} ${r.metric}`,
    r.pctOfLimit === undefined ? '-' : `${r.pctOfLimit >= 10 ? r.pctOfLimit.toFixed(0) : r.pctOfLimit.toFixed(1)}%`,
    peers,
  ];
}

export function renderTable(report: BenchReport): string {
  const header = ['family', 'case', 'impl', 'median', 'p25-p75', 'n', 'throughput', '% limit', 'vs peers (peer time / this time; >1: eitp faster)'];
  const table = renderColumns(header, report.rows.map(rowCells), new Set([3, 4, 5, 6, 7]));
  const out: string[] = [];
  const m = report.machine;
  out.push(`eitp bench${report.options.quick ? ' --quick' : ''}: ${m.cpuModel}, ${m.cores} cores, node ${m.node}, ${report.startedAt}`);
  if (m.loadAvg1m !== undefined && m.loadAvg1m > m.cores * 0.75) {
    out.push(`load average ${m.loadAvg1m} on ${m.cores} cores at the start: other processes share the CPU, so timings are noisy and slow`);
  }
  for (const [name, l] of Object.entries(report.limits)) {
    const parts = [l.gflops !== undefined ? `${formatNumber(l.gflops)} GFLOP/s` : null, l.gbps !== undefined ? `${formatNumber(l.gbps)} GB/s` : null].filter(Boolean);
    out.push(`limit ${name} (${l.device}): ${parts.join(', ') || 'unknown'} [${l.source}]`);
  }
  out.push(`timing: ${report.timing}`);
  out.push('');
  out.push(table);
  out.push('');
  for (const b of m.engineBackends) {
    if (!b.available) out.push(`backend ${b.name}: unavailable (${b.reason ?? 'no reason given'})`);
    else if (!report.options.backends.includes(b.name)) out.push(`backend ${b.name}: available, not selected`);
  }
  for (const p of report.peers) {
    if (p.available) out.push(`peer ${p.name}: ${p.version ?? ''}${p.notes ? ` (${p.notes})` : ''}`);
    else out.push(`peer ${p.name}: ${/^not (run|selected)/.test(p.reason ?? '') ? 'not run' : 'MISSING'} (${p.reason ?? 'no reason given'})`);
  }
  out.push(`spread: ${report.spread}`);
  if (report.rows.some((r) => r.metric === 'GB/s' && (r.pctOfLimit ?? 0) > 100)) {
    out.push('GB/s above 100% of the limit: the data stays in cache, while the limit is a copy through main memory');
  }
  return `${out.join('\n')}\n`;
}

export function renderCompare(changes: RowChange[], oldLabel: string): string {
  const header = ['case', 'impl', 'old median', 'new median', 'change', 'speedup', 'note'];
  const rows = changes.map((c) => [
    c.caseId,
    c.impl,
    formatMs(c.oldMs),
    formatMs(c.newMs),
    c.changePct === undefined ? '-' : `${c.changePct >= 0 ? '+' : ''}${c.changePct.toFixed(1)}%`,
    c.speedup === undefined ? '-' : formatRatio(c.speedup),
    c.note ?? (c.overlap ? 'within spread (p25-p75 overlap)' : ''),
  ]);
  return `\nchange against ${oldLabel} (change = new median vs old; speedup = old / new):\n${renderColumns(header, rows, new Set([2, 3, 4, 5]))}\n`;
}
