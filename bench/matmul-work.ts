/**
 * Counting a step's matmul-class work: the multiply-adds of every kernel whose cost is a product (matmul, linear,
 * matmulInt8, the FTLE's tanh steps, the coherence Gram and its backward, the fused coherence loss), read off the operand shapes as the kernels
 * are called. It is the floor under a step's time that no kernel or dispatch speed removes: a term that adds 50 % of
 * the step's multiply-adds cannot cost less than 50 % at equal efficiency.
 */
import type { KernelArg } from '../engine/backend.js';
import { backendByName } from '../engine/device.js';
import type * as et from '../engine/index.js';

const numel = (a: KernelArg) => a.layout.shape.reduce((p, d) => p * d, 1);
const last = (a: KernelArg) => a.layout.shape[a.layout.shape.length - 1] ?? 1;
const rows = (a: KernelArg) => a.layout.shape[0] ?? 1;
/** z [N, d] with N ≤ d/2: native/correlation.cc's rowGramPath. */
const rowGram = (z: KernelArg) => 2 * rows(z) <= last(z);

/** Multiply-adds of one call, by op; ops not listed do no product. */
const WORK: Record<string, (inputs: readonly KernelArg[], output: KernelArg) => number> = {
  matmul: (i, o) => numel(o) * last(i[0]!),
  linear: (i, o) => numel(o) * last(i[0]!),
  matmulInt8: (i, o) => numel(o) * last(i[0]!),
  // h [B, out] times v's inner dimension: the product v Wᵀ (the backward recomputes it)
  tanhJvp: (i) => numel(i[0]!) * last(i[1]!),
  tanhJvpStep: (i) => numel(i[0]!) * last(i[1]!),
  tanhJvpStepGrad: (i) => numel(i[0]!) * last(i[1]!),
  // Z [N, d]: the Gram's upper half forward, Ẑ·S backward
  correlation: (i) => (numel(i[0]!) * last(i[0]!)) / 2,
  correlationGrad: (i) => numel(i[0]!) * last(i[0]!),
  // the coherence loss: the Gram's upper half; backward, the Gram again and Ẑ·S. For N ≤ d/2 the native kernels take
  // the rows' Gram K = ẐẐᵀ instead: K forward, K and K·Ẑ backward.
  coherence: (i) => (rowGram(i[0]!) ? numel(i[0]!) * rows(i[0]!) : (numel(i[0]!) * last(i[0]!)) / 2),
  coherenceGrad: (i) => (rowGram(i[0]!) ? 2 * numel(i[0]!) * rows(i[0]!) : (numel(i[0]!) * last(i[0]!) * 3) / 2),
};

/** Runs fn with the backend's product kernels counted; returns fn's result and the multiply-adds they did. */
export async function countMatmulWork<T>(backend: et.BackendName, fn: () => Promise<T>): Promise<{ result: T; macs: number }> {
  const kernels = backendByName(backend).kernels as unknown as Record<string, (i: readonly KernelArg[], o: KernelArg, a: unknown) => void>;
  const originals = new Map<string, (i: readonly KernelArg[], o: KernelArg, a: unknown) => void>();
  let macs = 0;
  for (const [op, work] of Object.entries(WORK)) {
    const kernel = kernels[op];
    if (!kernel) continue;
    originals.set(op, kernel);
    kernels[op] = (i, o, a) => {
      macs += work(i, o);
      kernel(i, o, a);
    };
  }
  try {
    return { result: await fn(), macs };
  } finally {
    for (const [op, kernel] of originals) kernels[op] = kernel;
  }
}
