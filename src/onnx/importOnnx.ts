/**
 * ONNX import: decodes ModelProto bytes and maps the graph onto the engine's
 * GraphSpec (src/engine/graphSpec.ts).
 *
 * Phases, each failing with a typed error that names what is at fault:
 *   1. decode the protobuf (OnnxFormatError on broken wire format);
 *   2. check the model's structure: graph, opset, initializer byte sizes,
 *      single-assignment tensor names, no dangling references, no cycles
 *      (OnnxFormatError) - protobufjs decodes much garbage without
 *      complaint, so this is what rejects corrupted files;
 *   3. sort the nodes topologically and drop those the output does not
 *      depend on;
 *   4. map each live node to GraphSpec ops while running static shape
 *      inference on per-sample shapes (batch omitted), so shape errors are
 *      caught here with the ONNX node name rather than inside the engine.
 * Ops, attribute values or dtypes the engine lacks raise OnnxUnsupportedError.
 */
import { readFile } from 'node:fs/promises';

import type { GraphSpec, NodeSpec, ParamKind, ParamSpec, Pads4 } from '../engine/graphSpec.js';
import {
  FileNotFoundError,
  HnasError,
  InternalError,
  InvalidArgumentError,
  OnnxFormatError,
  OnnxUnsupportedError,
} from '../errors.js';
import {
  dataTypeName,
  decodeOnnxModel,
  OnnxDataType,
  readFloat32,
  readFloat64,
  readFloats,
  readIntegers,
  tensorDataProblem,
  tensorNumel,
  type OnnxAttribute,
  type OnnxDim,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from './onnxProto.js';

export interface ImportOnnxOptions {
  /** Where the bytes came from (e.g. the file path); prefixes every error message. */
  source?: string;
}

/**
 * Maps an ONNX model (opset 13 as written by torch.onnx.export, and other
 * opsets with the same semantics) onto a GraphSpec.
 *
 * @throws OnnxFormatError when the bytes are not a valid ONNX model.
 * @throws OnnxUnsupportedError when the model uses something the engine lacks.
 */
export function importOnnx(bytes: Uint8Array, options: ImportOnnxOptions = {}): GraphSpec {
  const where = options.source ? `${options.source}: ` : '';
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${where}importOnnx expects the model bytes as a Uint8Array`);
  }
  try {
    return importModel(decodeOnnxModel(bytes, where), where);
  } catch (cause) {
    if (cause instanceof HnasError) throw cause;
    // Only a bug in this module gets here: keep it typed so callers' error handling still works.
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new InternalError(`${where}ONNX import failed unexpectedly: ${reason}`, { cause });
  }
}

/**
 * Reads and imports an ONNX file.
 *
 * @throws FileNotFoundError when the file is missing or unreadable.
 */
export async function readOnnxFile(path: string): Promise<GraphSpec> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new FileNotFoundError(path, { cause });
  }
  return importOnnx(bytes, { source: path });
}

// ---------------------------------------------------------------------------
// Error helpers
// ---------------------------------------------------------------------------

type ErrorKind = 'format' | 'unsupported';

function makeError(kind: ErrorKind, message: string): HnasError {
  return kind === 'format' ? new OnnxFormatError(message) : new OnnxUnsupportedError(message);
}

/** A node as the importer sees it: unique name, position in the file, attributes by name. */
interface GraphNode {
  index: number;
  /** The ONNX node name, or a generated `<op_type>_<index>` when empty or duplicated. */
  name: string;
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, OnnxAttribute>;
}

function nodeLabel(node: GraphNode): string {
  return `node "${node.name}" (${node.op})`;
}

function fail(where: string, kind: ErrorKind, reason: string): never {
  throw makeError(kind, `${where}${reason}`);
}

function failNode(ctx: { where: string }, node: GraphNode, kind: ErrorKind, reason: string): never {
  throw makeError(kind, `${ctx.where}${nodeLabel(node)}: ${reason}`);
}

/** Per-sample shapes are shown with the batch dimension as N, as ONNX users know them. */
function showShape(perSample: readonly number[]): string {
  return `[${['N', ...perSample].join(', ')}]`;
}

function showDims(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function product(dims: readonly number[]): number {
  return dims.reduce((p, d) => p * d, 1);
}

function appendTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

// ---------------------------------------------------------------------------
// Phases 2 and 3: model structure, order, liveness
// ---------------------------------------------------------------------------

const DEFAULT_DOMAINS = new Set(['', 'ai.onnx']);

function importModel(model: OnnxModel, where: string): GraphSpec {
  const graph = requireGraph(model, where);
  const opset = defaultOpsetVersion(model, where);
  const initializers = indexInitializers(graph, where);
  const input = findGraphInput(graph, initializers, where);
  const output = findGraphOutput(graph, where);
  const nodes = prepareNodes(graph.nodes, where);
  const producers = indexProducers(nodes, input.name, initializers, where);
  checkInputsDefined(nodes, producers, input.name, initializers, new Set(graph.sparseInitializerNames), where);
  const order = topologicalOrder(nodes, producers, where);
  checkOutputProduced(output.name, producers, input.name, initializers, where);
  const live = liveNodes(order, producers, output.name);

  const ctx = createContext(where, opset, input, output.name, initializers, graph.sparseInitializerNames, live);
  collectConstants(ctx, live);
  for (const node of live) mapNode(ctx, node);
  return finishSpec(ctx, input, output);
}

function requireGraph(model: OnnxModel, where: string): OnnxGraph {
  if (!Number.isSafeInteger(model.irVersion) || model.irVersion < 1) {
    fail(where, 'format', 'not a valid ONNX model: ir_version is missing');
  }
  if (!model.graph) fail(where, 'format', 'not a valid ONNX model: the model has no graph');
  return model.graph;
}

/** The default-domain opset decides a few legacy forms (Slice attributes, Reshape shape attribute). */
function defaultOpsetVersion(model: OnnxModel, where: string): number {
  const entry = model.opsetImport.find((o) => DEFAULT_DOMAINS.has(o.domain));
  if (!entry) {
    // Also what a file cut right after the graph looks like: opset_import is written last.
    fail(where, 'format', 'not a valid ONNX model: opset_import has no entry for the default ONNX domain');
  }
  if (!Number.isSafeInteger(entry.version) || entry.version < 1) {
    fail(where, 'format', `not a valid ONNX model: invalid default-domain opset version ${entry.version}`);
  }
  return entry.version;
}

function indexInitializers(graph: OnnxGraph, where: string): Map<string, OnnxTensor> {
  const byName = new Map<string, OnnxTensor>();
  graph.initializers.forEach((t, i) => {
    if (!t.name) fail(where, 'format', `initializer #${i} has no name`);
    if (byName.has(t.name)) fail(where, 'format', `initializer "${t.name}" is defined twice`);
    const problem = tensorDataProblem(t);
    if (problem) fail(where, 'format', `initializer "${t.name}" ${problem}`);
    byName.set(t.name, t);
  });
  return byName;
}

interface GraphInput {
  name: string;
  /** Per-sample [C, H, W]. */
  shape: number[];
  /** The static batch size, or null when it is symbolic. */
  batch: number | null;
}

function findGraphInput(graph: OnnxGraph, initializers: Map<string, OnnxTensor>, where: string): GraphInput {
  // Older exporters also list every initializer as a graph input; those are weights, not inputs.
  const inputs = graph.inputs.filter((v) => !initializers.has(v.name));
  if (inputs.length === 0) fail(where, 'format', 'the graph has no input');
  if (inputs.length > 1) {
    const names = inputs.map((v) => `"${v.name}"`).join(', ');
    fail(where, 'unsupported', `the graph has ${inputs.length} inputs (${names}); only a single image input is supported`);
  }
  const v = inputs[0];
  if (!v.name) fail(where, 'format', 'the graph input has no name');
  const label = `graph input "${v.name}"`;
  if (!v.tensor) fail(where, 'unsupported', `${label} is not a tensor with a declared type`);
  if (v.tensor.elemType !== OnnxDataType.FLOAT) {
    fail(where, 'unsupported', `${label} has data type ${dataTypeName(v.tensor.elemType)}; only FLOAT (float32) input is supported`);
  }
  const dims = v.tensor.shape;
  if (!dims) fail(where, 'unsupported', `${label} has no declared shape (dynamic shape); [N, C, H, W] with static C, H, W is required`);
  if (dims.length !== 4) fail(where, 'unsupported', `${label} has rank ${dims.length}; only [N, C, H, W] images are supported`);
  const shape = dims.slice(1).map((d, i) => {
    const axis = ['C', 'H', 'W'][i];
    if (!('value' in d)) {
      const what = 'param' in d ? `"${d.param}"` : 'unknown';
      fail(where, 'unsupported', `${label} has a dynamic shape: ${axis} is ${what}; C, H and W must be static`);
    }
    if (!Number.isSafeInteger(d.value) || d.value < 0) fail(where, 'format', `${label} has invalid ${axis} dimension ${d.value}`);
    if (d.value === 0) fail(where, 'unsupported', `${label} has an empty ${axis} dimension`);
    return d.value;
  });
  return { name: v.name, shape, batch: staticBatch(dims[0], label, where) };
}

