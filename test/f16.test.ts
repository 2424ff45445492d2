/**
 * f16 storage: the binary16 encoder/decoder against hand-derived bit patterns and an independent formula, casts,
 * copies and views on cpu and webgpu, f16 x f16 -> f32 matmul against an f64 reference of the decoded operands (with
 * the rigorous f32 accumulation bound), the mixed-precision VJP against hand-computed gradients, and typed errors.
 */
import { describe, expect, it } from 'vitest';
import * as et from '../engine/index.js';
import { f16Bits } from '../engine/half.js';
import { initWebGPU, webgpuStats } from '../engine/backends/webgpu/index.js';
import { availableBackends } from './helpers/backends.js';
import { decodeSafetensors, encodeSafetensors } from '../src/train/safetensors.js';

const status = await initWebGPU();
const REQUIRE_WEBGPU = process.env.EITP_REQUIRE_WEBGPU === '1';
if (!status.available && REQUIRE_WEBGPU) throw new Error(`webgpu unavailable: ${status.reason}`);
const hasF16 = status.available && webgpuStats().features.includes('shader-f16');
// lavapipe has shader-f16: under EITP_REQUIRE_WEBGPU=1 its absence is a failure, unless it was switched off on purpose
if (status.available && !hasF16 && REQUIRE_WEBGPU && process.env.EITP_WEBGPU_NO_F16 !== '1') {
  throw new Error(`EITP_REQUIRE_WEBGPU=1 but the adapter lacks 'shader-f16' (features: ${webgpuStats().features.join(', ')})`);
}
const hasNative = availableBackends().includes('native');
const BACKENDS: et.BackendName[] = hasF16 ? ['cpu', 'webgpu'] : ['cpu'];

/** The value of a binary16 pattern, written from the format's definition (not from the engine's decoder). */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * 2 ** -14 * (m / 1024);
  return sign * 2 ** (e - 15) * (1 + m / 1024);
}

const ALL_PATTERNS = Uint16Array.from({ length: 65536 }, (_, i) => i);

function expectSameValues(got: ArrayLike<number>, want: ArrayLike<number>): void {
  expect(got.length).toBe(want.length);
  const bad = Array.from(got).findIndex((v, i) => !Object.is(v, want[i]) && !(Number.isNaN(v) && Number.isNaN(want[i]!)));
  expect(bad, bad < 0 ? '' : `index ${bad}: got ${got[bad]}, expected ${want[bad]}`).toBe(-1);
}

/** A deterministic generator (LCG) so that the references never touch the engine. */
function values(count: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 4 - 2;
  });
}

describe('binary16 encoding', () => {
  it('encodes hand-derived patterns: rounding to nearest even, overflow, subnormals, NaN, -0', () => {
    const cases: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65519.99, 0x7bff], [65520, 0x7c00], [-Infinity, 0xfc00],
      [1 / 3, 0x3555], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], [-0, 0x8000], [0, 0x0000],
      [2049, 0x6800], [2051, 0x6802], [2 ** -14, 0x0400], [2 ** -14 - 2 ** -25, 0x0400], [0.1, 0x2e66],
    ];
    for (const [x, bits] of cases) expect([x, f16Bits(x)]).toEqual([x, bits]);
    const nan = f16Bits(NaN);
    expect((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0).toBe(true);
  });

  it('decodes all 65536 patterns as sign·2^(e−15)·(1 + m/1024) (subnormals 2^−14·m/1024), through a tensor read', () => {
    const got = et.tensor(ALL_PATTERNS, { backend: 'cpu' });
    expect(got.dtype).toBe('f16');
    expectSameValues(got.dataSync(), Array.from(ALL_PATTERNS, halfValue));
  });

  it('every finite half encodes to itself and every midpoint to its even neighbour', () => {
    for (let h = 0; h < 0x7c00; h++) {
      expect(f16Bits(halfValue(h))).toBe(h);
      if (h < 0x7bff) expect(f16Bits((halfValue(h) + halfValue(h + 1)) / 2)).toBe(h % 2 === 0 ? h : h + 1);
    }
  });

  it('safetensors stores f16 as F16 (2 bytes per element) and reads the same bit patterns back', () => {
    const bits = new Uint16Array([0x3c00, 0xc000, 0x7e00]);
    const file = encodeSafetensors({ h: { dtype: 'f16', shape: [3], data: bits } });
    const headerLen = Number(file.readBigUInt64LE(0));
    expect(JSON.parse(file.toString('utf8', 8, 8 + headerLen)).h).toEqual({ dtype: 'F16', shape: [3], data_offsets: [0, 6] });
    const back = decodeSafetensors(file).tensors.h!;
    expect([back.dtype, back.data instanceof Uint16Array, Array.from(back.data)]).toEqual(['f16', true, [0x3c00, 0xc000, 0x7e00]]);
  });

  it('a Uint16Array is bit patterns: f16 keeps them, another dtype gets their values; numbers are values', async () => {
    expect(Array.from(await et.tensor(new Uint16Array([0x3c00, 0xc000, 0x3555]), { dtype: 'f32' }).data())).toEqual([1, -2, 1365 / 4096]);
    expect(Array.from(et.tensor([[1, 2049], [65520, 2 ** -25]], { dtype: 'f16', backend: 'cpu' }).dataSync())).toEqual([1, 2048, Infinity, 0]);
    expect(Array.from(et.full([2], 2051, { dtype: 'f16', backend: 'cpu' }).dataSync())).toEqual([2052, 2052]);
  });
});

