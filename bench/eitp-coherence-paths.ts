/**
 * `npm run bench -- eitp-coherence-paths [--backends native,webgpu] [--quick]`: the two ways the objective computes
 * the coherence loss, side by side per backend across N·d², the size that picks between them
 * (src/eitp/coherence.ts, FUSED_LOSS_MAX_WORK = 2^24):
 * - the fused op et.coherence, whose backward recomputes the Gram (N·d²/2 multiply-adds more), and
 * - "via R": et.correlation keeps R for its backward and the loss is d×d ops on R.
 * Forward + backward into Z of each, taking turns (bench/interleaved.ts); median ms with p25–p75 and via R / fused
 * (> 1: the fused op is faster). The rule holds on a backend when the ratio is > 1 at N·d² ≤ 2^24 and < 1 beyond.
 */
import * as et from '../engine/index.js';
import { FUSED_LOSS_MAX_WORK } from '../src/eitp/coherence.js';
import { arg } from './bench-args.js';
import { settled, toStat, type Stat } from './eitp-steps.js';
import { timeInterleaved } from './interleaved.js';

const quick = process.argv.includes('--quick');
const wanted = arg('backends', 'native,webgpu').split(',');

/** [N, d]: the MLP's features, the char-GPT's, and N·d² from 2^22 to 2^28 at d = 256 (and 2^26 at d = 128). */
const SHAPES: [number, number][] = [
  [64, 256],
  [768, 32],
  [256, 256],
  [1024, 256],
  [4096, 128],
  [4096, 256],
];

function task(x: et.Tensor, loss: (z: et.Tensor) => et.Tensor): () => Promise<void> {
  return async () => {
    const g = et.tidy(() => et.grad(loss)(x) as et.Tensor);
    await settled(g);
    g.dispose();
  };
}

const fmt = (s: Stat) => `${s.median.toFixed(2)} ms (${s.p25.toFixed(2)}–${s.p75.toFixed(2)})`;

async function main(): Promise<void> {
  if (wanted.includes('webgpu')) await et.initWebGPU().catch(() => undefined);
  const available = et.backendInfo().filter((b) => b.available && !b.emulated).map((b) => b.name as string);
  for (const backend of wanted) {
    if (!available.includes(backend)) {
      console.log(`not measured: ${backend} (unavailable here)`);
      continue;
    }
    et.setBackend(backend as et.BackendName);
    console.log(`\n### ${backend}: coherence loss forward + backward, fused op against via R (the objective takes the fused op up to N·d² = 2^${Math.log2(FUSED_LOSS_MAX_WORK)})\n`);
    console.log('| N | d | N·d² | fused | via R | via R / fused |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const [n, d] of SHAPES) {
      const x = et.keep(et.randn([n, d], { seed: 3 }));
      const [fused, viaR] = (
        await timeInterleaved(
          [
            { name: 'fused', run: task(x, (z) => et.coherence(z)) },
            { name: 'via R', run: task(x, (z) => et.coherenceOfCorrelation(et.correlation(z))) },
          ],
          { time: quick ? 200 : 1500, rounds: quick ? 1 : 3, iterations: 5, warmupTime: quick ? 50 : 200, warmupIterations: 2 },
        )
      ).map(toStat) as [Stat, Stat];
      console.log(`| ${n} | ${d} | 2^${Math.log2(n * d * d).toFixed(1)} | ${fmt(fused)} | ${fmt(viaR)} | ${(viaR.median / fused.median).toFixed(2)} |`);
      x.dispose();
    }
  }
}

await main();
