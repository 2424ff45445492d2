/** Bad input: every mistake gives a typed error naming the op, shapes, dtypes and backend. */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { availableBackends } from './helpers/backends.js';

const f32 = (shape: number[]) => et.zeros(shape);

describe('typed errors', () => {
  it('shape mismatch names the op and both shapes', () => {
    const err = catchError(() => et.add(f32([2, 3]), f32([4])));
    expect(err).toBeInstanceOf(et.ShapeError);
    expect(err.message).toMatch(/add.*\[2, 3\].*\[4\]/);
  });

  it('matmul inner dimension mismatch', () => {
    const err = catchError(() => et.matmul(f32([2, 3]), f32([4, 5])));
    expect(err).toBeInstanceOf(et.ShapeError);
    expect(err.message).toContain('matmul');
    expect(err.message).toContain('[2, 3], [4, 5]');
  });

  it('dtype mismatch names the dtypes and backend', () => {
    const err = catchError(() => et.mul(f32([2]), et.zeros([2], { dtype: 'f64' })));
    expect(err).toBeInstanceOf(et.DTypeError);
    expect(err.message).toMatch(/f32, f64.*backend cpu/);
    expect(catchError(() => et.exp(et.zeros([2], { dtype: 'i32' })))).toBeInstanceOf(et.DTypeError);
    expect(catchError(() => et.crossEntropy(f32([2, 3]), f32([2])))).toBeInstanceOf(et.DTypeError);
  });

  it('bad axes', () => {
    expect(catchError(() => et.sum(f32([2, 3]), 2))).toBeInstanceOf(et.AxisError);
    expect(catchError(() => et.sum(f32([2, 3]), [0, -2]))).toBeInstanceOf(et.AxisError);
    expect(catchError(() => et.softmax(f32([2, 3]), -3))).toBeInstanceOf(et.AxisError);
    expect(catchError(() => et.permute(f32([2, 3]), [0, 0]))).toBeInstanceOf(et.AxisError);
    // every way axes can fail to be a permutation: out of range either way, fractional, too few, too many
    // (negative axes count from the end, so [-1, 0] is [1, 0])
    expect(et.permute(f32([2, 3]), [-1, 0]).shape).toEqual([3, 2]);
    for (const axes of [[0, 2], [-3, 0], [0.5, 1], [0], [1, 0, 2]]) {
      expect(catchError(() => et.permute(f32([2, 3]), axes)), `[${axes.join(', ')}]`).toBeInstanceOf(et.AxisError);
    }
  });

  it('permute past rank 31 (axes checked with an array of marks, not bits)', () => {
    const shape = Array.from({ length: 33 }, (_, i) => (i === 0 ? 2 : i === 32 ? 3 : 1));
    const reversed = shape.map((_, i) => 32 - i);
    expect(et.permute(f32(shape), reversed).shape).toEqual([...shape].reverse());
    const repeated = [...reversed];
    repeated[5] = repeated[6]!;
    expect(catchError(() => et.permute(f32(shape), repeated))).toBeInstanceOf(et.AxisError);
  });

  it('backward of a non-scalar without a seed', () => {
    const x = et.ones([3], { requiresGrad: true });
    const err = catchError(() => x.mul(2).backward());
    expect(err).toBeInstanceOf(et.GradError);
    expect(err.message).toContain('seed');
    expect(catchError(() => f32([1]).sum().backward())).toBeInstanceOf(et.GradError);
    expect(catchError(() => et.grad((z: et.Tensor) => z.mul(2))(f32([3])))).toBeInstanceOf(et.GradError);
  });

  it('a missing or non-tensor operand names the op and the input', () => {
    // untyped callers (plain JS, JSON configs) pass null for an optional-looking bias or a number for a tensor
    const nullBias = catchError(() => et.linear(f32([2, 3]), f32([3, 4]), null as unknown as et.Tensor));
    expect(nullBias).toBeInstanceOf(et.ArgumentError);
    expect(nullBias.message).toMatch(/linear: input 2 must be a Tensor, got null/);
    const numberTau = catchError(() => et.activationDensity(f32([4]), 0.5 as unknown as et.Tensor));
    expect(numberTau).toBeInstanceOf(et.ArgumentError);
    expect(numberTau.message).toMatch(/activationDensity: input 1 must be a Tensor, got number/);
    expect(catchError(() => et.tanhJvp(f32([2, 3]), undefined as unknown as et.Tensor, f32([3, 3]))).message).toMatch(/input 1 .* got undefined/);
  });

  it('more elements than memory holds: a typed error with the size, on the host and from a kernel output', () => {
    const host = catchError(() => et.zeros([1e6, 1e6]));
    expect(host).toBeInstanceOf(et.ArgumentError);
    expect(host.message).toMatch(/zeros: cannot stage 1000000000000 values in host memory/);
    // a [1e5, 1e6] product of two small operands: the output (400 GB) is what cannot be had
    for (const backend of availableBackends().filter((b) => b === 'cpu' || b === 'native')) {
      const [a, b] = [et.zeros([100000, 1], { backend }), et.zeros([1, 1000000], { backend })];
      const out = catchError(() => a.matmul(b));
      expect(out, backend).toBeInstanceOf(et.BackendError);
      expect(out.message).toMatch(new RegExp(`matmul: cannot allocate 100000000000 elements .*backend ${backend}`));
      et.dispose([a, b]);
    }
  });

  it('dataSync on a device backend names it and the way out; host backends read', () => {
    for (const backend of availableBackends()) {
      const t = et.tensor([1, 2], { backend });
      if (backend === 'cpu' || backend === 'native') expect(Array.from(t.dataSync()), backend).toEqual([1, 2]);
      else {
        const err = catchError(() => t.dataSync());
        expect(err, backend).toBeInstanceOf(et.BackendError);
        expect(err.message).toBe(`dataSync: reads host memory (the cpu and native backends); use await t.data() (backend ${backend})`);
      }
      t.dispose();
    }
  });

  it('a transform given something other than a function, a seed that is not a number', () => {
    const x = f32([2]);
    for (const [op, call] of [
      ['grad', () => et.grad(5 as unknown as () => et.Tensor)(x)],
      ['grad', () => et.valueAndGrad(null as unknown as () => et.Tensor)(x)],
      ['vjp', () => et.vjp('f' as unknown as () => et.Tensor, x)],
      ['jvp', () => et.jvp(undefined as unknown as () => et.Tensor, [x], [x])],
      ['linearize', () => et.linearize({} as unknown as () => et.Tensor, x)],
    ] as const) {
      const err = catchError(call);
      expect(err).toBeInstanceOf(et.ArgumentError);
      expect(err.message).toMatch(new RegExp(`^${op}: takes the function to differentiate first`));
    }
    for (const seed of [Number.NaN, Infinity, '7' as unknown as number]) {
      expect(catchError(() => et.randn([2], { seed })).message).toMatch(/seed: a seed must be a finite number/);
    }
    expect(catchError(() => et.seed(Number.NaN))).toBeInstanceOf(et.ArgumentError);
  });

  it('a disposed tensor', () => {
    const x = f32([2]);
    x.dispose();
    const err = catchError(() => x.add(1));
    expect(err).toBeInstanceOf(et.DisposedError);
    expect(err.message).toMatch(/add.*disposed/);
    return expect(x.data()).rejects.toBeInstanceOf(et.DisposedError);
  });

  it('an unknown or unavailable backend', () => {
    expect(catchError(() => et.setBackend('tpu' as et.BackendName))).toBeInstanceOf(et.BackendError);
    for (const b of et.backendInfo().filter((i) => !i.available)) {
      const err = catchError(() => et.setBackend(b.name));
      expect(err).toBeInstanceOf(et.BackendError);
      expect(err.message).toContain(b.reason!);
    }
    expect(et.setBackend('cpu')).toBe('cpu');
  });

  it('bad creation arguments', () => {
    expect(catchError(() => et.tensor([[1, 2], [3]]))).toBeInstanceOf(et.ShapeError);
    expect(catchError(() => et.tensor([1, 2, 3], { shape: [2, 2] }))).toBeInstanceOf(et.ShapeError);
    expect(catchError(() => et.zeros([2, -1]))).toBeInstanceOf(et.ShapeError);
    expect(catchError(() => et.randn([2], { dtype: 'i32' }))).toBeInstanceOf(et.DTypeError);
    expect(catchError(() => et.reshape(f32([2, 3]), [4, -1]))).toBeInstanceOf(et.ShapeError);
  });

  it('out-of-range indices are errors, not garbage', () => {
    const w = f32([4, 2]);
    const err = catchError(() => et.embedding(w, et.tensor([1, 4], { dtype: 'i32' })));
    expect(err).toBeInstanceOf(et.ArgumentError);
    expect(err.message).toMatch(/index 4 .*\[0, 4\)/);
    expect(catchError(() => et.crossEntropy(f32([2, 3]), et.tensor([0, 3], { dtype: 'i32' })))).toBeInstanceOf(et.ArgumentError);
  });

  it('tidy refuses async functions', () => {
    expect(catchError(() => et.tidy((async () => f32([1])) as never))).toBeInstanceOf(et.ArgumentError);
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, none was thrown');
}