describe.each(BACKENDS)('f16 on %s', (backend) => {
  const onBackend = (x: ArrayLike<number> | Uint16Array, dtype: et.DType = 'f32') =>
    et.tensor(x instanceof Uint16Array ? x : Array.from(x), { dtype, backend });

  it('cast f32 -> f16 -> f32 gives the rounded values', async () => {
    const x = [1, 1 / 3, 65504, 65520, -70000, 2049, 2051, 2 ** -24, 2 ** -25, 3 * 2 ** -25, -0, NaN, 0.1];
    const want = [1, 1365 / 4096, 65504, Infinity, -Infinity, 2048, 2052, 2 ** -24, 0, 2 ** -23, -0, NaN, 0x666 / 1024 / 16];
    const half = et.cast(onBackend(x), 'f16');
    expect(half.dtype).toBe('f16');
    expectSameValues(await half.data(), want);
    expectSameValues(await et.cast(half, 'f32').data(), want);
    expectSameValues(await et.cast(onBackend([3, -70000, 2051, 65519], 'i32'), 'f16').data(), [3, -Infinity, 2052, 65504]);
  });

  it('casts match the cpu encoder on every half, every midpoint and random f32 bit patterns', async () => {
    const mids = Array.from({ length: 0x7bff }, (_, h) => (halfValue(h) + halfValue(h + 1)) / 2);
    const random = new Float32Array(Uint32Array.from(values(4096, 7), (v) => ((v + 2) * 2 ** 30) >>> 0).buffer);
    const x = Float32Array.from([...Array.from(ALL_PATTERNS, halfValue), ...mids, ...random]);
    const got = await et.cast(et.tensor(x, { backend }), 'f16').data();
    expectSameValues(got, Array.from(x, (v) => halfValue(f16Bits(v))));
    expectSameValues(await et.cast(et.tensor(ALL_PATTERNS, { backend }), 'f32').data(), Array.from(ALL_PATTERNS, halfValue));
  });

  it('views, contiguous copies, concat and pad move the bits of every pattern', async () => {
    const t = et.tensor(ALL_PATTERNS, { backend, shape: [256, 256] });
    const want = Array.from(ALL_PATTERNS, halfValue);
    const transposed = Array.from({ length: 65536 }, (_, i) => want[(i % 256) * 256 + Math.floor(i / 256)]!);
    expectSameValues(await et.contiguous(t.transpose()).data(), transposed);
    // dense slices at an odd element offset (a kernel copy) and at even ones (a buffer copy, odd and even counts)
    expectSameValues(await t.slice([1, 3], [2, 6]).data(), want.slice(259, 262));
    expectSameValues(await t.slice([2, 0], [3, 5]).data(), want.slice(512, 517));
    expectSameValues(await t.slice([2, 0], [3, 6]).data(), want.slice(512, 518));
    const small = et.tensor(new Uint16Array([0x3c00, 0x7e00, 0x8001]), { backend, shape: [1, 3] });
    expectSameValues(await et.concat([small, small.slice([0, 1])], 1).data(), [1, NaN, -(2 ** -24), NaN, -(2 ** -24)]);
    expectSameValues(await et.pad(small, [[1, 0], [0, 1]]).data(), [0, 0, 0, 0, 1, NaN, -(2 ** -24), 0]);
    expectSameValues(await et.expand(small.slice([0, 0], [1, 1]), [2, 2]).data(), [1, 1, 1, 1]);
  });

  it('stores f16 in 2 bytes per element (memory() counts them)', () => {
    const before = et.memory().backends[backend]?.bytes ?? 0;
    const t = et.zeros([1000], { dtype: 'f16', backend });
    const f16Bytes = (et.memory().backends[backend]?.bytes ?? 0) - before;
    const u = et.zeros([1000], { backend });
    const f32Bytes = (et.memory().backends[backend]?.bytes ?? 0) - before - f16Bytes;
    expect(f16Bytes * 2).toBe(f32Bytes);
    t.dispose();
    u.dispose();
  });
});