function staticBatch(d: OnnxDim, label: string, where: string): number | null {
  if (!('value' in d)) return null;
  if (!Number.isSafeInteger(d.value) || d.value < 0) fail(where, 'format', `${label} has invalid batch dimension ${d.value}`);
  if (d.value === 0) fail(where, 'unsupported', `${label} has an empty batch dimension`);
  return d.value;
}

function findGraphOutput(graph: OnnxGraph, where: string): OnnxValueInfo {
  if (graph.outputs.length === 0) fail(where, 'format', 'the graph declares no output');
  if (graph.outputs.length > 1) {
    const names = graph.outputs.map((v) => `"${v.name}"`).join(', ');
    fail(where, 'unsupported', `the graph has ${graph.outputs.length} outputs (${names}); only a single (logits) output is supported`);
  }
  const out = graph.outputs[0];
  if (!out.name) fail(where, 'format', 'the graph output has no name');
  const elemType = out.tensor?.elemType ?? 0;
  if (elemType !== 0 && elemType !== OnnxDataType.FLOAT) {
    fail(where, 'unsupported', `graph output "${out.name}" has data type ${dataTypeName(elemType)}; only FLOAT is supported`);
  }
  return out;
}

/** Gives every node a unique name and an attribute map; rejects nodes that are malformed on their own. */
function prepareNodes(nodes: OnnxNode[], where: string): GraphNode[] {
  const taken = new Set(nodes.map((n) => n.name).filter((n) => n));
  const used = new Set<string>();
  return nodes.map((n, index) => {
    if (!n.opType) fail(where, 'format', `node #${index} ("${n.name}") has no op_type`);
    const name = uniqueNodeName(n, index, taken, used);
    const node: GraphNode = { index, name, op: n.opType, inputs: n.inputs, outputs: n.outputs, attrs: new Map() };
    if (!n.outputs.some((o) => o)) failNode({ where }, node, 'format', 'the node has no output');
    for (const a of n.attributes) {
      if (!a.name) failNode({ where }, node, 'format', 'an attribute has no name');
      if (node.attrs.has(a.name)) failNode({ where }, node, 'format', `attribute "${a.name}" is given twice`);
      node.attrs.set(a.name, a);
    }
    // Ops of other domains keep their domain in the name so they can never match a default-domain mapper.
    if (!DEFAULT_DOMAINS.has(n.domain)) node.op = `${n.domain}::${n.opType}`;
    return node;
  });
}

function uniqueNodeName(n: OnnxNode, index: number, taken: Set<string>, used: Set<string>): string {
  let name = n.name || `${n.opType}_${index}`;
  if (used.has(name) || (!n.name && taken.has(name))) {
    let k = 2;
    while (used.has(`${name}_${k}`) || taken.has(`${name}_${k}`)) k++;
    name = `${name}_${k}`;
  }
  used.add(name);
  return name;
}

/** Tensor name -> the node producing it; enforces single assignment. */
function indexProducers(
  nodes: GraphNode[],
  inputName: string,
  initializers: Map<string, OnnxTensor>,
  where: string,
): Map<string, GraphNode> {
  const producers = new Map<string, GraphNode>();
  for (const node of nodes) {
    for (const out of node.outputs) {
      if (!out) continue;
      const previous = producers.get(out);
      if (previous) failNode({ where }, node, 'format', `output "${out}" is already produced by ${nodeLabel(previous)}`);
      if (out === inputName) failNode({ where }, node, 'format', `output "${out}" overwrites the graph input`);
      if (initializers.has(out)) failNode({ where }, node, 'format', `output "${out}" overwrites an initializer`);
      producers.set(out, node);
    }
  }
  return producers;
}

function checkInputsDefined(
  nodes: GraphNode[],
  producers: Map<string, GraphNode>,
  inputName: string,
  initializers: Map<string, OnnxTensor>,
  sparse: Set<string>,
  where: string,
): void {
  for (const node of nodes) {
    for (const name of node.inputs) {
      // An empty name marks an omitted optional input.
      if (!name || name === inputName || initializers.has(name) || sparse.has(name) || producers.has(name)) continue;
      failNode({ where }, node, 'format', `input "${name}" is not defined by the graph input, an initializer or any node`);
    }
  }
}

/**
 * File order when it is already topological (torch writes it so), otherwise
 * Kahn's algorithm; a leftover node means a cycle, which is reported with a
 * node that lies on it.
 */
function topologicalOrder(nodes: GraphNode[], producers: Map<string, GraphNode>, where: string): GraphNode[] {
  if (isTopological(nodes, producers)) return nodes;
  const pending = new Map<GraphNode, number>();
  const consumers = new Map<GraphNode, GraphNode[]>();
  for (const node of nodes) {
    const deps = new Set(node.inputs.map((i) => producers.get(i)).filter((p): p is GraphNode => p !== undefined));
    pending.set(node, deps.size);
    for (const dep of deps) appendTo(consumers, dep, node);
  }
  const order: GraphNode[] = nodes.filter((n) => pending.get(n) === 0);
  for (let i = 0; i < order.length; i++) {
    for (const next of consumers.get(order[i]) ?? []) {
      const left = (pending.get(next) ?? 0) - 1;
      pending.set(next, left);
      if (left === 0) order.push(next);
    }
  }
  if (order.length !== nodes.length) {
    const stuck = nodes.find((n) => (pending.get(n) ?? 0) > 0);
    const onCycle = stuck ? nodeOnCycle(stuck, producers, pending) : nodes[0];
    failNode({ where }, onCycle, 'format', 'the graph has a cycle through this node');
  }
  return order;
}

function isTopological(nodes: GraphNode[], producers: Map<string, GraphNode>): boolean {
  return nodes.every((node) => node.inputs.every((i) => {
    const p = producers.get(i);
    return p === undefined || p.index < node.index;
  }));
}

/** Walks unresolved dependencies backwards until a node repeats: that node is on a cycle. */
function nodeOnCycle(start: GraphNode, producers: Map<string, GraphNode>, pending: Map<GraphNode, number>): GraphNode {
  const seen = new Set<GraphNode>();
  let node = start;
  while (!seen.has(node)) {
    seen.add(node);
    const next = node.inputs.map((i) => producers.get(i)).find((p) => p !== undefined && (pending.get(p) ?? 0) > 0);
    if (!next) return node;
    node = next;
  }
  return node;
}

function checkOutputProduced(
  output: string,
  producers: Map<string, GraphNode>,
  inputName: string,
  initializers: Map<string, OnnxTensor>,
  where: string,
): void {
  if (producers.has(output)) return;
  const label = `graph output "${output}"`;
  if (output === inputName) fail(where, 'unsupported', `${label} is the graph input itself; the graph computes nothing`);
  if (initializers.has(output)) fail(where, 'unsupported', `${label} is an initializer (a constant output)`);
  fail(where, 'format', `${label} is not produced by any node`);
}

/** Nodes the output depends on, in topological order; the rest is dead code. */
function liveNodes(order: GraphNode[], producers: Map<string, GraphNode>, output: string): GraphNode[] {
  const live = new Set<GraphNode>();
  const stack = [producers.get(output)].filter((n): n is GraphNode => n !== undefined);
  while (stack.length > 0) {
    const node = stack.pop() as GraphNode;
    if (live.has(node)) continue;
    live.add(node);
    for (const i of node.inputs) {
      const p = producers.get(i);
      if (p && !live.has(p)) stack.push(p);
    }
  }
  return order.filter((n) => live.has(n));
}

