/**
 * ONNX export: writes a GraphSpec (src/engine/graphSpec.ts) as a standard
 * ONNX ModelProto — opset 13, IR version 7, float32 initializers in
 * little-endian raw_data named exactly as the GraphSpec parameters, one
 * float32 input [N, C, H, W] and one float32 output [N, K] — that
 * onnxruntime runs and importOnnx (src/onnx/importOnnx.ts) maps back.
 *
 * Phases:
 *   1. check the spec and infer every tensor's per-sample shape
 *      (InvalidArgumentError names the node at fault);
 *   2. emit one ONNX node per GraphSpec node, named after it.
 *
 * Ranks. The engine stores every tensor as [N, C, H, W] and treats [N, F]
 * as [N, F, 1, 1]; ONNX distinguishes the two. Tensors keep the rank their
 * op gives them in ONNX (GlobalAveragePool yields [N, C, 1, 1], exactly as
 * importOnnx infers it, so an imported GlobalAveragePool -> Flatten -> Gemm
 * exports unchanged). Where a GraphSpec feeds a [N, C, 1, 1] tensor to an
 * op that needs [N, F] (linear, the graph output, an add or concat mixing
 * both forms) a Flatten is inserted; importOnnx maps it back as an extra
 * `flatten` node. Spatial ops on an [N, F] tensor have no ONNX form the
 * importer accepts and raise UnsupportedError.
 *
 * Round trip. importOnnx(exportOnnx(spec)) equals spec (parameter names,
 * shapes, float32 values; ops; attributes) for specs importOnnx produced.
 * Two forms do not come back verbatim: a non-affine batch_norm gets
 * constant γ = 1 / β = 0 initializers (ONNX requires them), which the
 * importer registers as bn_weight / bn_bias parameters; and float
 * attributes and mul_const values pass through float32, from which the
 * importer recovers the shortest decimal.
 */

import onnxProto from 'onnx-proto';

import type { GraphSpec, NodeSpec, Pads4, ParamKind, ParamSpec } from '../engine/graphSpec.js';
import { InvalidArgumentError, NonFiniteError, UnsupportedError } from '../errors.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { OnnxDataType } from './onnxProto.js';

// onnx-proto is CommonJS (`module.exports = $root`): Node exposes it as the default export only.
const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;
type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
const AttributeType = onnx.AttributeProto.AttributeType;

/** The default-domain opset the exporter writes. */
export const EXPORT_OPSET = 13;
/** ONNX IR version 7 (ONNX 1.7), which every onnxruntime since 1.3 reads. */
export const EXPORT_IR_VERSION = 7;

export interface ExportOnnxOptions {
  /** ModelProto.producer_name; default "hnas". */
  producer?: string;
  /** ModelProto.doc_string. */
  docString?: string;
  /** The input and output batch dimension: a static size, or "dynamic" (dim_param "N", the default). */
  batch?: number | 'dynamic';
}

/**
 * Encodes a GraphSpec as ONNX ModelProto bytes.
 *
 * @throws InvalidArgumentError when the spec is malformed (unknown tensor or
 *   parameter, wrong parameter kind or shape, shapes that do not fit).
 * @throws UnsupportedError when the spec uses a form ONNX export lacks.
 * @throws NonFiniteError when a parameter or constant is not finite in float32.
 */
