/** RAPL counter reading (on a fake powercap tree) and the FLOP count behind the energy estimate, by hand. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forwardFlops } from '../src/experiments/flops.js';
import { counterDeltaJoules, probeRapl, startRapl } from '../src/experiments/rapl.js';

function fakePowercap(domains: Record<string, { energy: number; max: number }>): string {
  const root = mkdtempSync(join(tmpdir(), 'eitp-powercap-'));
  for (const [name, d] of Object.entries(domains)) {
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, 'energy_uj'), `${d.energy}\n`);
    writeFileSync(join(root, name, 'max_energy_range_uj'), `${d.max}\n`);
  }
  return root;
}

describe('RAPL', () => {
  it('sums the package domains (not their sub-domains) and survives a counter wrap', () => {
    const root = fakePowercap({
      'intel-rapl:0': { energy: 1_000_000, max: 10_000_000 },
      'intel-rapl:0:0': { energy: 5, max: 10_000_000 }, // core sub-domain: already inside package 0
      'intel-rapl:1': { energy: 9_500_000, max: 10_000_000 },
    });
    const probe = probeRapl(root);
    expect(probe.ok).toBe(true);
    if (!probe.ok) return;
    expect(probe.domains.map((d) => d.path)).toEqual([join(root, 'intel-rapl:0', 'energy_uj'), join(root, 'intel-rapl:1', 'energy_uj')]);
    const joules = startRapl(probe.domains);
    writeFileSync(join(root, 'intel-rapl:0', 'energy_uj'), '3500000\n'); // +2.5 J
    writeFileSync(join(root, 'intel-rapl:0:0', 'energy_uj'), '900000000\n');
    writeFileSync(join(root, 'intel-rapl:1', 'energy_uj'), '250000\n'); // wrapped: 0.5 J to the top, then 0.25 J
    expect(joules()).toBeCloseTo(2.5 + 0.75, 9);
    expect(counterDeltaJoules(10, 4, 20)).toBeCloseTo(14e-6, 15);
  });

  it('says why when there is nothing to read', () => {
    const missing = probeRapl(join(tmpdir(), 'no-such-powercap-dir'));
    expect(missing).toMatchObject({ ok: false });
    expect(!missing.ok && missing.reason).toMatch(/is not readable \(ENOENT\)/);
    const empty = probeRapl(mkdtempSync(join(tmpdir(), 'eitp-powercap-')));
    expect(!empty.ok && empty.reason).toMatch(/no intel-rapl package domains/);
  });
});

describe('forward FLOPs', () => {
  it('char-GPT: qkv, attention, projection, MLP and unembedding, counted by hand', () => {
    const gpt = { kind: 'gpt', width: 4, depth: 2, heads: 2, mlpRatio: 2, tieWeights: true, smearKeys: false } as const;
    // per block, B = 1, T = 3, d = 4, f = 8: qkv 2·3·4·12 = 288, QKᵀ and PV 2·2·9·4 = 144, proj 2·3·4·4 = 96, MLP 2·2·3·4·8 = 384
    const block = 288 + 144 + 96 + 384;
    expect(forwardFlops(gpt, { batch: 1, seqLen: 3, vocab: 5, readout: 'all' })).toBe(2 * block + 2 * 3 * 4 * 5);
    expect(forwardFlops(gpt, { batch: 2, seqLen: 3, vocab: 5, readout: 'last' })).toBe(2 * (2 * block + 2 * 4 * 5));
  });

  it('tanh RNN: input, recurrent and output matmuls', () => {
    const rnn = { kind: 'rnn', hidden: 6, embed: 3 } as const;
    // B = 1, T = 4: input 2·4·3·6 = 144, recurrent 2·4·6·6 = 288, output (all) 2·4·6·7 = 336
    expect(forwardFlops(rnn, { batch: 1, seqLen: 4, vocab: 7, readout: 'all' })).toBe(144 + 288 + 336);
    expect(forwardFlops(rnn, { batch: 1, seqLen: 4, vocab: 7, readout: 'last' })).toBe(144 + 288 + 84);
  });
});
