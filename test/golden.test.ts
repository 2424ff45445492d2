/**
 * PyTorch golden tests: every op of the public API (docs/api-contract.md) against values and input gradients that
 * torch 1.13 computed in float64 (test/golden/generate.py -> test/golden/ops.json).
 *
 * Each case runs twice on the cpu backend:
 * - f64, gradients through `et.vjp` with the golden cotangent, tolerance ~1e-9 relative;
 * - f32 (the golden float inputs are f32-representable), gradients through `leaf.backward(cotangent)` and `leaf.grad`, tolerance ~1e-4.
 * Integer and mask inputs (targets, indices, where-conditions) keep their dtype; integer outputs must match exactly.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import {
  compareTensor,
  concreteDType,
  isAllZero,
  loadGolden,
  typedData,
  type GoldenAttrs,
  type GoldenCase,
  type GoldenPre,
  type GoldenTensor,
  type RunDType,
} from './helpers/golden-cases.js';

type Tensor = et.Tensor;
type Impl = (xs: Tensor[], a: GoldenAttrs) => Tensor | Tensor[];

const num = (a: GoldenAttrs, k: string): number => a[k] as number;
const has = (a: GoldenAttrs, k: string): boolean => Object.prototype.hasOwnProperty.call(a, k);
const axisOf = (a: GoldenAttrs): number | number[] | undefined => a['axis'] as number | number[] | undefined;

const unary = (f: (x: Tensor) => Tensor): Impl => (xs) => f(xs[0]!);

/** Binary ops; attrs.scalar (with side 'left' | 'right') replaces one operand by a JS number. */
const binary =
  (f: (a: Tensor | number, b: Tensor | number) => Tensor): Impl =>
  (xs, a) => {
    if (has(a, 'scalar')) {
      const s = num(a, 'scalar');
      return a['side'] === 'left' ? f(s, xs[0]!) : f(xs[0]!, s);
    }
    return f(xs[0]!, xs[1]!);
  };

/** Reductions: attrs.axis absent = all axes; attrs.keepdims absent = the default. */
const reduce =
  (f: (x: Tensor, axis?: number | number[], keepdims?: boolean) => Tensor): Impl =>
  (xs, a) => {
    if (has(a, 'keepdims')) return f(xs[0]!, axisOf(a), a['keepdims'] as boolean);
    if (has(a, 'axis')) return f(xs[0]!, axisOf(a));
    return f(xs[0]!);
  };