// ---------------------------------------------------------------------------
// Phase 4: mapping context
// ---------------------------------------------------------------------------

interface RegisteredParam {
  spec: ParamSpec;
  transposed: boolean;
}

interface Context {
  where: string;
  opset: number;
  /** Static batch size of the graph input, null when symbolic. */
  batch: number | null;
  graphOutput: string;
  /** Initializers, Constant node outputs and Identity aliases of those. */
  constants: Map<string, OnnxTensor>;
  /** Tensors that exist but cannot be used as activations, with the reason. */
  unavailable: Map<string, string>;
  /** Output of a Shape node -> the tensor whose shape it takes. */
  shapeOf: Map<string, string>;
  /** Per-sample shapes of the tensors emitted so far (graph input included). */
  activations: Map<string, number[]>;
  /** Live nodes reading each tensor. */
  consumers: Map<string, GraphNode[]>;
  /** Live nodes already handled by another node's mapping (fusions, constant aliases). */
  handled: Set<GraphNode>;
  params: Map<string, RegisteredParam>;
  nodes: NodeSpec[];
}

function createContext(
  where: string,
  opset: number,
  input: GraphInput,
  graphOutput: string,
  initializers: Map<string, OnnxTensor>,
  sparseNames: string[],
  live: GraphNode[],
): Context {
  const consumers = new Map<string, GraphNode[]>();
  for (const node of live) {
    for (const i of new Set(node.inputs)) if (i) appendTo(consumers, i, node);
  }
  const unavailable = new Map<string, string>();
  for (const name of sparseNames) unavailable.set(name, `"${name}" is a sparse initializer, which is not supported`);
  return {
    where,
    opset,
    batch: input.batch,
    graphOutput,
    constants: new Map(initializers),
    unavailable,
    shapeOf: new Map(),
    activations: new Map([[input.name, input.shape]]),
    consumers,
    handled: new Set(),
    params: new Map(),
    nodes: [],
  };
}

const CONSTANT_ATTRIBUTES = [
  'value', 'value_float', 'value_floats', 'value_int', 'value_ints', 'sparse_value', 'value_string', 'value_strings',
];

/**
 * Constant nodes (and Identity nodes that merely rename a constant, as some
 * torch versions emit for shared weights) become values the mappers read;
 * they are never emitted.
 */
function collectConstants(ctx: Context, live: GraphNode[]): void {
  for (const node of live) {
    if (node.op === 'Constant') {
      allowAttributes(ctx, node, CONSTANT_ATTRIBUTES);
      ctx.constants.set(node.outputs[0], constantValue(ctx, node));
      ctx.handled.add(node);
    } else if (node.op === 'Identity' && ctx.constants.has(node.inputs[0])) {
      ctx.constants.set(node.outputs[0], ctx.constants.get(node.inputs[0]) as OnnxTensor);
      ctx.handled.add(node);
    }
  }
}

function constantValue(ctx: Context, node: GraphNode): OnnxTensor {
  if (node.attrs.size !== 1) {
    failNode(ctx, node, 'format', `a Constant needs exactly one value attribute, got ${node.attrs.size}`);
  }
  const [attr] = node.attrs.values();
  const tensor = constantAttributeTensor(attr, node.outputs[0]);
  if (!tensor && ['sparse_value', 'value_string', 'value_strings'].includes(attr.name)) {
    failNode(ctx, node, 'unsupported', `a Constant with "${attr.name}" is not supported`);
  }
  if (!tensor) failNode(ctx, node, 'format', `attribute "${attr.name}" has the wrong type (${attr.kind}) for a Constant`);
  const problem = tensorDataProblem(tensor);
  if (problem) failNode(ctx, node, 'format', `the constant value ${problem}`);
  return tensor;
}

/** The tensor a Constant's value attribute describes, named after the node's output. */
function constantAttributeTensor(attr: OnnxAttribute, name: string): OnnxTensor | null {
  const make = (dataType: number, dims: number[], values: Partial<OnnxTensor>): OnnxTensor => ({
    name, dims, dataType, rawData: new Uint8Array(0), floatData: [], doubleData: [], int32Data: [],
    int64Data: [], uint64Data: [], stringCount: 0, external: false, segmented: false, ...values,
  });
  if (attr.name === 'value' && attr.kind === 'tensor') return { ...attr.value, name };
  if (attr.name === 'value_float' && attr.kind === 'float') return make(OnnxDataType.FLOAT, [], { floatData: [attr.value] });
  if (attr.name === 'value_floats' && attr.kind === 'floats') {
    return make(OnnxDataType.FLOAT, [attr.value.length], { floatData: attr.value });
  }
  if (attr.name === 'value_int' && attr.kind === 'int') return make(OnnxDataType.INT64, [], { int64Data: [attr.value] });
  if (attr.name === 'value_ints' && attr.kind === 'ints') {
    return make(OnnxDataType.INT64, [attr.value.length], { int64Data: attr.value });
  }
  return null;
}

type Mapper = (ctx: Context, node: GraphNode) => void;

const MAPPERS = new Map<string, Mapper>([
  ['Conv', mapConv],
  ['BatchNormalization', mapBatchNorm],
  ['Relu', mapRelu],
  ['AveragePool', mapAveragePool],
  ['MaxPool', mapMaxPool],
  ['GlobalAveragePool', mapGlobalAveragePool],
  ['Gemm', mapGemm],
  ['MatMul', mapMatMul],
  ['Add', mapAdd],
  ['Concat', mapConcat],
  ['Flatten', mapFlatten],
  ['Reshape', mapReshape],
  ['Slice', mapSlice],
  ['Mul', mapMul],
  ['Shape', mapShape],
  ['ConstantOfShape', mapConstantOfShape],
  ['Identity', mapIdentity],
  ['Dropout', mapDropout],
]);

function mapNode(ctx: Context, node: GraphNode): void {
  if (ctx.handled.has(node)) return;
  const mapper = MAPPERS.get(node.op);
  if (!mapper) failNode(ctx, node, 'unsupported', `op "${node.op}" is not supported`);
  mapper(ctx, node);
}

function finishSpec(ctx: Context, input: GraphInput, output: OnnxValueInfo): GraphSpec {
  const label = `graph output "${output.name}"`;
  const shape = ctx.activations.get(output.name);
  if (!shape) {
    const why = ctx.unavailable.get(output.name) ??
      (ctx.shapeOf.has(output.name) ? 'it is the result of a Shape node' : 'it is a constant');
    fail(ctx.where, 'unsupported', `${label} is not a computed tensor: ${why}`);
  }
  if (shape.length !== 1) {
    fail(ctx.where, 'unsupported', `${label} has shape ${showShape(shape)}; the engine needs logits of shape [N, K]`);
  }
  checkDeclaredShape(ctx, label, output, shape);
  return {
    input: { name: input.name, shape: [...input.shape] },
    output: { name: output.name, shape: [...shape] },
    params: [...ctx.params.values()].map((p) => p.spec),
    nodes: ctx.nodes,
  };
}

/** A declared output shape that contradicts the inferred one means the file is inconsistent. */
function checkDeclaredShape(ctx: Context, label: string, output: OnnxValueInfo, shape: number[]): void {
  const declared = output.tensor?.shape;
  if (!declared || declared.length === 0) return;
  const mismatch = declared.length !== shape.length + 1 ||
    declared.slice(1).some((d, i) => 'value' in d && d.value !== shape[i]);
  if (mismatch) {
    const shown = declared.map((d) => ('value' in d ? d.value : 'param' in d ? d.param : '?'));
    fail(ctx.where, 'format', `${label} is declared as [${shown.join(', ')}] but the graph computes ${showShape(shape)}`);
  }
}

// ---------------------------------------------------------------------------
// Inputs, attributes and params
// ---------------------------------------------------------------------------

function requireInputCount(ctx: Context, node: GraphNode, min: number, max: number): void {
  const n = node.inputs.length;
  if (n < min || n > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    failNode(ctx, node, 'format', `expected ${expected} inputs, got ${n}`);
  }
}

