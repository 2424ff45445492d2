/**
 * The engine's implementation of each case, on one backend. Inputs are created once, outside the timed region; each
 * timed iteration runs the op(s), then awaits the read-back of the result: the engine's only public sync point, so
 * queued (native) and GPU (webgpu, cuda) work is really finished when the sample ends. The read-back's copy is part
 * of the time on every backend and for every peer alike.
 */
import * as et from '../../engine/index.js';
import { fillData, fillIndices, numel } from './cases.js';
import type { CaseSpec, EngineBackend } from './types.js';

export interface Prepared {
  run(): Promise<void>;
  dispose(): void;
}

type Tensor = et.Tensor;

export function prepareEngineCase(backend: EngineBackend, spec: CaseSpec): Prepared {
  const made: Tensor[] = [];
  const f32 = (shape: number[], seed: number): Tensor => {
    const t = et.tensor(fillData(numel(shape), seed), { shape, backend });
    made.push(t);
    return t;
  };
  const i32 = (shape: number[], high: number, seed: number): Tensor => {
    const t = et.tensor(fillIndices(numel(shape), high, seed), { shape, dtype: 'i32', backend });
    made.push(t);
    return t;
  };
  const dispose = () => et.dispose(made);
  // One iteration: build the result without recording a graph, read it back, free it.
  const timed = (compute: () => Tensor): Prepared => ({
    async run() {
      const out = et.noGrad(() => et.tidy(compute));
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
      return timed(() => et.matmul(a, b));
    }
    case 'add-broadcast': {
      const a = f32(spec.a, 1);
      const b = f32(spec.b, 2);
      return timed(() => et.add(a, b));
    }
    case 'exp': {
      const x = f32(spec.x, 1);
      return timed(() => et.exp(x));
    }
    case 'chain': {
      const x = f32(spec.x, 1);
      const y = f32(spec.x, 2);
      const z = f32(spec.x, 3);
      return timed(() => et.tanh(et.add(et.mul(x, y), z)));
    }
    case 'sum': {
      const x = f32(spec.x, 1);
      return timed(() => et.sum(x, spec.axis));
    }
    case 'softmax-ce': {
      const [b, c] = spec.logits;
      const logits = f32([b, c], 1);
      const targets = i32([b], c, 2);
      return timed(() => et.crossEntropy(logits, targets));
    }
    case 'layernorm': {
      const d = spec.x[spec.x.length - 1]!;
      const x = f32(spec.x, 1);
      const w = f32([d], 2);
      const bias = f32([d], 3);
      return timed(() => et.layerNorm(x, w, bias));
    }
    case 'gather': {
      const w = f32([spec.vocab, spec.dim], 1);
      const idx = i32([spec.n], spec.vocab, 2);
      return timed(() => et.embedding(w, idx));
    }
    case 'scatter-add': {
      const values = f32([spec.n, spec.dim], 1);
      const idx = i32([spec.n], spec.vocab, 2);
      return timed(() => et.scatterAdd(idx, values, spec.vocab));
    }
    case 'adamw': {
      const params = spec.params.map((shape, i) => {
        const p = f32(shape, 10 + i);
        p.requiresGrad = true;
        p.grad = f32(shape, 100 + i);
        return p;
      });
      const opt = new et.optim.AdamW(params, { lr: 1e-3, weightDecay: 0.01 });
      const last = params[params.length - 1]!;
      return {
        async run() {
          et.tidy(() => opt.step());
          // Every backend runs its kernels in call order, so the last parameter's read-back waits for the whole step.
          await last.data();
        },
        dispose() {
          for (const p of params) p.grad = null;
          dispose();
          // the optimizer's moment buffers (stateDict returns the live state tensors)
          et.dispose(Object.values(opt.stateDict().tensors));
        },
      };
    }
  }
}