/** op name in ops.json -> the engine call. */
const OPS: Record<string, Impl> = {
  neg: unary((x) => et.neg(x)),
  exp: unary((x) => et.exp(x)),
  log: unary((x) => et.log(x)),
  sqrt: unary((x) => et.sqrt(x)),
  rsqrt: unary((x) => et.rsqrt(x)),
  tanh: unary((x) => et.tanh(x)),
  sigmoid: unary((x) => et.sigmoid(x)),
  relu: unary((x) => et.relu(x)),
  gelu: (xs, a) =>
    has(a, 'approximate') ? et.gelu(xs[0]!, { approximate: a['approximate'] as 'none' | 'tanh' }) : et.gelu(xs[0]!),
  abs: unary((x) => et.abs(x)),
  square: unary((x) => et.square(x)),
  erf: unary((x) => et.erf(x)),
  sign: unary((x) => et.sign(x)),

  add: binary((a, b) => et.add(a, b)),
  sub: binary((a, b) => et.sub(a, b)),
  mul: binary((a, b) => et.mul(a, b)),
  div: binary((a, b) => et.div(a, b)),
  pow: binary((a, b) => et.pow(a, b)),
  maximum: binary((a, b) => et.maximum(a, b)),
  minimum: binary((a, b) => et.minimum(a, b)),
  eq: binary((a, b) => et.eq(a, b)),
  ne: binary((a, b) => et.ne(a, b)),
  lt: binary((a, b) => et.lt(a, b)),
  le: binary((a, b) => et.le(a, b)),
  gt: binary((a, b) => et.gt(a, b)),
  ge: binary((a, b) => et.ge(a, b)),
  where: (xs) => et.where(xs[0]!, xs[1]!, xs[2]!),

  sum: reduce((x, ax, k) => et.sum(x, ax, k)),
  mean: reduce((x, ax, k) => et.mean(x, ax, k)),
  max: reduce((x, ax, k) => et.max(x, ax, k)),
  logsumexp: reduce((x, ax, k) => et.logsumexp(x, ax, k)),
  norm: reduce((x, ax, k) => et.norm(x, ax, k)),
  var: (xs, a) => {
    if (has(a, 'correction')) return et.var(xs[0]!, axisOf(a), a['keepdims'] as boolean, num(a, 'correction'));
    return et.var(xs[0]!);
  },
  argmax: (xs, a) => et.argmax(xs[0]!, num(a, 'axis')),

  matmul: (xs) => et.matmul(xs[0]!, xs[1]!),
  softmax: (xs, a) => (has(a, 'axis') ? et.softmax(xs[0]!, num(a, 'axis')) : et.softmax(xs[0]!)),
  logSoftmax: (xs, a) => (has(a, 'axis') ? et.logSoftmax(xs[0]!, num(a, 'axis')) : et.logSoftmax(xs[0]!)),
  crossEntropy: (xs, a) =>
    has(a, 'reduction')
      ? et.crossEntropy(xs[0]!, xs[1]!, { reduction: a['reduction'] as 'mean' | 'sum' | 'none' })
      : et.crossEntropy(xs[0]!, xs[1]!),
  layerNorm: (xs, a) => {
    const w = a['weight'] ? xs[1]! : null;
    const b = a['bias'] ? xs[a['weight'] ? 2 : 1]! : null;
    return et.layerNorm(xs[0]!, w, b, num(a, 'eps'));
  },

  embedding: (xs) => et.embedding(xs[0]!, xs[1]!),
  scatterAdd: (xs, a) => et.scatterAdd(xs[0]!, xs[1]!, num(a, 'numRows')),
  oneHot: (xs, a) =>
    has(a, 'dtype')
      ? et.oneHot(xs[0]!, num(a, 'numClasses'), a['dtype'] as 'f32' | 'f64' | 'i32')
      : et.oneHot(xs[0]!, num(a, 'numClasses')),

  concat: (xs, a) => (has(a, 'axis') ? et.concat(xs, num(a, 'axis')) : et.concat(xs)),
  stack: (xs, a) => (has(a, 'axis') ? et.stack(xs, num(a, 'axis')) : et.stack(xs)),
  split: (xs, a) =>
    has(a, 'axis')
      ? et.split(xs[0]!, a['sizes'] as number | number[], num(a, 'axis'))
      : et.split(xs[0]!, a['sizes'] as number | number[]),
  reshape: (xs, a) => et.reshape(xs[0]!, a['shape'] as number[]),
  transpose: (xs, a) => (has(a, 'a0') ? et.transpose(xs[0]!, num(a, 'a0'), num(a, 'a1')) : et.transpose(xs[0]!)),
  permute: (xs, a) => et.permute(xs[0]!, a['axes'] as number[]),
  slice: (xs, a) => et.slice(xs[0]!, a['starts'] as number[], a['ends'] as number[]),
  expand: (xs, a) => et.expand(xs[0]!, a['shape'] as number[]),
  squeeze: (xs, a) => (has(a, 'axis') ? et.squeeze(xs[0]!, num(a, 'axis')) : et.squeeze(xs[0]!)),
  unsqueeze: (xs, a) => et.unsqueeze(xs[0]!, num(a, 'axis')),
  pad: (xs, a) => et.pad(xs[0]!, a['widths'] as [number, number][]),
  contiguousTransposed: (xs) => et.contiguous(et.transpose(xs[0]!)),
  cast: (xs, a) => et.cast(xs[0]!, a['dtype'] as 'f32' | 'f64'),
  stopGradient: (xs) => et.stopGradient(xs[0]!),
  // x * stopGradient(x): the gradient is x, not 2x. The method forms are exercised by mulDetach.
  mulStopGradient: (xs) => et.mul(xs[0]!, et.stopGradient(xs[0]!)),
  mulDetach: (xs) => xs[0]!.mul(xs[0]!.detach()),
};

