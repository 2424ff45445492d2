/**
 * TensorFlow.js peers: tfjs-backend-cpu (plain JS), tfjs-backend-wasm (XNNPACK, single-threaded in Node) and
 * tfjs-backend-webgpu on the same Dawn adapter the engine's webgpu backend uses (the `webgpu` package). Each timed
 * iteration ends with `await out.data()`, the same sync point as the engine's rows.
 *
 * tfjs has no fused layerNorm and no AdamW: those rows time the obvious composites of tfjs ops (noted in the peer
 * status); its cross-entropy takes one-hot labels (tf.losses.softmaxCrossEntropy), built outside the timed region.
 */
import { createRequire } from 'node:module';
import { fillData, fillIndices, numel } from '../cases.js';
import type { Prepared } from '../engine-impl.js';
import { measure } from '../timing.js';
import type { BenchCase, CaseSpec, PeerName } from '../types.js';
import { type Peer, errorMessage, missingPeer } from './peer.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type TfTensor = import('@tensorflow/tfjs-core').Tensor;

const TFJS_BACKEND: Record<string, string> = { 'tfjs-cpu': 'cpu', 'tfjs-wasm': 'wasm', 'tfjs-webgpu': 'webgpu' };
const TFJS_PACKAGE: Record<string, string> = {
  'tfjs-cpu': '@tensorflow/tfjs-backend-cpu',
  'tfjs-wasm': '@tensorflow/tfjs-backend-wasm',
  'tfjs-webgpu': '@tensorflow/tfjs-backend-webgpu',
};

