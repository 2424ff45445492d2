/**
 * Arguments TypeScript's types would have refused, as a JavaScript caller can pass them: every public function of
 * `eitp/engine`, called with each bad value in each argument position, either works or throws a typed EngineError
 * (never a bare TypeError from deep inside, such as "Cannot read properties of undefined (reading 'rank')").
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import * as eitp from '../src/index.js';
import { availableBackends } from './helpers/backends.js';
import { readReport, writeReport } from '../src/bench/report.js';
import { loadCompressed } from '../src/compress/compressed-checkpoint.js';
import { readTextFile } from '../src/data/text.js';
import { loadExperimentConfig } from '../src/experiments/config-file.js';
import { appendResult, loadResults } from '../src/experiments/results-file.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { loadRun } from '../src/train/load.js';

/** The values a caller without types can hand over by mistake. */
const BAD: readonly unknown[] = [undefined, null, NaN, -1, 1.5, 'x', [], [-1], [1.5], [NaN], {}, () => 1, Infinity, [2, 'a'], [[1, 2], 'b']];

/** Functions that change global state or wait on a device: called with good arguments by their own suites. */
const SKIP = new Set(['setBackend', 'initWebGPU', 'destroyWebGPU', 'syncWebGPU', 'profile', 'seed', 'setRngState']);

const label = (v: unknown) => (typeof v === 'function' ? 'a function' : Number.isNaN(v) ? 'NaN' : (JSON.stringify(v) ?? String(v)));

async function untypedErrors(fn: (...args: unknown[]) => unknown, name: string): Promise<string[]> {
  const found: string[] = [];
  for (let argc = 1; argc <= 3; argc++) {
    for (let pos = 0; pos < argc; pos++) {
      for (const bad of BAD) {
        const args = Array.from({ length: argc }, (_, i) => (i === pos ? bad : et.randn([2, 3], { seed: 1 })));
        try {
          // what a call that works returns is freed; an async call's result is awaited first (toBackend)
          const r = fn(...args);
          et.dispose((r instanceof Promise ? await r : r) as never);
        } catch (e) {
          if (!(e instanceof et.EngineError)) found.push(`${name}: argument ${pos} = ${label(bad)} of ${argc}: ${(e as Error)?.constructor?.name} ${(e as Error)?.message}`);
        }
        et.dispose(args.filter((a): a is et.Tensor => a instanceof et.Tensor));
      }
    }
  }
  return found;
}

