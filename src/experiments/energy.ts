/**
 * Energy (EITP-SPEC "Evaluation"): measured with the CPU's RAPL package counters where they are readable, for
 * training (the whole run) and for inference (repeated forward passes, per token); otherwise inference energy is a
 * FLOP-based figure, labelled "estimate" everywhere it appears: matmul FLOPs per token × an assumed 1e-10 J/FLOP
 * (10 GFLOP/J, an order of magnitude for a CPU core). The estimate depends on the architecture only, so two arms
 * with one architecture get the same estimate: it cannot show a change, and the report says so. The thermodynamic
 * term's activation density Ê is tabled beside it as what the regulariser actually moves (a proxy, not energy).
 */
import { baselineAndFull } from './ablation.js';
import { compareArms, formatRelative, setupLine } from './compare.js';
import { forwardFlops } from './flops.js';
import { evalInputs, forwardOnce } from './inference.js';
import { longRangeBase } from './long-range.js';
import { probeRapl, startRapl } from './rapl.js';
import { trainingExperiment } from './training-experiment.js';
import type { ClaimRow, MetricSpec, RunRecord } from './types.js';

export const ESTIMATE_JOULES_PER_FLOP = 1e-10;
const BATCH = 32;
/** RAPL counters update about every millisecond; a couple of seconds of work keeps the reading's error small. */
const MIN_SECONDS = 2;

function sources(records: readonly RunRecord[]): Set<string> {
  return new Set(records.map((r) => String(r.notes?.energySource ?? '')).filter(Boolean));
}

function energyLabel(records: readonly RunRecord[]): string {
  const s = sources(records);
  if (s.size === 1 && s.has('rapl')) return 'inference energy per token (µJ, measured: RAPL package counters)';
  if (s.size === 1 && s.has('estimate')) return `inference energy per token (µJ, ESTIMATE: matmul FLOPs × ${ESTIMATE_JOULES_PER_FLOP} J/FLOP, not measured)`;
  return 'inference energy per token (µJ; RAPL where readable, otherwise an ESTIMATE: see notes)';
}

export function energyMetrics(records: readonly RunRecord[]): MetricSpec[] {
  const out: MetricSpec[] = [{ key: 'inferenceUjPerToken', label: energyLabel(records), better: 'lower', digits: 4 }];
  if (records.some((r) => r.metrics.trainEnergyJ !== undefined)) out.push({ key: 'trainEnergyJ', label: 'training energy per run (J, measured: RAPL)', better: 'lower', digits: 1 });
  out.push(
    { key: 'flopsPerToken', label: 'inference matmul FLOPs per token', better: 'lower', digits: 0 },
    { key: 'trainSeconds', label: 'training time (s)', better: 'lower', digits: 1 },
    { key: 'energyProxy', label: 'activation density Ê (the Landauer term\'s proxy, not an energy)', better: 'lower', digits: 4 },
  );
  return out;
}

export function energyClaims(records: readonly RunRecord[]): ClaimRow[] {
  const d = compareArms(records, 'full', 'baseline', 'inferenceUjPerToken');
  const estimate = sources(records).has('estimate');
  let measured = d.n === 0 ? 'not run' : `inference: ${formatRelative(d.relative)}${estimate ? ' (ESTIMATE from FLOPs: equal architectures give 0 by construction)' : ' (RAPL)'}`;
  const t = compareArms(records, 'full', 'baseline', 'trainEnergyJ');
  if (t.n > 0) measured += `; training: ${formatRelative(t.relative)} (RAPL)`;
  else if (d.n > 0) {
    const s = compareArms(records, 'full', 'baseline', 'trainSeconds');
    measured += `; training energy not measured (no RAPL), training time ${formatRelative(s.relative)}`;
  }
  return [{ claim: '-25 % energy', comparison: `full EIT-P vs λ = 0 baseline, ${d.n} paired seeds`, measured, setup: setupLine(records) }];
}

function sourceSection(records: readonly RunRecord[]): string[] {
  const reasons = [...new Set(records.map((r) => r.notes?.energyNote).filter((n): n is string => typeof n === 'string'))];
  if (reasons.length === 0) return [];
  return ['## How energy was obtained', '', ...reasons.map((r) => `- ${r}`)];
}

export const energyExperiment = trainingExperiment({
  name: 'energy',
  title: 'Energy: EIT-P-trained and baseline models, measured where the hardware allows',
  description:
    'The λ = 0 baseline and full EIT-P are trained on multi-key retrieval (same architecture, steps and seeds). Training energy (whole run) and inference energy ' +
    `(forward passes of batch ${BATCH} for at least ${MIN_SECONDS} s, per token) come from the CPU's RAPL package counters where they are readable; ` +
    `otherwise inference energy is an ESTIMATE from matmul FLOPs × ${ESTIMATE_JOULES_PER_FLOP} J/FLOP, labelled as such. The papers claim −25 % energy.`,
  defaults: { seeds: 3, steps: 100 },
  base: longRangeBase,
  arms: baselineAndFull,
  metrics: energyMetrics,
  claims: energyClaims,
  sections: (records) => {
    const s = sourceSection(records);
    return s.length ? [s.join('\n')] : [];
  },
  async after(result) {
    const input = evalInputs(result.data, BATCH);
    const c = result.config;
    const flopsPerToken = forwardFlops(c.model, { batch: 1, seqLen: result.data.seqLen, vocab: result.data.vocab.size, readout: result.data.readout }) / result.data.seqLen;
    const rapl = probeRapl();
    if (!rapl.ok) {
      return {
        metrics: { inferenceUjPerToken: flopsPerToken * ESTIMATE_JOULES_PER_FLOP * 1e6, flopsPerToken },
        notes: { energySource: 'estimate', energyNote: `estimate: no RAPL counter readable (${rapl.reason}); inference energy = ${Math.round(flopsPerToken)} matmul FLOPs per token × ${ESTIMATE_JOULES_PER_FLOP} J/FLOP` },
      };
    }
    const wasTraining = result.model.training;
    result.model.eval();
    try {
      await forwardOnce(result.model, input); // warm-up outside the measurement
      const joules = startRapl(rapl.domains);
      const t0 = performance.now();
      let passes = 0;
      while (passes < 5 || performance.now() - t0 < MIN_SECONDS * 1000) {
        await forwardOnce(result.model, input);
        passes++;
      }
      const tokens = passes * BATCH * result.data.seqLen;
      return {
        metrics: { inferenceUjPerToken: (joules() / tokens) * 1e6, flopsPerToken },
        notes: { energySource: 'rapl', energyNote: `measured: RAPL package counters (${rapl.domains.map((d) => d.path).join(', ')}), whole package including idle and other processes` },
      };
    } finally {
      result.model.train(wasTraining);
    }
  },
});