/** Whether optional input `index` is given (present and not the empty name). */
function hasInput(node: GraphNode, index: number): boolean {
  return (node.inputs[index] ?? '') !== '';
}

interface Activation {
  name: string;
  shape: number[];
}

/** Input `index` as an activation (a tensor the engine computes), with its per-sample shape. */
function activationIn(ctx: Context, node: GraphNode, index: number, what = `input ${index}`): Activation {
  const name = node.inputs[index] ?? '';
  if (!name) failNode(ctx, node, 'format', `${what} is missing`);
  const shape = ctx.activations.get(name);
  if (shape) return { name, shape };
  if (ctx.constants.has(name)) {
    failNode(ctx, node, 'unsupported', `${what} "${name}" is a constant; the engine supports this op only on computed tensors`);
  }
  if (ctx.shapeOf.has(name)) {
    failNode(ctx, node, 'unsupported', `${what} "${name}" is a shape computed by a Shape node; only Shape -> ConstantOfShape is supported`);
  }
  const why = ctx.unavailable.get(name);
  failNode(ctx, node, 'unsupported', why ? `${what} cannot be used: ${why}` : `${what} "${name}" is not available`);
}

/** Input `index` as a constant tensor (initializer or Constant node). */
function constantIn(ctx: Context, node: GraphNode, index: number, what: string): OnnxTensor {
  const name = node.inputs[index] ?? '';
  if (!name) failNode(ctx, node, 'format', `${what} is missing`);
  const tensor = ctx.constants.get(name);
  if (tensor && (tensor.external || tensor.segmented)) {
    failNode(ctx, node, 'unsupported', `${what} "${name}" stores its data ${tensor.external ? 'externally' : 'in segments'}, which is not supported`);
  }
  if (tensor) return tensor;
  const why = ctx.unavailable.get(name);
  if (why) failNode(ctx, node, 'unsupported', `${what} cannot be used: ${why}`);
  failNode(ctx, node, 'unsupported', `${what} "${name}" is computed at run time; only a constant (initializer or Constant node) is supported`);
}

/** Integer constant input (Slice bounds, Reshape shape). */
function intsIn(ctx: Context, node: GraphNode, index: number, what: string): number[] {
  const t = constantIn(ctx, node, index, what);
  const values = readIntegers(t);
  if (!values) failNode(ctx, node, 'format', `${what} "${node.inputs[index]}" must be an integer tensor, got ${dataTypeName(t.dataType)}`);
  if (t.dims.length > 1) failNode(ctx, node, 'format', `${what} "${node.inputs[index]}" must be 1-D, got dims ${showDims(t.dims)}`);
  return values;
}

/**
 * Rejects attributes the mapper does not know: silently ignoring one could
 * change the op's meaning. Lists include legacy attributes of old opsets.
 */
function allowAttributes(ctx: Context, node: GraphNode, allowed: readonly string[]): void {
  for (const name of node.attrs.keys()) {
    if (!allowed.includes(name)) failNode(ctx, node, 'unsupported', `attribute "${name}" is not supported`);
  }
}

function intAttr(ctx: Context, node: GraphNode, name: string, fallback: number): number {
  const a = node.attrs.get(name);
  if (!a) return fallback;
  if (a.kind !== 'int' || !Number.isFinite(a.value)) failNode(ctx, node, 'format', `attribute "${name}" must be an int`);
  return a.value;
}

function floatAttr(ctx: Context, node: GraphNode, name: string, fallback: number): number {
  const a = node.attrs.get(name);
  if (!a) return fallback;
  if (a.kind !== 'float') failNode(ctx, node, 'format', `attribute "${name}" must be a float`);
  return a.value;
}

function stringAttr(ctx: Context, node: GraphNode, name: string, fallback: string): string {
  const a = node.attrs.get(name);
  if (!a) return fallback;
  if (a.kind !== 'string') failNode(ctx, node, 'format', `attribute "${name}" must be a string`);
  return a.value;
}

function intsAttr(ctx: Context, node: GraphNode, name: string): number[] | undefined {
  const a = node.attrs.get(name);
  if (!a) return undefined;
  if (a.kind !== 'ints' || a.value.some((v) => !Number.isFinite(v))) failNode(ctx, node, 'format', `attribute "${name}" must be a list of ints`);
  return a.value;
}

/** A two-element attribute of positive ints (strides, dilations), with a default. */
function pairAttr(ctx: Context, node: GraphNode, name: string): [number, number] {
  const v = intsAttr(ctx, node, name) ?? [1, 1];
  if (v.length !== 2) failNode(ctx, node, 'format', `attribute "${name}" must have 2 values for a 2-D op, got ${showDims(v)}`);
  if (v.some((x) => !Number.isSafeInteger(x) || x < 1)) failNode(ctx, node, 'format', `attribute "${name}" must be positive, got ${showDims(v)}`);
  return [v[0], v[1]];
}

/** Explicit pads, or none for auto_pad VALID; SAME_* padding is not implemented by the engine. */
function padsAttr(ctx: Context, node: GraphNode): Pads4 {
  const autoPad = stringAttr(ctx, node, 'auto_pad', 'NOTSET');
  const pads = intsAttr(ctx, node, 'pads');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    failNode(ctx, node, 'unsupported', `auto_pad "${autoPad}" is not supported`);
  }
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') failNode(ctx, node, 'format', `auto_pad "${autoPad}" is not a valid value`);
  if (!pads) return [0, 0, 0, 0];
  if (pads.length !== 4) failNode(ctx, node, 'format', `attribute "pads" must have 4 values for a 2-D op, got ${showDims(pads)}`);
  if (pads.some((p) => !Number.isSafeInteger(p) || p < 0)) {
    failNode(ctx, node, 'format', `attribute "pads" must be non-negative, got ${showDims(pads)}`);
  }
  if (autoPad === 'VALID' && pads.some((p) => p !== 0)) failNode(ctx, node, 'format', 'explicit pads cannot be combined with auto_pad "VALID"');
  return [pads[0], pads[1], pads[2], pads[3]];
}

function requireRank(ctx: Context, node: GraphNode, x: Activation, perSampleRank: number, expected: string): void {
  if (x.shape.length !== perSampleRank) {
    failNode(ctx, node, 'format', `input "${x.name}" must be ${expected}, got ${showShape(x.shape)}`);
  }
}

/**
 * Extra outputs (BN training statistics, MaxPool indices, Dropout mask) have
 * no engine counterpart: fine when declared but unused, unsupported otherwise.
 */
function requireExtraOutputsUnused(ctx: Context, node: GraphNode, what: string): void {
  node.outputs.slice(1).forEach((out, i) => {
    if (!out) return;
    if ((ctx.consumers.get(out)?.length ?? 0) > 0 || out === ctx.graphOutput) {
      failNode(ctx, node, 'unsupported', `output ${i + 1} ("${out}", ${what}) is used; only the first output is supported`);
    }
    ctx.unavailable.set(out, `"${out}" is output ${i + 1} of ${nodeLabel(node)} (${what}), which is not supported`);
  });
  if (!node.outputs[0]) failNode(ctx, node, 'format', 'the first output has no name');
}

/**
 * Registers an initializer as a parameter. A tensor shared by several nodes
 * in the same role is one ParamSpec; sharing across roles or layouts would
 * need tied parameters, which GraphSpec cannot express.
 */
function paramIn(
  ctx: Context,
  node: GraphNode,
  tensor: OnnxTensor,
  kind: ParamKind,
  layout: { transpose?: boolean; shape?: number[] } = {},
): string {
  const name = tensor.name;
  const transposed = layout.transpose ?? false;
  const existing = ctx.params.get(name);
  if (existing) {
    if (existing.spec.kind !== kind || existing.transposed !== transposed) {
      const role = (k: ParamKind, t: boolean) => `${k}${t ? ' (transposed)' : ''}`;
      const roles = `${role(existing.spec.kind, existing.transposed)} and as ${role(kind, transposed)}`;
      failNode(ctx, node, 'unsupported', `initializer "${name}" is used both as ${roles}; tied parameters are not supported`);
    }
    return name;
  }
  if (tensor.external || tensor.segmented) {
    const how = tensor.external ? 'externally' : 'in segments';
    failNode(ctx, node, 'unsupported', `initializer "${name}" stores its data ${how}, which is not supported`);
  }
  let data = paramData(ctx, node, tensor);
  let shape = layout.shape ?? [...tensor.dims];
  if (transposed) {
    data = transpose2d(data, tensor.dims[0], tensor.dims[1]);
    shape = [tensor.dims[1], tensor.dims[0]];
  }
  ctx.params.set(name, { spec: { name, kind, shape, data }, transposed });
  return name;
}

