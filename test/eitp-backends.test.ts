/**
 * The EIT-P terms are compositions of engine ops, so they run on every backend that has the ops. This checks each
 * available accelerated backend against the cpu oracle on the whole objective: term values, metrics and per-term
 * gradient norms (f32). Fused EIT-P kernels (issue 5, phase 2) will be checked against these composites.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { disposeEitpState, eitpConfig, eitpObjective, readEitpReport, termGradientNorms, type EitpReport } from '../src/eitp/index.js';
import { acceleratedBackends } from './helpers/backends.js';
import { TinyTanhMlp } from './fixtures/tiny-models.js';
import { expectNoLeaks } from './fixtures/leaks.js';

expectNoLeaks();
afterAll(() => et.setBackend('cpu'));

async function reportOn(backend: et.BackendName): Promise<EitpReport> {
  et.setBackend(backend);
  const model = new TinyTanhMlp({ inputs: 8, hidden: 16, classes: 4, blocks: 3 }, { seed: 1 });
  const config = eitpConfig({ betaIem: 0.1 });
  const { o, norms } = et.tidy(() => {
    const b = { inputs: et.randn([64, 8], { seed: 2 }), targets: et.randint([64], 0, 4, { seed: 3 }) };
    const full = eitpObjective(model, b, config, { epoch: 1, step: 1 });
    return { o: { total: full.total, terms: full.terms, metrics: full.metrics }, norms: termGradientNorms(model, full) };
  });
  const r = await readEitpReport(model, o, config, norms);
  et.dispose([o.total, o.terms, o.metrics, norms, model.parameters()]);
  disposeEitpState(model);
  return r;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 + 2e-3 * Math.abs(b);

describe.each(acceleratedBackends().map((b) => [b] as const))('EIT-P objective on %s against cpu', (backend) => {
  it('terms, metrics and gradient norms agree (f32)', async () => {
    const ref = await reportOn('cpu');
    const got = await reportOn(backend);
    for (const group of ['terms', 'metrics', 'gradientNorms'] as const) {
      for (const [k, v] of Object.entries(ref[group]!)) expect(close(got[group]![k as never] as number, v), `${group}.${k}: ${got[group]![k as never]} vs ${v}`).toBe(true);
    }
  });
});

it('cpu is always available as the oracle', () => {
  expect(et.backendInfo().find((b) => b.name === 'cpu')?.available).toBe(true);
});