/** C = A·B in f64 from the operands' values, and the rigorous f32-accumulation bound K·2^-24·Σ|a||b| per element. */
function reference(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number) {
  const value: number[] = [];
  const bound: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let abs = 0;
      for (let p = 0; p < k; p++) {
        s += a[i * k + p]! * b[p * n + j]!;
        abs += Math.abs(a[i * k + p]! * b[p * n + j]!);
      }
      value.push(s);
      bound.push(k * 2 ** -24 * abs);
    }
  }
  return { value, bound };
}

function expectWithin(got: ArrayLike<number>, ref: { value: number[]; bound: number[] }): void {
  expect(got.length).toBe(ref.value.length);
  const bad = ref.value.findIndex((v, i) => !(Math.abs(got[i]! - v) <= ref.bound[i]!));
  expect(bad, bad < 0 ? '' : `index ${bad}: got ${got[bad]}, expected ${ref.value[bad]} ± ${ref.bound[bad]}`).toBe(-1);
}

/** Halves of the LCG values (their exact values), as bits for upload and as numbers for the reference. */
function halves(count: number, seed: number): { bits: Uint16Array; vals: number[] } {
  const bits = Uint16Array.from(values(count, seed), f16Bits);
  return { bits, vals: Array.from(bits, halfValue) };
}

describe.each(BACKENDS)('f16 x f16 matmul on %s (f16 storage, f32 accumulation)', (backend) => {
  const R = [1, 7, 33, 257];
  it.each(R.flatMap((m) => R.map((n) => [m, n] as const)))('%i x 33 x %i, plain and with transposed operands', async (m, n) => {
    const k = 33;
    const a = halves(m * k, m * 1000 + n);
    const b = halves(k * n, m + n * 1000);
    const ref = reference(a.vals, b.vals, m, k, n);
    const A = et.tensor(a.bits, { backend, shape: [m, k] });
    const B = et.tensor(b.bits, { backend, shape: [k, n] });
    const plain = et.matmul(A, B);
    expect(plain.dtype).toBe('f32');
    expectWithin(await plain.data(), ref);
    // the same operands stored transposed, multiplied through transposed views (no copy)
    const At = et.contiguous(A.transpose()).transpose();
    const Bt = et.contiguous(B.transpose()).transpose();
    expectWithin(await et.matmul(At, Bt).data(), ref);
  });

  it('k = 257 and batched operands (equal batches, broadcast batch, folded rows)', async () => {
    const [m, k, n] = [5, 257, 6];
    const a = halves(2 * m * k, 3);
    const b = halves(2 * k * n, 4);
    const refs = [0, 1].map((z) => reference(a.vals.slice(z * m * k, (z + 1) * m * k), b.vals.slice(z * k * n, (z + 1) * k * n), m, k, n));
    const A = et.tensor(a.bits, { backend, shape: [2, m, k] });
    const B = et.tensor(b.bits, { backend, shape: [2, k, n] });
    const batched = await et.matmul(A, B).data();
    expectWithin(batched, { value: refs.flatMap((r) => r.value), bound: refs.flatMap((r) => r.bound) });
    // [2, m, k] x [k, n]: the batch folds into rows; [1, k, n] broadcasts over the batch
    const B0 = et.slice(B, [0], [1]);
    const r0 = [0, 1].map((z) => reference(a.vals.slice(z * m * k, (z + 1) * m * k), b.vals.slice(0, k * n), m, k, n));
    const want = { value: r0.flatMap((r) => r.value), bound: r0.flatMap((r) => r.bound) };
    expectWithin(await et.matmul(A, et.reshape(B0, [k, n])).data(), want);
    expectWithin(await et.matmul(A, B0).data(), want);
  });
});