describe('public functions given arguments of the wrong kind', () => {
  const names = Object.keys(et).filter((k) => typeof (et as Record<string, unknown>)[k] === 'function' && /^[a-z]/.test(k) && !SKIP.has(k));

  it('covers the API (a sanity check on the sweep itself)', () => {
    expect(names.length).toBeGreaterThan(80);
    for (const must of ['zeros', 'randn', 'sum', 'reshape', 'matmul', 'concat', 'crossEntropy', 'coherence', 'keep', 'jvp']) expect(names).toContain(must);
  });

  // on native the calls whose checks pass reach the addon's kernels with whatever attributes came through: its
  // errors must come back as JS exceptions (a C++ abort would end the test process)
  const hosts = availableBackends().filter((b) => b === 'cpu' || b === 'native');
  it.each(hosts)('throw typed errors from every function of et, on %s', { timeout: 60_000 }, async (backend) => {
    const before = et.getBackend();
    et.setBackend(backend);
    try {
      const found: string[] = [];
      for (const name of names) found.push(...(await untypedErrors((et as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!, name)));
      expect(found).toEqual([]);
    } finally {
      et.setBackend(before as et.BackendName);
    }
  });

  it('name the op and the argument', () => {
    const x = et.zeros([2, 3]);
    const disposed = et.zeros([2]);
    disposed.dispose();
    const cases: [() => unknown, new (...a: never[]) => Error, RegExp][] = [
      [() => et.sum(undefined as never), et.ArgumentError, /^sum: x must be a Tensor, got undefined/],
      [() => et.argmax(null as never), et.ArgumentError, /^argmax: x must be a Tensor, got null/],
      [() => et.matmul(x, 'w' as never), et.ArgumentError, /^matmul: b must be a Tensor, got a string \("w"\)/],
      [() => et.concat(x as never), et.ArgumentError, /^concat: xs must be an array of Tensors, got a Tensor \[2, 3\]/],
      [() => et.stack([x, 3] as never), et.ArgumentError, /^stack: xs\[1\] must be a Tensor, got 3/],
      [() => et.zeros('x' as never), et.ShapeError, /^zeros: shape must be an array of non-negative integers, got a string \("x"\)/],
      [() => et.randn([2, 1.5]), et.ShapeError, /^randn: invalid dimension 1\.5 at index 1 of shape/],
      [() => et.ones([2], 'f32' as never), et.ArgumentError, /^ones: options must be an object, got a string \("f32"\)/],
      [() => et.full([2], 'x' as never), et.ArgumentError, /^full: the fill value must be a number, got a string/],
      [() => et.reshape(x, null as never), et.ArgumentError, /^reshape: shape must be an array of integers, got null/],
      [() => et.sum(x, x as never), et.AxisError, /^sum: axes must be an integer or an array of integers, got a Tensor \[2, 3\]/],
      [() => et.softmax(x, 'last' as never), et.AxisError, /^softmax: an axis must be an integer, got a string \("last"\)/],
      [() => et.pad(x, [1, 2] as never), et.ArgumentError, /^pad: widths\[0\] must be a \[before, after\] pair, got 1/],
      [() => et.slice(x, [0], 'end' as never), et.ArgumentError, /^slice: ends must be an array of integers \(or undefined\), got a string/],
      [() => et.keep({} as never), et.ArgumentError, /^keep: takes a Tensor, got an object/],
      [() => et.zerosLike(disposed), et.DisposedError, /^zerosLike: /],
      [() => et.nativeFmaPeak('x' as never), et.ArgumentError, /^nativeFmaPeak: threads must be a number or undefined, got a string/],
      [() => et.setRngState([1, 2] as never), et.ArgumentError, /^setRngState: takes the array getRngState\(\) returned/],
      [() => et.jvp((v) => v, x as never, [x]), et.ArgumentError, /^jvp: takes an array of Tensors, got a Tensor \[2, 3\]/],
    ];
    for (const [call, type, message] of cases) {
      let error: unknown = null;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(error, String(message)).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
    }
    x.dispose();
  });

  it('throw typed errors from the layers of et.nn and the optimizers and schedules of et.optim', () => {
    const found: string[] = [];
    for (const [space, members] of [['nn', et.nn], ['optim', et.optim]] as const) {
      for (const [name, member] of Object.entries(members)) {
        if (typeof member !== 'function') continue;
        const make = member as unknown as new (...a: unknown[]) => unknown;
        for (let argc = 1; argc <= 3; argc++) {
          for (let pos = 0; pos < argc; pos++) {
            for (const bad of BAD) {
              // good values elsewhere: a width of 4, then 3 (an optimizer's params: a fresh parameter list)
              const args = Array.from({ length: argc }, (_, i) => (i === pos ? bad : i === 0 ? 4 : 3));
              try {
                const made = /^[A-Z]/.test(name) ? new make(...args) : (member as (...a: unknown[]) => unknown)(...args);
                if (made instanceof et.nn.Module) et.dispose(made.parameters());
              } catch (e) {
                if (!(e instanceof et.EngineError)) found.push(`${space}.${name}: argument ${pos} = ${label(bad)} of ${argc}: ${(e as Error)?.constructor?.name} ${(e as Error)?.message}`);
              }
            }
          }
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('throw typed errors from every method of Tensor', async () => {
    const methods = new Set<string>();
    for (let p: object | null = et.Tensor.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      for (const k of Object.getOwnPropertyNames(p)) if (k !== 'constructor' && k !== 'dispose' && typeof Object.getOwnPropertyDescriptor(p, k)?.value === 'function') methods.add(k);
    }
    expect(methods.size).toBeGreaterThan(50);
    const found: string[] = [];
    for (const name of methods) {
      for (let argc = 1; argc <= 3; argc++) {
        for (let pos = 0; pos < argc; pos++) {
          for (const bad of BAD) {
            // backward runs on a scalar that requires grad; every other method on a plain [2, 3]
            const x = et.randn([2, 3], { seed: 1, requiresGrad: name === 'backward' });
            const self = name === 'backward' ? x.mul(2).sum() : x;
            const args = Array.from({ length: argc }, (_, i) => (i === pos ? bad : et.randn([2, 3], { seed: 2 })));
            try {
              const r = (self as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...args);
              et.dispose((r instanceof Promise ? await r : r) as never);
            } catch (e) {
              if (!(e instanceof et.EngineError)) found.push(`x.${name}: argument ${pos} = ${label(bad)} of ${argc}: ${(e as Error)?.constructor?.name} ${(e as Error)?.message}`);
            }
            et.dispose([x, self, ...args.filter((a): a is et.Tensor => a instanceof et.Tensor)]);
          }
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('still take null options as none given, as undefined', async () => {
    const logits = et.tensor([[1, 2, 3]]);
    const targets = et.tensor([2], { dtype: 'i32' });
    const a = await et.crossEntropy(logits, targets, null as never).item();
    const b = await et.crossEntropy(logits, targets).item();
    expect(a).toBe(b);
    expect(et.zeros([2], null as never).shape).toEqual([2]);
    const layer = new et.nn.Linear(2, 3, null as never);
    expect(layer.bias?.shape).toEqual([3]);
    et.dispose(layer.parameters());
    et.dispose([logits, targets]);
  });
});

describe('framework functions given a path that is not a string', () => {
  // node:fs takes a number as a file descriptor: loadCheckpoint(4) read descriptor 4 (blocking forever on a pipe)
  const calls: [string, (p: unknown) => unknown][] = [
    ['loadCheckpoint', (p) => loadCheckpoint(p as string)],
    ['hasCheckpoint', (p) => hasCheckpoint(p as string)],
    ['saveCheckpoint', (p) => saveCheckpoint(p as string, {}, { format: 'x' } as never)],
    ['loadCompressed', (p) => loadCompressed(p as string)],
    ['loadRun', (p) => loadRun(p as string)],
    ['readTextFile', (p) => readTextFile(p as string)],
    ['loadResults', (p) => loadResults(p as string)],
    ['appendResult', (p) => appendResult(p as string, {} as never)],
    ['loadExperimentConfig', (p) => loadExperimentConfig(p as string)],
    ['readReport', (p) => readReport(p as string)],
    ['writeReport', (p) => writeReport(p as string, {} as never)],
  ];
  it('refuse it with an ArgumentError naming the function, before touching the file system', { timeout: 10_000 }, () => {
    for (const [name, call] of calls) {
      for (const bad of [0, 1, 2, 4, undefined, null, '', {}, ['a']]) {
        let error: unknown = null;
        try {
          call(bad);
        } catch (e) {
          error = e;
        }
        expect(error, `${name}(${label(bad)})`).toBeInstanceOf(et.ArgumentError);
        expect((error as Error).message, `${name}(${label(bad)})`).toMatch(new RegExp(`^${name}: .*must be a non-empty string \\(a file or directory path\\)`));
      }
    }
  });
});

describe("the framework's exports given arguments of the wrong kind", () => {
  it('throw typed errors (Error subclasses, never a TypeError or RangeError from inside)', { timeout: 60_000 }, async () => {
    const found: string[] = [];
    const members = Object.entries(eitp).filter(([, v]) => typeof v === 'function');
    expect(members.length).toBeGreaterThan(100);
    for (const [name, member] of members) {
      const make = member as unknown as new (...a: unknown[]) => unknown;
      for (let argc = 1; argc <= 3; argc++) {
        for (let pos = 0; pos < argc; pos++) {
          for (const bad of BAD) {
            // good-looking values elsewhere: a count of 4, then empty objects (options, configs)
            const args = Array.from({ length: argc }, (_, i) => (i === pos ? bad : i === 0 ? 4 : {}));
            try {
              const r = /^[A-Z]/.test(name) ? new make(...args) : (member as (...a: unknown[]) => unknown)(...args);
              if (r instanceof Promise) await r;
            } catch (e) {
              if (e instanceof TypeError || e instanceof RangeError || !(e instanceof Error)) {
                found.push(`${name}: argument ${pos} = ${label(bad)} of ${argc}: ${(e as Error)?.constructor?.name} ${(e as Error)?.message}`);
              }
            }
          }
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('take what the types allow: an object with the methods used, not only an et.nn.Module', async () => {
    // assertFiniteWeights takes { namedParameters() }: a structural value still works
    const w = et.tensor([1, 2]);
    await expect(eitp.assertFiniteWeights({ namedParameters: () => [['w', w]] })).resolves.toBeUndefined();
    await expect(eitp.assertFiniteWeights({} as never)).rejects.toThrow(/^assertFiniteWeights: model must be a model/);
    w.dispose();
  });
});
