/** The end-of-training summary: final losses, each EIT-P term, accuracy by distance, and where the files are. */
import { relative } from 'node:path';
import type { TrainResult } from '../train/trainer.js';
import type { EvalResult } from '../train/evaluate.js';
import type { TrainConfig } from '../train/config.js';

const LAMBDA: Record<string, keyof TrainConfig['eitp']> = {
  thermo: 'lambdaThermo',
  chaos: 'lambdaChaos',
  coherence: 'lambdaCoherence',
  path: 'lambdaPath',
  iem: 'betaIem',
};

function n(v: number | undefined, digits = 4): string {
  if (v === undefined) return '-';
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(2);
  return v.toFixed(digits);
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(1)} %` : '-';
}

export function describeModel(config: TrainConfig, parameters: number): string {
  const m = config.model;
  const size = parameters >= 1e6 ? `${(parameters / 1e6).toFixed(2)}M` : `${(parameters / 1e3).toFixed(1)}k`;
  return m.kind === 'gpt'
    ? `char-GPT (${m.depth} block${m.depth > 1 ? 's' : ''}, width ${m.width}, ${m.heads} heads, ${size} parameters)`
    : `tanh RNN (hidden ${m.hidden}, embedding ${m.embed}, ${size} parameters)`;
}

export function evalLines(ev: EvalResult, kind: string): string[] {
  const out = [
    kind === 'text'
      ? `held-out: loss ${n(ev.loss)} nats, perplexity ${n(ev.perplexity, 2)}, next-character accuracy ${pct(ev.accuracy)}`
      : `held-out: loss ${n(ev.loss)}, accuracy ${pct(ev.accuracy)} (${ev.examples} examples)`,
  ];
  if (ev.byDistance) {
    out.push('accuracy by key-query distance:');
    for (const b of ev.byDistance) out.push(`  ${`${b.lo}-${b.hi}`.padEnd(8)} ${pct(b.accuracy).padStart(7)}   (n = ${b.n})`);
  }
  return out;
}

export function summaryLines(r: TrainResult, cwd = process.cwd()): string[] {
  const c = r.config;
  const rep = r.lastReport;
  const lines: string[] = [];
  lines.push(`${r.stoppedEarly ? 'stopped' : 'trained'} ${describeModel(c, r.model.numParameters())} on ${r.data.describe()}`);
  lines.push(`backend ${r.backend}, step ${r.step}/${c.steps}, batch ${c.batchSize}, ${r.seconds.toFixed(1)} s this session, ${(r.tokensPerSec / 1000).toFixed(2)}k tokens/s`);
  if (rep) {
    lines.push(`final losses: total ${n(rep.total)}, task ${n(rep.terms.task)}`);
    lines.push('EIT-P terms:      value       λ   weighted   |grad| at θ');
    for (const name of ['thermo', 'chaos', 'coherence', 'path', 'iem'] as const) {
      const v = rep.terms[name];
      const lam = c.eitp[LAMBDA[name]!] as number;
      const g = rep.gradientNorms?.[name];
      if (v === undefined) {
        lines.push(`  ${name.padEnd(10)}    off (${name === 'iem' ? 'β_IEM' : 'λ'} = 0)`);
        continue;
      }
      const w = name === 'iem' ? -lam * v : lam * v;
      lines.push(`  ${name.padEnd(10)} ${n(v).padStart(10)} ${String(lam).padStart(7)} ${n(w).padStart(10)} ${n(g).padStart(12)}`);
    }
    if (rep.gradientNorms?.task !== undefined) lines.push(`  ${'task'.padEnd(10)} ${n(rep.terms.task).padStart(10)} ${'1'.padStart(7)} ${n(rep.terms.task).padStart(10)} ${n(rep.gradientNorms.task).padStart(12)}`);
    const m = rep.metrics;
    const parts = [
      m.entropy !== undefined ? `H ${n(m.entropy, 3)}` : '',
      m.temperature !== undefined ? `T ${n(m.temperature, 3)}` : '',
      m.fidelity !== undefined ? `C ${n(m.fidelity, 3)}` : '',
      m.lyapunov !== undefined ? `FTLE ${n(m.lyapunov, 3)}${rep.edgeOfChaos ? ' (edge of chaos)' : ''}` : '',
      m.coherenceFrobenius !== undefined ? `|R-I|_F/d ${n(m.coherenceFrobenius, 3)}` : '',
      m.pathNorm !== undefined ? `path norm ${n(m.pathNorm, 3)}` : '',
      m.iem !== undefined ? `IEM ${n(m.iem, 3)}` : '',
      m.pEmerge !== undefined ? `P_emerge ${n(m.pEmerge, 3)}` : '',
    ].filter(Boolean);
    if (parts.length) lines.push(`measured: ${parts.join(', ')}`);
  }
  if (r.finalEval) lines.push(...evalLines(r.finalEval, c.task.kind));
  const rel = (p: string) => {
    const q = relative(cwd, p);
    return q.startsWith('..') ? p : q;
  };
  lines.push(`checkpoint: ${rel(r.checkpoint)}`);
  lines.push(`metrics:    ${rel(r.metrics)}`);
  return lines;
}
