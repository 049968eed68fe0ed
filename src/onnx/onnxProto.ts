/**
 * A thin, typed view of ONNX `ModelProto` bytes.
 *
 * onnx-proto ships protobufjs-generated code whose int64 fields decode to
 * `Long` objects (or numbers), whose absent sub-messages are `null`, and
 * whose attributes carry every value slot at once. This module converts the
 * parts hnas reads into plain, fully numeric objects so the importer never
 * touches protobufjs types, and it owns the low-level tensor checks (byte
 * sizes, dtypes) and tensor decoding.
 *
 * Decoding never validates meaning: protobufjs happily decodes many garbage
 * inputs, so the importer must check structure on top of this.
 */
import onnxProto from 'onnx-proto';

import { OnnxFormatError } from '../errors.js';

// onnx-proto is CommonJS (`module.exports = $root`): Node exposes it as the default export only.
const { onnx } = onnxProto;

/** ONNX `TensorProto.DataType` codes hnas names. */
export const OnnxDataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;

/** The largest `DataType` code defined by ONNX so far (FLOAT4E2M1, IR 11). */
const MAX_KNOWN_DATA_TYPE = 23;

const DATA_TYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64',
  8: 'STRING', 9: 'BOOL', 10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64',
  15: 'COMPLEX128', 16: 'BFLOAT16', 17: 'FLOAT8E4M3FN', 18: 'FLOAT8E4M3FNUZ', 19: 'FLOAT8E5M2',
  20: 'FLOAT8E5M2FNUZ', 21: 'UINT4', 22: 'INT4', 23: 'FLOAT4E2M1',
};

export function dataTypeName(code: number): string {
  return DATA_TYPE_NAMES[code] ?? `data type ${code}`;
}

export interface OnnxOpset {
  /** '' (or 'ai.onnx') is the default operator set. */
  domain: string;
  version: number;
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** Empty when the values are in a typed field or external. */
  rawData: Uint8Array;
  floatData: number[];
  doubleData: number[];
  int32Data: number[];
  /** int64 values, converted to (possibly rounded) numbers: INT64 max stays "huge". */
  int64Data: number[];
  uint64Data: number[];
  stringCount: number;
  /** Stored outside the model file (TensorProto.DataLocation EXTERNAL). */
  external: boolean;
  /** Split into segments (a deprecated TensorProto feature). */
  segmented: boolean;
}

export type OnnxAttributeValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: OnnxTensor }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'strings'; value: string[] }
  /** Graphs, sparse tensors, type protos: nothing hnas maps reads them. */
  | { kind: 'other'; typeCode: number };

export type OnnxAttribute = { name: string } & OnnxAttributeValue;

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
}

/** One dimension of a declared shape: a number, a symbolic name, or unknown. */
export type OnnxDim = { value: number } | { param: string } | { unknown: true };

export interface OnnxValueInfo {
  name: string;
  /** Absent when the value is not a tensor or has no type. */
  tensor: { elemType: number; shape: OnnxDim[] | null } | null;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  sparseInitializerNames: string[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  producerName: string;
  opsetImport: OnnxOpset[];
  graph: OnnxGraph | null;
}

/**
 * Decodes ModelProto bytes. Throws OnnxFormatError (with the protobuf error
 * as cause) when the wire format itself is broken: truncated messages,
 * invalid wire types, lengths past the end.
 */
export function decodeOnnxModel(bytes: Uint8Array, where = ''): OnnxModel {
  let proto: onnxProto.onnx.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new OnnxFormatError(`${where}not a valid ONNX model: protobuf decoding failed (${reason})`, { cause });
  }
  return {
    irVersion: int64ToNumber(proto.irVersion),
    producerName: proto.producerName ?? '',
    opsetImport: (proto.opsetImport ?? []).map((o) => ({
      domain: o.domain ?? '',
      version: int64ToNumber(o.version),
    })),
    graph: proto.graph ? convertGraph(proto.graph) : null,
  };
}

function convertGraph(g: onnxProto.onnx.IGraphProto): OnnxGraph {
  return {
    name: g.name ?? '',
    nodes: (g.node ?? []).map(convertNode),
    initializers: (g.initializer ?? []).map(convertTensor),
    sparseInitializerNames: (g.sparseInitializer ?? []).map((s) => s.values?.name ?? s.indices?.name ?? ''),
    inputs: (g.input ?? []).map(convertValueInfo),
    outputs: (g.output ?? []).map(convertValueInfo),
  };
}

function convertNode(n: onnxProto.onnx.INodeProto): OnnxNode {
  return {
    name: n.name ?? '',
    opType: n.opType ?? '',
    domain: n.domain ?? '',
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attributes: (n.attribute ?? []).map(convertAttribute),
  };
}

const AttributeType = onnx.AttributeProto.AttributeType;

