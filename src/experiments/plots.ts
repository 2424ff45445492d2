/**
 * Plots as SVG, rendered headless in Node by Vega (no browser, no canvas): Vega-Lite specs compiled to Vega, then
 * `View.toSVG()` with the 'none' renderer. Curves show the mean over seeds per arm as a line and the range over
 * seeds (min to max) as a band, so the spread is visible.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { CurveSpec, JsonObject, RunRecord } from './types.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export async function renderSvg(spec: JsonObject): Promise<string> {
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One quantity over training: mean over seeds (line) and min-max over seeds (band), one colour per arm. */
export function curvePlot(records: readonly RunRecord[], curve: CurveSpec, armOrder: readonly string[]): JsonObject | null {
  const values: JsonObject[] = [];
  for (const r of records) for (const p of r.curves[curve.key] ?? []) values.push({ arm: r.arm, seed: r.seed, step: p.step, value: p.value });
  if (values.length === 0) return null;
  const color = { field: 'arm', type: 'nominal', title: 'arm', scale: { domain: [...armOrder] } };
  return {
    $schema: SCHEMA,
    title: curve.label,
    width: 480,
    height: 260,
    data: { values },
    transform: [{ aggregate: [{ op: 'mean', field: 'value', as: 'mean' }, { op: 'min', field: 'value', as: 'lo' }, { op: 'max', field: 'value', as: 'hi' }], groupby: ['arm', 'step'] }],
    encoding: { x: { field: 'step', type: 'quantitative', title: 'training step' }, color },
    layer: [
      { mark: { type: 'area', opacity: 0.15 }, encoding: { y: { field: 'lo', type: 'quantitative', title: curve.label, scale: { zero: false } }, y2: { field: 'hi' } } },
      { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { y: { field: 'mean', type: 'quantitative' } } },
    ],
  };
}

/** Mean ± std of a metric per category (e.g. distance bucket) and arm: points joined by lines, with error bars. */
export function categoryPlot(rows: readonly { arm: string; category: string; order: number; value: number }[], opts: { title: string; x: string; y: string; armOrder: readonly string[] }): JsonObject {
  const color = { field: 'arm', type: 'nominal', title: 'arm', scale: { domain: [...opts.armOrder] } };
  const sortedCategories = [...new Map([...rows].sort((a, b) => a.order - b.order).map((r) => [r.category, true])).keys()];
  const x = { field: 'category', type: 'ordinal', title: opts.x, sort: sortedCategories };
  return {
    $schema: SCHEMA,
    title: opts.title,
    width: 420,
    height: 260,
    data: { values: rows.map((r) => ({ ...r })) },
    encoding: { x, color },
    layer: [
      { mark: { type: 'errorbar', extent: 'stdev' }, encoding: { y: { field: 'value', type: 'quantitative', title: opts.y } } },
      { mark: { type: 'line', point: true }, encoding: { y: { aggregate: 'mean', field: 'value', type: 'quantitative' } } },
    ],
  };
}
