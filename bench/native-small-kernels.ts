/**
 * The native kernels at the main job's small shapes (char-GPT B=32, T=24, d=32, 2 heads of 16, MLP 128, vocab 21;
 * B'=4 for the EIT-P Lyapunov sub-batch): batched attention matmuls with the operand views the GPT's forward and
 * backward produce, the linear layers' weight-gradient matmuls, softmax, softmaxGrad fused and as its composite (mul,
 * sum, sub, mul; also at [8,4,256,256]), layerNorm(+Grad), crossEntropy(+Grad), whole-tensor sum, norm and var, gelu(+Grad) in both forms and the
 * other vmath ops (exp, tanh, sigmoid, erf), and a whole GPT step (forward + backward). Per row: the kernel's own time per call (et.profile) and the wall time per call (queue, run, sync), medians with p25-p75 over samples of `--inner` calls each.
 *
 *   npx tsx bench/native-small-kernels.ts [--threads 1] [--sync] [--samples 15] [--inner 20] [--rows softmax,gpt]
 *   npx tsx bench/native-small-kernels.ts --addons /tmp/old.node,build/Release/eitp_native.node [--rounds 3]
 *
 * `--addons A,B` runs this script once per addon file (EITP_NATIVE_ADDON) per round, alternating A, B, A, B, ... so
 * that a change in the machine's load lands on both, pools each side's samples and prints B/A per row (kernel and
 * wall medians; < 1: B is faster). `--sync` sets EITP_NATIVE_SYNC=1 (every kernel at its call).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as et from '../engine/index.js';
import { apply } from '../engine/dispatch.js';
import { nativeInfo, nativeSync, setNativeThreads } from '../engine/backends/native/index.js';
import { CharGpt } from '../src/models/gpt.js';
import { arg } from './bench-args.js';

interface Row {
  name: string;
  /** The kernel whose et.profile time is reported, or the kernels whose times are summed (all kernels for the GPT step). */
  kernel: string | readonly string[] | null;
  /** One call; returns what to dispose. */
  run: () => et.Tensor | Promise<void>;
}

interface RowStats {
  name: string;
  kernelUs: number[];
  wallUs: number[];
}

const threads = Number(arg('threads', '2'));
const samples = Number(arg('samples', '15'));
const inner = Number(arg('inner', '20'));
const only = arg('rows', '');
const addons = arg('addons', '');
const rounds = Number(arg('rounds', '3'));
const jsonOut = arg('json', '');

const [B, T, D, H, HD, V, HIDDEN] = [32, 24, 32, 2, 16, 21, 128];

/** Tensors the rows keep; disposed at the end. */
const kept: et.Tensor[] = [];
const keep = <X extends et.Tensor>(t: X): X => (kept.push(et.keep(t)), t);
let seed = 100;
const randn = (shape: number[]) => keep(et.randn(shape, { seed: seed++ }));

/** [b, H, T, hd] views of a [b, T, d] activation, as the GPT's head split makes them (head stride hd, row stride d). */
const heads = (b: number) => keep(et.tidy(() => et.randn([b, T, D], { seed: seed++ }).reshape([b, T, H, HD]).permute([0, 2, 1, 3])));

function attentionRows(b: number): Row[] {
  const q = heads(b), k = heads(b), v = heads(b), dOut = heads(b);
  const probs = randn([b, H, T, T]);
  const tag = `[${b},${H}]`;
  return [
    { name: `matmul q·kᵀ ${tag} 24x16·16x24`, kernel: 'matmul', run: () => et.matmul(q, k.transpose()) },
    { name: `matmul p·v ${tag} 24x24·24x16`, kernel: 'matmul', run: () => et.matmul(probs, v) },
    { name: `matmul qᵀ·dS ${tag} 16x24·24x24`, kernel: 'matmul', run: () => et.matmul(q.transpose(), probs) },
    { name: `matmul pᵀ·dO ${tag} 24x24·24x16`, kernel: 'matmul', run: () => et.matmul(probs.transpose(), dOut) },
  ];
}

function weightGradRows(): Row[] {
  const rows = B * T;
  const x32 = randn([rows, D]), g96 = randn([rows, 3 * D]), g128 = randn([rows, HIDDEN]), w = randn([3 * D, D]);
  return [
    { name: 'matmul gᵀ·x 96x768·768x32', kernel: 'matmul', run: () => et.matmul(g96.transpose(), x32) },
    { name: 'matmul xᵀ·g 32x768·768x128', kernel: 'matmul', run: () => et.matmul(x32.transpose(), g128) },
    { name: 'matmul g·W 768x96·96x32', kernel: 'matmul', run: () => et.matmul(g96, w) },
  ];
}