function paramData(ctx: Context, node: GraphNode, t: OnnxTensor): Float32Array | Float64Array {
  if (t.dataType === OnnxDataType.FLOAT) return readFloat32(t);
  if (t.dataType === OnnxDataType.DOUBLE) return readFloat64(t);
  failNode(ctx, node, 'unsupported', `initializer "${t.name}" has data type ${dataTypeName(t.dataType)}; parameters must be FLOAT or DOUBLE`);
}

/** [rows, cols] row-major -> [cols, rows] row-major. */
function transpose2d<T extends Float32Array | Float64Array>(src: T, rows: number, cols: number): T {
  const out = new (src.constructor as { new (n: number): T })(src.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  }
  return out;
}

function emit(ctx: Context, spec: NodeSpec, shape: number[]): void {
  ctx.nodes.push(spec);
  ctx.activations.set(spec.outputs[0], shape);
}

/**
 * ONNX stores float attributes as float32. Recover the shortest decimal
 * that rounds to the same float32 (1e-5 rather than 9.99999974e-6): it is
 * what the exporter was given, and a float64 engine should see that value.
 */
function float32Decimal(x: number): number {
  if (!Number.isFinite(x) || Math.fround(x) !== x) return x;
  for (let p = 1; p <= 9; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === x) return d;
  }
  return x;
}

/** 1 - d for a short decimal d, rounded to d's decimal places so 1 - 0.9 is 0.1, not 0.09999999999999998. */
function oneMinusDecimal(d: number): number {
  const [mantissa, exponent] = d.toExponential().split('e');
  const decimals = (mantissa.split('.')[1] ?? '').length - Number(exponent);
  return Number((1 - d).toFixed(Math.min(Math.max(decimals, 0), 100)));
}

// ---------------------------------------------------------------------------
// Op mappers
// ---------------------------------------------------------------------------

/** floor((in + pads - dilated kernel) / stride) + 1, which must be at least 1. */
function convOutputSize(
  ctx: Context,
  node: GraphNode,
  size: number,
  padBegin: number,
  padEnd: number,
  kernel: number,
  stride: number,
  dilation: number,
): number {
  const span = dilation * (kernel - 1) + 1;
  const out = Math.floor((size + padBegin + padEnd - span) / stride) + 1;
  if (out < 1) {
    failNode(ctx, node, 'format', `kernel ${kernel} (dilation ${dilation}) does not fit input size ${size} with pads ${padBegin}+${padEnd}`);
  }
  return out;
}

function spatialOutput(
  ctx: Context,
  node: GraphNode,
  shape: number[],
  kernel: [number, number],
  stride: [number, number],
  pads: Pads4,
  dilation: [number, number],
): number[] {
  return [
    shape[0],
    convOutputSize(ctx, node, shape[1], pads[0], pads[2], kernel[0], stride[0], dilation[0]),
    convOutputSize(ctx, node, shape[2], pads[1], pads[3], kernel[1], stride[1], dilation[1]),
  ];
}

function mapConv(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']);
  requireInputCount(ctx, node, 2, 3);
  const x = activationIn(ctx, node, 0, 'input X');
  const w = constantIn(ctx, node, 1, 'weight W');
  if (w.dims.length !== 4) {
    failNode(ctx, node, 'unsupported', `weight "${w.name}" has dims ${showDims(w.dims)}; only 2-D convolution (a rank-4 weight) is supported`);
  }
  requireRank(ctx, node, x, 3, '[N, C, H, W]');
  const [m, cPerGroup, kh, kw] = w.dims;
  if (w.dims.some((d) => d < 1)) failNode(ctx, node, 'format', `weight "${w.name}" has an empty dimension: ${showDims(w.dims)}`);
  const kernelShape = intsAttr(ctx, node, 'kernel_shape');
  if (kernelShape && !sameShape(kernelShape, [kh, kw])) {
    failNode(ctx, node, 'format', `kernel_shape ${showDims(kernelShape)} does not match weight "${w.name}" ${showDims(w.dims)}`);
  }
  const groups = intAttr(ctx, node, 'group', 1);
  if (groups < 1) failNode(ctx, node, 'format', `group must be positive, got ${groups}`);
  if (x.shape[0] !== cPerGroup * groups) {
    const expects = `weight "${w.name}" ${showDims(w.dims)} with group ${groups} expects ${cPerGroup * groups}`;
    failNode(ctx, node, 'format', `input "${x.name}" has ${x.shape[0]} channels but ${expects}`);
  }
  if (m % groups !== 0) failNode(ctx, node, 'format', `${m} output channels are not divisible by group ${groups}`);
  const stride = pairAttr(ctx, node, 'strides');
  const dilation = pairAttr(ctx, node, 'dilations');
  const pads = padsAttr(ctx, node);
  const bias = hasInput(node, 2) ? convBias(ctx, node, m) : undefined;
  const shape = spatialOutput(ctx, node, x.shape, [kh, kw], stride, pads, dilation);
  shape[0] = m;
  const weight = paramIn(ctx, node, w, 'conv_weight');
  emit(ctx, {
    op: 'conv2d', name: node.name, inputs: [x.name], outputs: [node.outputs[0]],
    weight, ...(bias ? { bias } : {}), stride, pads, dilation, groups,
  }, shape);
}

function convBias(ctx: Context, node: GraphNode, channels: number): string {
  const b = constantIn(ctx, node, 2, 'bias B');
  if (!sameShape(b.dims, [channels])) failNode(ctx, node, 'format', `bias "${b.name}" has dims ${showDims(b.dims)}, expected [${channels}]`);
  return paramIn(ctx, node, b, 'conv_bias');
}

function mapBatchNorm(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, ['epsilon', 'momentum', 'training_mode', 'spatial', 'is_test', 'consumed_inputs']);
  requireInputCount(ctx, node, 5, 5);
  if (intAttr(ctx, node, 'training_mode', 0) !== 0) {
    failNode(ctx, node, 'unsupported', 'training_mode 1 is not supported (export the model in eval mode)');
  }
  if (intAttr(ctx, node, 'spatial', 1) !== 1) failNode(ctx, node, 'unsupported', 'spatial 0 (per-activation statistics) is not supported');
  requireExtraOutputsUnused(ctx, node, 'a training statistic');
  const x = activationIn(ctx, node, 0, 'input X');
  if (x.shape.length !== 3 && x.shape.length !== 1) {
    failNode(ctx, node, 'format', `input "${x.name}" must be [N, C, H, W] or [N, C], got ${showShape(x.shape)}`);
  }
  const channels = x.shape[0];
  const roles = [['scale', 'bn_weight'], ['B', 'bn_bias'], ['input_mean', 'bn_running_mean'], ['input_var', 'bn_running_var']] as const;
  const [weight, bias, runningMean, runningVar] = roles.map(([what, kind], i) => {
    const t = constantIn(ctx, node, i + 1, what);
    if (!sameShape(t.dims, [channels])) {
      failNode(ctx, node, 'format', `${what} "${t.name}" has dims ${showDims(t.dims)} but the input has ${channels} channels`);
    }
    return paramIn(ctx, node, t, kind);
  });
  // ONNX: running = m * running + (1 - m) * batch; GraphSpec uses PyTorch's momentum = 1 - m.
  const onnxMomentum = float32Decimal(floatAttr(ctx, node, 'momentum', 0.9));
  emit(ctx, {
    op: 'batch_norm', name: node.name, inputs: [x.name], outputs: [node.outputs[0]],
    weight, bias, runningMean, runningVar,
    eps: float32Decimal(floatAttr(ctx, node, 'epsilon', 1e-5)),
    momentum: oneMinusDecimal(onnxMomentum),
  }, [...x.shape]);
}

