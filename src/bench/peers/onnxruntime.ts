/**
 * onnxruntime-node (CPU execution provider) as a peer: each case becomes a tiny ONNX graph encoded in memory
 * (onnx-model.ts), loaded once; a timed iteration is one awaited `session.run`, whose outputs are host memory.
 * Threads: intra-op pool of the machine's core count, like the engine's native backend and OpenBLAS.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fillData, fillIndices, numel } from '../cases.js';
import { measure } from '../timing.js';
import type { BenchCase, CaseSpec } from '../types.js';
import { type GraphDef, type ValueInfo, encodeModel, matmulModel } from './onnx-model.js';
import { type Peer, errorMessage, missingPeer } from './peer.js';

type Ort = typeof import('onnxruntime-node');
type OrtTensor = import('onnxruntime-node').Tensor;

interface OnnxCase {
  model: Uint8Array;
  feeds: Record<string, { type: 'float32' | 'int32'; data: Float32Array | Int32Array; dims: number[] }>;
}

const f = (name: string, shape: number[]): ValueInfo => ({ name, elem: 'float', shape });
const out = (name = 'Y'): ValueInfo => ({ name, elem: 'float' });
const graph = (g: Omit<GraphDef, 'outputs'> & { outputs?: ValueInfo[] }): Uint8Array => encodeModel({ outputs: [out()], ...g });
const data = (shape: number[], seed: number) => ({ type: 'float32' as const, data: fillData(numel(shape), seed), dims: shape });
const indices = (n: number, high: number, seed: number) => ({ type: 'int32' as const, data: fillIndices(n, high, seed), dims: [n] });

/** The ONNX graph of each case this peer covers; null for the rest (AdamW is training, scatter-add not built). */
export function onnxCase(spec: CaseSpec): OnnxCase | null {
  switch (spec.kind) {
    case 'matmul':
      return { model: matmulModel(spec.a, spec.b), feeds: { A: data(spec.a, 1), B: data(spec.b, 2) } };
    case 'add-broadcast':
      return {
        model: graph({ nodes: [{ op: 'Add', inputs: ['A', 'B'], outputs: ['Y'] }], inputs: [f('A', spec.a), f('B', spec.b)] }),
        feeds: { A: data(spec.a, 1), B: data(spec.b, 2) },
      };
    case 'exp':
      return { model: graph({ nodes: [{ op: 'Exp', inputs: ['X'], outputs: ['Y'] }], inputs: [f('X', spec.x)] }), feeds: { X: data(spec.x, 1) } };
    case 'chain':
      return {
        model: graph({
          nodes: [
            { op: 'Mul', inputs: ['X', 'W'], outputs: ['t0'] },
            { op: 'Add', inputs: ['t0', 'Z'], outputs: ['t1'] },
            { op: 'Tanh', inputs: ['t1'], outputs: ['Y'] },
          ],
          inputs: [f('X', spec.x), f('W', spec.x), f('Z', spec.x)],
        }),
        feeds: { X: data(spec.x, 1), W: data(spec.x, 2), Z: data(spec.x, 3) },
      };
    case 'sum':
      return {
        model: graph({
          nodes: [{ op: 'ReduceSum', inputs: ['X', 'axes'], outputs: ['Y'], attrs: { keepdims: { i: 0 } } }],
          inputs: [f('X', spec.x)],
          initializers: [{ name: 'axes', dims: [1], values: [spec.axis] }],
        }),
        feeds: { X: data(spec.x, 1) },
      };
    case 'softmax-ce': {
      const [b, c] = spec.logits;
      return {
        model: graph({
          nodes: [{ op: 'SoftmaxCrossEntropyLoss', inputs: ['S', 'L'], outputs: ['Y'], attrs: { reduction: { s: 'mean' } } }],
          inputs: [f('S', [b, c]), { name: 'L', elem: 'int32', shape: [b] }],
        }),
        feeds: { S: data([b, c], 1), L: indices(b, c, 2) },
      };
    }
    case 'layernorm': {
      const d = spec.x[spec.x.length - 1]!;
      return {
        model: graph({
          nodes: [{ op: 'LayerNormalization', inputs: ['X', 'W', 'B'], outputs: ['Y'], attrs: { axis: { i: -1 }, epsilon: { f: 1e-5 } } }],
          inputs: [f('X', spec.x), f('W', [d]), f('B', [d])],
        }),
        feeds: { X: data(spec.x, 1), W: data([d], 2), B: data([d], 3) },
      };
    }
    case 'gather':
      return {
        model: graph({
          nodes: [{ op: 'Gather', inputs: ['W', 'I'], outputs: ['Y'], attrs: { axis: { i: 0 } } }],
          inputs: [f('W', [spec.vocab, spec.dim]), { name: 'I', elem: 'int32', shape: [spec.n] }],
        }),
        feeds: { W: data([spec.vocab, spec.dim], 1), I: indices(spec.n, spec.vocab, 2) },
      };
    case 'adamw':
    case 'scatter-add':
      return null;
  }
}

export async function createOnnxPeer(): Promise<Peer | ReturnType<typeof missingPeer>> {
  let ort: Ort;
  try {
    ort = (await import('onnxruntime-node')) as unknown as Ort;
    // the package is CommonJS: its exports may sit on `default`
    if (!('InferenceSession' in ort)) ort = (ort as unknown as { default: Ort }).default;
  } catch (e) {
    return missingPeer('onnxruntime', `onnxruntime-node does not load (${errorMessage(e)}); ONNXRUNTIME_NODE_INSTALL=skip npm install --save-dev onnxruntime-node`);
  }
  let version: string | undefined;
  try {
    version = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    version = undefined;
  }
  const threads = availableParallelism();
  return {
    name: 'onnxruntime',
    status: { name: 'onnxruntime', available: true, version, notes: `CPU execution provider, ${threads} intra-op threads; models encoded in memory (one small graph per case)` },
    unsupported: (c) => (onnxCase(c.spec) ? null : c.family === 'adamw' ? 'no training step in an inference graph' : 'no ONNX graph built for this case'),
    async measure(c: BenchCase, policy) {
      const oc = onnxCase(c.spec);
      if (!oc) return { ok: false, reason: 'no ONNX graph for this case' };
      let session: Awaited<ReturnType<Ort['InferenceSession']['create']>>;
      try {
        session = await ort.InferenceSession.create(oc.model, {
          executionProviders: ['cpu'],
          intraOpNumThreads: threads,
          graphOptimizationLevel: 'all',
        });
      } catch (e) {
        return { ok: false, reason: `session: ${errorMessage(e)}` };
      }
      const feeds: Record<string, OrtTensor> = {};
      for (const [k, v] of Object.entries(oc.feeds)) feeds[k] = new ort.Tensor(v.type, v.data, v.dims);
      try {
        return await measure(`onnxruntime ${c.id}`, async () => {
          const r = await session.run(feeds);
          for (const t of Object.values(r)) t.dispose?.();
        }, policy);
      } catch (e) {
        return { ok: false, reason: errorMessage(e) };
      } finally {
        await session.release();
      }
    },
    async close() {},
  };
}
