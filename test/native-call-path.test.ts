/**
 * The native addon's call path: buffers are numeric handles (stale ones refused), kernels are called by id with
 * their whole encoding in one Float64Array (runKernel), and every malformed call is a JS error, not a crash.
 * Values are checked against hand-computed results. Skipped when the addon is not built.
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { KERNEL_OPS } from '../engine/backends/native/index.js';
import { type NativeAddon, type NativeHandle, loadAddon } from '../engine/backends/native/native-addon.js';
import { availableBackends } from './helpers/backends.js';

const hasNative = availableBackends().includes('native');

describe.skipIf(!hasNative)('native call path', () => {
  const addon = loadAddon() as NativeAddon;
  const put = (values: number[]): NativeHandle => {
    const h = addon.alloc(4 * values.length);
    addon.write(h, Float32Array.from(values));
    return h;
  };
  const get = (h: NativeHandle, n: number) => Array.from(new Float32Array(addon.readSync(h, 4 * n)));
  const id = (op: string) => addon.kernelNames().indexOf(op);
  /** The encoding of a dense [n] f32 binary op (inputs x, y; output [n]) with no attributes. */
  const binary = (n: number) => Float64Array.of(2, 0, 1, 0, n, 1, 0, 1, 0, n, 1, 0, 1, n, 0);

  it('lists each engine kernel once, by id', () => {
    const names = addon.kernelNames();
    expect(new Set(names).size).toBe(names.length);
    for (const op of KERNEL_OPS) expect(names, op).toContain(op);
  });

  it('runs a kernel by id from one encoding array, attributes after their count', () => {
    const [x, y, out] = [put([1, 2, 3]), put([10, 20, 30]), addon.alloc(12)];
    addon.runKernel(id('sub'), binary(3), x, y, out);
    expect(get(out, 3)).toEqual([-9, -18, -27]);
    // the same buffers described as [2]: the third element is left alone
    addon.runKernel(id('add'), Float64Array.of(2, 0, 1, 0, 2, 1, 0, 1, 0, 2, 1, 0, 1, 2, 0), x, y, out);
    expect(get(out, 3)).toEqual([11, 22, -27]);
    // softmax over axis 0 of [1, 2, 3]: one attribute
    addon.runKernel(id('softmax'), Float64Array.of(1, 0, 1, 0, 3, 1, 0, 1, 3, 1, 0), x, out);
    const z = Math.E + Math.E ** 2 + Math.E ** 3;
    get(out, 3).forEach((v, i) => expect(v).toBeCloseTo(Math.E ** (i + 1) / z, 6));
    // a longer array than the call needs is fine (the engine reuses one)
    const long = new Float64Array(64);
    long.set(binary(3));
    addon.runKernel(id('mul'), long, x, y, out);
    expect(get(out, 3)).toEqual([10, 40, 90]);
    for (const h of [x, y, out]) addon.free(h);
  });

  it('handles are numbers; a freed one is refused, a second free does nothing, a reused slot does not revive it', () => {
    const a = put([1]);
    expect(typeof a).toBe('number');
    addon.free(a);
    addon.free(a);
    expect(() => addon.readSync(a, 4)).toThrow(/used after free/);
    // the next allocation may take a's slot: a stays dead, the new handle differs
    const b = put([5]);
    expect(b).not.toBe(a);
    expect(() => addon.write(a, Float32Array.of(1))).toThrow(/used after free/);
    expect(get(b, 1)).toEqual([5]);
    expect(() => addon.readSync(12345.5 as NativeHandle, 4)).toThrow(/used after free|not a buffer/);
    expect(() => addon.readSync('x' as unknown as NativeHandle, 4)).toThrow(/expected a native buffer handle/);
    expect(() => addon.free({} as unknown as NativeHandle)).toThrow(/expected a native buffer handle/);
    addon.free(b);
  });

  it('malformed calls are JS errors naming the kernel', () => {
    const [x, y, out] = [put([1, 2]), put([3, 4]), addon.alloc(8)];
    const call = binary(2);
    expect(() => addon.runKernel(9999, call, x, y, out)).toThrow(/unknown kernel id/);
    expect(() => addon.runKernel(id('add'), call, x, out)).toThrow(/^add: operand count mismatch/);
    expect(() => addon.runKernel(id('add'), new Float32Array(15) as unknown as Float64Array, x, y, out)).toThrow(/^add: the call encoding must be a Float64Array/);
    expect(() => addon.runKernel(id('add'), [2] as unknown as Float64Array, x, y, out)).toThrow(/Float64Array/);
    // a layout past the end of its buffer, a truncated layout, an attribute count past the end of the encoding
    expect(() => addon.runKernel(id('add'), binary(3), x, y, out)).toThrow(/outside its buffer/);
    expect(() => addon.runKernel(id('add'), binary(2).subarray(0, 9), x, y, out)).toThrow(/truncated operand description/);
    expect(() => addon.runKernel(id('neg'), Float64Array.of(1, 0, 1, 0, 2, 1, 0, 1, 2, 5), x, out)).toThrow(/^neg: truncated attribute encoding/);
    addon.free(y);
    expect(() => addon.runKernel(id('add'), call, x, y, out)).toThrow(/^add: native buffer used after free/);
    for (const h of [x, out]) addon.free(h);
  });

  it('the engine path (one reused encoding array, positional handles) gives the hand-computed result', async () => {
    const prev = et.getBackend();
    et.setBackend('native');
    try {
      const t = et.tensor([1, 2, 3, 4], { shape: [2, 2] });
      const r = et.tidy(() => t.matmul(t).sum(1).neg());
      expect(Array.from(await r.data())).toEqual([-17, -37]);
      et.dispose([t, r]);
    } finally {
      et.setBackend(prev);
    }
  });
});
