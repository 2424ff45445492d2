/** Grid and random search, experiment config files, run ids, results files and the registry's typed errors. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ablationArms } from '../src/experiments/ablation.js';
import { experimentFromConfig, loadExperimentConfig } from '../src/experiments/config-file.js';
import { ResultsFileError, UnknownExperimentError } from '../src/experiments/errors.js';
import { gridSettings } from '../src/experiments/grid.js';
import { getExperiment } from '../src/experiments/registry.js';
import { appendResult, loadResults } from '../src/experiments/results-file.js';
import { canonicalJson, runId } from '../src/experiments/runner.js';
import { randomSettings } from '../src/experiments/sweep.js';
import type { ExperimentOptions, RunRecord } from '../src/experiments/types.js';
import { ConfigError } from '../src/train/schema.js';

const options: ExperimentOptions = { seeds: 2, backend: 'cpu', overrides: {}, resultsRoot: tmpdir() };
const tmp = () => mkdtempSync(join(tmpdir(), 'eitp-exp-'));

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

function record(id: string, seed: number): RunRecord {
  return { id, experiment: 'x', arm: 'a', config: {}, seed, metrics: { m: seed }, curves: {}, info: { params: 1, steps: 1, tokens: 1, backend: 'cpu', seconds: 0 }, finishedAt: '' };
}

describe('grid and random search', () => {
  it('a grid is the Cartesian product, first path slowest', () => {
    expect(gridSettings({ 'eitp.lambdaChaos': [0, 1], 'eitp.lambdaPath': [0.1, 0.2, 0.3] })).toEqual([
      { 'eitp.lambdaChaos': 0, 'eitp.lambdaPath': 0.1 },
      { 'eitp.lambdaChaos': 0, 'eitp.lambdaPath': 0.2 },
      { 'eitp.lambdaChaos': 0, 'eitp.lambdaPath': 0.3 },
      { 'eitp.lambdaChaos': 1, 'eitp.lambdaPath': 0.1 },
      { 'eitp.lambdaChaos': 1, 'eitp.lambdaPath': 0.2 },
      { 'eitp.lambdaChaos': 1, 'eitp.lambdaPath': 0.3 },
    ]);
    expect(configError(() => gridSettings({ 'eitp.lambdaChos': [1] })).field).toBe('grid.eitp.lambdaChos');
    expect(configError(() => gridSettings({ 'eitp.lambdaChaos': [] })).field).toBe('grid.eitp.lambdaChaos');
  });

  it('random search is seeded and stays inside its ranges', () => {
    const space = {
      'eitp.lambdaChaos': { min: 1e-3, max: 1, log: true },
      'eitp.temperature.gamma': { min: 0.25, max: 1 },
      'model.width': { min: 8, max: 12, integer: true },
      'eitp.betaIem': [0, 0.1],
    };
    const a = randomSettings(space, 200, 7);
    expect(randomSettings(space, 200, 7)).toEqual(a);
    expect(randomSettings(space, 200, 8)).not.toEqual(a);
    for (const s of a) {
      expect(s['eitp.lambdaChaos']).toBeGreaterThanOrEqual(1e-3);
      expect(s['eitp.lambdaChaos']).toBeLessThanOrEqual(1);
      expect(s['eitp.temperature.gamma']).toBeGreaterThanOrEqual(0.25);
      expect([8, 9, 10, 11, 12]).toContain(s['model.width']);
      expect([0, 0.1]).toContain(s['eitp.betaIem']);
    }
    // log-uniform over three decades: about a third of the draws in each decade
    const belowMilli100 = a.filter((s) => (s['eitp.lambdaChaos'] as number) < 1e-2).length;
    expect(belowMilli100).toBeGreaterThan(40);
    expect(belowMilli100).toBeLessThan(95);
    expect(new Set(a.map((s) => s['model.width'])).size).toBe(5);
    expect(configError(() => randomSettings({ 'eitp.lambdaChaos': { min: 0, max: 1, log: true } }, 2, 0)).field).toBe('random.space.eitp.lambdaChaos');
    expect(configError(() => randomSettings({ 'eitp.lambdaChaos': { min: 2, max: 1 } }, 2, 0)).message).toMatch(/min \(2\) is above max \(1\)/);
  });
});

describe('experiment config files', () => {
  it('a grid file gives the baseline plus one arm per point, each resolved and validated', () => {
    const exp = experimentFromConfig({ name: 'g', steps: 5, base: { model: { width: 16 } }, grid: { 'eitp.lambdaChaos': [0.1, 1] } });
    const arms = exp.plan(options);
    expect(arms.map((a) => a.name)).toEqual(['baseline', 'lambdaChaos=0.1', 'lambdaChaos=1']);
    const eitp = (i: number) => (arms[i]!.config as { eitp: Record<string, number> }).eitp;
    expect(eitp(0).lambdaChaos).toBe(0);
    expect(eitp(0).lambdaThermo).toBe(0);
    expect(eitp(2).lambdaChaos).toBe(1);
    expect(eitp(2).lambdaThermo).toBe(0.01); // the spec default stays on outside the grid's path
    expect((arms[1]!.config as { model: { width: number } }).model.width).toBe(16);
    expect(arms[1]!.config.steps).toBe(5);
    expect(arms[1]!.config.backend).toBe('cpu');
    expect(arms[1]!.config).not.toHaveProperty('seed');
  });

  it('without arms the standard ablation runs; --set overrides move the non-baseline arms', () => {
    const exp = experimentFromConfig({ name: 'a' });
    const arms = exp.plan({ ...options, overrides: { 'eitp.lambdaChaos': 0.5 } });
    expect(arms.map((a) => a.name)).toEqual(ablationArms().map((a) => a.name));
    const chaos = (name: string) => (arms.find((a) => a.name === name)!.config as { eitp: Record<string, number> }).eitp;
    expect(chaos('chaos').lambdaChaos).toBe(0.5);
    expect(chaos('chaos').lambdaPath).toBe(0);
    expect(chaos('full').lambdaChaos).toBe(0.5);
    expect(chaos('baseline').lambdaChaos).toBe(0);
  });

  it('bad files are ConfigErrors naming the field', () => {
    expect(configError(() => experimentFromConfig({ name: 'x', sedes: 3 })).field).toBe('sedes');
    expect(configError(() => experimentFromConfig({ seeds: 3 })).field).toBe('name');
    expect(configError(() => experimentFromConfig({ name: 'x', seeds: 0 })).field).toBe('seeds');
    expect(configError(() => experimentFromConfig({ name: 'x', task: 'vision' })).field).toBe('task');
    expect(configError(() => experimentFromConfig({ name: 'a/b' })).field).toBe('name');
    expect(configError(() => experimentFromConfig({ name: 'x', grid: { 'eitp.lambdaChaos': [1] }, random: { samples: 2, space: {} } })).field).toBe('random');
    expect(configError(() => experimentFromConfig({ name: 'x', arms: [{ name: 'y', set: { 'model.depht': 2 } }] })).field).toBe('arms[0].set.model.depht');
    // values are checked by the trainer's schema when planned, before any run
    const bad = experimentFromConfig({ name: 'x', base: { model: { width: '64' } } });
    expect(configError(() => bad.plan(options)).message).toMatch(/config field model\.width: expected a positive integer, got "64" \(string\)/);
    expect(configError(() => experimentFromConfig({ name: 'x', arms: [{ name: 'y', set: { 'eitp.lambdaChaos': -1 } }] }).plan(options)).field).toBe('eitp.lambdaChaos');
    const dir = tmp();
    writeFileSync(join(dir, 'broken.json'), '{ "name": ');
    expect(configError(() => loadExperimentConfig(join(dir, 'broken.json'))).message).toMatch(/is not valid JSON/);
    expect(configError(() => loadExperimentConfig(join(dir, 'missing.json'))).message).toMatch(/no such file/);
  });

  it('perplexity needs a corpus that exists', () => {
    const ppl = getExperiment('perplexity');
    expect(configError(() => ppl.plan(options)).field).toBe('task.path');
    expect(() => ppl.plan({ ...options, data: join(tmp(), 'nope.txt') })).toThrow(/cannot read data file .*nope\.txt': no such file/);
  });

  it('an unknown experiment name is a typed error listing the known ones', () => {
    expect(() => getExperiment('perplexty')).toThrow(UnknownExperimentError);
    expect(() => getExperiment('perplexty')).toThrow(/unknown experiment 'perplexty': expected one of perplexity, long-range, speed, energy/);
  });
});

describe('run ids and results files', () => {
  it('a run id hashes the arm config whatever its key order, and changes with it', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}');
    const arm = { name: 'Full EIT-P', config: { steps: 10, eitp: { lambdaChaos: 0.1, lambdaPath: 0.01 } } };
    const same = { name: 'Full EIT-P', config: { eitp: { lambdaPath: 0.01, lambdaChaos: 0.1 }, steps: 10 } };
    expect(runId('e', arm, 0)).toBe(runId('e', same, 0));
    expect(runId('e', arm, 0)).toMatch(/^full-eit-p-[0-9a-f]{12}-s0$/);
    expect(runId('e', arm, 1)).not.toBe(runId('e', arm, 0));
    expect(runId('e', { ...arm, config: { ...arm.config, steps: 11 } }, 0)).not.toBe(runId('e', arm, 0));
  });

  it('a torn last line is dropped and the file repaired; a bad middle line is an error', () => {
    const path = join(tmp(), 'results.jsonl');
    appendResult(path, record('r0', 0));
    appendResult(path, record('r1', 1));
    writeFileSync(path, readFileSync(path, 'utf8') + '{"id":"r2","experi');
    expect(loadResults(path, 'x').map((r) => r.id)).toEqual(['r0', 'r1']);
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(3); // two lines and the final newline
    appendResult(path, record('r2', 2));
    expect(loadResults(path, 'x').map((r) => r.id)).toEqual(['r0', 'r1', 'r2']);
    expect(() => loadResults(path, 'other')).toThrow(ResultsFileError);
    writeFileSync(path, 'garbage\n' + JSON.stringify(record('r0', 0)) + '\n');
    expect(() => loadResults(path, 'x')).toThrow(/line 1 is not valid JSON/);
  });
});