function nnRows(): Row[] {
  const scores = randn([B, H, T, T]);
  const x = randn([B * T, D]), gamma = randn([D]), beta = randn([D]), g = randn([B * T, D]);
  const logits = randn([B * T, V]);
  const targets = keep(et.tensor(Int32Array.from({ length: B * T }, (_, i) => (i * 7) % V), { shape: [B * T] }));
  const one = keep(et.tensor(new Float32Array([1]), { shape: [] }));
  return [
    { name: 'softmax [32,2,24,24] last axis', kernel: 'softmax', run: () => et.softmax(scores, -1) },
    { name: 'logSoftmax [32,2,24,24] last axis', kernel: 'logSoftmax', run: () => et.logSoftmax(scores, -1) },
    { name: 'layerNorm [768,32]', kernel: 'layerNorm', run: () => et.layerNorm(x, gamma, beta, 1e-5) },
    { name: 'layerNormGrad [768,32]', kernel: 'layerNormGrad', run: () => apply('layerNormGrad', [x, gamma, g], { eps: 1e-5 }) },
    { name: 'crossEntropy [768,21]', kernel: 'crossEntropy', run: () => et.crossEntropy(logits, targets) },
    { name: 'crossEntropyGrad [768,21]', kernel: 'crossEntropyGrad', run: () => apply('crossEntropyGrad', [logits, targets, one], { reduction: 'mean' }) },
    // whole-tensor reductions at the thermo term's GELU tap (the τ = 0.1·RMS norm) and of a parameter-sized tensor
    ...[[B * T, 4 * D], [1024, 1024]].flatMap(([r, c]) => {
      const a = randn([r!, c!]);
      return [
        { name: `sum [${r},${c}] (all axes)`, kernel: 'sum', run: () => a.sum() },
        { name: `norm [${r},${c}] (all axes)`, kernel: 'norm', run: () => a.norm() },
        { name: `var [${r},${c}] (all axes)`, kernel: 'var', run: () => et.variance(a) },
      ];
    }),
  ];
}

/** softmax's backward, fused and as its four-kernel composite, at the main job's attention and at [8,4,256,256]. */
function softmaxGradRows(): Row[] {
  const rows: Row[] = [];
  for (const shape of [[B, H, T, T], [8, 4, 256, 256]]) {
    const y = keep(et.tidy(() => et.softmax(et.randn(shape, { seed: seed++ }), -1)));
    const g = randn(shape);
    const tag = `[${shape.join(',')}]`;
    rows.push(
      { name: `softmaxGrad ${tag}`, kernel: 'softmaxGrad', run: () => et.softmaxGrad(y, g, shape.length - 1) },
      { name: `softmaxGrad composite ${tag}`, kernel: ['mul', 'sum', 'sub'], run: () => et.mul(y, et.sub(g, et.sum(et.mul(g, y), -1, true))) },
    );
  }
  return rows;
}

/** gelu(+Grad) in both forms at the MLP hidden layer (B=32 and the Lyapunov sub-batch B'=4), and the other vmath ops. */
function vmathRows(): Row[] {
  const rows: Row[] = [];
  for (const b of [B, 4]) {
    const hid = randn([b * T, HIDDEN]), gHid = randn([b * T, HIDDEN]);
    const tag = `[${b * T},${HIDDEN}]`;
    for (const approximate of ['none', 'tanh'] as const) {
      const form = approximate === 'tanh' ? 'tanh' : 'erf';
      rows.push(
        { name: `gelu ${form} ${tag}`, kernel: 'gelu', run: () => et.gelu(hid, { approximate }) },
        { name: `geluGrad ${form} ${tag}`, kernel: 'geluGrad', run: () => apply('geluGrad', [hid, gHid], { approximate }) },
      );
    }
  }
  const hid = randn([B * T, HIDDEN]);
  const tag = `[${B * T},${HIDDEN}]`;
  rows.push(
    { name: `exp ${tag}`, kernel: 'exp', run: () => et.exp(hid) },
    { name: `tanh ${tag}`, kernel: 'tanh', run: () => et.tanh(hid) },
    { name: `sigmoid ${tag}`, kernel: 'sigmoid', run: () => et.sigmoid(hid) },
    { name: `erf ${tag}`, kernel: 'erf', run: () => et.erf(hid) },
  );
  return rows;
}

function gptRow(): Row {
  const gpt = new CharGpt({ vocabSize: V, context: T, width: D, depth: 2, heads: H, seed: 0 });
  kept.push(...gpt.parameters()); // disposed with the rows' inputs at the end
  const ints = (n: number) => Int32Array.from({ length: n }, (_, i) => (i * 5 + 3) % V);
  const inputs = keep(et.tensor(ints(B * T), { shape: [B, T] }));
  const targets = keep(et.tensor(ints(B * T).reverse(), { shape: [B, T] }));
  return {
    name: 'GPT step fwd+bwd B32 (all kernels)',
    kernel: null,
    run: async () => {
      const loss = et.tidy(() => {
        const l = et.crossEntropy(gpt.forward(inputs).logits, targets);
        l.backward();
        return l;
      });
      await loss.data();
      loss.dispose();
      for (const p of gpt.parameters()) p.zeroGrad();
    },
  };
}

const quantile = (sorted: number[], q: number) => {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (i - lo);
};
const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), p25: quantile(s, 0.25), p75: quantile(s, 0.75) };
};

