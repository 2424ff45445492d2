/**
 * safetensors: a round trip, and the bytes checked against the published format
 * (https://huggingface.co/docs/safetensors): 8 bytes little-endian u64 N, N bytes of JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the byte buffer with offsets
 * relative to its start, covered without holes.
 */
import { describe, expect, it } from 'vitest';
import { type HostTensor, SafetensorsError, decodeSafetensors, encodeSafetensors } from '../src/train/safetensors.js';

const tensors: Record<string, HostTensor> = {
  'w.weight': { dtype: 'f32', shape: [2, 3], data: Float32Array.from([1, -2, 0.5, 3, 4, 5]) },
  ids: { dtype: 'i32', shape: [2], data: Int32Array.from([7, -1]) },
  scalar: { dtype: 'f64', shape: [], data: Float64Array.from([Math.PI]) },
  mask: { dtype: 'u8', shape: [3], data: Uint8Array.from([1, 0, 255]) },
  q: { dtype: 'i8', shape: [1], data: Int8Array.from([-127]) },
};

describe('safetensors', () => {
  it('round-trips every dtype, shape and the metadata', () => {
    const buf = encodeSafetensors(tensors, { format: 'pt', step: '12' });
    const back = decodeSafetensors(buf);
    expect(back.metadata).toEqual({ format: 'pt', step: '12' });
    for (const [k, t] of Object.entries(tensors)) {
      expect(back.tensors[k]!.dtype).toBe(t.dtype);
      expect(back.tensors[k]!.shape).toEqual(t.shape);
      expect(Array.from(back.tensors[k]!.data)).toEqual(Array.from(t.data));
    }
  });

  it('writes the bytes the format prescribes', () => {
    const buf = encodeSafetensors({ b: { dtype: 'i32', shape: [2], data: Int32Array.from([1, 258]) }, a: { dtype: 'f32', shape: [1, 1], data: Float32Array.from([1]) } });
    const n = Number(buf.readBigUInt64LE(0));
    expect(buf.subarray(0, 8)).toEqual(Buffer.from([n & 0xff, n >> 8, 0, 0, 0, 0, 0, 0])); // little-endian u64
    expect(n % 8).toBe(0); // header padded to 8-byte alignment ...
    const header = buf.toString('utf8', 8, 8 + n);
    expect(header[0]).toBe('{');
    expect(header).toMatch(/^\{.*\} *$/); // ... with trailing spaces
    expect(JSON.parse(header)).toEqual({
      a: { dtype: 'F32', shape: [1, 1], data_offsets: [0, 4] },
      b: { dtype: 'I32', shape: [2], data_offsets: [4, 12] },
    });
    expect(buf.length).toBe(8 + n + 12);
    // raw little-endian data: 1.0f = 0x3f800000, then 1 and 258 as i32
    expect([...buf.subarray(8 + n)]).toEqual([0x00, 0x00, 0x80, 0x3f, 1, 0, 0, 0, 2, 1, 0, 0]);
  });

  it('refuses malformed files with a reason', () => {
    const good = encodeSafetensors(tensors);
    const n = Number(good.readBigUInt64LE(0));
    expect(() => decodeSafetensors(good.subarray(0, 5))).toThrow(/shorter than the 8-byte header length/);
    expect(() => decodeSafetensors(good.subarray(0, good.length - 3))).toThrow(/byte buffer has \d+ bytes but the tensors cover \d+|fall outside/);
    const huge = Buffer.from(good);
    huge.writeBigUInt64LE(BigInt(good.length), 0);
    expect(() => decodeSafetensors(huge)).toThrow(/header length .* exceeds the file/);
    const badJson = Buffer.from(good);
    badJson[8] = 0x5b; // '[' instead of '{'
    expect(() => decodeSafetensors(badJson)).toThrow(SafetensorsError);
    const header = JSON.parse(good.toString('utf8', 8, 8 + n)) as Record<string, { data_offsets: number[] }>;
    header.mask!.data_offsets = [0, 3]; // overlaps "ids" at [0, 8)
    const json = Buffer.from(JSON.stringify(header).padEnd(n, ' '));
    const overlapped = Buffer.concat([good.subarray(0, 8), json, good.subarray(8 + n)]);
    expect(() => decodeSafetensors(overlapped)).toThrow(/holes or overlaps/);
  });
});