function convertAttribute(a: onnxProto.onnx.IAttributeProto): OnnxAttribute {
  const name = a.name ?? '';
  const type = a.type ?? AttributeType.UNDEFINED;
  switch (type === AttributeType.UNDEFINED ? inferAttributeType(a) : type) {
    case AttributeType.FLOAT:
      return { name, kind: 'float', value: a.f ?? 0 };
    case AttributeType.INT:
      return { name, kind: 'int', value: int64ToNumber(a.i) };
    case AttributeType.STRING:
      return { name, kind: 'string', value: bytesToString(a.s) };
    case AttributeType.TENSOR:
      return a.t ? { name, kind: 'tensor', value: convertTensor(a.t) } : { name, kind: 'other', typeCode: type };
    case AttributeType.FLOATS:
      return { name, kind: 'floats', value: [...(a.floats ?? [])] };
    case AttributeType.INTS:
      return { name, kind: 'ints', value: (a.ints ?? []).map(int64ToNumber) };
    case AttributeType.STRINGS:
      return { name, kind: 'strings', value: (a.strings ?? []).map(bytesToString) };
    default:
      return { name, kind: 'other', typeCode: type };
  }
}

/** IR < 3 files may leave `type` unset: infer it from the one value slot that is filled. */
function inferAttributeType(a: onnxProto.onnx.IAttributeProto): number {
  if (a.ints && a.ints.length > 0) return AttributeType.INTS;
  if (a.floats && a.floats.length > 0) return AttributeType.FLOATS;
  if (a.strings && a.strings.length > 0) return AttributeType.STRINGS;
  if (a.t) return AttributeType.TENSOR;
  if (a.s && a.s.length > 0) return AttributeType.STRING;
  if (a.f) return AttributeType.FLOAT;
  return AttributeType.INT;
}

function convertTensor(t: onnxProto.onnx.ITensorProto): OnnxTensor {
  return {
    name: t.name ?? '',
    dims: (t.dims ?? []).map(int64ToNumber),
    dataType: t.dataType ?? 0,
    rawData: t.rawData ?? new Uint8Array(0),
    floatData: [...(t.floatData ?? [])],
    doubleData: [...(t.doubleData ?? [])],
    int32Data: [...(t.int32Data ?? [])],
    int64Data: (t.int64Data ?? []).map(int64ToNumber),
    uint64Data: (t.uint64Data ?? []).map(int64ToNumber),
    stringCount: (t.stringData ?? []).length,
    external: t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL,
    segmented: t.segment != null,
  };
}

function convertValueInfo(v: onnxProto.onnx.IValueInfoProto): OnnxValueInfo {
  const tt = v.type?.tensorType;
  if (!tt) return { name: v.name ?? '', tensor: null };
  const shape = tt.shape ? (tt.shape.dim ?? []).map(convertDim) : null;
  return { name: v.name ?? '', tensor: { elemType: tt.elemType ?? 0, shape } };
}

function convertDim(d: onnxProto.onnx.TensorShapeProto.IDimension): OnnxDim {
  // Both oneof slots default to null on the prototype: only the one on the wire is set.
  if (d.dimValue != null) return { value: int64ToNumber(d.dimValue) };
  if (d.dimParam != null) return { param: d.dimParam };
  return { unknown: true };
}

/** protobufjs yields int64 as `Long` (when long.js is installed) or number; NaN for anything else. */
function int64ToNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return Number(v);
  if (v !== null && typeof v === 'object' && typeof (v as { toNumber?: unknown }).toNumber === 'function') {
    return (v as { toNumber(): number }).toNumber();
  }
  return Number.NaN;
}

const utf8 = new TextDecoder('utf-8');

function bytesToString(b: Uint8Array | null | undefined): string {
  return b ? utf8.decode(b) : '';
}

// ---------------------------------------------------------------------------
// Tensor checks and decoding
// ---------------------------------------------------------------------------

/** Bytes per element in raw_data; 4-bit types are handled separately. */
const ELEMENT_BYTES: Record<number, number> = {
  1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2,
  17: 1, 18: 1, 19: 1, 20: 1,
};
const FOUR_BIT_TYPES = new Set([21, 22, 23]);

/** Element count, or NaN when a dim is not a non-negative safe integer. */
export function tensorNumel(t: OnnxTensor): number {
  let n = 1;
  for (const d of t.dims) {
    if (!Number.isSafeInteger(d) || d < 0) return Number.NaN;
    n *= d;
  }
  return Number.isSafeInteger(n) ? n : Number.NaN;
}

/**
 * Why a tensor's stored data cannot be what its header says, or null when
 * it is consistent. This is what catches most corruption that protobuf
 * decoding lets through: a flipped dim or dtype no longer matches the bytes.
 */
