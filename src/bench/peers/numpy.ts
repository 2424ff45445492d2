/**
 * numpy (with the BLAS it is linked against: OpenBLAS on Debian) as a peer, in one python3 subprocess for the
 * whole run. The subprocess builds each case's inputs, times its own loop with time.perf_counter (IPC per iteration
 * would swamp small kernels) under the same policy as tinybench (one probe call, warm-up, then iterations until
 * both the time budget and the minimum count are met), and sends back the raw samples, which stats.ts summarises
 * like every other row. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from that subprocess's environment only
 * (they pin OpenBLAS to a slower kernel on some machines).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { summarize } from '../stats.js';
import type { TimingPolicy, Measured } from '../timing.js';
import type { BenchCase } from '../types.js';
import { type Peer, errorMessage, missingPeer } from './peer.js';

const PY = String.raw`
import json, sys, time
import numpy as np

def make(spec):
    rng = np.random.default_rng(0)
    f = lambda *shape: rng.uniform(-1, 1, size=shape).astype(np.float32)
    ints = lambda n, high: rng.integers(0, high, size=n, dtype=np.int32)
    k = spec['kind']
    if k == 'matmul':
        a, b = f(*spec['a']), f(*spec['b'])
        return lambda: a @ b
    if k == 'add-broadcast':
        a, b = f(*spec['a']), f(*spec['b'])
        return lambda: a + b
    if k == 'exp':
        x = f(*spec['x'])
        return lambda: np.exp(x)
    if k == 'chain':
        x, y, z = f(*spec['x']), f(*spec['x']), f(*spec['x'])
        return lambda: np.tanh(x * y + z)
    if k == 'sum':
        x = f(*spec['x'])
        return lambda: x.sum(axis=spec['axis'])
    if k == 'softmax-ce':
        b, c = spec['logits']
        x, t = f(b, c), ints(b, c)
        rows = np.arange(b)
        def ce():
            m = x.max(axis=1, keepdims=True)
            lse = np.log(np.exp(x - m).sum(axis=1)) + m[:, 0]
            return (lse - x[rows, t]).mean()
        return ce
    if k == 'layernorm':
        d = spec['x'][-1]
        x, w, bias = f(*spec['x']), f(d), f(d)
        def ln():
            mu = x.mean(axis=-1, keepdims=True)
            var = x.var(axis=-1, keepdims=True)
            return (x - mu) / np.sqrt(var + 1e-5) * w + bias
        return ln
    if k == 'gather':
        w, i = f(spec['vocab'], spec['dim']), ints(spec['n'], spec['vocab'])
        return lambda: w[i]
    if k == 'scatter-add':
        v, i = f(spec['n'], spec['dim']), ints(spec['n'], spec['vocab'])
        def sa():
            out = np.zeros((spec['vocab'], spec['dim']), np.float32)
            np.add.at(out, i, v)
            return out
        return sa
    if k == 'adamw':
        lr, wd, b1, b2, eps = 1e-3, 0.01, 0.9, 0.999, 1e-8
        ps = [f(*s) for s in spec['params']]
        gs = [f(*s) for s in spec['params']]
        ms = [np.zeros_like(p) for p in ps]
        vs = [np.zeros_like(p) for p in ps]
        state = {'step': 0}
        def step():
            state['step'] += 1
            bc1, bc2 = 1 - b1 ** state['step'], 1 - b2 ** state['step']
            for p, g, m, v in zip(ps, gs, ms, vs):
                p *= np.float32(1 - lr * wd)
                m *= np.float32(b1); m += np.float32(1 - b1) * g
                v *= np.float32(b2); v += np.float32(1 - b2) * g * g
                p -= np.float32(lr / bc1) * m / (np.sqrt(v) / np.float32(np.sqrt(bc2)) + np.float32(eps))
        return step
    raise ValueError('unknown case kind ' + k)

def run(req):
    fn = make(req['spec'])
    pol = req['policy']
    t0 = time.perf_counter(); fn(); first = (time.perf_counter() - t0) * 1e3
    if first > pol['maxSingleMs']:
        return {'ok': False, 'reason': 'one iteration took %.1f s (limit %.1f s per iteration)' % (first / 1e3, pol['maxSingleMs'] / 1e3)}
    warm_iters = 1 if first * pol['warmupIterations'] > pol['warmupMs'] * 4 else pol['warmupIterations']
    start, n = time.perf_counter(), 0
    while n < warm_iters or (time.perf_counter() - start) * 1e3 < pol['warmupMs']:
        fn(); n += 1
    samples, start = [], time.perf_counter()
    while len(samples) < pol['minIterations'] or (time.perf_counter() - start) * 1e3 < pol['timeMs']:
        t0 = time.perf_counter(); fn(); samples.append((time.perf_counter() - t0) * 1e3)
    return {'ok': True, 'samples': samples}

print(json.dumps({'ready': True, 'numpy': np.__version__}), flush=True)
for line in sys.stdin:
    try:
        out = run(json.loads(line))
    except Exception as e:
        out = {'ok': False, 'reason': '%s: %s' % (type(e).__name__, e)}
    print(json.dumps(out), flush=True)
`;

export function pythonExecutable(): string {
  return process.env.EITP_BENCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

/** Which BLAS library the system's libblas.so.3 resolves to (Debian's alternatives), for the report. */
function blasLibrary(): string | undefined {
  for (const p of ['/usr/lib/x86_64-linux-gnu/libblas.so.3', '/usr/lib/aarch64-linux-gnu/libblas.so.3']) {
    try {
      if (existsSync(p)) return realpathSync(p);
    } catch {
      /* not resolvable */
    }
  }
  return undefined;
}