export function exportOnnx(spec: GraphSpec, options: ExportOnnxOptions = {}): Uint8Array {
  const batchDim = batchDimension(options.batch);
  const producer = options.producer ?? 'hnas';
  if (typeof producer !== 'string') throw new InvalidArgumentError('exportOnnx: producer must be a string');
  if (options.docString !== undefined && typeof options.docString !== 'string') {
    throw new InvalidArgumentError('exportOnnx: docString must be a string');
  }
  const checked = checkSpec(spec);
  const graph = emitGraph(spec, checked);
  const model = onnx.ModelProto.create({
    irVersion: EXPORT_IR_VERSION,
    producerName: producer,
    ...(options.docString !== undefined ? { docString: options.docString } : {}),
    opsetImport: [{ domain: '', version: EXPORT_OPSET }],
    graph: {
      name: 'hnas',
      node: graph.nodes,
      initializer: graph.initializers,
      input: [valueInfo(spec.input.name, [batchDim, ...spec.input.shape])],
      output: [valueInfo(spec.output.name, [batchDim, ...spec.output.shape])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Exports a GraphSpec to an ONNX file atomically: the bytes go to a
 * temporary file in the same folder, are flushed to disk, and the file is
 * renamed over `path`, so readers never see a partial model.
 */
export async function writeOnnxFile(spec: GraphSpec, path: string, options: ExportOnnxOptions = {}): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new InvalidArgumentError('writeOnnxFile: path must be a non-empty string');
  const bytes = exportOnnx(spec, options);
  await writeFileAtomic(path, bytes);
}

// ---------------------------------------------------------------------------
// Phase 1: checks and per-sample shapes
// ---------------------------------------------------------------------------

/** Per-sample shape: [C, H, W] (ONNX rank 4) or [F] (ONNX rank 2). */
type Shape = number[];

interface CheckedSpec {
  params: Map<string, ParamSpec>;
  /** Per-sample shape of every tensor, in its natural ONNX rank. */
  shapes: Map<string, Shape>;
  /** Tensor names, parameter names and node names: what generated names must avoid. */
  taken: Set<string>;
}

const PARAM_KINDS: ReadonlySet<ParamKind> = new Set([
  'conv_weight', 'conv_bias', 'linear_weight', 'linear_bias', 'bn_weight', 'bn_bias', 'bn_running_mean', 'bn_running_var',
]);

function bad(message: string): never {
  throw new InvalidArgumentError(`exportOnnx: ${message}`);
}

function label(node: NodeSpec): string {
  return `node "${node.name}" (${node.op})`;
}

function badNode(node: NodeSpec, reason: string): never {
  bad(`${label(node)}: ${reason}`);
}

function show(shape: readonly number[]): string {
  return `[${['N', ...shape].join(', ')}]`;
}

function isPosInt(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) > 0;
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function product(dims: readonly number[]): number {
  return dims.reduce((p, d) => p * d, 1);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** [C, 1, 1] or [C]: a tensor the engine and a Flatten treat as [N, C]. */
function isFlat(shape: Shape): boolean {
  return shape.length === 1 || (shape[1] === 1 && shape[2] === 1);
}

function flatShape(shape: Shape): Shape {
  return [product(shape)];
}

function batchDimension(batch: ExportOnnxOptions['batch']): number | string {
  if (batch === undefined || batch === 'dynamic') return 'N';
  if (!isPosInt(batch)) throw new InvalidArgumentError(`exportOnnx: batch must be a positive integer or "dynamic", got ${String(batch)}`);
  return batch;
}

function checkSpec(spec: GraphSpec): CheckedSpec {
  if (spec === null || typeof spec !== 'object') bad('the spec must be a GraphSpec object');
  const { input, output } = spec;
  if (!input || typeof input.name !== 'string' || input.name === '') bad('the graph input needs a name');
  if (!Array.isArray(input.shape) || input.shape.length !== 3 || !input.shape.every(isPosInt)) {
    bad(`graph input "${input.name}" must have a per-sample shape [C, H, W] of positive integers, got ${JSON.stringify(input.shape)}`);
  }
  if (!output || typeof output.name !== 'string' || output.name === '') bad('the graph output needs a name');
  if (!Array.isArray(output.shape) || output.shape.length !== 1 || !isPosInt(output.shape[0])) {
    bad(`graph output "${output.name}" must have a per-sample shape [K], got ${JSON.stringify(output.shape)}`);
  }
  if (!Array.isArray(spec.params) || !Array.isArray(spec.nodes)) bad('params and nodes must be arrays');

  const taken = new Set<string>([input.name]);
  const params = new Map<string, ParamSpec>();
  for (const p of spec.params) {
    if (!p || typeof p.name !== 'string' || p.name === '') bad('a parameter has no name');
    if (params.has(p.name)) bad(`parameter "${p.name}" is defined twice`);
    if (p.name === input.name) bad(`parameter "${p.name}" has the graph input's name`);
    if (!PARAM_KINDS.has(p.kind)) bad(`parameter "${p.name}" has unknown kind "${String(p.kind)}"`);
    if (!Array.isArray(p.shape) || p.shape.length === 0 || !p.shape.every(isPosInt)) {
      bad(`parameter "${p.name}" has invalid shape ${JSON.stringify(p.shape)}`);
    }
    if (!(p.data instanceof Float32Array || p.data instanceof Float64Array)) {
      bad(`parameter "${p.name}" data must be a Float32Array or Float64Array`);
    }
    if (p.data.length !== product(p.shape)) {
      bad(`parameter "${p.name}" has ${p.data.length} values but its shape [${p.shape.join(', ')}] needs ${product(p.shape)}`);
    }
    params.set(p.name, p);
    taken.add(p.name);
  }

  const shapes = new Map<string, Shape>([[input.name, [...input.shape]]]);
  const nodeNames = new Set<string>();
  for (const node of spec.nodes) {
    if (!node || typeof node.name !== 'string' || node.name === '') bad('a node has no name');
    if (nodeNames.has(node.name)) bad(`node name "${node.name}" is used twice`);
    nodeNames.add(node.name);
    taken.add(node.name);
    if (!Array.isArray(node.inputs) || !Array.isArray(node.outputs)) badNode(node, 'inputs and outputs must be arrays');
    if (node.outputs.length !== 1 || typeof node.outputs[0] !== 'string' || node.outputs[0] === '') {
      badNode(node, `expected exactly one named output, got ${JSON.stringify(node.outputs)}`);
    }
    const xs = node.inputs.map((name) => {
      const shape = shapes.get(name);
      if (!shape) badNode(node, `input "${name}" is not the graph input or the output of an earlier node`);
      return shape;
    });
    const out = node.outputs[0];
    if (shapes.has(out)) badNode(node, `output "${out}" is already defined`);
    if (params.has(out)) badNode(node, `output "${out}" has a parameter's name`);
    shapes.set(out, inferShape(node, xs, params));
    for (const name of node.inputs) taken.add(name);
    taken.add(out);
  }

  const final = shapes.get(output.name);
  if (output.name === input.name) bad(`graph output "${output.name}" is the graph input; the graph computes nothing`);
  if (!final) bad(`graph output "${output.name}" is not produced by any node`);
  if (!isFlat(final) || product(final) !== output.shape[0]) {
    bad(`graph output "${output.name}" is declared as ${show(output.shape)} but the graph computes ${show(final)}`);
  }
  return { params, shapes, taken };
}

function requireInputs(node: NodeSpec, xs: Shape[], min: number, max = min): void {
  if (xs.length < min || xs.length > max) {
    badNode(node, `expected ${min === max ? min : `${min} or more`} inputs, got ${xs.length}`);
  }
}

/** An NCHW input: an [N, F] tensor cannot feed a spatial op in the ONNX forms importOnnx reads. */
function requireImage(node: NodeSpec, x: Shape): [number, number, number] {
  if (x.length !== 3) {
    throw new UnsupportedError(
      `exportOnnx: ${label(node)}: input "${node.inputs[0]}" is ${show(x)}; a spatial op on an [N, F] tensor has no ONNX export`,
    );
  }
  return [x[0], x[1], x[2]];
}

function param(node: NodeSpec, params: Map<string, ParamSpec>, name: unknown, kind: ParamKind, shape?: number[]): ParamSpec {
  if (typeof name !== 'string') badNode(node, `the ${kind} parameter reference must be a string`);
  const p = params.get(name);
  if (!p) badNode(node, `parameter "${name}" is not defined`);
  if (p.kind !== kind) badNode(node, `parameter "${name}" is a ${p.kind}, expected a ${kind}`);
  if (shape && !sameShape(p.shape, shape)) badNode(node, `parameter "${name}" has shape [${p.shape.join(', ')}], expected [${shape.join(', ')}]`);
  return p;
}

function pair(node: NodeSpec, what: string, v: unknown, min: number): [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => Number.isSafeInteger(x) && x >= min)) {
    badNode(node, `${what} must be two integers >= ${min}, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1]];
}

function pads4(node: NodeSpec, v: unknown): Pads4 {
  if (!Array.isArray(v) || v.length !== 4 || !v.every(isCount)) {
    badNode(node, `pads must be four non-negative integers, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1], v[2], v[3]];
}

function windowOut(node: NodeSpec, size: number, padBegin: number, padEnd: number, kernel: number, stride: number, dilation: number): number {
  const out = Math.floor((size + padBegin + padEnd - (dilation * (kernel - 1) + 1)) / stride) + 1;
  if (out < 1) badNode(node, `kernel ${kernel} (dilation ${dilation}) does not fit input size ${size} with pads ${padBegin}+${padEnd}`);
  return out;
}

function finite(node: NodeSpec, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) badNode(node, `${what} must be a finite number, got ${String(v)}`);
  return v;
}

function inferShape(node: NodeSpec, xs: Shape[], params: Map<string, ParamSpec>): Shape {
  switch (node.op) {
    case 'conv2d': {
      requireInputs(node, xs, 1);
      const [c, h, w] = requireImage(node, xs[0]);
      const weight = param(node, params, node.weight, 'conv_weight');
      if (weight.shape.length !== 4) badNode(node, `weight "${weight.name}" must be [Cout, Cin/groups, kh, kw], got [${weight.shape.join(', ')}]`);
      const [m, cPerGroup, kh, kw] = weight.shape;
      if (!isPosInt(node.groups)) badNode(node, `groups must be a positive integer, got ${String(node.groups)}`);
      if (c !== cPerGroup * node.groups || m % node.groups !== 0) {
        badNode(node, `weight "${weight.name}" [${weight.shape.join(', ')}] with groups ${node.groups} does not fit ${c} input channels`);
      }
      if (node.bias !== undefined) param(node, params, node.bias, 'conv_bias', [m]);
      const stride = pair(node, 'stride', node.stride, 1);
      const dilation = pair(node, 'dilation', node.dilation, 1);
      const pads = pads4(node, node.pads);
      return [m, windowOut(node, h, pads[0], pads[2], kh, stride[0], dilation[0]), windowOut(node, w, pads[1], pads[3], kw, stride[1], dilation[1])];
    }
    case 'batch_norm': {
      requireInputs(node, xs, 1);
      const c = xs[0][0];
      if (node.weight !== undefined) param(node, params, node.weight, 'bn_weight', [c]);
      if (node.bias !== undefined) param(node, params, node.bias, 'bn_bias', [c]);
      param(node, params, node.runningMean, 'bn_running_mean', [c]);
      param(node, params, node.runningVar, 'bn_running_var', [c]);
      if (finite(node, 'eps', node.eps) < 0) badNode(node, `eps must be non-negative, got ${node.eps}`);
      finite(node, 'momentum', node.momentum);
      return [...xs[0]];
    }
    case 'relu':
    case 'identity':
    case 'zeros_like':
      requireInputs(node, xs, 1);
      return [...xs[0]];
    case 'mul_const':
      requireInputs(node, xs, 1);
      finite(node, 'value', node.value);
      return [...xs[0]];
    case 'avg_pool2d':
    case 'max_pool2d': {
      requireInputs(node, xs, 1);
      const [c, h, w] = requireImage(node, xs[0]);
      const kernel = pair(node, 'kernel', node.kernel, 1);
      const stride = pair(node, 'stride', node.stride, 1);
      const pads = pads4(node, node.pads);
      const dilation = node.op === 'max_pool2d' ? pair(node, 'dilation', node.dilation, 1) : [1, 1];
      if (node.op === 'avg_pool2d' && typeof node.countIncludePad !== 'boolean') badNode(node, 'countIncludePad must be a boolean');
      if (pads[0] >= kernel[0] || pads[2] >= kernel[0] || pads[1] >= kernel[1] || pads[3] >= kernel[1]) {
        badNode(node, `pads [${pads.join(', ')}] must be smaller than the kernel [${kernel.join(', ')}]`);
      }
      return [c, windowOut(node, h, pads[0], pads[2], kernel[0], stride[0], dilation[0]), windowOut(node, w, pads[1], pads[3], kernel[1], stride[1], dilation[1])];
    }
    case 'global_avg_pool': {
      requireInputs(node, xs, 1);
      const [c] = requireImage(node, xs[0]);
      return [c, 1, 1];
    }
    case 'linear': {
      requireInputs(node, xs, 1);
      if (!isFlat(xs[0])) badNode(node, `input "${node.inputs[0]}" is ${show(xs[0])}; a linear layer needs [N, F] (flatten first)`);
      const features = product(xs[0]);
      const weight = param(node, params, node.weight, 'linear_weight');
      if (weight.shape.length !== 2 || weight.shape[1] !== features) {
        badNode(node, `weight "${weight.name}" [${weight.shape.join(', ')}] does not fit ${features} input features`);
      }
      if (node.bias !== undefined) param(node, params, node.bias, 'linear_bias', [weight.shape[0]]);
      return [weight.shape[0]];
    }
    case 'add': {
      requireInputs(node, xs, 2);
      const [a, b] = xs;
      if (sameShape(a, b)) return [...a];
      if (isFlat(a) && isFlat(b) && product(a) === product(b)) return flatShape(a);
      return badNode(node, `operands "${node.inputs[0]}" ${show(a)} and "${node.inputs[1]}" ${show(b)} differ`);
    }
    case 'concat': {
      requireInputs(node, xs, 1, Infinity);
      if (node.axis !== 1) badNode(node, `only axis 1 is supported, got ${String(node.axis)}`);
      const channels = xs.reduce((s, x) => s + x[0], 0);
      if (xs.every((x) => x.length === 3 && x[1] === xs[0][1] && x[2] === xs[0][2])) return [channels, xs[0][1], xs[0][2]];
      if (xs.every(isFlat)) return [channels];
      return badNode(node, `inputs ${xs.map(show).join(', ')} differ outside the channel axis`);
    }
    case 'slice': {
      requireInputs(node, xs, 1);
      const [c, h, w] = requireImage(node, xs[0]);
      const starts = pair(node, 'starts', node.starts, 0);
      const ends = pair(node, 'ends', node.ends, 1);
      const steps = pair(node, 'steps', node.steps, 1);
      const extent = (i: number, size: number): number => {
        const end = Math.min(ends[i], size);
        if (starts[i] >= end) badNode(node, `the slice [${starts[i]}, ${ends[i]}) of an axis of size ${size} is empty`);
        return Math.ceil((end - starts[i]) / steps[i]);
      };
      return [c, extent(0, h), extent(1, w)];
    }
    case 'flatten':
      requireInputs(node, xs, 1);
      return flatShape(xs[0]);
    default:
      return bad(`node "${(node as { name: string }).name}": unknown op "${String((node as { op: unknown }).op)}"`);
  }
}

// ---------------------------------------------------------------------------
// Phase 2: emission
// ---------------------------------------------------------------------------

interface Emitted {
  nodes: NodeProto[];
  initializers: TensorProto[];
}

class GraphWriter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly #taken: Set<string>;
  readonly #shapes: Map<string, Shape>;
  readonly #params: Map<string, ParamSpec>;
  /** GraphSpec tensor -> ONNX name of its natural-rank form (differs only for a renamed graph output). */
  readonly #ref = new Map<string, string>();
  /** GraphSpec tensor -> ONNX name of its [N, F] form, once a Flatten made one. */
  readonly #flat = new Map<string, string>();

  constructor(checked: CheckedSpec) {
    this.#taken = new Set(checked.taken);
    this.#shapes = checked.shapes;
    this.#params = checked.params;
  }

  paramShape(name: string): number[] {
    return (this.#params.get(name) as ParamSpec).shape;
  }

  /** A name no tensor, parameter or node uses yet. */
  fresh(base: string): string {
    let name = base;
    for (let k = 2; this.#taken.has(name); k++) name = `${base}_${k}`;
    this.#taken.add(name);
    return name;
  }

  shape(tensor: string): Shape {
    return this.#shapes.get(tensor) as Shape;
  }

  /** The ONNX name of a tensor at its natural rank. */
  ref(tensor: string): string {
    return this.#ref.get(tensor) ?? tensor;
  }

  /** Writes `tensor` under another ONNX name; `alias` becomes its [N, F] form (the graph output). */
  renameFlat(tensor: string, alias: string): void {
    this.#ref.set(tensor, this.fresh(`${tensor}.nchw`));
    this.#flat.set(tensor, alias);
  }

  /** The [N, F] form of a tensor, inserting a Flatten the first time a [N, C, 1, 1] tensor needs one. */
  flat(tensor: string): string {
    if (this.shape(tensor).length === 1) return this.ref(tensor);
    const known = this.#flat.get(tensor);
    if (known) return known;
    const out = this.fresh(`${tensor}.flat`);
    this.node(this.fresh(`${tensor}/Flatten`), 'Flatten', [this.ref(tensor)], out, [intAttr('axis', 1)]);
    this.#flat.set(tensor, out);
    return out;
  }

  node(name: string, opType: string, input: string[], output: string, attribute: AttributeProto[] = []): void {
    this.nodes.push({ name, opType, domain: '', input, output: [output], attribute });
  }

  initializer(t: TensorProto): string {
    this.initializers.push(t);
    return t.name as string;
  }
}

function emitGraph(spec: GraphSpec, checked: CheckedSpec): Emitted {
  const g = new GraphWriter(checked);
  for (const p of spec.params) g.initializer(floatTensor(p.name, p.shape, p.data, `parameter "${p.name}"`));
  // A graph output computed as [N, K, 1, 1] is written under another name and flattened into the output.
  const outputProducer = spec.nodes.find((n) => n.outputs[0] === spec.output.name);
  if (g.shape(spec.output.name).length === 3) g.renameFlat(spec.output.name, spec.output.name);

  for (const node of spec.nodes) {
    emitNode(g, node);
    if (node === outputProducer && g.ref(spec.output.name) !== spec.output.name) {
      g.node(g.fresh(`${node.name}/Flatten`), 'Flatten', [g.ref(spec.output.name)], spec.output.name, [intAttr('axis', 1)]);
    }
  }
  return { nodes: g.nodes, initializers: g.initializers };
}

function emitNode(g: GraphWriter, node: NodeSpec): void {
  const out = g.ref(node.outputs[0]);
  const x = (i = 0): string => g.ref(node.inputs[i]);
  switch (node.op) {
    case 'conv2d': {
      const [, , kh, kw] = g.paramShape(node.weight);
      g.node(node.name, 'Conv', [x(), node.weight, ...(node.bias !== undefined ? [node.bias] : [])], out, [
        intsAttr('dilations', node.dilation),
        intAttr('group', node.groups),
        intsAttr('kernel_shape', [kh, kw]),
        intsAttr('pads', node.pads),
        intsAttr('strides', node.stride),
      ]);
      return;
    }
    case 'batch_norm': {
      // ONNX needs γ and β: a non-affine BN gets constant ones and zeros (see the file comment).
      const c = g.shape(node.inputs[0])[0];
      const scale = node.weight ?? g.initializer(constantTensor(g.fresh(`${node.name}.const_scale`), c, 1, 'scale'));
      const bias = node.bias ?? g.initializer(constantTensor(g.fresh(`${node.name}.const_bias`), c, 0, 'B'));
      g.node(node.name, 'BatchNormalization', [x(), scale, bias, node.runningMean, node.runningVar], out, [
        floatAttr('epsilon', node.eps),
        // ONNX: running = m·running + (1 − m)·batch; GraphSpec keeps PyTorch's momentum = 1 − m.
        floatAttr('momentum', oneMinusDecimal(node.momentum)),
      ]);
      return;
    }
    case 'relu':
      g.node(node.name, 'Relu', [x()], out);
      return;
    case 'avg_pool2d':
      g.node(node.name, 'AveragePool', [x()], out, [
        intAttr('count_include_pad', node.countIncludePad ? 1 : 0),
        intsAttr('kernel_shape', node.kernel),
        intsAttr('pads', node.pads),
        intsAttr('strides', node.stride),
      ]);
      return;
    case 'max_pool2d':
      g.node(node.name, 'MaxPool', [x()], out, [
        intsAttr('dilations', node.dilation),
        intsAttr('kernel_shape', node.kernel),
        intsAttr('pads', node.pads),
        intsAttr('strides', node.stride),
      ]);
      return;
    case 'global_avg_pool':
      // [N, C, 1, 1], as importOnnx infers it; consumers that need [N, C] get a Flatten (GraphWriter.flat).
      g.node(node.name, 'GlobalAveragePool', [x()], out);
      return;
    case 'linear': {
      const input = g.flat(node.inputs[0]);
      g.node(node.name, 'Gemm', [input, node.weight, ...(node.bias !== undefined ? [node.bias] : [])], out, [
        floatAttr('alpha', 1),
        floatAttr('beta', 1),
        intAttr('transB', 1),
      ]);
      return;
    }
    case 'add': {
      const flat = g.shape(node.outputs[0]).length === 1;
      const operands = node.inputs.map((t) => (flat ? g.flat(t) : g.ref(t)));
      g.node(node.name, 'Add', operands, out);
      return;
    }
    case 'concat': {
      const flat = g.shape(node.outputs[0]).length === 1;
      const operands = node.inputs.map((t) => (flat ? g.flat(t) : g.ref(t)));
      g.node(node.name, 'Concat', operands, out, [intAttr('axis', 1)]);
      return;
    }
    case 'slice': {
      const bounds = (what: string, values: number[]) => g.initializer(int64Tensor(g.fresh(`${node.name}.${what}`), values));
      g.node(node.name, 'Slice', [
        x(),
        bounds('starts', node.starts),
        bounds('ends', node.ends),
        bounds('axes', [2, 3]),
        bounds('steps', node.steps),
      ], out);
      return;
    }
    case 'mul_const': {
      const value = g.initializer(floatTensor(g.fresh(`${node.name}.value`), [], [node.value], `${label(node)} value`));
      g.node(node.name, 'Mul', [x(), value], out);
      return;
    }
    case 'flatten':
      g.node(node.name, 'Flatten', [x()], out, [intAttr('axis', 1)]);
      return;
    case 'zeros_like': {
      const shape = g.fresh(`${node.name}.shape`);
      g.node(g.fresh(`${node.name}/Shape`), 'Shape', [x()], shape);
      g.node(node.name, 'ConstantOfShape', [shape], out, [tensorAttr('value', floatTensor('', [1], [0], 'zero'))]);
      return;
    }
    case 'identity':
      g.node(node.name, 'Identity', [x()], out);
      return;
  }
}

// ---------------------------------------------------------------------------
// Protobuf builders
// ---------------------------------------------------------------------------

function intAttr(name: string, value: number): AttributeProto {
  return { name, type: AttributeType.INT, i: value };
}

function intsAttr(name: string, value: readonly number[]): AttributeProto {
  return { name, type: AttributeType.INTS, ints: [...value] };
}

function floatAttr(name: string, value: number): AttributeProto {
  return { name, type: AttributeType.FLOAT, f: value };
}

function tensorAttr(name: string, value: TensorProto): AttributeProto {
  return { name, type: AttributeType.TENSOR, t: value };
}

function valueInfo(name: string, dims: (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: OnnxDataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A FLOAT tensor in little-endian raw_data; values are rounded to float32 and must stay finite. */
function floatTensor(name: string, dims: number[], values: ArrayLike<number>, what: string): TensorProto {
  const f32 = Float32Array.from(values);
  for (let i = 0; i < f32.length; i++) {
    if (!Number.isFinite(f32[i])) {
      const why = Number.isFinite(values[i]) ? ' (it overflows float32)' : '';
      throw new NonFiniteError(`exportOnnx: ${what} has value ${values[i]} at index ${i}${why}`);
    }
  }
  let rawData: Uint8Array;
  if (HOST_IS_LITTLE_ENDIAN) {
    rawData = new Uint8Array(f32.buffer);
  } else {
    rawData = new Uint8Array(f32.length * 4);
    const view = new DataView(rawData.buffer);
    f32.forEach((v, i) => view.setFloat32(i * 4, v, true));
  }
  return { ...(name ? { name } : {}), dims, dataType: OnnxDataType.FLOAT, rawData };
}

function constantTensor(name: string, channels: number, value: number, role: string): TensorProto {
  const t = floatTensor(name, [channels], new Float32Array(channels).fill(value), name);
  return { ...t, docString: `hnas: constant BatchNormalization ${role} of a non-affine batch_norm (not a parameter)` };
}

function int64Tensor(name: string, values: readonly number[]): TensorProto {
  const rawData = new Uint8Array(values.length * 8);
  const view = new DataView(rawData.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return { name, dims: [values.length], dataType: OnnxDataType.INT64, rawData };
}

/**
 * 1 − d without binary noise for a short decimal d (0.1 -> 0.9, not
 * 0.9000000000000000222): ONNX stores the momentum as float32 and
 * importOnnx recovers the shortest decimal, so the torch value returns.
 */
function oneMinusDecimal(d: number): number {
  const [mantissa, exponent] = d.toExponential().split('e');
  const decimals = (mantissa.split('.')[1] ?? '').length - Number(exponent);
  return Number((1 - d).toFixed(Math.min(Math.max(decimals, 0), 100)));
}
