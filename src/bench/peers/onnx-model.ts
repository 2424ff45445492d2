/**
 * A minimal ONNX model encoder: just enough of the protobuf wire format to write a one-graph model of a few nodes,
 * so onnxruntime-node can be benchmarked without shipping .onnx files or depending on a protobuf library.
 *
 * Protobuf in brief: a message is a sequence of fields, each `key = (field_number << 3) | wire_type` as a varint,
 * then the value. Wire types used here: 0 = varint (ints, enums), 2 = length-delimited (strings, bytes, nested
 * messages, packed repeated), 5 = 32-bit (float). Field numbers below are those of onnx/onnx.proto (IR version 8).
 */

// ---- wire format -----------------------------------------------------------------------------------------------

function varint(value: number | bigint): number[] {
  // int64 fields are varints of the two's-complement value; all values written here are small and non-negative.
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n;
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const key = (field: number, wireType: number) => varint((field << 3) | wireType);
const fVarint = (field: number, v: number): number[] => [...key(field, 0), ...varint(v)];
const fBytes = (field: number, bytes: readonly number[] | Uint8Array): number[] => [...key(field, 2), ...varint(bytes.length), ...bytes];
const fString = (field: number, s: string) => fBytes(field, new TextEncoder().encode(s));
function fFloat(field: number, f: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, f, true); // little-endian, as protobuf's fixed32
  return [...key(field, 5), ...b];
}

// ---- ONNX messages ---------------------------------------------------------------------------------------------

/** TensorProto.DataType values */
export const ELEM = { float: 1, int32: 6, int64: 7 } as const;
export type ElemType = keyof typeof ELEM;

export interface ValueInfo {
  name: string;
  elem: ElemType;
  /** a number is a fixed dimension, a string a symbolic one; undefined leaves the shape to inference */
  shape?: (number | string)[];
}

export type AttrValue = { f: number } | { i: number } | { s: string };

export interface NodeDef {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

/** A constant int64 tensor (for inputs such as ReduceSum's axes). */
export interface Int64Initializer {
  name: string;
  dims: number[];
  values: number[];
}

// TypeProto { tensor_type = 1: TypeProto.Tensor { elem_type = 1; shape = 2: TensorShapeProto { dim = 1:
//   Dimension { dim_value = 1 | dim_param = 2 } } } }
function typeProto(v: ValueInfo): number[] {
  const tensorType = fVarint(1, ELEM[v.elem]);
  if (v.shape) {
    const dims = v.shape.flatMap((d) => fBytes(1, typeof d === 'number' ? fVarint(1, d) : fString(2, d)));
    tensorType.push(...fBytes(2, dims));
  }
  return fBytes(1, tensorType);
}

// ValueInfoProto { name = 1; type = 2 }
const valueInfo = (v: ValueInfo) => [...fString(1, v.name), ...fBytes(2, typeProto(v))];

// AttributeProto { name = 1; f = 2; i = 3; s = 4; type = 20 (FLOAT = 1, INT = 2, STRING = 3) }
function attribute(name: string, value: AttrValue): number[] {
  if ('f' in value) return [...fString(1, name), ...fFloat(2, value.f), ...fVarint(20, 1)];
  if ('i' in value) return [...fString(1, name), ...fVarint(3, value.i), ...fVarint(20, 2)];
  return [...fString(1, name), ...fString(4, value.s), ...fVarint(20, 3)];
}

// NodeProto { input = 1; output = 2; name = 3; op_type = 4; attribute = 5 }
function node(n: NodeDef, index: number): number[] {
  return [
    ...n.inputs.flatMap((s) => fString(1, s)),
    ...n.outputs.flatMap((s) => fString(2, s)),
    ...fString(3, `${n.op.toLowerCase()}_${index}`),
    ...fString(4, n.op),
    ...Object.entries(n.attrs ?? {}).flatMap(([k, v]) => fBytes(5, attribute(k, v))),
  ];
}

// TensorProto { dims = 1 (packed int64); data_type = 2; name = 8; raw_data = 9 (little-endian bytes) }
function int64Tensor(t: Int64Initializer): number[] {
  const raw = new Uint8Array(8 * t.values.length);
  const view = new DataView(raw.buffer);
  t.values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return [...fBytes(1, t.dims.flatMap((d) => varint(d))), ...fVarint(2, ELEM.int64), ...fString(8, t.name), ...fBytes(9, raw)];
}

export interface GraphDef {
  nodes: NodeDef[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers?: Int64Initializer[];
  /** default opset of the ai.onnx domain (17: LayerNormalization exists, ReduceSum takes axes as an input) */
  opset?: number;
}

/**
 * ModelProto { ir_version = 1; producer_name = 2; graph = 7; opset_import = 8: OperatorSetIdProto { domain = 1;
 * version = 2 } }; GraphProto { node = 1; name = 2; initializer = 5; input = 11; output = 12 }.
 */
export function encodeModel(g: GraphDef): Uint8Array {
  const graph = [
    ...g.nodes.flatMap((n, i) => fBytes(1, node(n, i))),
    ...fString(2, 'eitp_bench'),
    ...(g.initializers ?? []).flatMap((t) => fBytes(5, int64Tensor(t))),
    ...g.inputs.flatMap((v) => fBytes(11, valueInfo(v))),
    ...g.outputs.flatMap((v) => fBytes(12, valueInfo(v))),
  ];
  const model = [
    ...fVarint(1, 8), // IR version 8 (ONNX 1.10+)
    ...fString(2, 'eitp-bench'),
    ...fBytes(7, graph),
    ...fBytes(8, [...fString(1, ''), ...fVarint(2, g.opset ?? 17)]),
  ];
  return Uint8Array.from(model);
}

/** The model the issue asks for: Y[M, N] = A[M, K] @ B[K, N] (or batched), one MatMul node. */
export function matmulModel(a: number[], b: number[]): Uint8Array {
  const out = [...a.slice(0, -1), b[b.length - 1]!];
  return encodeModel({
    nodes: [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'] }],
    inputs: [
      { name: 'A', elem: 'float', shape: a },
      { name: 'B', elem: 'float', shape: b },
    ],
    outputs: [{ name: 'Y', elem: 'float', shape: out }],
  });
}

export { varint as encodeVarint };