describe.each(BACKENDS)('mixed precision on %s: f32 master weights through cast(·, f16)', (backend) => {
  it('the VJP rounds the f32 cotangents to f16 and widens them back to the f32 weights', async () => {
    // y = cast(x)·cast(w) with x = [[1, 3]], w = [[0.1], [0.2]]; loss = y / 3, so g = 1/3 (f32) and
    // dw = xᵀ·g = [1/3, 1] -> f16 -> [1365/4096, 1]; dx = g·round16(w)ᵀ = [0.1, 0.2] rounded to f16 then /3 in f32
    const x = et.tensor([[1, 3]], { backend, requiresGrad: true });
    const w = et.tensor([[0.1], [0.2]], { backend, requiresGrad: true });
    const y = et.matmul(et.cast(x, 'f16'), et.cast(w, 'f16'));
    expect(await y.item()).toBe(0.0999755859375 + 3 * 0.199951171875);
    et.sum(et.div(y, 3)).backward();
    expect(w.grad!.dtype).toBe('f32');
    expect(Array.from(await w.grad!.data())).toEqual([1365 / 4096, 1]);
    const third = Math.fround(1 / 3);
    expect(Array.from(await x.grad!.data())).toEqual([halfValue(f16Bits(Math.fround(third * 0.0999755859375))), halfValue(f16Bits(Math.fround(third * 0.199951171875)))]);
  });

  it('an f16 tensor used twice gets the f32 sum of its two f16 gradients, rounded to f16 once', async () => {
    // y = x1·wh + x2·wh, wh = cast(w, f16), loss = sum(y)/3 so g = 1/3. Per use: x1ᵀg = [1/3, 1] -> f16 [1365/4096, 1];
    // x2ᵀg = [2/3, 1/3] -> f16 [1365/2048, 1365/4096]. Sum in f32: [4095/4096, 1 + 1365/4096]; to f16: 4095/4096 is
    // the midpoint of 2047/2048 (odd mantissa) and 1 -> 1; 1.333251953125 = 1365.25/1024 -> 1365/1024.
    const w = et.tensor([[0.5], [0.25]], { backend, requiresGrad: true });
    const wh = et.cast(w, 'f16');
    const y = et.add(et.matmul(et.cast(et.tensor([[1, 3]], { backend }), 'f16'), wh), et.matmul(et.cast(et.tensor([[2, 1]], { backend }), 'f16'), wh));
    et.sum(et.div(y, 3)).backward();
    expect(Array.from(await w.grad!.data())).toEqual([1, 1365 / 1024]);
  });

  it('gradients of broadcast f16 operands are summed in f32 (expand), and forward mode works', async () => {
    // x [2, 2, 3] integers, w [1, 3, 2] broadcast over the batch: d sum(x·w)/dw[p][j] = Σ_b Σ_i x[b][i][p]
    const xv = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const x = et.tensor(xv, { backend, shape: [2, 2, 3] });
    const w = et.tensor([0.5, -1, 2, 0.25, 1, 1], { backend, shape: [1, 3, 2], requiresGrad: true });
    et.sum(et.matmul(et.cast(x, 'f16'), et.cast(w, 'f16'))).backward();
    const colSum = [0, 1, 2].map((p) => xv.filter((_, i) => i % 3 === p).reduce((s, v) => s + v, 0));
    expect(Array.from(await w.grad!.data())).toEqual(colSum.flatMap((s) => [s, s]));
    // J v for w -> cast(x)·cast(w): the tangent is rounded to f16 like w
    const [, jv] = et.jvp((ww: et.Tensor) => et.matmul(et.cast(et.tensor([[1, 2]], { backend }), 'f16'), et.cast(ww, 'f16')), [et.tensor([[1], [1]], { backend })], [et.tensor([[0.1], [1 / 3]], { backend })]);
    expect(await jv.item()).toBe(Math.fround(0.0999755859375 + 2 * (1365 / 4096)));
  });
});