export async function createNumpyPeer(): Promise<Peer | ReturnType<typeof missingPeer>> {
  const python = pythonExecutable();
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawn(python, ['-u', '-c', PY], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    return missingPeer('numpy', `${python} did not start: ${errorMessage(e)}`);
  }
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<string>((resolve) => {
    child.on('error', (e) => resolve(`${python}: ${e.message}`));
    child.on('exit', (code) => resolve(`${python} exited (code ${code}): ${stderr.trim().split('\n').pop() ?? ''}`));
  });
  const next = async (timeoutMs?: number): Promise<Record<string, unknown>> => {
    let timer: NodeJS.Timeout | undefined;
    const waits: Promise<IteratorResult<string> | string>[] = [lines.next(), exited];
    if (timeoutMs) waits.push(new Promise((resolve) => (timer = setTimeout(() => resolve(`${python} did not answer in ${timeoutMs / 1000} s`), timeoutMs))));
    const r = await Promise.race(waits).finally(() => clearTimeout(timer));
    if (typeof r === 'string') throw new Error(r);
    if (r.done) throw new Error(await exited);
    return JSON.parse(r.value) as Record<string, unknown>;
  };
  let version: string;
  try {
    const hello = await next(30_000);
    version = String(hello.numpy);
  } catch (e) {
    child.kill();
    const msg = errorMessage(e);
    return missingPeer('numpy', /No module named/.test(msg) || /numpy/.test(stderr) ? `numpy is not installed for ${python} (apt-get install python3-numpy)` : msg);
  }
  const blas = blasLibrary();
  return {
    name: 'numpy',
    status: {
      name: 'numpy',
      available: true,
      version,
      notes: `${python}${blas ? `, BLAS ${blas}` : ''}; timed in its own loop (time.perf_counter); layerNorm, cross-entropy and AdamW are numpy composites`,
    },
    unsupported: () => null,
    async measure(c: BenchCase, policy: TimingPolicy): Promise<Measured> {
      try {
        child.stdin.write(`${JSON.stringify({ spec: c.spec, policy })}\n`);
        const r = await next();
        if (r.ok !== true) return { ok: false, reason: String(r.reason) };
        return { ok: true, stats: summarize(r.samples as number[]) };
      } catch (e) {
        return { ok: false, reason: errorMessage(e) };
      }
    },
    async close() {
      child.stdin.end();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null) child.kill();
    },
  };
}
