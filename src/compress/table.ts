/** The plain-text table of a compression report: fp32 against compressed, size, metric and latency. */
import * as et from '../../engine/index.js';
import { describeArg, objectArg } from '../args.js';
import { formatMs, renderColumns } from '../bench/table.js';
import type { CompressionReport } from './compress.js';

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
const ratio = (x: number) => `${x.toFixed(2)}x`;

/** A change in points with its sign ("−0.4", "+1.2"), and no sign when it rounds to zero. */
export function signedPoints(change: number, digits: number): string {
  if (!Number.isInteger(digits) || digits < 0 || digits > 20) throw new et.ArgumentError(`digits must be an integer in [0, 20], got ${describeArg(digits)}`, { op: 'signedPoints' });
  const shown = Math.abs(change).toFixed(digits);
  if (Number(shown) === 0) return shown;
  return `${change < 0 ? '−' : '+'}${shown}`;
}

/** A report from compress(): an object with its fp32, compressed and model parts. */
function reportArg(r: CompressionReport, op: string): void {
  objectArg(r, op, 'the report (from compress)');
  for (const part of ['fp32', 'compressed', 'model'] as const) objectArg(r[part], op, `report.${part}`);
}

export function compressionLabel(r: CompressionReport): string {
  reportArg(r, 'compressionLabel');
  const acts = r.activations === 'int8' ? 'int8 weights, int8 activations' : 'int8 weights, f32 activations';
  return r.pruning ? `${acts}, ${pct(r.pruning.measured)} pruned` : acts;
}

export function compressionTable(r: CompressionReport): string {
  reportArg(r, 'compressionTable');
  const f = r.fp32;
  const c = r.compressed;
  const drop = r.accuracyDropPoints;
  const rows = [
    ['size (bytes)', String(f.bytes), String(c.bytes), `${ratio(r.ratio)} smaller`],
    ['accuracy', pct(f.accuracy), pct(c.accuracy), `${signedPoints(-drop, 1)} points`],
    ['loss', f.loss.toFixed(4), c.loss.toFixed(4), ''],
    [`latency p50 (batch ${r.latencyBatch})`, formatMs(f.latency.p50Ms), formatMs(c.latency.p50Ms), `${ratio(r.speedup)} ${r.speedup >= 1 ? 'faster' : 'slower'}`],
    [`latency p95 (batch ${r.latencyBatch})`, formatMs(f.latency.p95Ms), formatMs(c.latency.p95Ms), ratio(f.latency.p95Ms / c.latency.p95Ms)],
  ];
  return renderColumns(['', 'fp32', 'compressed', 'compressed vs fp32'], rows, new Set([1, 2]));
}

/** The lines `eitp compress` prints after the table. */
export function compressionNotes(r: CompressionReport): string[] {
  reportArg(r, 'compressionNotes');
  const lines = [
    `compressed: ${compressionLabel(r)}; ${r.model.weightMatrices} weight matrices (${r.model.quantizedParameters} of ${r.model.parameters} parameters) in int8, ${pct(r.model.int8ZeroFraction)} of them stored as zero`,
  ];
  if (r.pruning) lines.push(`pruning: target ${pct(r.pruning.target)}, reached ${pct(r.pruning.measured)}; accuracy after pruning, before int8: ${pct(r.pruning.accuracyBeforeQuantization)}`);
  if (r.finetune) lines.push(`fine-tune: ${r.finetune.steps} steps at lr ${r.finetune.lr}${r.finetune.distill ? ' with distillation from the fp32 model' : ''}, ${r.finetune.seconds.toFixed(1)} s`);
  lines.push(`backend ${r.backend}; ${r.fp32.latency.samples} timed forward passes per model`);
  lines.push(`checkpoint: ${r.out}`);
  return lines;
}
