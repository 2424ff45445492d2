/**
 * `npm run bench -- native-dispatch`: what one engine call costs when its kernel is trivial. The EIT-P terms are
 * hundreds of small calls per step (the FTLE's tangent passes, the thermo taps), so this per-call floor, not the
 * kernels, is what their overhead above the arithmetic is made of (issue #5). One elementwise add, side by side:
 * the engine on native (plain, and recorded for autodiff) and on cpu, against tfjs-core's cpu and wasm backends
 * (the same call through another JS tensor library). n = 64 shows the call cost, n = 65536 the kernel's.
 *
 *   npx tsx bench/native-dispatch.ts [--inner 1000] [--rounds 3] [--time 1500]
 *
 * Rows take turns (bench/interleaved.ts); each sample is `inner` calls ended by a readback of the last result, so
 * queued work is counted. Per row: median µs per call with p25–p75, and its ratio to tfjs cpu at the same n.
 */
import { createRequire } from 'node:module';
import * as et from '../engine/index.js';
import { quantileSorted } from '../src/bench/stats.js';
import { arg } from './bench-args.js';
import { timeInterleaved } from './interleaved.js';

type Tf = typeof import('@tensorflow/tfjs-core');

const inner = Number(arg('inner', '1000'));
const rounds = Number(arg('rounds', '3'));
const time = Number(arg('time', '1500'));
const SIZES = [64, 65536];

interface Row {
  name: string;
  n: number;
  /** `calls` adds, then a readback of the last one. */
  run: (calls: number) => Promise<void>;
}

function engineRow(backend: et.BackendName, n: number, recorded: boolean): Row {
  const x = et.keep(et.randn([n], { seed: 1, backend }));
  const y = et.keep(et.randn([n], { seed: 2, backend }));
  if (recorded) x.requiresGrad = true;
  return {
    name: `eitp ${backend}${recorded ? ', recorded for autodiff' : ''}`,
    n,
    run: async (calls) => {
      let z = x.add(y);
      for (let i = 1; i < calls; i++) {
        z.dispose();
        z = x.add(y);
      }
      await z.data();
      z.dispose();
    },
  };
}

/** tfjs-core with its cpu and wasm backends, when they load here. */
async function tfRows(n: number): Promise<Row[]> {
  let tf: Tf;
  try {
    tf = (await import('@tensorflow/tfjs-core')) as Tf;
    createRequire(import.meta.url)('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  } catch (e) {
    console.log(`not measured: tfjs (${(e as Error).message.split('\n')[0]})`);
    return [];
  }
  const rows: Row[] = [];
  const warn = console.warn;
  console.warn = () => {};
  try {
    for (const [name, pkg] of [['cpu', '@tensorflow/tfjs-backend-cpu'], ['wasm', '@tensorflow/tfjs-backend-wasm']] as const) {
      try {
        await import(pkg);
        if (!(await tf.setBackend(name))) throw new Error('setBackend failed');
      } catch (e) {
        console.log(`not measured: tfjs ${name} (${(e as Error).message.split('\n')[0]})`);
        continue;
      }
      const backend = tf.findBackend(name)!;
      const [x, y] = [tf.randomNormal([n], 0, 1, 'float32', 1), tf.randomNormal([n], 0, 1, 'float32', 2)];
      rows.push({
        name: `tfjs ${name}`,
        n,
        run: async (calls) => {
          // each row runs on its own backend; tfjs's current backend is global, so set it per sample
          if (tf.backend() !== backend) await tf.setBackend(name);
          let z = tf.add(x, y);
          for (let i = 1; i < calls; i++) {
            z.dispose();
            z = tf.add(x, y);
          }
          await z.data();
          z.dispose();
        },
      });
    }
  } finally {
    console.warn = warn;
  }
  return rows;
}

async function main(): Promise<void> {
  const engines = et.backendInfo().filter((b) => b.available && !b.emulated && (b.name === 'native' || b.name === 'cpu')).map((b) => b.name);
  const rows: Row[] = [];
  for (const n of SIZES) {
    for (const b of engines) rows.push(engineRow(b, n, false));
    if (engines.includes('native')) rows.push(engineRow('native', n, true));
    rows.push(...(await tfRows(n)));
  }
  // large n: fewer calls per sample, so a sample stays in the milliseconds like the small ones
  const callsOf = (r: Row) => Math.max(1, Math.round((inner * 64) / r.n));
  const samples = await timeInterleaved(
    rows.map((r) => ({ name: `${r.name} n=${r.n}`, run: () => r.run(callsOf(r)) })),
    { time, rounds, iterations: 10, warmupTime: 200, warmupIterations: 5 },
  );
  const stats = samples.map((s, i) => {
    const us = s.map((ms) => (ms * 1000) / callsOf(rows[i]!)).sort((a, b) => a - b);
    return { median: quantileSorted(us, 0.5), p25: quantileSorted(us, 0.25), p75: quantileSorted(us, 0.75) };
  });
  console.log(`\n### one elementwise add per call (median µs per call, p25–p75; ${rounds} interleaved rounds)\n`);
  console.log('| n | call | µs per call | vs tfjs cpu |');
  console.log('| --- | --- | --- | --- |');
  rows.forEach((r, i) => {
    const peer = rows.findIndex((p) => p.n === r.n && p.name === 'tfjs cpu');
    const s = stats[i]!;
    const ratio = peer >= 0 ? `${(s.median / stats[peer]!.median).toFixed(2)}x` : '—';
    console.log(`| ${r.n} | ${r.name} | ${s.median.toFixed(2)} (${s.p25.toFixed(2)}–${s.p75.toFixed(2)}) | ${ratio} |`);
  });
}

await main();