function mapRelu(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, ['consumed_inputs']);
  requireInputCount(ctx, node, 1, 1);
  const x = activationIn(ctx, node, 0);
  emit(ctx, { op: 'relu', name: node.name, inputs: [x.name], outputs: [node.outputs[0]] }, [...x.shape]);
}

interface PoolGeometry {
  x: Activation;
  kernel: [number, number];
  stride: [number, number];
  pads: Pads4;
}

/** What AveragePool and MaxPool share: kernel, strides, pads, and no ceil mode. */
function poolGeometry(ctx: Context, node: GraphNode): PoolGeometry {
  requireInputCount(ctx, node, 1, 1);
  const x = activationIn(ctx, node, 0, 'input X');
  const kernelShape = intsAttr(ctx, node, 'kernel_shape');
  if (!kernelShape) failNode(ctx, node, 'format', 'attribute "kernel_shape" is required');
  if (kernelShape.length !== 2) failNode(ctx, node, 'unsupported', `kernel_shape ${showDims(kernelShape)}: only 2-D pooling is supported`);
  if (kernelShape.some((k) => !Number.isSafeInteger(k) || k < 1)) {
    failNode(ctx, node, 'format', `kernel_shape must be positive, got ${showDims(kernelShape)}`);
  }
  requireRank(ctx, node, x, 3, '[N, C, H, W]');
  if (intAttr(ctx, node, 'ceil_mode', 0) !== 0) failNode(ctx, node, 'unsupported', 'ceil_mode 1 is not supported');
  const pads = padsAttr(ctx, node);
  const kernel: [number, number] = [kernelShape[0], kernelShape[1]];
  // A window made only of padding has no defined value (ONNX Runtime rejects it too).
  if (pads[0] >= kernel[0] || pads[2] >= kernel[0] || pads[1] >= kernel[1] || pads[3] >= kernel[1]) {
    failNode(ctx, node, 'format', `pads ${showDims(pads)} must be smaller than kernel_shape ${showDims(kernel)}`);
  }
  return { x, kernel, stride: pairAttr(ctx, node, 'strides'), pads };
}

function mapAveragePool(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, ['auto_pad', 'ceil_mode', 'count_include_pad', 'dilations', 'kernel_shape', 'pads', 'strides']);
  const { x, kernel, stride, pads } = poolGeometry(ctx, node);
  const dilation = pairAttr(ctx, node, 'dilations');
  if (dilation[0] !== 1 || dilation[1] !== 1) failNode(ctx, node, 'unsupported', `dilations ${showDims(dilation)} are not supported for AveragePool`);
  const countIncludePad = intAttr(ctx, node, 'count_include_pad', 0);
  if (countIncludePad !== 0 && countIncludePad !== 1) failNode(ctx, node, 'format', `count_include_pad must be 0 or 1, got ${countIncludePad}`);
  const shape = spatialOutput(ctx, node, x.shape, kernel, stride, pads, [1, 1]);
  emit(ctx, {
    op: 'avg_pool2d', name: node.name, inputs: [x.name], outputs: [node.outputs[0]],
    kernel, stride, pads, countIncludePad: countIncludePad === 1,
  }, shape);
}

function mapMaxPool(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, ['auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides']);
  if (intAttr(ctx, node, 'storage_order', 0) !== 0) failNode(ctx, node, 'unsupported', 'storage_order 1 is not supported');
  requireExtraOutputsUnused(ctx, node, 'the argmax indices');
  const { x, kernel, stride, pads } = poolGeometry(ctx, node);
  const dilation = pairAttr(ctx, node, 'dilations');
  const shape = spatialOutput(ctx, node, x.shape, kernel, stride, pads, dilation);
  emit(ctx, {
    op: 'max_pool2d', name: node.name, inputs: [x.name], outputs: [node.outputs[0]],
    kernel, stride, pads, dilation,
  }, shape);
}

function mapGlobalAveragePool(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, []);
  requireInputCount(ctx, node, 1, 1);
  const x = activationIn(ctx, node, 0);
  requireRank(ctx, node, x, 3, '[N, C, H, W]');
  emit(ctx, { op: 'global_avg_pool', name: node.name, inputs: [x.name], outputs: [node.outputs[0]] }, [x.shape[0], 1, 1]);
}

/** Y = A · B' + C with B' = B or Bᵀ: a linear layer when B (and C) are constants. */
function mapGemm(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, ['alpha', 'beta', 'transA', 'transB', 'broadcast']);
  requireInputCount(ctx, node, 2, 3);
  const a = activationIn(ctx, node, 0, 'input A');
  requireRank(ctx, node, a, 1, 'a 2-D [N, F] matrix');
  if (intAttr(ctx, node, 'transA', 0) !== 0) failNode(ctx, node, 'unsupported', 'transA 1 is not supported (A must be the [N, F] activation)');
  const alpha = floatAttr(ctx, node, 'alpha', 1);
  if (alpha !== 1) failNode(ctx, node, 'unsupported', `alpha ${alpha} is not supported (only 1)`);
  const b = constantIn(ctx, node, 1, 'weight B');
  if (b.dims.length !== 2) failNode(ctx, node, 'format', `weight "${b.name}" must be 2-D, got dims ${showDims(b.dims)}`);
  // transB = 1 stores [out, in], which is GraphSpec's layout; transB = 0 stores [in, out].
  const transB = intAttr(ctx, node, 'transB', 0) !== 0;
  const [out, inFeatures] = transB ? b.dims : [b.dims[1], b.dims[0]];
  checkInFeatures(ctx, node, a, b, inFeatures);
  let bias: string | undefined;
  if (hasInput(node, 2)) {
    const beta = floatAttr(ctx, node, 'beta', 1);
    if (beta !== 1) failNode(ctx, node, 'unsupported', `beta ${beta} is not supported (only 1)`);
    bias = linearBias(ctx, node, constantIn(ctx, node, 2, 'bias C'), out);
  }
  const weight = paramIn(ctx, node, b, 'linear_weight', { transpose: !transB });
  emit(ctx, { op: 'linear', name: node.name, inputs: [a.name], outputs: [node.outputs[0]], weight, ...(bias ? { bias } : {}) }, [out]);
}

function checkInFeatures(ctx: Context, node: GraphNode, a: Activation, w: OnnxTensor, inFeatures: number): void {
  if (a.shape[0] !== inFeatures) {
    failNode(ctx, node, 'format', `input "${a.name}" has ${a.shape[0]} features but weight "${w.name}" ${showDims(w.dims)} expects ${inFeatures}`);
  }
}

/** A per-output bias: [out] or the row-broadcast [1, out]; stored as [out]. */
function linearBias(ctx: Context, node: GraphNode, c: OnnxTensor, out: number): string {
  if (!sameShape(c.dims, [out]) && !sameShape(c.dims, [1, out])) {
    failNode(ctx, node, 'unsupported', `bias "${c.name}" has dims ${showDims(c.dims)}; only [${out}] or [1, ${out}] is supported`);
  }
  return paramIn(ctx, node, c, 'linear_bias', { shape: [out] });
}

/** MatMul by a constant [in, out] matrix is a linear layer; a following Add of a constant [out] becomes its bias. */
function mapMatMul(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, []);
  requireInputCount(ctx, node, 2, 2);
  const a = activationIn(ctx, node, 0, 'input A');
  if (a.shape.length !== 1) {
    failNode(ctx, node, 'unsupported', `input "${a.name}" has shape ${showShape(a.shape)}; only a 2-D [N, F] MatMul is supported`);
  }
  if (ctx.activations.has(node.inputs[1])) {
    failNode(ctx, node, 'unsupported', 'MatMul of two activations is not supported (only by a constant weight)');
  }
  const b = constantIn(ctx, node, 1, 'input B');
  if (b.dims.length !== 2) {
    failNode(ctx, node, 'unsupported', `weight "${b.name}" has dims ${showDims(b.dims)}; only a 2-D [in, out] weight is supported`);
  }
  const [inFeatures, out] = b.dims;
  checkInFeatures(ctx, node, a, b, inFeatures);
  const fused = biasAddAfter(ctx, node, out);
  const bias = fused ? linearBias(ctx, fused.add, fused.bias, out) : undefined;
  const weight = paramIn(ctx, node, b, 'linear_weight', { transpose: true });
  const output = fused ? fused.add.outputs[0] : node.outputs[0];
  emit(ctx, { op: 'linear', name: node.name, inputs: [a.name], outputs: [output], weight, ...(bias ? { bias } : {}) }, [out]);
}