export function tensorDataProblem(t: OnnxTensor): string | null {
  const numel = tensorNumel(t);
  if (Number.isNaN(numel)) return `has invalid dims [${t.dims.join(', ')}]`;
  if (!Number.isInteger(t.dataType) || t.dataType <= 0 || t.dataType > MAX_KNOWN_DATA_TYPE) {
    return `has invalid data type ${t.dataType}`;
  }
  // Data outside the file cannot be checked here; using it is reported as unsupported.
  if (t.external || t.segmented) return null;
  const typedLength = typedFieldLength(t);
  if (t.rawData.length > 0) {
    if (typedLength > 0) return 'has both raw_data and typed data';
    return rawDataProblem(t, numel);
  }
  const expected = numel * (t.dataType === 14 || t.dataType === 15 ? 2 : 1);
  if (FOUR_BIT_TYPES.has(t.dataType)) return null;
  if (typedLength !== expected) {
    return `holds ${typedLength} values but its dims [${t.dims.join(', ')}] need ${expected}`;
  }
  return null;
}

function rawDataProblem(t: OnnxTensor, numel: number): string | null {
  if (t.dataType === OnnxDataType.STRING) return 'is a STRING tensor with raw_data';
  const bytes = FOUR_BIT_TYPES.has(t.dataType) ? Math.ceil(numel / 2) : numel * (ELEMENT_BYTES[t.dataType] ?? 0);
  if (t.rawData.length !== bytes) {
    return `has ${t.rawData.length} bytes of raw_data but its dims [${t.dims.join(', ')}] ` +
      `and type ${dataTypeName(t.dataType)} need ${bytes}`;
  }
  return null;
}

/** Length of the typed value field that ONNX prescribes for the tensor's data type. */
function typedFieldLength(t: OnnxTensor): number {
  switch (t.dataType) {
    case OnnxDataType.FLOAT:
    case OnnxDataType.COMPLEX64:
      return t.floatData.length;
    case OnnxDataType.DOUBLE:
    case OnnxDataType.COMPLEX128:
      return t.doubleData.length;
    case OnnxDataType.INT64:
      return t.int64Data.length;
    case OnnxDataType.UINT32:
    case OnnxDataType.UINT64:
      return t.uint64Data.length;
    case OnnxDataType.STRING:
      return t.stringCount;
    default:
      return t.int32Data.length;
  }
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The values of a FLOAT tensor as a fresh Float32Array (raw_data is little-endian by spec). */
export function readFloat32(t: OnnxTensor): Float32Array {
  if (t.rawData.length === 0) return Float32Array.from(t.floatData);
  if (HOST_IS_LITTLE_ENDIAN) {
    // Copy (new Uint8Array, not Buffer#slice, which shares memory): raw_data is usually an
    // unaligned view into the whole file buffer.
    return new Float32Array(new Uint8Array(t.rawData).buffer);
  }
  const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
  const out = new Float32Array(t.rawData.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** The values of a DOUBLE tensor as a fresh Float64Array. */
export function readFloat64(t: OnnxTensor): Float64Array {
  if (t.rawData.length === 0) return Float64Array.from(t.doubleData);
  if (HOST_IS_LITTLE_ENDIAN) return new Float64Array(new Uint8Array(t.rawData).buffer);
  const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
  const out = new Float64Array(t.rawData.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

/**
 * The values of an integer tensor (INT64, INT32 and narrower) as numbers.
 * int64 values beyond 2^53 are rounded, which is harmless for the slice
 * bounds and shapes hnas reads (INT64 max only ever means "to the end").
 * Returns null for non-integer dtypes.
 */
export function readIntegers(t: OnnxTensor): number[] | null {
  const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
  const raw = t.rawData.length > 0;
  switch (t.dataType) {
    case OnnxDataType.INT64:
      return raw ? Array.from({ length: t.rawData.length / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true))) : t.int64Data;
    case OnnxDataType.INT32:
      return raw ? Array.from({ length: t.rawData.length / 4 }, (_, i) => view.getInt32(i * 4, true)) : t.int32Data;
    case OnnxDataType.INT16:
      return raw ? Array.from({ length: t.rawData.length / 2 }, (_, i) => view.getInt16(i * 2, true)) : t.int32Data;
    case OnnxDataType.INT8:
      return raw ? Array.from({ length: t.rawData.length }, (_, i) => view.getInt8(i)) : t.int32Data;
    case OnnxDataType.UINT8:
    case OnnxDataType.BOOL:
      return raw ? Array.from(t.rawData) : t.int32Data;
    default:
      return null;
  }
}

/** The values of a FLOAT or DOUBLE tensor as numbers; null for other dtypes. */
export function readFloats(t: OnnxTensor): number[] | null {
  if (t.dataType === OnnxDataType.FLOAT) return Array.from(readFloat32(t));
  if (t.dataType === OnnxDataType.DOUBLE) return Array.from(readFloat64(t));
  return null;
}
