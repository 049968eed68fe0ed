/**
 * Builds small ONNX ModelProto byte strings for tests, with onnx-proto's
 * encoder: enough to express the graphs the importer maps (and the ones it
 * must reject) without a Python toolchain.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** TensorProto.DataType codes used in tests. */
export const DataType = {
  FLOAT: 1,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

export const INT64_MAX = 9223372036854775807n;

export interface TensorSpec {
  name: string;
  dims: number[];
  dataType?: number;
  /** Numbers, or bigints for INT64 values beyond 2^53 (INT64_MAX). */
  values: ArrayLike<number | bigint>;
  /** 'raw' (raw_data, what torch writes) or 'typed' (float_data / int64_data / ...). Default 'raw'. */
  storage?: 'raw' | 'typed';
}

export type AttrValue =
  | { int: number }
  | { float: number }
  | { string: string }
  | { ints: number[] }
  | { floats: number[] }
  | { tensor: TensorSpec };

export const attr = {
  int: (v: number): AttrValue => ({ int: v }),
  float: (v: number): AttrValue => ({ float: v }),
  string: (v: string): AttrValue => ({ string: v }),
  ints: (v: number[]): AttrValue => ({ ints: v }),
  floats: (v: number[]): AttrValue => ({ floats: v }),
  tensor: (v: TensorSpec): AttrValue => ({ tensor: v }),
};

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attrs?: Record<string, AttrValue>;
}

export interface ValueSpec {
  name: string;
  /** Default FLOAT. */
  elemType?: number;
  /** Numbers are static dims, strings symbolic ones; omit (or null) for no shape. */
  dims?: (number | string)[] | null;
}

export interface ModelSpec {
  nodes: NodeSpec[];
  initializers?: TensorSpec[];
  /** Default: one FLOAT input "input" of shape [N, 3, 8, 8]. */
  inputs?: ValueSpec[];
  /** Default: one FLOAT output "output" without a declared shape. */
  outputs?: ValueSpec[];
  /** Default-domain opset version; default 13. Null leaves opset_import out. */
  opset?: number | null;
  irVersion?: number;
}

export const IMAGE_INPUT: ValueSpec = { name: 'input', dims: ['N', 3, 8, 8] };

export function buildModel(spec: ModelSpec): Uint8Array {
  const opset = spec.opset === undefined ? 13 : spec.opset;
  const model = onnx.ModelProto.create({
    irVersion: spec.irVersion ?? 7,
    producerName: 'hnas-test',
    opsetImport: opset === null ? [] : [{ domain: '', version: opset }],
    graph: {
      name: 'test',
      node: spec.nodes.map(encodeNode),
      initializer: (spec.initializers ?? []).map(encodeTensor),
      input: (spec.inputs ?? [IMAGE_INPUT]).map(encodeValueInfo),
      output: (spec.outputs ?? [{ name: 'output' }]).map(encodeValueInfo),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Deterministic, distinct float values for a tensor of the given dims. */
export function floats(name: string, dims: number[], values?: number[]): TensorSpec {
  const n = dims.reduce((p, d) => p * d, 1);
  return { name, dims, values: values ?? Array.from({ length: n }, (_, i) => ((i % 13) - 6) / 8) };
}

export function int64s(name: string, values: (number | bigint)[]): TensorSpec {
  return { name, dims: [values.length], dataType: DataType.INT64, values };
}

/** A Constant node producing `output` from a tensor value. */
export function constantNode(output: string, value: TensorSpec): NodeSpec {
  return { op: 'Constant', inputs: [], outputs: [output], attrs: { value: attr.tensor({ ...value, name: '' }) } };
}

function encodeNode(n: NodeSpec, i: number): onnxProto.onnx.INodeProto {
  return {
    name: n.name ?? `${n.op}_${i}`,
    opType: n.op,
    domain: n.domain ?? '',
    input: n.inputs,
    output: n.outputs,
    attribute: Object.entries(n.attrs ?? {}).map(([name, v]) => encodeAttribute(name, v)),
  };
}

function encodeAttribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in v) return { name, type: T.INT, i: v.int };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  if ('string' in v) return { name, type: T.STRING, s: new TextEncoder().encode(v.string) };
  if ('ints' in v) return { name, type: T.INTS, ints: v.ints };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  return { name, type: T.TENSOR, t: encodeTensor(v.tensor) };
}

function encodeTensor(t: TensorSpec): onnxProto.onnx.ITensorProto {
  const dataType = t.dataType ?? DataType.FLOAT;
  const base = { name: t.name, dims: t.dims, dataType };
  const values = Array.from(t.values);
  if ((t.storage ?? 'raw') === 'raw') return { ...base, rawData: rawBytes(dataType, values) };
  const nums = values.map(Number);
  switch (dataType) {
    case DataType.FLOAT:
      return { ...base, floatData: nums };
    case DataType.DOUBLE:
      return { ...base, doubleData: nums };
    case DataType.INT64:
      return { ...base, int64Data: nums };
    default:
      return { ...base, int32Data: nums };
  }
}

function rawBytes(dataType: number, values: (number | bigint)[]): Uint8Array {
  const size = { [DataType.FLOAT]: 4, [DataType.DOUBLE]: 8, [DataType.INT64]: 8, [DataType.INT32]: 4, [DataType.BOOL]: 1, [DataType.FLOAT16]: 2 }[dataType];
  if (size === undefined) throw new Error(`onnxBuilder: no raw encoding for data type ${dataType}`);
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => {
    if (dataType === DataType.FLOAT) view.setFloat32(i * 4, Number(v), true);
    else if (dataType === DataType.DOUBLE) view.setFloat64(i * 8, Number(v), true);
    else if (dataType === DataType.INT64) view.setBigInt64(i * 8, BigInt(v), true);
    else if (dataType === DataType.INT32) view.setInt32(i * 4, Number(v), true);
    else if (dataType === DataType.BOOL) view.setUint8(i, Number(v));
    else view.setUint16(i * 2, Number(v), true);
  });
  return bytes;
}

function encodeValueInfo(v: ValueSpec): onnxProto.onnx.IValueInfoProto {
  const shape = v.dims
    ? { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) }
    : undefined;
  return { name: v.name, type: { tensorType: { elemType: v.elemType ?? DataType.FLOAT, shape } } };
}