/** Every op of the contract must have at least one golden case. */
const CONTRACT_OPS = [
  'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'sigmoid', 'relu', 'gelu', 'abs', 'square', 'erf', 'sign',
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'where',
  'sum', 'mean', 'max', 'logsumexp', 'var', 'norm', 'argmax', 'matmul', 'softmax', 'logSoftmax', 'crossEntropy',
  'layerNorm', 'embedding', 'scatterAdd', 'oneHot', 'concat', 'stack', 'split', 'reshape', 'transpose', 'permute',
  'slice', 'expand', 'squeeze', 'unsqueeze', 'pad', 'cast', 'stopGradient',
];

function applyPre(x: Tensor, p: GoldenPre | null | undefined): Tensor {
  if (!p) return x;
  switch (p.op) {
    case 'transpose':
      return et.transpose(x, p.a0, p.a1);
    case 'permute':
      return et.permute(x, p.axes);
    case 'slice':
      return et.slice(x, p.starts, p.ends);
    case 'expand':
      return et.expand(x, p.shape);
  }
}

function makeTensor(g: GoldenTensor, run: RunDType, requiresGrad: boolean): Tensor {
  return et.tensor(typedData(g, run), {
    shape: g.shape,
    dtype: concreteDType(g.dtype, run),
    requiresGrad,
    backend: 'cpu',
  });
}

async function snapshot(t: Tensor): Promise<{ shape: readonly number[]; dtype: string; data: ArrayLike<number> }> {
  return { shape: [...t.shape], dtype: t.dtype, data: await t.data() };
}

function asList(r: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(r) ? r : [r];
}

