/**
 * `npm run bench -- native-dispatch`: what one engine call costs when its kernel is trivial. The EIT-P terms are
 * hundreds of small calls per step (the FTLE's tangent passes, the thermo taps), so this per-call floor, not the
 * kernels, is what their overhead above the arithmetic is made of (issue #5). One elementwise add, side by side:
 * the engine on native (plain, and recorded for autodiff) and on cpu, against tfjs-core's cpu and wasm backends
 * (the same call through another JS tensor library). n = 64 shows the call cost, n = 65536 the kernel's.
 *
 *   npx tsx bench/native-dispatch.ts [--inner 1000] [--rounds 3] [--time 1500]
 *
 * Rows take turns (bench/interleaved.ts); each sample is `inner` calls (scaled down for large n, never below 32) ended
 * by a readback of the last result, so queued work is counted. Per row: median µs per call with p25–p75, and its
 * ratio to tfjs cpu at the same n.
 */
import * as et from '../engine/index.js';
import { quantileSorted } from '../src/bench/stats.js';
import { arg } from './bench-args.js';
import { timeInterleaved } from './interleaved.js';
import { loadTf } from './tfjs-peers.js';

const inner = Number(arg('inner', '1000'));
const rounds = Number(arg('rounds', '3'));
const time = Number(arg('time', '1500'));
const SIZES = [64, 65536];
/** Calls per sample at the least: the readback that ends a sample is shared by at least this many calls. */
const MIN_CALLS = 32;

/** The engine rows' operands, disposed once every row is timed (left to the garbage collector, they set off et's leak warning). */
const operands: et.Tensor[] = [];

interface Row {
  name: string;
  n: number;
  /** `calls` adds, then a readback of the last one. */
  run: (calls: number) => Promise<void>;
}

function engineRow(backend: et.BackendName, n: number, recorded: boolean): Row {
  const x = et.keep(et.randn([n], { seed: 1, backend }));
  const y = et.keep(et.randn([n], { seed: 2, backend }));
  operands.push(x, y);
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

/** One add per call on each tfjs backend that loads here (tfjs's current backend is global: set per sample). */
async function tfRows(n: number): Promise<Row[]> {
  const loaded = await loadTf();
  if (!loaded) return [];
  for (const m of loaded.missing) console.log(`not measured: ${m}`);
  const { tf } = loaded;
  const rows: Row[] = [];
  for (const name of loaded.backends) {
    // the operands are made on the row's own backend (made on another, every add would copy them over first)
    await tf.setBackend(name);
    const backend = tf.findBackend(name)!;
    const [x, y] = [tf.randomNormal([n], 0, 1, 'float32', 1), tf.randomNormal([n], 0, 1, 'float32', 2)];
    rows.push({
      name: `tfjs ${name}`,
      n,
      run: async (calls: number) => {
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
  // large n: fewer calls per sample, so a sample stays in the milliseconds like the small ones; but at least
  // MIN_CALLS, or the sample's one readback of n elements (a fresh n-element array and its page faults, ~30–40 µs at
  // n = 65536) would be most of what the row reports
  const callsOf = (r: Row) => Math.max(MIN_CALLS, Math.round((inner * 64) / r.n));
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
  et.dispose(operands.splice(0));
}

await main();