/** fn throws an error of class cls whose message is exactly `message` (or starts with it, for `prefix`). */
function expectThrows(fn: () => unknown, cls: new (...args: never[]) => Error, message: string, prefix = false): void {
  let thrown: unknown = null;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(cls);
  const got = (thrown as Error).message;
  expect(prefix ? got.slice(0, message.length) : got).toBe(message);
}

const STORAGE_ONLY = 'f16 is a storage dtype (cast, copies, views, concat, pad and f16 x f16 matmul only); cast to f32 first';

describe('f16 typed errors', () => {
  const h = (shape: number[]) => et.zeros(shape, { dtype: 'f16', backend: 'cpu' });

  it('mixed f16 x f32 matmul asks for a cast', () => {
    expectThrows(
      () => et.matmul(h([2, 3]), et.zeros([3, 4], { backend: 'cpu' })),
      et.DTypeError,
      "matmul: f16 storage multiplies f16 by f16 (into f32); cast the other operand with cast(x, 'f16'), or both to f32 (shapes [2, 3], [3, 4]; dtypes f16, f32; backend cpu)",
    );
  });

  it('elementwise, reduction, nn and indexing ops refuse f16 with one message', () => {
    expectThrows(() => et.add(h([2]), h([2])), et.DTypeError, `add: ${STORAGE_ONLY} (shapes [2], [2]; dtypes f16, f16; backend cpu)`);
    const ops: [string, () => unknown][] = [
      ['exp', () => et.exp(h([2]))], ['neg', () => et.neg(h([2]))], ['abs', () => et.abs(h([2]))],
      ['mul', () => et.mul(h([2]), 2)], ['lt', () => et.lt(h([2]), h([2]))], ['sum', () => et.sum(h([2]))],
      ['max', () => et.max(h([2]))], ['argmax', () => et.argmax(h([2]), 0)], ['softmax', () => et.softmax(h([2, 2]), -1)],
      ['where', () => et.where(et.zeros([2], { dtype: 'u8', backend: 'cpu' }), h([2]), h([2]))],
      ['embedding', () => et.embedding(h([3, 2]), et.zeros([2], { dtype: 'i32', backend: 'cpu' }))],
      ['linear', () => et.linear(h([2, 2]), h([2, 2]), h([2]))],
      ['oneHot', () => et.oneHot(et.zeros([2], { dtype: 'i32', backend: 'cpu' }), 3, 'f16')],
    ];
    for (const [op, fn] of ops) expectThrows(fn, et.DTypeError, `${op}: ${STORAGE_ONLY}`, true);
  });

  it('f16 casts only to the float dtypes', () => {
    expectThrows(() => et.cast(h([2]), 'i32'), et.DTypeError, 'cast: f16 casts to f32 or f64 only, not i32; cast to f32 first (shapes [2]; dtypes f16, i32; backend cpu)');
  });

  it.runIf(status.available && !hasF16)('webgpu without shader-f16 refuses f16 tensors and says why', () => {
    console.warn('webgpu f16 cases skipped: the adapter lacks shader-f16');
    expectThrows(() => et.zeros([2], { dtype: 'f16', backend: 'webgpu' }), et.BackendError, "tensor: backend 'webgpu' does not support dtype f16 (f16 lives on cpu, and on webgpu where the adapter has 'shader-f16') (dtypes f16; backend webgpu)");
  });

  it.runIf(hasNative)('native has no f16: creating, casting or moving one there is a BackendError', async () => {
    expectThrows(() => et.zeros([2], { dtype: 'f16', backend: 'native' }), et.BackendError, "tensor: backend 'native' does not support dtype f16 (f16 lives on cpu, and on webgpu where the adapter has 'shader-f16') (dtypes f16; backend native)");
    expectThrows(
      () => et.cast(et.zeros([2], { backend: 'native' }), 'f16'),
      et.BackendError,
      "cast: backend 'native' does not support dtype f16 (shapes [2]; dtypes f32; backend native)",
    );
    await expect(et.toBackend(h([2]), 'native')).rejects.toThrow("tensor: backend 'native' does not support dtype f16 (f16 lives on cpu");
  });
});