/** The Add that only adds a constant [out] / [1, out] bias to this MatMul's result, if any. */
function biasAddAfter(ctx: Context, node: GraphNode, out: number): { add: GraphNode; bias: OnnxTensor } | null {
  const y = node.outputs[0];
  const users = ctx.consumers.get(y) ?? [];
  if (y === ctx.graphOutput || users.length !== 1) return null;
  const add = users[0];
  if (add.op !== 'Add' || add.inputs.length !== 2 || add.attrs.size > 0) return null;
  const other = add.inputs[0] === y ? add.inputs[1] : add.inputs[0];
  const bias = ctx.constants.get(other);
  if (other === y || !bias || !(sameShape(bias.dims, [out]) || sameShape(bias.dims, [1, out]))) return null;
  ctx.handled.add(add);
  return { add, bias };
}

function mapAdd(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, ['axis', 'broadcast', 'consumed_inputs']);
  requireInputCount(ctx, node, 2, 2);
  const [a, b] = [0, 1].map((i) => {
    if (ctx.constants.has(node.inputs[i])) {
      failNode(ctx, node, 'unsupported', `operand "${node.inputs[i]}" is a constant; only the sum of two computed tensors is supported`);
    }
    return activationIn(ctx, node, i, `operand ${i}`);
  });
  if (!sameShape(a.shape, b.shape)) {
    const kind = broadcastable(a.shape, b.shape) ? 'unsupported' : 'format';
    const reason = kind === 'unsupported' ? 'broadcasting is not supported' : 'the shapes do not match';
    failNode(ctx, node, kind, `operands "${a.name}" ${showShape(a.shape)} and "${b.name}" ${showShape(b.shape)}: ${reason}`);
  }
  emit(ctx, { op: 'add', name: node.name, inputs: [a.name, b.name], outputs: [node.outputs[0]] }, [...a.shape]);
}

/** Numpy-style broadcasting between equal-rank per-sample shapes (the batch always matches). */
function broadcastable(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i] || d === 1 || b[i] === 1);
}