function packageVersion(pkg: string): string | undefined {
  try {
    return (createRequire(import.meta.url)(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** Gives tfjs-webgpu a `navigator.gpu` from Dawn (Node has no WebGPU of its own). */
async function provideNavigatorGpu(): Promise<string | null> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return null;
  let webgpu: { create(flags: string[]): unknown; globals: Record<string, unknown> };
  try {
    webgpu = (await import('webgpu')) as unknown as typeof webgpu;
  } catch (e) {
    return `the webgpu (Dawn) package does not load: ${errorMessage(e)}`;
  }
  for (const [k, v] of Object.entries(webgpu.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const gpu = webgpu.create([]);
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return null;
}

async function loadTf(): Promise<Tf | string> {
  try {
    return (await import('@tensorflow/tfjs-core')) as Tf;
  } catch (e) {
    return `@tensorflow/tfjs-core is not installed (${errorMessage(e)})`;
  }
}

export async function createTfjsPeer(name: PeerName): Promise<Peer | ReturnType<typeof missingPeer>> {
  const tfOrReason = await loadTf();
  if (typeof tfOrReason === 'string') return missingPeer(name, tfOrReason);
  const tf = tfOrReason;
  const pkg = TFJS_PACKAGE[name]!;
  const backend = TFJS_BACKEND[name]!;
  try {
    if (name === 'tfjs-webgpu') {
      const why = await provideNavigatorGpu();
      if (why) return missingPeer(name, why);
    }
    await quiet(() => import(pkg));
  } catch (e) {
    return missingPeer(name, `${pkg} is not installed (${errorMessage(e)}); npm install --save-dev ${pkg}`);
  }
  try {
    // tfjs logs its backend choices through console.warn; keep the table clean.
    const ok = await quiet(() => tf.setBackend(backend));
    if (!ok) return missingPeer(name, `tf.setBackend('${backend}') failed (no adapter?)`);
    await tf.ready();
  } catch (e) {
    return missingPeer(name, `tfjs '${backend}' backend did not initialise: ${errorMessage(e)}`);
  }
  const notes: string[] = [];
  if (name === 'tfjs-wasm') notes.push('single-threaded in Node');
  notes.push('layerNorm and AdamW are composites of tfjs ops; cross-entropy takes one-hot labels');
  return {
    name,
    status: { name, available: true, version: packageVersion(pkg), notes: notes.join('; ') },
    unsupported: () => null,
    async measure(c: BenchCase, policy) {
      await quiet(() => tf.setBackend(backend));
      let prepared: Prepared;
      try {
        // tfjs-cpu greets Node users on its first tensor write (console.warn): keep the table clean
        prepared = quietSync(() => prepareTf(tf, c.spec));
      } catch (e) {
        return { ok: false, reason: errorMessage(e) };
      }
      try {
        return await measure(`${name} ${c.id}`, () => prepared.run(), policy);
      } catch (e) {
        // a kernel this tfjs backend does not have is a gap of the peer, not a failure of the run
        const reason = errorMessage(e);
        return { ok: false, reason, skipped: /not registered for backend/.test(reason) };
      } finally {
        prepared.dispose();
      }
    },
    async close() {
      if (name === 'tfjs-webgpu') {
        try {
          tf.removeBackend('webgpu');
        } catch {
          /* already gone */
        }
      }
    },
  };
}

async function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  const log = console.log;
  console.warn = () => {};
  console.log = () => {};
  try {
    return await fn();
  } finally {
    console.warn = warn;
    console.log = log;
  }
}

function quietSync<T>(fn: () => T): T {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return fn();
  } finally {
    console.warn = warn;
  }
}

function prepareTf(tf: Tf, spec: CaseSpec): Prepared {
  const made: TfTensor[] = [];
  const f32 = (shape: number[], seed: number) => {
    const t = tf.tensor(fillData(numel(shape), seed), shape, 'float32');
    made.push(t);
    return t;
  };
  const i32 = (n: number, high: number, seed: number) => {
    const t = tf.tensor1d(fillIndices(n, high, seed), 'int32');
    made.push(t);
    return t;
  };
  const dispose = () => tf.dispose(made);
  const timed = (compute: () => TfTensor): Prepared => ({
    async run() {
      const out = tf.tidy(compute);
      try {
        await out.data();
      } finally {
        out.dispose();
      }
    },
    dispose,
  });
  switch (spec.kind) {
    case 'matmul': {
      const a = f32(spec.a, 1);
      const b = f32(spec.b, 2);
      return timed(() => tf.matMul(a, b));
    }
    case 'add-broadcast': {
      const a = f32(spec.a, 1);
      const b = f32(spec.b, 2);
      return timed(() => tf.add(a, b));
    }
    case 'exp': {
      const x = f32(spec.x, 1);
      return timed(() => tf.exp(x));
    }
    case 'chain': {
      const [x, y, z] = [f32(spec.x, 1), f32(spec.x, 2), f32(spec.x, 3)];
      return timed(() => tf.tanh(tf.add(tf.mul(x, y), z)));
    }
    case 'sum': {
      const x = f32(spec.x, 1);
      return timed(() => tf.sum(x, spec.axis));
    }
    case 'softmax-ce': {
      const [b, c] = spec.logits;
      const logits = f32([b, c], 1);
      const labels = tf.cast(tf.oneHot(i32(b, c, 2), c), 'float32');
      made.push(labels);
      return timed(() => tf.losses.softmaxCrossEntropy(labels, logits));
    }
    case 'layernorm': {
      const d = spec.x[spec.x.length - 1]!;
      const [x, w, b] = [f32(spec.x, 1), f32([d], 2), f32([d], 3)];
      return timed(() => {
        const { mean, variance } = tf.moments(x, -1, true);
        return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), w), b);
      });
    }
    case 'gather': {
      const w = f32([spec.vocab, spec.dim], 1);
      const idx = i32(spec.n, spec.vocab, 2);
      return timed(() => tf.gather(w, idx));
    }
    case 'scatter-add': {
      const values = f32([spec.n, spec.dim], 1);
      const idx = i32(spec.n, spec.vocab, 2);
      return timed(() => tf.unsortedSegmentSum(values, idx, spec.vocab));
    }
    case 'adamw': {
      // torch.optim.AdamW's update (the engine's rule), written with tfjs ops on tf.Variables.
      const lr = 1e-3, wd = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
      const p = spec.params.map((s, i) => tf.variable(f32(s, 10 + i)));
      const g = spec.params.map((s, i) => f32(s, 100 + i));
      const m = spec.params.map((s) => tf.variable(tf.zeros(s)));
      const v = spec.params.map((s) => tf.variable(tf.zeros(s)));
      let step = 0;
      return {
        async run() {
          step++;
          const bc1 = 1 - b1 ** step;
          const bc2 = 1 - b2 ** step;
          tf.tidy(() => {
            for (let i = 0; i < p.length; i++) {
              p[i]!.assign(tf.mul(p[i]!, 1 - lr * wd));
              m[i]!.assign(tf.add(tf.mul(m[i]!, b1), tf.mul(g[i]!, 1 - b1)));
              v[i]!.assign(tf.add(tf.mul(v[i]!, b2), tf.mul(tf.square(g[i]!), 1 - b2)));
              const denom = tf.add(tf.div(tf.sqrt(v[i]!), Math.sqrt(bc2)), eps);
              p[i]!.assign(tf.sub(p[i]!, tf.mul(tf.div(m[i]!, denom), lr / bc1)));
            }
          });
          await p[p.length - 1]!.data();
        },
        dispose() {
          dispose();
          tf.dispose([...p, ...m, ...v]);
        },
      };
    }
  }
}