/** Runs one case; returns the list of mismatches (empty = pass). */
async function runCase(c: GoldenCase, run: RunDType): Promise<string[]> {
  const impl = OPS[c.op];
  if (!impl) return [`no engine mapping for golden op '${c.op}'`];
  const problems: string[] = [];
  const diffIdx = c.inputs.flatMap((inp, i) => (c.grads && c.grads[i] ? [i] : []));
  const created: Tensor[] = [];
  const scale = c.f32TolScale ?? 1;
  /** The op applied to stored inputs: the case's views first, then the engine call. */
  const call = (args: Tensor[]): Tensor[] => asList(impl(args.map((x, i) => applyPre(x, c.pre?.[i])), c.attrs));

  // Gradient method: f64 runs use et.vjp; f32 runs use leaf.backward(seed) / leaf.grad, except where the golden
  // gradient is identically zero (nothing to backpropagate through: stopGradient) or there are several outputs
  // (split), which go through backward() of sum_i sum(out_i * cot_i).
  const allZero = diffIdx.every((i) => isAllZero(c.grads![i]!));
  const method: 'forward' | 'vjp' | 'backward-seed' | 'backward-loss' = !c.cotangents
    ? 'forward'
    : c.outputs.length > 1
      ? 'backward-loss'
      : run === 'f64' || allZero
        ? 'vjp'
        : 'backward-seed';

  const useLeaves = method === 'backward-seed' || method === 'backward-loss';
  const xs = c.inputs.map((inp, i) => makeTensor(inp, run, useLeaves && diffIdx.includes(i)));
  created.push(...xs);

  let outs: Tensor[];
  let grads: (Tensor | null)[] | null = null;
  if (method === 'forward') {
    outs = call(xs);
  } else if (method === 'vjp') {
    const f = (...ps: Tensor[]): Tensor => {
      const args = xs.slice();
      diffIdx.forEach((i, k) => (args[i] = ps[k]!));
      return call(args)[0]!;
    };
    const [out, vjpFn] = et.vjp(f, ...diffIdx.map((i) => xs[i]!));
    outs = [out];
    const cot = makeTensor(c.cotangents![0]!, run, false);
    created.push(cot);
    const gs = vjpFn(cot) as (Tensor | null | undefined)[];
    if (gs.length !== diffIdx.length) problems.push(`vjp returned ${gs.length} gradients for ${diffIdx.length} primals`);
    grads = c.inputs.map(() => null);
    diffIdx.forEach((i, k) => (grads![i] = gs[k] ?? null));
  } else {
    outs = call(xs);
    const cots = c.cotangents!.map((g) => makeTensor(g, run, false));
    created.push(...cots);
    if (method === 'backward-seed') {
      outs[0]!.backward(cots[0]!);
    } else {
      if (outs.length !== cots.length) return [`expected ${cots.length} outputs, got ${outs.length}`];
      let loss = et.sum(et.mul(outs[0]!, cots[0]!));
      for (let k = 1; k < outs.length; k++) loss = et.add(loss, et.sum(et.mul(outs[k]!, cots[k]!)));
      loss.backward();
      created.push(loss);
    }
    grads = xs.map((x, i) => (diffIdx.includes(i) ? x.grad : null));
  }
  created.push(...outs);

  if (outs.length !== c.outputs.length) {
    problems.push(`expected ${c.outputs.length} outputs, got ${outs.length}`);
  } else {
    for (let k = 0; k < outs.length; k++) {
      const o = c.outputs[k]!;
      problems.push(...compareTensor(`output ${k}`, o, concreteDType(o.dtype, run), await snapshot(outs[k]!), scale));
    }
  }
  if (grads) {
    for (const i of diffIdx) {
      const want = c.grads![i]!;
      const got = grads[i] ?? null;
      const what = `grad of input ${i} (${method})`;
      if (got === null) {
        // A missing gradient is a valid answer only for a gradient that is zero everywhere.
        if (!isAllZero(want)) problems.push(`${what}: got null, expected a non-zero gradient`);
        continue;
      }
      created.push(got);
      problems.push(...compareTensor(what, want, concreteDType(want.dtype, run), await snapshot(got), scale));
    }
  }
  for (const t of created) if (!t.isDisposed) t.dispose();
  return problems;
}

const golden = loadGolden();

describe('golden file', () => {
  it('covers every op of the contract', () => {
    const ops = new Set(golden.cases.map((c) => c.op));
    expect(CONTRACT_OPS.filter((op) => !ops.has(op))).toEqual([]);
  });
  it('maps every golden op to an engine call', () => {
    expect(golden.cases.map((c) => c.op).filter((op) => !(op in OPS))).toEqual([]);
  });
  it('has unique case names', () => {
    expect(new Set(golden.cases.map((c) => c.name)).size).toBe(golden.cases.length);
  });
});

for (const run of ['f64', 'f32'] as const) {
  describe(`golden ops vs torch, cpu ${run}`, () => {
    beforeAll(() => {
      et.setBackend('cpu');
    });
    for (const c of golden.cases) {
      it(c.name, async () => {
        let problems: string[];
        try {
          problems = await runCase(c, run);
        } catch (e) {
          problems = [`threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`];
        }
        const header = `golden case '${c.name}' (op ${c.op}, attrs ${JSON.stringify(c.attrs)}${c.pre ? `, views ${JSON.stringify(c.pre)}` : ''}, ${run}, inputs ${c.inputs
          .map((i) => `[${i.shape.join(',')}] ${concreteDType(i.dtype, run)}`)
          .join(' ')})`;
        expect(problems.map((p) => `${header}: ${p}`)).toEqual([]);
      });
    }
  });
}
