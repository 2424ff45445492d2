/** The eitp command, run as a user runs it (the compiled CLI, built by `npm test` before vitest). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { trainMlp } from '../src/cli/train-mlp.js';

const run = promisify(execFile);
const eitp = (...args: string[]) => run(process.execPath, ['bin/eitp.js', ...args], { env: { ...process.env, EITP_BACKEND: 'cpu' } });

describe('eitp CLI', () => {
  it('info lists every backend, with a reason for each unavailable one', async () => {
    const { stdout } = await eitp('info');
    for (const name of ['cpu', 'native', 'webgpu', 'cuda']) expect(stdout).toMatch(new RegExp(`^${name}\\s+(yes|no)`, 'm'));
    for (const line of stdout.split('\n').filter((l) => /^\w+\s+no\b/.test(l))) expect(line.split(/\s+/).length).toBeGreaterThan(3);
  });

  it('train runs the starter job and prints the loss', async () => {
    const { stdout } = await eitp('train', '--backend', 'cpu', '--steps', '40', '--log-every', '20');
    expect(stdout).toMatch(/step\s+20\s+loss \d+\.\d+/);
    expect(stdout).toMatch(/held-out accuracy \d+\.\d %/);
  });

  it('bad flags fail with a message naming the flag', async () => {
    const err = await eitp('train', '--steps', 'many').catch((e: { stderr: string; code: number }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain('--steps must be a positive integer');
    const bad = await eitp('train', '--backend', 'tpu', '--steps', '1').catch((e: { stderr: string; code: number }) => e);
    expect((bad as { stderr: string }).stderr).toMatch(/unknown backend 'tpu'/);
  });
});

describe('starter job', () => {
  it('the MLP learns the spirals (held-out accuracy > 85 % in 800 steps)', async () => {
    const result = await trainMlp({ steps: 800, batch: 128, hidden: 64, lr: 0.01, seed: 0, logEvery: 1000 }, () => {});
    expect(result.testAccuracy).toBeGreaterThan(0.85);
    expect(result.finalLoss).toBeLessThan(0.5);
  });
});