async function measure(row: Row): Promise<RowStats> {
  const calls = row.kernel ? inner : Math.max(1, Math.round(inner / 10));
  const once = async () => {
    for (let i = 0; i < calls; i++) {
      if (row.kernel === null) await row.run();
      else et.tidy(() => row.run() as et.Tensor).dispose(); // the transposed views it makes go too
    }
    nativeSync();
  };
  await once(); // warm-up: buffers cached, threads started
  const out: RowStats = { name: row.name, kernelUs: [], wallUs: [] };
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    const p = await et.profile(once);
    const wall = performance.now() - t0;
    const names = row.kernel === null ? null : new Set(typeof row.kernel === 'string' ? [row.kernel] : row.kernel);
    const ms = names ? p.kernels.filter((k) => names.has(k.kernel)).reduce((t, k) => t + k.ms, 0) || NaN : p.totalMs;
    out.kernelUs.push((1000 * ms) / calls);
    out.wallUs.push((1000 * wall) / calls);
  }
  return out;
}

async function runHere(): Promise<RowStats[]> {
  et.setBackend('native');
  setNativeThreads(threads);
  const rows = [...attentionRows(B), ...attentionRows(4), ...weightGradRows(), ...nnRows(), ...softmaxGradRows(), ...vmathRows(), gptRow()];
  const picked = only ? rows.filter((r) => only.split(',').some((w) => r.name.includes(w))) : rows;
  const stats: RowStats[] = [];
  for (const r of picked) stats.push(await measure(r));
  et.dispose(kept);
  return stats;
}

const us = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const fmt = (xs: number[]) => {
  const s = summary(xs);
  return `${us(s.median).padStart(7)} (${us(s.p25)}-${us(s.p75)})`.padEnd(24);
};

function printTable(stats: RowStats[]) {
  const info = nativeInfo();
  const mode = process.env.EITP_NATIVE_SYNC === '1' ? 'sync' : 'async';
  console.log(`native small kernels, ${threads} thread(s), ${mode}; GEMM ${info.gemmKernel}; µs per call, median (p25-p75)`);
  console.log(`${'row'.padEnd(38)} ${'kernel'.padEnd(24)} wall`);
  for (const s of stats) console.log(`${s.name.padEnd(38)} ${fmt(s.kernelUs)} ${fmt(s.wallUs)}`);
}

/** --addons A,B: alternate subprocess runs of this script, one per addon per round; pool and compare. */
function compareAddons(files: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'eitp-small-'));
  const pooled: Map<string, RowStats>[] = files.map(() => new Map());
  const forwarded = process.argv.slice(2).filter((a, i, all) => a !== '--addons' && all[i - 1] !== '--addons' && a !== '--rounds' && all[i - 1] !== '--rounds');
  try {
    for (let round = 0; round < rounds; round++) {
      files.forEach((file, side) => {
        const json = join(dir, `r${round}-${side}.json`);
        const env = { ...process.env, EITP_NATIVE_ADDON: resolve(file), ...(process.argv.includes('--sync') ? { EITP_NATIVE_SYNC: '1' } : {}) };
        const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...forwarded, '--json', json], { env, stdio: ['ignore', 'ignore', 'inherit'] });
        if (r.status !== 0) throw new Error(`run with ${file} failed (${r.status})`);
        for (const s of JSON.parse(readFileSync(json, 'utf8')) as RowStats[]) {
          const p = pooled[side]!.get(s.name) ?? { name: s.name, kernelUs: [], wallUs: [] };
          p.kernelUs.push(...s.kernelUs);
          p.wallUs.push(...s.wallUs);
          pooled[side]!.set(s.name, p);
        }
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const mode = process.argv.includes('--sync') ? 'sync' : 'async';
  console.log(`A = ${files[0]}, B = ${files[1]}; ${threads} thread(s), ${mode}, ${rounds} alternated rounds; µs per call, median (p25-p75)`);
  console.log(`${'row'.padEnd(38)} ${'kernel A'.padEnd(24)} ${'kernel B'.padEnd(24)} B/A   ${'wall A'.padEnd(24)} ${'wall B'.padEnd(24)} B/A`);
  for (const [name, a] of pooled[0]!) {
    const b = pooled[1]!.get(name)!;
    const ratio = (x: number[], y: number[]) => (summary(y).median / summary(x).median).toFixed(2);
    console.log(`${name.padEnd(38)} ${fmt(a.kernelUs)} ${fmt(b.kernelUs)} ${ratio(a.kernelUs, b.kernelUs).padEnd(5)} ${fmt(a.wallUs)} ${fmt(b.wallUs)} ${ratio(a.wallUs, b.wallUs)}`);
  }
}

if (addons) {
  const files = addons.split(',');
  if (files.length !== 2) throw new Error('--addons takes two addon files: A,B');
  compareAddons(files);
} else {
  if (process.argv.includes('--sync') && process.env.EITP_NATIVE_SYNC !== '1') {
    // the addon reads EITP_NATIVE_SYNC when it loads: rerun with it set
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { env: { ...process.env, EITP_NATIVE_SYNC: '1' }, stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
  const stats = await runHere();
  if (jsonOut) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(jsonOut, JSON.stringify(stats));
  } else printTable(stats);
}
