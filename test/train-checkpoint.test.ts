/**
 * Checkpoints: a writer killed (SIGKILL) at any point of a checkpoint write leaves the previous checkpoint loadable;
 * truncated or corrupted checkpoints are refused by their checksums; tensors that do not fit the model are named.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { CharGpt } from '../src/models/gpt.js';
import { CheckpointError, MANIFEST, loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import type { HostTensor } from '../src/train/safetensors.js';
import { loadModelTensors } from '../src/train/trainer.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'eitp-ckpt-'));
const small: Record<string, HostTensor> = { 'model.w': { dtype: 'f32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) } };

/**
 * A child process (the compiled library, as `npm test` builds it) saves a checkpoint (48 MB, or 1 KB when the
 * target is the manifest) over the small one,
 * pausing between 1 MiB chunks; it is SIGKILLed as soon as it reports the phase we aim at.
 */
async function killDuring(dir: string, phase: string): Promise<void> {
  const lib = resolve('dist/src/train/checkpoint.js');
  const script = `
    const { saveCheckpoint } = await import(${JSON.stringify(lib)});
    const data = new Float32Array(${phase === 'manifest' ? 256 : 12 * 1024 * 1024}).fill(0.25);
    const pause = new Int32Array(new SharedArrayBuffer(4));
    saveCheckpoint(${JSON.stringify(dir)}, { 'model.w': { dtype: 'f32', shape: [data.length], data } }, { step: 2 }, {
      chunkBytes: ${phase === 'manifest' ? 16 : 1 << 20},
      onProgress: (p) => { if (p === ${JSON.stringify(phase)}) { process.stdout.write('at ' + p + '\\n'); Atomics.wait(pause, 0, 0, 30); } },
    });
    process.stdout.write('finished\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((done) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes(`at ${phase}`)) child.kill('SIGKILL');
    });
    child.on('exit', () => done());
  });
  expect(out).toContain(`at ${phase}`);
  expect(out).not.toContain('finished');
}

describe('crash safety', () => {
  for (const phase of ['tensors', 'tensors-committed', 'manifest']) {
    it(`a writer killed with SIGKILL during "${phase}" leaves the previous checkpoint loadable`, async () => {
      const dir = fresh();
      saveCheckpoint(dir, small, { step: 1 });
      await killDuring(dir, phase);
      const back = loadCheckpoint(dir);
      expect(back.state.step).toBe(1);
      expect(Array.from(back.tensors['model.w']!.data)).toEqual([1, 2, 3, 4]);
      // the next save cleans up what the killed writer left behind
      saveCheckpoint(dir, small, { step: 3 });
      expect(readdirSync(dir).sort()).toEqual([MANIFEST, 'step-0000003.safetensors']);
    });
  }
});

describe('refusing bad checkpoints', () => {
  function withCheckpoint(): { dir: string; tensorFile: string } {
    const dir = fresh();
    saveCheckpoint(dir, { ...small, 'model.b': { dtype: 'f32', shape: [300], data: new Float32Array(300).fill(1) } }, { step: 5, note: 'x' });
    return { dir, tensorFile: join(dir, 'step-0000005.safetensors') };
  }

  it('a flipped byte in the tensors is refused by the sha256', () => {
    const { dir, tensorFile } = withCheckpoint();
    const b = readFileSync(tensorFile);
    b[b.length - 7] ^= 0x10;
    writeFileSync(tensorFile, b);
    expect(() => loadCheckpoint(dir)).toThrow(CheckpointError);
    expect(() => loadCheckpoint(dir)).toThrow(/step-0000005.safetensors does not match its sha256 \(corrupted\)/);
  });

  it('a truncated tensor file or manifest is refused', () => {
    const a = withCheckpoint();
    truncateSync(a.tensorFile, 100);
    expect(() => loadCheckpoint(a.dir)).toThrow(/has 100 bytes, the manifest says \d+ \(truncated\?\)/);
    const b = withCheckpoint();
    truncateSync(join(b.dir, MANIFEST), 50);
    expect(() => loadCheckpoint(b.dir)).toThrow(/the manifest is not valid JSON \(truncated or corrupted\)/);
  });

  it('an edited state is refused by its own sha256; a missing checkpoint names the path', () => {
    const { dir } = withCheckpoint();
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8'));
    m.state.step = 6;
    writeFileSync(join(dir, MANIFEST), JSON.stringify(m));
    expect(() => loadCheckpoint(dir)).toThrow(/the state does not match its sha256/);
    expect(() => loadCheckpoint(join(dir, 'nope'))).toThrow(`refusing checkpoint ${join(dir, 'nope')}: no such file`);
  });

  it('tensors that do not fit the model name the tensor and both shapes', () => {
    et.setBackend('cpu');
    const m = new CharGpt({ vocabSize: 10, context: 8, width: 16, depth: 1, heads: 2 });
    const host: Record<string, HostTensor> = {};
    for (const [k, t] of m.namedParameters()) host[`model.${k}`] = { dtype: t.dtype, shape: [...t.shape], data: t.dataSync() };
    host['model.wpe'] = { dtype: 'f32', shape: [4, 16], data: new Float32Array(64) };
    expect(() => loadModelTensors(m, host, 'ckpt')).toThrow(/checkpoint ckpt does not fit the model: .*"wpe" has shape \[8, 16\] in the module but \[4, 16\] in the state dict/);
  });
});
