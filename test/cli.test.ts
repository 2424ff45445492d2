/** The eitp command, run as a user runs it (the compiled CLI, built by `npm test` before vitest). */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { trainMlp } from '../src/cli/train-mlp.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { MetricsLog } from '../src/train/metrics.js';

const run = promisify(execFile);
const env = { ...process.env, EITP_BACKEND: 'cpu' };
const eitp = (...args: string[]) => run(process.execPath, ['bin/eitp.js', ...args], { env });
const fails = (...args: string[]) => eitp(...args).then(
  () => ({ code: 0, stderr: '' }),
  (e: { stderr: string; code: number }) => e,
);
const tmp = () => mkdtempSync(join(tmpdir(), 'eitp-cli-'));
/** A small version of the main job, so the CLI tests stay fast on the cpu backend. */
const small = ['--seq-len', '10', '--width', '16', '--depth', '1', '--batch', '8'];

describe('eitp CLI', () => {
  it('info lists every backend, with a reason for each unavailable one', async () => {
    const { stdout } = await eitp('info');
    for (const name of ['cpu', 'native', 'webgpu', 'cuda']) expect(stdout).toMatch(new RegExp(`^${name}\\s+(yes|no)`, 'm'));
    for (const line of stdout.split('\n').filter((l) => /^\w+\s+no\b/.test(l))) expect(line.split(/\s+/).length).toBeGreaterThan(3);
  });

  it('train runs the main job, shows progress on stderr and prints the summary; eval and sample reuse the run', async () => {
    const out = tmp();
    const { stdout, stderr } = await eitp('train', ...small, '--steps', '6', '--log-every', '3', '--out', out);
    expect(stderr).toMatch(/^step 3\/6 {2}loss \d+\.\d{4} {2}\d+ tok\/s {2}ETA \d+s$/m); // plain lines when not a TTY
    expect(stdout).toMatch(/trained char-GPT \(1 block, width 16, 2 heads, [\d.]+k parameters\) on multi-key retrieval/);
    expect(stdout).toMatch(/final losses: total \d+\.\d+, task \d+\.\d+/);
    for (const term of ['thermo', 'chaos', 'coherence', 'path']) expect(stdout).toMatch(new RegExp(`^  ${term} +-?\\d`, 'm'));
    expect(stdout).toMatch(/accuracy by key-query distance:\n {2}3-\d+ +\d+\.\d %/);
    expect(stdout).toContain(`checkpoint: ${join(out, 'checkpoint.json')}`);
    expect(loadCheckpoint(out).state.step).toBe(6);
    expect(MetricsLog.read(join(out, 'metrics.jsonl')).map((r) => r.step)).toEqual([1, 3, 6]);
    const ev = await eitp('eval', out);
    expect(ev.stdout).toMatch(/at step 6, multi-key retrieval.*\nheld-out: loss \d+\.\d+, accuracy \d+\.\d %/);
    const sample = await eitp('sample', out, '--prompt', 'aA1b', '--length', '5', '--temperature', '0');
    expect(sample.stdout.trim()).toMatch(/^aA1b.{5}$/);
  });

  it('Ctrl-C saves a checkpoint and exits with 130', async () => {
    const out = tmp();
    const child = spawn(process.execPath, ['bin/eitp.js', 'train', ...small, '--steps', '100000', '--log-every', '1', '--out', out], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const code = await new Promise<number | null>((done) => {
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        if (/step 2\//.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => done(c));
    });
    expect(code).toBe(130);
    expect(stderr).toContain('Ctrl-C: saving a checkpoint');
    expect(stdout).toContain(`interrupted: continue with  eitp train --resume --out ${out}`);
    const step = loadCheckpoint(out).state.step;
    expect(step).toBeGreaterThanOrEqual(2);
    expect(step).toBeLessThan(100000);
  });

  it('train --terms-every k sets lazy regularisation (eitp.every) in the resolved config; flags override the file', async () => {
    const config = async (...args: string[]) => JSON.parse((await eitp('train', ...args, '--print-config')).stdout) as { eitp: { every?: number } };
    expect((await config()).eitp.every).toBeUndefined();
    expect((await config('--terms-every', '16')).eitp.every).toBe(16);
    const cfg = join(tmp(), 'lazy.json');
    writeFileSync(cfg, JSON.stringify({ eitp: { every: 4 } }));
    expect((await config('--config', cfg)).eitp.every).toBe(4);
    expect((await config('--config', cfg, '--terms-every', '8')).eitp.every).toBe(8);
    expect((await fails('train', '--terms-every', '0')).stderr).toContain('--terms-every must be a positive integer');
  });

  it('train --chaos-mode picks the FTLE estimator (eitp.chaos.mode), power by default as in the spec', async () => {
    const mode = async (...args: string[]) => (JSON.parse((await eitp('train', ...args, '--print-config')).stdout) as { eitp: { chaos: { mode: string } } }).eitp.chaos.mode;
    expect(await mode()).toBe('power');
    expect(await mode('--chaos-mode', 'benettin')).toBe('benettin');
    expect((await fails('train', '--chaos-mode', 'lyapunov')).stderr).toContain("argument 'lyapunov' is invalid. Allowed choices are power, benettin");
  });

  it('bad flags, configs, data files and checkpoints fail with a message naming the culprit', async () => {
    expect(await fails('train', '--steps', 'many')).toMatchObject({ code: 1, stderr: expect.stringContaining('--steps must be a positive integer') });
    expect((await fails('train', '--backend', 'tpu', '--steps', '1')).stderr).toMatch(/unknown backend 'tpu'/);
    const dir = tmp();
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ model: { width: '64' } }));
    expect((await fails('train', '--config', cfg)).stderr).toContain('eitp: config field model.width: expected a positive integer, got "64" (string)');
    writeFileSync(cfg, '{ "steps": 3,');
    expect((await fails('train', '--config', cfg)).stderr).toContain(`config file '${cfg}' is not valid JSON`);
    expect((await fails('train', '--config', join(dir, 'none.json'))).stderr).toContain(`cannot read config file '${join(dir, 'none.json')}': no such file`);
    expect((await fails('train', '--data', join(dir, 'none.txt'), '--out', dir)).stderr).toContain(`cannot read data file '${join(dir, 'none.txt')}': no such file`);
    expect((await fails('eval', dir)).stderr).toContain(`refusing checkpoint ${join(dir, 'checkpoint.json')}: no such file`);
    expect(existsSync(join(dir, 'checkpoint.json'))).toBe(false);
  });

  it('bench --quick prints a table row per case and implementation', async () => {
    const { stdout } = await eitp('bench', '--quick', '--family', 'layernorm', '--backend', 'cpu', '--peers', 'none');
    expect(stdout).toMatch(/layernorm .*eitp:cpu .*GB\/s/);
    expect(stdout).toMatch(/peer numpy: not run/);
  });

  it('train --task spirals runs the starter MLP job', async () => {
    const { stdout } = await eitp('train', '--task', 'spirals', '--steps', '40', '--log-every', '20');
    expect(stdout).toMatch(/step\s+20\s+loss \d+\.\d+/);
    expect(stdout).toMatch(/held-out accuracy \d+\.\d %/);
  });
});

describe('starter job', () => {
  it('the MLP learns the spirals (held-out accuracy > 85 % in 800 steps)', async () => {
    const result = await trainMlp({ steps: 800, batch: 128, hidden: 64, lr: 0.01, seed: 0, logEvery: 1000 }, () => {});
    expect(result.testAccuracy).toBeGreaterThan(0.85);
    expect(result.finalLoss).toBeLessThan(0.5);
  });
});