/** Normalizes an ONNX axis (which counts the batch) against the full rank. */
function normalizeAxis(ctx: Context, node: GraphNode, axis: number, rank: number): number {
  if (!Number.isSafeInteger(axis) || axis < -rank || axis >= rank) failNode(ctx, node, 'format', `axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

function mapConcat(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, ['axis']);
  if (node.inputs.length < 1) failNode(ctx, node, 'format', 'Concat needs at least one input');
  const xs = node.inputs.map((_, i) => activationIn(ctx, node, i));
  const rank = xs[0].shape.length + 1;
  // Before opset 4 the axis defaulted to 1; since then it is required.
  if (!node.attrs.has('axis') && ctx.opset >= 4) failNode(ctx, node, 'format', 'attribute "axis" is required');
  const axis = normalizeAxis(ctx, node, intAttr(ctx, node, 'axis', 1), rank);
  if (axis !== 1) failNode(ctx, node, 'unsupported', `Concat along axis ${axis} is not supported (only the channel axis 1)`);
  for (const x of xs.slice(1)) {
    if (x.shape.length !== xs[0].shape.length || x.shape.some((d, i) => i > 0 && d !== xs[0].shape[i])) {
      const pair = `"${xs[0].name}" ${showShape(xs[0].shape)} and "${x.name}" ${showShape(x.shape)}`;
      failNode(ctx, node, 'format', `inputs ${pair} differ outside the channel axis`);
    }
  }
  const shape = [xs.reduce((c, x) => c + x.shape[0], 0), ...xs[0].shape.slice(1)];
  emit(ctx, { op: 'concat', name: node.name, inputs: xs.map((x) => x.name), outputs: [node.outputs[0]], axis: 1 }, shape);
}

/** [N, C, H, W] -> [N, C·H·W]; an input that is already [N, F] passes through unchanged. */
function emitFlatten(ctx: Context, node: GraphNode, x: Activation): void {
  if (x.shape.length === 1) {
    emit(ctx, { op: 'identity', name: node.name, inputs: [x.name], outputs: [node.outputs[0]] }, [...x.shape]);
  } else {
    emit(ctx, { op: 'flatten', name: node.name, inputs: [x.name], outputs: [node.outputs[0]] }, [product(x.shape)]);
  }
}

function mapFlatten(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, ['axis']);
  requireInputCount(ctx, node, 1, 1);
  const x = activationIn(ctx, node, 0);
  const axis = normalizeAxis(ctx, node, intAttr(ctx, node, 'axis', 1), x.shape.length + 1);
  if (axis !== 1) failNode(ctx, node, 'unsupported', `Flatten with axis ${axis} is not supported (only axis 1, keeping the batch)`);
  emitFlatten(ctx, node, x);
}

/** Only a Reshape that flattens each sample ([N|0|-1, -1|F]) has an engine counterpart. */
function mapReshape(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, ['allowzero', 'shape', 'consumed_inputs']);
  const x = activationIn(ctx, node, 0, 'input data');
  let target: number[];
  if (ctx.opset < 5 && node.attrs.has('shape')) {
    requireInputCount(ctx, node, 1, 1);
    target = intsAttr(ctx, node, 'shape') ?? [];
  } else {
    requireInputCount(ctx, node, 2, 2);
    target = intsIn(ctx, node, 1, 'shape');
  }
  const allowZero = intAttr(ctx, node, 'allowzero', 0) !== 0;
  if (!isFlattenTarget(ctx, x.shape, target, allowZero)) {
    failNode(ctx, node, 'unsupported', `Reshape of ${showShape(x.shape)} to ${showDims(target)} is not supported (only flattening to [N, -1])`);
  }
  emitFlatten(ctx, node, x);
}

function isFlattenTarget(ctx: Context, shape: number[], target: number[], allowZero: boolean): boolean {
  if (target.length !== 2) return false;
  const features = product(shape);
  // 0 copies the input dimension unless allowzero is set.
  const [t0, t1] = target.map((t, i) => (t === 0 && !allowZero ? (i === 0 ? 'batch' : shape[0]) : t));
  const featuresOk = t1 === -1 || t1 === features;
  if (t0 === 'batch') return featuresOk;
  if (t0 === -1) return t1 === features;
  // A literal batch size only flattens when the model's batch is that same static size.
  return t0 === ctx.batch && featuresOk;
}

interface SliceBounds {
  starts: number[];
  ends: number[];
  axes: number[];
  steps: number[];
}

/** Slice bounds from inputs (opset >= 10) or from attributes (opset 1-9). */
function sliceBounds(ctx: Context, node: GraphNode, rank: number): SliceBounds {
  let bounds: SliceBounds;
  if (node.attrs.has('starts') || node.attrs.has('ends')) {
    allowAttributes(ctx, node, ['starts', 'ends', 'axes']);
    requireInputCount(ctx, node, 1, 1);
    const starts = intsAttr(ctx, node, 'starts') ?? [];
    const ends = intsAttr(ctx, node, 'ends') ?? [];
    bounds = { starts, ends, axes: intsAttr(ctx, node, 'axes') ?? starts.map((_, i) => i), steps: starts.map(() => 1) };
  } else {
    allowAttributes(ctx, node, []);
    requireInputCount(ctx, node, 3, 5);
    const starts = intsIn(ctx, node, 1, 'starts');
    const ends = intsIn(ctx, node, 2, 'ends');
    const axes = hasInput(node, 3) ? intsIn(ctx, node, 3, 'axes') : starts.map((_, i) => i);
    const steps = hasInput(node, 4) ? intsIn(ctx, node, 4, 'steps') : starts.map(() => 1);
    bounds = { starts, ends, axes, steps };
  }
  const n = bounds.starts.length;
  if (bounds.ends.length !== n || bounds.axes.length !== n || bounds.steps.length !== n) {
    failNode(ctx, node, 'format', 'starts, ends, axes and steps must have the same length');
  }
  bounds.axes = bounds.axes.map((a) => normalizeAxis(ctx, node, a, rank));
  if (new Set(bounds.axes).size !== n) failNode(ctx, node, 'format', `axes ${showDims(bounds.axes)} repeat an axis`);
  return bounds;
}

/** ONNX index clamping for a positive step: negative counts from the end, then clamp to [0, size]. */
function clampIndex(i: number, size: number): number {
  const j = i < 0 ? i + size : i;
  return Math.min(Math.max(j, 0), size);
}

/** Bounds this large mean "to the end" whatever the batch size (exporters use INT32/INT64 max). */
const OPEN_END = 2 ** 31 - 1;

function mapSlice(ctx: Context, node: GraphNode): void {
  const x = activationIn(ctx, node, 0, 'input data');
  const rank = x.shape.length + 1;
  const bounds = sliceBounds(ctx, node, rank);
  // Unsliced axes keep their full extent.
  const full = x.shape.map((d) => ({ start: 0, end: d, step: 1 }));
  bounds.axes.forEach((axis, k) => {
    const [start, end, step] = [bounds.starts[k], bounds.ends[k], bounds.steps[k]];
    if (step === 0) failNode(ctx, node, 'format', `step 0 on axis ${axis}`);
    if (step < 0) failNode(ctx, node, 'unsupported', `negative step ${step} on axis ${axis} is not supported`);
    if (axis === 0) {
      if (!sliceKeepsBatch(ctx, start, end, step)) failNode(ctx, node, 'unsupported', 'slicing the batch axis 0 is not supported');
      return;
    }
    const size = x.shape[axis - 1];
    const range = { start: clampIndex(start, size), end: clampIndex(end, size), step };
    const spatial = x.shape.length === 3 && axis >= 2;
    if (!spatial && (range.start !== 0 || range.end !== size || step !== 1)) {
      failNode(ctx, node, 'unsupported', `slicing axis ${axis} is not supported; only H and W (axes 2 and 3) may be sliced`);
    }
    if (range.end <= range.start) failNode(ctx, node, 'unsupported', `the slice of axis ${axis} is empty`);
    full[axis - 1] = range;
  });
  if (x.shape.length !== 3) {
    // Nothing was sliced (checked above): a no-op on [N, F].
    emit(ctx, { op: 'identity', name: node.name, inputs: [x.name], outputs: [node.outputs[0]] }, [...x.shape]);
    return;
  }
  const [, h, w] = full;
  const extent = (r: { start: number; end: number; step: number }) => Math.ceil((r.end - r.start) / r.step);
  emit(ctx, {
    op: 'slice', name: node.name, inputs: [x.name], outputs: [node.outputs[0]],
    starts: [h.start, w.start], ends: [h.end, w.end], steps: [h.step, w.step],
  }, [x.shape[0], extent(h), extent(w)]);
}

function sliceKeepsBatch(ctx: Context, start: number, end: number, step: number): boolean {
  if (step !== 1) return false;
  if (ctx.batch !== null) return clampIndex(start, ctx.batch) === 0 && clampIndex(end, ctx.batch) === ctx.batch;
  return start === 0 && end >= OPEN_END;
}

/** Activation × scalar constant (either operand order). */
function mapMul(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, ['axis', 'broadcast', 'consumed_inputs']);
  requireInputCount(ctx, node, 2, 2);
  const constIndex = node.inputs.findIndex((i) => ctx.constants.has(i));
  if (constIndex < 0 && node.inputs.every((i) => ctx.activations.has(i))) {
    failNode(ctx, node, 'unsupported', 'Mul of two computed tensors is not supported (only by a scalar constant)');
  }
  if (constIndex < 0) {
    // Neither operand is usable as a constant: let the activation lookup explain the one that is odd.
    activationIn(ctx, node, ctx.activations.has(node.inputs[0]) ? 1 : 0);
  }
  const x = activationIn(ctx, node, constIndex === 0 ? 1 : 0, 'the other operand');
  const c = constantIn(ctx, node, constIndex, 'the constant operand');
  if (tensorNumel(c) !== 1 || c.dims.length > x.shape.length + 1) {
    failNode(ctx, node, 'unsupported', `constant "${c.name}" has dims ${showDims(c.dims)}; only multiplication by a scalar is supported`);
  }
  const values = readFloats(c);
  if (!values) {
    failNode(ctx, node, 'unsupported', `constant "${c.name}" has data type ${dataTypeName(c.dataType)}; only FLOAT or DOUBLE is supported`);
  }
  // A FLOAT scalar came from a decimal the exporter was given; see float32Decimal.
  const value = c.dataType === OnnxDataType.FLOAT ? float32Decimal(values[0]) : values[0];
  emit(ctx, { op: 'mul_const', name: node.name, inputs: [x.name], outputs: [node.outputs[0]], value }, [...x.shape]);
}

/** Shape is not emitted: it only feeds ConstantOfShape, which becomes zeros_like of Shape's input. */
function mapShape(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, ['start', 'end']);
  requireInputCount(ctx, node, 1, 1);
  const x = activationIn(ctx, node, 0);
  const rank = x.shape.length + 1;
  const start = intAttr(ctx, node, 'start', 0);
  const end = node.attrs.has('end') ? intAttr(ctx, node, 'end', rank) : rank;
  if (clampIndex(start, rank) !== 0 || clampIndex(end, rank) !== rank) {
    failNode(ctx, node, 'unsupported', `a partial shape (start ${start}, end ${end}) is not supported`);
  }
  ctx.shapeOf.set(node.outputs[0], x.name);
}

function mapConstantOfShape(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, ['value']);
  requireInputCount(ctx, node, 1, 1);
  const source = ctx.shapeOf.get(node.inputs[0]);
  if (source === undefined) {
    failNode(ctx, node, 'unsupported', `input "${node.inputs[0]}" is not the output of a Shape node; only Shape -> ConstantOfShape is supported`);
  }
  const valueAttr = node.attrs.get('value');
  if (valueAttr) {
    if (valueAttr.kind !== 'tensor') failNode(ctx, node, 'format', 'attribute "value" must be a tensor');
    const v = valueAttr.value;
    const problem = tensorDataProblem(v);
    if (problem) failNode(ctx, node, 'format', `attribute "value" ${problem}`);
    if (tensorNumel(v) !== 1) failNode(ctx, node, 'format', `attribute "value" must hold one element, got dims ${showDims(v.dims)}`);
    if (v.dataType !== OnnxDataType.FLOAT) {
      failNode(ctx, node, 'unsupported', `value of data type ${dataTypeName(v.dataType)} is not supported (only FLOAT 0)`);
    }
    const value = readFloat32(v)[0];
    if (value !== 0) failNode(ctx, node, 'unsupported', `value ${value} is not supported (only 0)`);
  }
  const shape = ctx.activations.get(source) as number[];
  emit(ctx, { op: 'zeros_like', name: node.name, inputs: [source], outputs: [node.outputs[0]] }, [...shape]);
}

function mapIdentity(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, []);
  requireInputCount(ctx, node, 1, 1);
  const x = activationIn(ctx, node, 0);
  emit(ctx, { op: 'identity', name: node.name, inputs: [x.name], outputs: [node.outputs[0]] }, [...x.shape]);
}

/** Inference-mode Dropout is the identity; a training-mode one is not supported. */
function mapDropout(ctx: Context, node: GraphNode): void {
  allowAttributes(ctx, node, ['ratio', 'seed', 'is_test', 'consumed_inputs']);
  requireInputCount(ctx, node, 1, 3);
  requireExtraOutputsUnused(ctx, node, 'the dropout mask');
  const x = activationIn(ctx, node, 0, 'input data');
  if (hasInput(node, 2)) {
    const mode = readIntegers(constantIn(ctx, node, 2, 'training_mode'));
    if (!mode || mode.length !== 1) failNode(ctx, node, 'format', 'training_mode must be a boolean scalar');
    if (mode[0] !== 0) failNode(ctx, node, 'unsupported', 'training_mode true is not supported (export the model in eval mode)');
  }
  emit(ctx, { op: 'identity', name: node.name, inputs: [x.name], outputs: [node.outputs[0]] }, [...x.shape]);
}
