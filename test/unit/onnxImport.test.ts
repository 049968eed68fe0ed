import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';

import type { GraphSpec, NodeSpec, OpName, ParamKind } from '../../src/engine/graphSpec.js';
import {
  FileNotFoundError,
  HnasError,
  InvalidArgumentError,
  OnnxFormatError,
  OnnxUnsupportedError,
} from '../../src/errors.js';
import { importOnnx, readOnnxFile } from '../../src/onnx/importOnnx.js';
import {
  attr,
  buildModel,
  constantNode,
  DataType,
  floats,
  INT64_MAX,
  int64s,
  type ModelSpec,
  type NodeSpec as OnnxNodeSpec,
} from '../helpers/onnxBuilder.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixturesDir = resolve(here, '../fixtures/nb201');
const FIXTURES = ['13714_seed0', '376_seed0', '7581_seed0', '1835_seed0', '4948_seed0', '4948_seed1', '9930_seed0'];
const SOURCE = 'test.onnx';

interface ExpectedJson {
  num_params: number;
  num_classes: number;
  onnx: { op_counts: Record<string, number>; initializers: { name: string; shape: number[] }[] };
  per_layer: { name: string; shape: number[] }[];
}

const ONNX_TO_SPEC_OP: Record<string, OpName> = {
  Conv: 'conv2d',
  BatchNormalization: 'batch_norm',
  Relu: 'relu',
  AveragePool: 'avg_pool2d',
  GlobalAveragePool: 'global_avg_pool',
  Flatten: 'flatten',
  Gemm: 'linear',
  Add: 'add',
};

function fixturePath(folder: string, file: string): string {
  return resolve(fixturesDir, folder, file);
}

async function loadExpected(folder: string): Promise<ExpectedJson> {
  return JSON.parse(await readFile(fixturePath(folder, 'expected.json'), 'utf8')) as ExpectedJson;
}

function importSpec(spec: ModelSpec): GraphSpec {
  return importOnnx(buildModel(spec), { source: SOURCE });
}

/** Imports and returns the thrown error (failing the test when nothing is thrown). */
function importError(bytes: Uint8Array, source: string = SOURCE): HnasError {
  try {
    importOnnx(bytes, { source });
  } catch (e) {
    expect(e).toBeInstanceOf(HnasError);
    return e as HnasError;
  }
  throw new Error('expected importOnnx to throw');
}

function expectFormatError(spec: ModelSpec, ...fragments: string[]): OnnxFormatError {
  const err = importError(buildModel(spec));
  expect(err).toBeInstanceOf(OnnxFormatError);
  expect(err.code).toBe('ERR_HNAS_ONNX_INVALID');
  expect(err.message.startsWith(`${SOURCE}: `)).toBe(true);
  for (const f of fragments) expect(err.message).toContain(f);
  return err;
}

function expectUnsupported(spec: ModelSpec, ...fragments: string[]): OnnxUnsupportedError {
  const err = importError(buildModel(spec));
  expect(err).toBeInstanceOf(OnnxUnsupportedError);
  expect(err.code).toBe('ERR_HNAS_ONNX_UNSUPPORTED');
  expect(err.message.startsWith(`${SOURCE}: `)).toBe(true);
  for (const f of fragments) expect(err.message).toContain(f);
  return err;
}

function nodeOf<K extends OpName>(g: GraphSpec, op: K): Extract<NodeSpec, { op: K }> {
  const node = g.nodes.find((n) => n.op === op);
  if (!node) throw new Error(`no ${op} node in ${g.nodes.map((n) => n.op).join(', ')}`);
  return node as Extract<NodeSpec, { op: K }>;
}

function paramOf(g: GraphSpec, name: string) {
  const p = g.params.find((q) => q.name === name);
  if (!p) throw new Error(`no param ${name}`);
  return p;
}

/** Every node reads only the graph input or earlier outputs, and every param it names exists. */
function expectWellFormed(g: GraphSpec): void {
  const defined = new Set([g.input.name]);
  const params = new Set(g.params.map((p) => p.name));
  expect(params.size).toBe(g.params.length);
  expect(new Set(g.nodes.map((n) => n.name)).size).toBe(g.nodes.length);
  for (const n of g.nodes) {
    for (const i of n.inputs) expect(defined.has(i), `${n.name} reads ${i} before it is defined`).toBe(true);
    for (const key of ['weight', 'bias', 'runningMean', 'runningVar'] as const) {
      const ref = (n as Partial<Record<typeof key, string>>)[key];
      if (ref !== undefined) expect(params.has(ref), `${n.name} names missing param ${ref}`).toBe(true);
    }
    for (const o of n.outputs) defined.add(o);
  }
  expect(defined.has(g.output.name)).toBe(true);
  for (const p of g.params) expect(p.data.length).toBe(p.shape.reduce((a, b) => a * b, 1));
}

/** A conv weight [out, in, k, k] with deterministic values. */
function convWeight(name: string, out: number, inC: number, k: number): ReturnType<typeof floats> {
  return floats(name, [out, inC, k, k]);
}

const flattenTo = (x: string, out = 'output'): OnnxNodeSpec => ({ op: 'Flatten', inputs: [x], outputs: [out], attrs: { axis: attr.int(1) } });

// ---------------------------------------------------------------------------
// Real PyTorch exports
// ---------------------------------------------------------------------------

describe.each(FIXTURES)('NAS-Bench-201 fixture %s', (folder) => {
  const load = async () => ({ graph: await readOnnxFile(fixturePath(folder, 'model.onnx')), expected: await loadExpected(folder) });

  it('maps input, output and every op', async () => {
    const { graph, expected } = await load();
    expect(graph.input).toEqual({ name: 'input', shape: [3, 32, 32] });
    expect(graph.output).toEqual({ name: 'logits', shape: [expected.num_classes] });
    const counts: Record<string, number> = {};
    for (const n of graph.nodes) counts[n.op] = (counts[n.op] ?? 0) + 1;
    const expectedCounts: Record<string, number> = {};
    for (const [op, count] of Object.entries(expected.onnx.op_counts)) {
      expect(ONNX_TO_SPEC_OP[op], `unexpected ONNX op ${op} in the fixture`).toBeDefined();
      expectedCounts[ONNX_TO_SPEC_OP[op]] = count;
    }
    expect(counts).toEqual(expectedCounts);
    expectWellFormed(graph);
  });

  it('keeps every initializer as a parameter with its shape and kind', async () => {
    const { graph, expected } = await load();
    const shapes = Object.fromEntries(graph.params.map((p) => [p.name, p.shape]));
    expect(shapes).toEqual(Object.fromEntries(expected.onnx.initializers.map((i) => [i.name, i.shape])));
    const kindFor = (name: string): ParamKind => {
      if (name.startsWith('classifier.')) return name.endsWith('weight') ? 'linear_weight' : 'linear_bias';
      if (name.endsWith('conv.weight')) return 'conv_weight';
      if (name.endsWith('running_mean')) return 'bn_running_mean';
      if (name.endsWith('running_var')) return 'bn_running_var';
      return name.endsWith('bn.weight') ? 'bn_weight' : 'bn_bias';
    };
    for (const p of graph.params) {
      expect(p.kind, p.name).toBe(kindFor(p.name));
      expect(p.data).toBeInstanceOf(Float32Array);
    }
    for (const layer of expected.per_layer) expect(paramOf(graph, layer.name).shape).toEqual(layer.shape);
  });

  it('counts the same trainable parameters as PyTorch', async () => {
    const { graph, expected } = await load();
    const trainable = graph.params.filter((p) => p.kind !== 'bn_running_mean' && p.kind !== 'bn_running_var');
    expect(trainable.reduce((s, p) => s + p.data.length, 0)).toBe(expected.num_params);
  });

  it('recovers PyTorch BatchNorm eps and momentum', async () => {
    const { graph } = await load();
    for (const n of graph.nodes) {
      if (n.op !== 'batch_norm') continue;
      expect(n.eps).toBe(1e-5);
      expect(n.momentum).toBe(0.1);
    }
  });
});

describe('fixture parameter data', () => {
  it('decodes raw_data exactly (little-endian float32)', async () => {
    const bytes = await readFile(fixturePath('1835_seed0', 'model.onnx'));
    const graph = importOnnx(bytes);
    const proto = onnxProto.onnx.ModelProto.decode(bytes);
    const inits = proto.graph?.initializer ?? [];
    expect(inits.length).toBe(33);
    for (const init of inits) {
      const raw = init.rawData ?? new Uint8Array(0);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const expected = Float32Array.from({ length: raw.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
      expect(paramOf(graph, init.name ?? '').data).toEqual(expected);
    }
  });

  it('gives the same result from bytes and from the file', async () => {
    const path = fixturePath('4948_seed0', 'model.onnx');
    expect(importOnnx(await readFile(path))).toEqual(await readOnnxFile(path));
  });
});

// ---------------------------------------------------------------------------
// Unreadable files and corrupted bytes
// ---------------------------------------------------------------------------

describe('readOnnxFile failures', () => {
  it('reports a missing file as FileNotFoundError', async () => {
    const path = fixturePath('1835_seed0', 'no-such-model.onnx');
    const err = await readOnnxFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileNotFoundError);
    expect((err as HnasError).code).toBe('ERR_HNAS_FILE_NOT_FOUND');
    expect((err as Error).message).toContain(path);
  });

  it('reports a directory as FileNotFoundError (unreadable)', async () => {
    const err = await readOnnxFile(fixturesDir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileNotFoundError);
    expect((err as HnasError).code).toBe('ERR_HNAS_FILE_NOT_FOUND');
  });

  it('names the file in import errors', async () => {
    const err = await readOnnxFile(fixturePath('1835_seed0', 'expected.json')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnnxFormatError);
    expect((err as Error).message).toContain(fixturePath('1835_seed0', 'expected.json'));
  });
});

/** Small deterministic PRNG (mulberry32) so fuzz cases are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('corrupted bytes', () => {
  const load = () => readFile(fixturePath('1835_seed0', 'model.onnx'));

  it('rejects a file truncated at any of many lengths', async () => {
    const bytes = await load();
    const n = bytes.length;
    const cuts = [0, 1, 2, 10, 100, 1000, 5000, n >> 2, n >> 1, (3 * n) >> 2, n - 1000, n - 100, n - 10, n - 2, n - 1];
    for (let k = n - 40; k < n; k++) cuts.push(k);
    for (const cut of cuts) {
      const err = importError(bytes.subarray(0, cut));
      expect(err, `cut at ${cut}`).toBeInstanceOf(OnnxFormatError);
      expect(err.code).toBe('ERR_HNAS_ONNX_INVALID');
      expect(err.message).toContain(SOURCE);
    }
  });

  it('rejects a file cut right after the graph (opset_import lost)', async () => {
    const proto = onnxProto.onnx.ModelProto.decode(await load());
    proto.opsetImport = [];
    const err = importError(onnxProto.onnx.ModelProto.encode(proto).finish());
    expect(err).toBeInstanceOf(OnnxFormatError);
    expect(err.message).toContain('opset_import');
  });

  it('rejects random bytes', () => {
    const rand = prng(7);
    for (const size of [1, 7, 64, 1000, 100_000]) {
      const bytes = Uint8Array.from({ length: size }, () => Math.floor(rand() * 256));
      const err = importError(bytes);
      expect(err, `${size} random bytes`).toBeInstanceOf(OnnxFormatError);
      expect(err.code).toBe('ERR_HNAS_ONNX_INVALID');
    }
  });

  /** The fixture with one input reference of the second cell's output overwritten at its cell digit. */
  async function withCorruptedReference(digit: string): Promise<Uint8Array> {
    const bytes = new Uint8Array(await load());
    // A cell's output name occurs first as its Add's output, then as an input of the next cell.
    const name = Buffer.from('/cells.2/Add_output_0');
    const first = Buffer.from(bytes).indexOf(name);
    const second = Buffer.from(bytes).indexOf(name, first + 1);
    expect(second).toBeGreaterThan(first);
    bytes[second + '/cells.'.length] = digit.charCodeAt(0);
    return bytes;
  }

  it('rejects a corrupted tensor reference in the middle of the node list', async () => {
    const err = importError(await withCorruptedReference('R'));
    expect(err).toBeInstanceOf(OnnxFormatError);
    expect(err.message).toMatch(/node "[^"]+" \(Add\): input "\/cells\.R\/Add_output_0" is not defined/);
  });

  it('rejects a reference corrupted into a cycle', async () => {
    // cells.3 depends on cells.2, so cells.2 reading cells.3's output closes a loop.
    const err = importError(await withCorruptedReference('3'));
    expect(err).toBeInstanceOf(OnnxFormatError);
    expect(err.message).toMatch(/node "\/cells\.[23]\/[^"]+" \(\w+\): the graph has a cycle through this node/);
  });

  it('rejects bytes flipped in the middle of the node section', async () => {
    const bytes = await load();
    const proto = onnxProto.onnx.ModelProto.decode(bytes);
    const nodeSection = onnxProto.onnx.GraphProto.encode({ node: proto.graph?.node ?? [] }).finish().length;
    for (const at of [0.3, 0.5, 0.7]) {
      const corrupted = new Uint8Array(bytes);
      const start = Math.floor(nodeSection * at);
      for (let i = start; i < start + 64; i++) corrupted[i] ^= 0xff;
      const err = importError(corrupted);
      expect(err, `flipped at ${start}`).toBeInstanceOf(OnnxFormatError);
    }
  });

  it('rejects an initializer whose header no longer matches its bytes', async () => {
    const proto = onnxProto.onnx.ModelProto.decode(await load());
    const init = proto.graph?.initializer?.[0];
    if (!init) throw new Error('fixture has no initializer');
    init.dims = [16, 3, 3, 4];
    const err = importError(onnxProto.onnx.ModelProto.encode(proto).finish());
    expect(err).toBeInstanceOf(OnnxFormatError);
    expect(err.message).toContain(`initializer "${init.name}" has 1728 bytes of raw_data`);
  });

  it('throws only typed ONNX errors for single-byte corruption anywhere', async () => {
    const bytes = await load();
    const rand = prng(42);
    let rejected = 0;
    for (let k = 0; k < 300; k++) {
      const corrupted = new Uint8Array(bytes);
      // Bias towards the structural head of the file, where flips change meaning.
      const pos = Math.floor(rand() * (k % 2 === 0 ? 10_000 : bytes.length));
      corrupted[pos] ^= 1 << Math.floor(rand() * 8);
      try {
        const g = importOnnx(corrupted);
        expectWellFormed(g);
      } catch (e) {
        // Flips inside float data or names are undetectable (ONNX has no checksum); anything
        // else must surface as a typed ONNX error, never a TypeError or RangeError.
        expect(e instanceof OnnxFormatError || e instanceof OnnxUnsupportedError, String(e)).toBe(true);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });

  it('rejects a model without a graph', () => {
    const bytes = onnxProto.onnx.ModelProto.encode({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }] }).finish();
    const err = importError(bytes);
    expect(err).toBeInstanceOf(OnnxFormatError);
    expect(err.message).toBe(`${SOURCE}: not a valid ONNX model: the model has no graph`);
  });

  it('rejects a non-byte argument with InvalidArgumentError', () => {
    expect(() => importOnnx('model.onnx' as unknown as Uint8Array)).toThrow(InvalidArgumentError);
  });

  it('leaves the source prefix out when none is given', () => {
    try {
      importOnnx(new Uint8Array(0));
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe('not a valid ONNX model: ir_version is missing');
    }
  });
});

// ---------------------------------------------------------------------------
// Structurally invalid graphs (OnnxFormatError)
// ---------------------------------------------------------------------------

describe('invalid graphs', () => {
  it('rejects a dangling tensor name', () => {
    expectFormatError({
      nodes: [{ op: 'Relu', name: 'act', inputs: ['nowhere'], outputs: ['r'] }, flattenTo('r')],
    }, 'node "act" (Relu): input "nowhere" is not defined');
  });

  it('rejects a cycle', () => {
    expectFormatError({
      nodes: [
        { op: 'Add', name: 'sum', inputs: ['input', 'loop'], outputs: ['s'] },
        { op: 'Relu', name: 'back', inputs: ['s'], outputs: ['loop'] },
        flattenTo('s'),
      ],
    }, 'has a cycle');
  });

  it('rejects two nodes writing the same tensor', () => {
    expectFormatError({
      nodes: [
        { op: 'Relu', name: 'a', inputs: ['input'], outputs: ['r'] },
        { op: 'Relu', name: 'b', inputs: ['input'], outputs: ['r'] },
        flattenTo('r'),
      ],
    }, 'node "b" (Relu): output "r" is already produced by node "a" (Relu)');
  });

  it('rejects an output no node produces', () => {
    expectFormatError({ nodes: [flattenTo('input', 'flat')] }, 'graph output "output" is not produced by any node');
  });

  it('rejects a graph without an input', () => {
    expectFormatError({ nodes: [flattenTo('w')], initializers: [floats('w', [1, 3, 8, 8])], inputs: [] }, 'the graph has no input');
  });

  it('rejects an initializer whose data does not match its dims', () => {
    expectFormatError({
      nodes: [{ op: 'Conv', name: 'c', inputs: ['input', 'w'], outputs: ['y'] }, flattenTo('y')],
      initializers: [{ name: 'w', dims: [4, 3, 3, 3], values: new Array(10).fill(0.5) }],
    }, 'initializer "w" has 40 bytes of raw_data but its dims [4, 3, 3, 3] and type FLOAT need 432');
    expectFormatError({
      nodes: [{ op: 'Conv', name: 'c', inputs: ['input', 'w'], outputs: ['y'] }, flattenTo('y')],
      initializers: [{ name: 'w', dims: [4, 3, 1, 1], values: new Array(10).fill(0.5), storage: 'typed' }],
    }, 'initializer "w" holds 10 values but its dims [4, 3, 1, 1] need 12');
  });

  it('rejects Add of mismatched shapes', () => {
    expectFormatError({
      nodes: [
        { op: 'Conv', name: 'a', inputs: ['input', 'w1'], outputs: ['ya'] },
        { op: 'Conv', name: 'b', inputs: ['input', 'w2'], outputs: ['yb'] },
        { op: 'Add', name: '/cells.0/Add', inputs: ['ya', 'yb'], outputs: ['s'] },
        flattenTo('s'),
      ],
      initializers: [convWeight('w1', 4, 3, 1), convWeight('w2', 5, 3, 1)],
    }, 'node "/cells.0/Add" (Add): operands "ya" [N, 4, 8, 8] and "yb" [N, 5, 8, 8]: the shapes do not match');
  });

  it('rejects a conv weight whose channels do not match the input', () => {
    expectFormatError({
      nodes: [{ op: 'Conv', name: 'conv', inputs: ['input', 'w'], outputs: ['y'] }, flattenTo('y')],
      initializers: [convWeight('w', 4, 2, 3)],
    }, 'node "conv" (Conv): input "input" has 3 channels but weight "w" [4, 2, 3, 3] with group 1 expects 2');
  });

  it('rejects Concat inputs of different spatial sizes', () => {
    expectFormatError({
      nodes: [
        { op: 'Conv', name: 'a', inputs: ['input', 'w'], outputs: ['ya'], attrs: { strides: attr.ints([2, 2]) } },
        { op: 'Conv', name: 'b', inputs: ['input', 'w'], outputs: ['yb'] },
        { op: 'Concat', name: 'cat', inputs: ['ya', 'yb'], outputs: ['c'], attrs: { axis: attr.int(1) } },
        flattenTo('c'),
      ],
      initializers: [convWeight('w', 4, 3, 1)],
    }, 'node "cat" (Concat): inputs "ya" [N, 4, 4, 4] and "yb" [N, 4, 8, 8] differ outside the channel axis');
  });

  it('rejects a linear layer whose in-features do not match', () => {
    expectFormatError({
      nodes: [
        flattenTo('input', 'f'),
        { op: 'Gemm', name: 'fc', inputs: ['f', 'w'], outputs: ['output'], attrs: { transB: attr.int(1) } },
      ],
      initializers: [floats('w', [10, 100])],
    }, 'node "fc" (Gemm): input "f" has 192 features but weight "w" [10, 100] expects 100');
  });

  it('rejects a declared output shape the graph does not compute', () => {
    expectFormatError({
      nodes: [flattenTo('input')],
      outputs: [{ name: 'output', dims: ['N', 100] }],
    }, 'graph output "output" is declared as [N, 100] but the graph computes [N, 192]');
  });

  it('rejects a pool without kernel_shape', () => {
    expectFormatError({
      nodes: [{ op: 'AveragePool', name: 'pool', inputs: ['input'], outputs: ['p'] }, flattenTo('p')],
    }, 'node "pool" (AveragePool): attribute "kernel_shape" is required');
  });

  it('rejects a kernel larger than the padded input', () => {
    expectFormatError({
      nodes: [{ op: 'Conv', name: 'conv', inputs: ['input', 'w'], outputs: ['y'] }, flattenTo('y')],
      inputs: [{ name: 'input', dims: ['N', 3, 2, 2] }],
      initializers: [convWeight('w', 4, 3, 3)],
    }, 'node "conv" (Conv): kernel 3 (dilation 1) does not fit input size 2');
  });
});

// ---------------------------------------------------------------------------
// Valid models the engine cannot run (OnnxUnsupportedError)
// ---------------------------------------------------------------------------

describe('unsupported models', () => {
  it('rejects an unknown op, naming node and op', () => {
    expectUnsupported({
      nodes: [{ op: 'Sigmoid', name: '/head/Sigmoid', inputs: ['input'], outputs: ['s'] }, flattenTo('s')],
    }, 'node "/head/Sigmoid" (Sigmoid): op "Sigmoid" is not supported');
  });

  it('rejects an LSTM', () => {
    expectUnsupported({
      nodes: [
        { op: 'Reshape', name: 'seq', inputs: ['input', 'shape'], outputs: ['x'] },
        { op: 'LSTM', name: 'rnn', inputs: ['x', 'W', 'R'], outputs: ['y'], attrs: { hidden_size: attr.int(4) } },
        flattenTo('y'),
      ],
      initializers: [int64s('shape', [0, 3, 64]), floats('W', [1, 16, 64]), floats('R', [1, 16, 4])],
    }, 'node "seq" (Reshape)');
    expectUnsupported({
      nodes: [
        flattenTo('input', 'x'),
        { op: 'LSTM', name: 'rnn', inputs: ['x', 'W', 'R'], outputs: ['y'], attrs: { hidden_size: attr.int(4) } },
        { op: 'Identity', inputs: ['y'], outputs: ['output'] },
      ],
      initializers: [floats('W', [1, 16, 192]), floats('R', [1, 16, 4])],
    }, 'node "rnn" (LSTM): op "LSTM" is not supported');
  });

  it('rejects ops of other domains', () => {
    expectUnsupported({
      nodes: [{ op: 'FusedConv', domain: 'com.microsoft', name: 'fc', inputs: ['input'], outputs: ['y'] }, flattenTo('y')],
    }, 'node "fc" (com.microsoft::FusedConv): op "com.microsoft::FusedConv" is not supported');
  });

  it('rejects auto_pad SAME_UPPER', () => {
    const err = expectUnsupported({
      nodes: [{ op: 'Conv', name: '/cells.3/Conv', inputs: ['input', 'w'], outputs: ['y'], attrs: { auto_pad: attr.string('SAME_UPPER') } }, flattenTo('y')],
      initializers: [convWeight('w', 4, 3, 3)],
    });
    expect(err.message).toBe(`${SOURCE}: node "/cells.3/Conv" (Conv): auto_pad "SAME_UPPER" is not supported`);
  });

  it('rejects ceil_mode 1 in AveragePool and MaxPool', () => {
    for (const op of ['AveragePool', 'MaxPool']) {
      expectUnsupported({
        nodes: [{ op, name: 'pool', inputs: ['input'], outputs: ['p'], attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1) } }, flattenTo('p')],
      }, `node "pool" (${op}): ceil_mode 1 is not supported`);
    }
  });

  it('rejects a non-float input', () => {
    for (const [elemType, name] of [[DataType.INT64, 'INT64'], [DataType.DOUBLE, 'DOUBLE'], [DataType.FLOAT16, 'FLOAT16']] as const) {
      expectUnsupported({ nodes: [flattenTo('input')], inputs: [{ name: 'input', elemType, dims: ['N', 3, 8, 8] }] },
        `graph input "input" has data type ${name}; only FLOAT (float32) input is supported`);
    }
  });

  it('rejects dynamic H and W', () => {
    expectUnsupported({ nodes: [flattenTo('input')], inputs: [{ name: 'input', dims: ['N', 3, 'H', 'W'] }] },
      'graph input "input" has a dynamic shape: H is "H"');
    expectUnsupported({ nodes: [flattenTo('input')], inputs: [{ name: 'input', dims: null }] }, 'dynamic shape');
  });

  it('rejects inputs that are not single [N, C, H, W] images', () => {
    expectUnsupported({ nodes: [flattenTo('input')], inputs: [{ name: 'input', dims: ['N', 3, 8] }] }, 'has rank 3');
    expectUnsupported({
      nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['s'] }, flattenTo('s')],
      inputs: [{ name: 'a', dims: ['N', 3, 8, 8] }, { name: 'b', dims: ['N', 3, 8, 8] }],
    }, 'the graph has 2 inputs ("a", "b")');
  });

  it('rejects a training-mode BatchNormalization', () => {
    expectUnsupported({
      nodes: [{ op: 'BatchNormalization', name: 'bn', inputs: ['input', 's', 'b', 'm', 'v'], outputs: ['y'], attrs: { training_mode: attr.int(1) } }, flattenTo('y')],
      initializers: ['s', 'b', 'm', 'v'].map((n) => floats(n, [3])),
    }, 'node "bn" (BatchNormalization): training_mode 1 is not supported');
  });

  it('rejects BatchNormalization whose running statistics are used', () => {
    expectUnsupported({
      nodes: [
        { op: 'BatchNormalization', name: 'bn', inputs: ['input', 's', 'b', 'm', 'v'], outputs: ['y', 'mean_out'] },
        { op: 'Add', inputs: ['y', 'mean_out'], outputs: ['z'] },
        flattenTo('z'),
      ],
      initializers: ['s', 'b', 'm', 'v'].map((n) => floats(n, [3])),
    }, 'node "bn" (BatchNormalization): output 1 ("mean_out", a training statistic) is used');
  });

  it('rejects Gemm forms other than x · W + b', () => {
    const gemm = (attrs: OnnxNodeSpec['attrs']): ModelSpec => ({
      nodes: [flattenTo('input', 'f'), { op: 'Gemm', name: 'fc', inputs: ['f', 'w', 'b'], outputs: ['output'], attrs }],
      initializers: [floats('w', [10, 192]), floats('b', [10])],
    });
    expectUnsupported(gemm({ transB: attr.int(1), alpha: attr.float(2) }), 'node "fc" (Gemm): alpha 2 is not supported');
    expectUnsupported(gemm({ transB: attr.int(1), beta: attr.float(0.5) }), 'beta 0.5 is not supported');
    expectUnsupported(gemm({ transA: attr.int(1), transB: attr.int(1) }), 'transA 1 is not supported');
  });

  it('rejects slicing the channel axis and negative steps', () => {
    const slice = (axes: number[], steps: number[]): ModelSpec => ({
      nodes: [{ op: 'Slice', name: 'sl', inputs: ['input', 'st', 'en', 'ax', 'sp'], outputs: ['y'] }, flattenTo('y')],
      initializers: [int64s('st', axes.map(() => 1)), int64s('en', axes.map(() => 3)), int64s('ax', axes), int64s('sp', steps)],
    });
    expectUnsupported(slice([1], [1]), 'node "sl" (Slice): slicing axis 1 is not supported; only H and W');
    expectUnsupported(slice([0], [1]), 'slicing the batch axis 0 is not supported');
    expectUnsupported(slice([2], [-1]), 'negative step -1 on axis 2 is not supported');
  });

  it('rejects Mul by anything but a scalar constant', () => {
    expectUnsupported({
      nodes: [{ op: 'Mul', name: 'scale', inputs: ['input', 'c'], outputs: ['y'] }, flattenTo('y')],
      initializers: [floats('c', [3, 1, 1])],
    }, 'node "scale" (Mul): constant "c" has dims [3, 1, 1]; only multiplication by a scalar is supported');
    expectUnsupported({
      nodes: [{ op: 'Mul', name: 'sq', inputs: ['input', 'input'], outputs: ['y'] }, flattenTo('y')],
    }, 'node "sq" (Mul): Mul of two computed tensors is not supported');
  });

  it('rejects Add with a constant operand', () => {
    expectUnsupported({
      nodes: [{ op: 'Add', name: 'shift', inputs: ['input', 'c'], outputs: ['y'] }, flattenTo('y')],
      initializers: [floats('c', [1])],
    }, 'node "shift" (Add): operand "c" is a constant');
  });

  it('rejects a broadcasting Add', () => {
    expectUnsupported({
      nodes: [
        { op: 'GlobalAveragePool', inputs: ['input'], outputs: ['g'] },
        { op: 'Add', name: 'bc', inputs: ['input', 'g'], outputs: ['y'] },
        flattenTo('y'),
      ],
    }, 'node "bc" (Add): operands "input" [N, 3, 8, 8] and "g" [N, 3, 1, 1]: broadcasting is not supported');
  });

  it('rejects reshapes and flattens that are not per-sample flattening', () => {
    const reshape = (target: number[], dims: (number | string)[] = ['N', 3, 8, 8]): ModelSpec => ({
      nodes: [{ op: 'Reshape', name: 'rs', inputs: ['input', 'shape'], outputs: ['output'] }],
      initializers: [int64s('shape', target)],
      inputs: [{ name: 'input', dims }],
    });
    expectUnsupported(reshape([0, 3, 64]), 'node "rs" (Reshape): Reshape of [N, 3, 8, 8] to [0, 3, 64] is not supported');
    expectUnsupported(reshape([-1, 96]), 'to [-1, 96] is not supported');
    expectUnsupported(reshape([4, -1]), 'to [4, -1] is not supported');
    expectUnsupported({ nodes: [{ op: 'Flatten', name: 'fl', inputs: ['input'], outputs: ['output'], attrs: { axis: attr.int(2) } }] },
      'node "fl" (Flatten): Flatten with axis 2 is not supported');
  });

  it('rejects Concat along a spatial axis', () => {
    expectUnsupported({
      nodes: [{ op: 'Concat', name: 'cat', inputs: ['input', 'input'], outputs: ['c'], attrs: { axis: attr.int(-1) } }, flattenTo('c')],
    }, 'node "cat" (Concat): Concat along axis 3 is not supported');
  });

  it('rejects a used MaxPool indices output', () => {
    expectUnsupported({
      nodes: [
        { op: 'MaxPool', name: 'mp', inputs: ['input'], outputs: ['p', 'idx'], attrs: { kernel_shape: attr.ints([2, 2]) } },
        flattenTo('idx'),
      ],
    }, 'node "mp" (MaxPool): output 1 ("idx", the argmax indices) is used');
  });

  it('rejects parameters that are not floating point', () => {
    expectUnsupported({
      nodes: [{ op: 'Conv', name: 'conv', inputs: ['input', 'w'], outputs: ['y'] }, flattenTo('y')],
      initializers: [{ name: 'w', dims: [4, 3, 1, 1], dataType: DataType.INT32, values: new Array(12).fill(1) }],
    }, 'node "conv" (Conv): initializer "w" has data type INT32; parameters must be FLOAT or DOUBLE');
  });

  it('rejects an output that is not [N, K] logits', () => {
    expectUnsupported({ nodes: [{ op: 'Relu', inputs: ['input'], outputs: ['output'] }] },
      'graph output "output" has shape [N, 3, 8, 8]; the engine needs logits of shape [N, K]');
  });

  it('rejects ConstantOfShape with a non-zero value', () => {
    expectUnsupported({
      nodes: [
        { op: 'Shape', inputs: ['input'], outputs: ['shp'] },
        { op: 'ConstantOfShape', name: 'ones', inputs: ['shp'], outputs: ['o'], attrs: { value: attr.tensor(floats('', [1], [1])) } },
        flattenTo('o'),
      ],
    }, 'node "ones" (ConstantOfShape): value 1 is not supported (only 0)');
  });

  it('rejects unknown attributes rather than ignoring them', () => {
    expectUnsupported({
      nodes: [{ op: 'Relu', name: 'act', inputs: ['input'], outputs: ['r'], attrs: { alpha: attr.float(0.1) } }, flattenTo('r')],
    }, 'node "act" (Relu): attribute "alpha" is not supported');
  });
});

// ---------------------------------------------------------------------------
// Mapping of each op
// ---------------------------------------------------------------------------

describe('op mapping', () => {
  it('maps Conv attributes, bias and output shape', () => {
    const g = importSpec({
      nodes: [
        {
          op: 'Conv', name: 'conv', inputs: ['input', 'w', 'b'], outputs: ['y'],
          attrs: { strides: attr.ints([2, 1]), pads: attr.ints([1, 0, 2, 0]), dilations: attr.ints([1, 2]), group: attr.int(3), kernel_shape: attr.ints([3, 3]) },
        },
        flattenTo('y'),
      ],
      initializers: [convWeight('w', 6, 1, 3), floats('b', [6])],
    });
    expect(nodeOf(g, 'conv2d')).toEqual({
      op: 'conv2d', name: 'conv', inputs: ['input'], outputs: ['y'], weight: 'w', bias: 'b',
      stride: [2, 1], pads: [1, 0, 2, 0], dilation: [1, 2], groups: 3,
    });
    // H: floor((8 + 3 - 3) / 2) + 1 = 5; W: 8 - (2 * 2 + 1) + 1 = 4.
    expect(g.output.shape).toEqual([6 * 5 * 4]);
    expect(paramOf(g, 'w').kind).toBe('conv_weight');
    expect(paramOf(g, 'b').kind).toBe('conv_bias');
  });

  it('treats auto_pad VALID as no padding', () => {
    const g = importSpec({
      nodes: [{ op: 'Conv', inputs: ['input', 'w'], outputs: ['y'], attrs: { auto_pad: attr.string('VALID') } }, flattenTo('y')],
      initializers: [convWeight('w', 2, 3, 3)],
    });
    expect(nodeOf(g, 'conv2d').pads).toEqual([0, 0, 0, 0]);
    expect(g.output.shape).toEqual([2 * 6 * 6]);
  });

  it('maps BatchNormalization with PyTorch momentum', () => {
    const bn = (attrs: OnnxNodeSpec['attrs']) => importSpec({
      nodes: [{ op: 'BatchNormalization', name: 'bn', inputs: ['input', 's', 'b', 'm', 'v'], outputs: ['y'], attrs }, flattenTo('y')],
      initializers: ['s', 'b', 'm', 'v'].map((n) => floats(n, [3])),
    });
    const g = bn({ epsilon: attr.float(1e-3), momentum: attr.float(0.8) });
    expect(nodeOf(g, 'batch_norm')).toEqual({
      op: 'batch_norm', name: 'bn', inputs: ['input'], outputs: ['y'],
      weight: 's', bias: 'b', runningMean: 'm', runningVar: 'v', eps: 1e-3, momentum: 0.2,
    });
    expect(g.params.map((p) => [p.name, p.kind])).toEqual([
      ['s', 'bn_weight'], ['b', 'bn_bias'], ['m', 'bn_running_mean'], ['v', 'bn_running_var'],
    ]);
    const defaults = nodeOf(bn({}), 'batch_norm');
    expect([defaults.eps, defaults.momentum]).toEqual([1e-5, 0.1]);
  });

  it('maps Gemm with transB = 0 by transposing the weight to [out, in]', () => {
    // A = [N, 2] (flatten of [N, 2, 1, 1]), B = [in 2, out 3].
    const g = importSpec({
      nodes: [flattenTo('input', 'f'), { op: 'Gemm', name: 'fc', inputs: ['f', 'B', 'C'], outputs: ['output'] }],
      inputs: [{ name: 'input', dims: ['N', 2, 1, 1] }],
      initializers: [floats('B', [2, 3], [1, 2, 3, 4, 5, 6]), floats('C', [1, 3], [7, 8, 9])],
    });
    expect(nodeOf(g, 'linear')).toEqual({ op: 'linear', name: 'fc', inputs: ['f'], outputs: ['output'], weight: 'B', bias: 'C' });
    const w = paramOf(g, 'B');
    expect(w.kind).toBe('linear_weight');
    expect(w.shape).toEqual([3, 2]);
    expect(Array.from(w.data)).toEqual([1, 4, 2, 5, 3, 6]);
    const b = paramOf(g, 'C');
    expect([b.kind, b.shape, Array.from(b.data)]).toEqual(['linear_bias', [3], [7, 8, 9]]);
    expect(g.output.shape).toEqual([3]);
  });

  it('maps Gemm with transB = 1 keeping the weight as stored', () => {
    const g = importSpec({
      nodes: [flattenTo('input', 'f'), { op: 'Gemm', inputs: ['f', 'W'], outputs: ['output'], attrs: { transB: attr.int(1) } }],
      inputs: [{ name: 'input', dims: ['N', 2, 1, 1] }],
      initializers: [floats('W', [3, 2], [1, 2, 3, 4, 5, 6])],
    });
    expect(nodeOf(g, 'linear').bias).toBeUndefined();
    expect(Array.from(paramOf(g, 'W').data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(g.output.shape).toEqual([3]);
  });

  it('maps MatMul + Add of constants to one linear layer', () => {
    const g = importSpec({
      nodes: [
        flattenTo('input', 'f'),
        { op: 'MatMul', name: 'mm', inputs: ['f', 'W'], outputs: ['z'] },
        { op: 'Add', name: 'bias', inputs: ['bvec', 'z'], outputs: ['output'] },
      ],
      inputs: [{ name: 'input', dims: ['N', 2, 1, 1] }],
      initializers: [floats('W', [2, 3], [1, 2, 3, 4, 5, 6]), floats('bvec', [3], [7, 8, 9])],
    });
    expect(g.nodes.map((n) => n.op)).toEqual(['flatten', 'linear']);
    expect(nodeOf(g, 'linear')).toEqual({ op: 'linear', name: 'mm', inputs: ['f'], outputs: ['output'], weight: 'W', bias: 'bvec' });
    expect(Array.from(paramOf(g, 'W').data)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(paramOf(g, 'bvec').kind).toBe('linear_bias');
  });

  it('maps Slice with Constant-node bounds, clamping INT64 max ends', () => {
    const g = importSpec({
      nodes: [
        constantNode('starts', int64s('', [1, 1])),
        constantNode('ends', { ...int64s('', [INT64_MAX, INT64_MAX]) }),
        constantNode('axes', int64s('', [2, 3])),
        constantNode('steps', int64s('', [1, 1])),
        { op: 'Slice', name: '/cells.1/Slice', inputs: ['input', 'starts', 'ends', 'axes', 'steps'], outputs: ['y'] },
        flattenTo('y'),
      ],
    });
    expect(g.nodes.map((n) => n.op)).toEqual(['slice', 'flatten']);
    expect(nodeOf(g, 'slice')).toEqual({
      op: 'slice', name: '/cells.1/Slice', inputs: ['input'], outputs: ['y'], starts: [1, 1], ends: [8, 8], steps: [1, 1],
    });
    expect(g.output.shape).toEqual([3 * 7 * 7]);
    expect(g.params).toEqual([]);
  });

  it('maps Slice with negative bounds, steps and full non-spatial axes', () => {
    const g = importSpec({
      nodes: [{ op: 'Slice', inputs: ['input', 'st', 'en', 'ax', 'sp'], outputs: ['y'] }, flattenTo('y')],
      initializers: [int64s('st', [-6, 0, 0]), int64s('en', [-1, 100, INT64_MAX]), int64s('ax', [-2, 3, 1]), int64s('sp', [2, 3, 1])],
    });
    expect(nodeOf(g, 'slice')).toMatchObject({ starts: [2, 0], ends: [7, 8], steps: [2, 3] });
    expect(g.output.shape).toEqual([3 * 3 * 3]);
    expect(g.params).toEqual([]);
  });

  it('maps the opset-9 Slice form with attributes', () => {
    const g = importSpec({
      opset: 9,
      nodes: [
        { op: 'Slice', inputs: ['input'], outputs: ['y'], attrs: { starts: attr.ints([0, 2]), ends: attr.ints([4, 2147483647]), axes: attr.ints([2, 3]) } },
        flattenTo('y'),
      ],
    });
    expect(nodeOf(g, 'slice')).toMatchObject({ starts: [0, 2], ends: [4, 8], steps: [1, 1] });
    expect(g.output.shape).toEqual([3 * 4 * 6]);
  });

  it('maps Mul by a scalar constant in either operand order', () => {
    const viaInit = importSpec({
      nodes: [{ op: 'Mul', name: 'half', inputs: ['k', 'input'], outputs: ['y'] }, flattenTo('y')],
      initializers: [floats('k', [], [0.1])],
    });
    expect(nodeOf(viaInit, 'mul_const')).toEqual({ op: 'mul_const', name: 'half', inputs: ['input'], outputs: ['y'], value: 0.1 });
    expect(viaInit.params).toEqual([]);
    const viaConstant = importSpec({
      nodes: [
        { op: 'Constant', inputs: [], outputs: ['zero'], attrs: { value_float: attr.float(0) } },
        { op: 'Mul', inputs: ['input', 'zero'], outputs: ['y'] },
        flattenTo('y'),
      ],
    });
    expect(viaConstant.nodes.map((n) => n.op)).toEqual(['mul_const', 'flatten']);
    expect(nodeOf(viaConstant, 'mul_const').value).toBe(0);
    const double = importSpec({
      nodes: [{ op: 'Mul', inputs: ['input', 'k'], outputs: ['y'] }, flattenTo('y')],
      initializers: [{ name: 'k', dims: [1, 1, 1, 1], dataType: DataType.DOUBLE, values: [0.3] }],
    });
    expect(nodeOf(double, 'mul_const').value).toBe(0.3);
  });

  it('maps Shape -> ConstantOfShape(0) to zeros_like of the measured tensor', () => {
    const g = importSpec({
      nodes: [
        { op: 'Relu', name: 'r', inputs: ['input'], outputs: ['x'] },
        { op: 'Shape', name: 'shape', inputs: ['x'], outputs: ['s'] },
        { op: 'ConstantOfShape', name: 'zeros', inputs: ['s'], outputs: ['z'], attrs: { value: attr.tensor(floats('', [1], [0])) } },
        { op: 'ConstantOfShape', name: 'zeros2', inputs: ['s'], outputs: ['z2'] },
        { op: 'Add', name: 'sum', inputs: ['z', 'z2'], outputs: ['a'] },
        flattenTo('a'),
      ],
    });
    expect(g.nodes.map((n) => n.op)).toEqual(['relu', 'zeros_like', 'zeros_like', 'add', 'flatten']);
    expect(nodeOf(g, 'zeros_like')).toEqual({ op: 'zeros_like', name: 'zeros', inputs: ['x'], outputs: ['z'] });
    expect(g.output.shape).toEqual([192]);
  });

  it('maps Concat along channels (axis 1 or -3)', () => {
    for (const axis of [1, -3]) {
      const g = importSpec({
        nodes: [
          { op: 'Conv', inputs: ['input', 'w'], outputs: ['a'] },
          { op: 'Concat', name: 'cat', inputs: ['a', 'input', 'a'], outputs: ['c'], attrs: { axis: attr.int(axis) } },
          flattenTo('c'),
        ],
        initializers: [convWeight('w', 5, 3, 1)],
      });
      expect(nodeOf(g, 'concat')).toEqual({ op: 'concat', name: 'cat', inputs: ['a', 'input', 'a'], outputs: ['c'], axis: 1 });
      expect(g.output.shape).toEqual([(5 + 3 + 5) * 64]);
    }
  });

  it('maps MaxPool and AveragePool', () => {
    const g = importSpec({
      nodes: [
        { op: 'MaxPool', name: 'mp', inputs: ['input'], outputs: ['p', ''], attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), dilations: attr.ints([1, 1]) } },
        { op: 'AveragePool', name: 'ap', inputs: ['p'], outputs: ['q'], attrs: { kernel_shape: attr.ints([2, 2]), count_include_pad: attr.int(1), pads: attr.ints([0, 0, 1, 1]) } },
        flattenTo('q'),
      ],
    });
    expect(nodeOf(g, 'max_pool2d')).toEqual({
      op: 'max_pool2d', name: 'mp', inputs: ['input'], outputs: ['p'], kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], dilation: [1, 1],
    });
    expect(nodeOf(g, 'avg_pool2d')).toEqual({
      op: 'avg_pool2d', name: 'ap', inputs: ['p'], outputs: ['q'], kernel: [2, 2], stride: [1, 1], pads: [0, 0, 1, 1], countIncludePad: true,
    });
    // MaxPool: floor((8 + 2 - 3) / 2) + 1 = 4; AveragePool: 4 + 1 - 2 + 1 = 4.
    expect(g.output.shape).toEqual([3 * 4 * 4]);
  });

  it('maps GlobalAveragePool, Identity and inference Dropout', () => {
    const g = importSpec({
      nodes: [
        { op: 'GlobalAveragePool', inputs: ['input'], outputs: ['g'] },
        { op: 'Identity', inputs: ['g'], outputs: ['i'] },
        { op: 'Dropout', inputs: ['i', 'ratio'], outputs: ['d', 'mask'] },
        flattenTo('d'),
      ],
      initializers: [floats('ratio', [], [0.5])],
    });
    expect(g.nodes.map((n) => n.op)).toEqual(['global_avg_pool', 'identity', 'identity', 'flatten']);
    expect(g.output.shape).toEqual([3]);
  });

  it('maps Flatten and flattening Reshapes to flatten', () => {
    const viaReshape = (target: number[], batch: number | string = 'N') => importSpec({
      nodes: [{ op: 'Reshape', name: 'rs', inputs: ['input', 'shape'], outputs: ['output'] }],
      initializers: [int64s('shape', target)],
      inputs: [{ name: 'input', dims: [batch, 3, 8, 8] }],
    });
    for (const g of [viaReshape([0, -1]), viaReshape([-1, 192]), viaReshape([0, 192]), viaReshape([4, -1], 4)]) {
      expect(g.nodes).toEqual([{ op: 'flatten', name: 'rs', inputs: ['input'], outputs: ['output'] }]);
      expect(g.output.shape).toEqual([192]);
      expect(g.params).toEqual([]);
    }
    const viaFlatten = importSpec({ nodes: [{ op: 'Flatten', name: 'fl', inputs: ['input'], outputs: ['output'] }] });
    expect(viaFlatten.nodes).toEqual([{ op: 'flatten', name: 'fl', inputs: ['input'], outputs: ['output'] }]);
  });
});

// ---------------------------------------------------------------------------
// Graph-level behaviour
// ---------------------------------------------------------------------------

describe('graph handling', () => {
  it('sorts nodes that are not in topological order', () => {
    const g = importSpec({
      nodes: [
        flattenTo('b'),
        { op: 'Relu', name: 'second', inputs: ['a'], outputs: ['b'] },
        { op: 'Conv', name: 'first', inputs: ['input', 'w'], outputs: ['a'] },
      ],
      initializers: [convWeight('w', 2, 3, 1)],
    });
    expect(g.nodes.map((n) => n.name)).toEqual(['first', 'second', 'Flatten_0']);
    expectWellFormed(g);
  });

  it('drops dead nodes, even unsupported ones', () => {
    const g = importSpec({
      nodes: [
        { op: 'Sigmoid', inputs: ['input'], outputs: ['unused'] },
        { op: 'Conv', inputs: ['input', 'dead_w'], outputs: ['unused2'] },
        flattenTo('input'),
      ],
      initializers: [convWeight('dead_w', 2, 3, 1)],
    });
    expect(g.nodes.map((n) => n.op)).toEqual(['flatten']);
    expect(g.params).toEqual([]);
  });

  it('ignores initializers listed as graph inputs (older exporters)', () => {
    const g = importSpec({
      nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'] }, flattenTo('y')],
      inputs: [{ name: 'w', dims: [2, 3, 1, 1] }, { name: 'x', dims: [1, 3, 8, 8] }],
      initializers: [convWeight('w', 2, 3, 1)],
    });
    expect(g.input).toEqual({ name: 'x', shape: [3, 8, 8] });
  });

  it('keeps one ParamSpec for an initializer shared by two nodes', () => {
    const g = importSpec({
      nodes: [
        { op: 'Conv', inputs: ['input', 'w'], outputs: ['a'] },
        { op: 'Conv', inputs: ['input', 'w'], outputs: ['b'] },
        { op: 'Add', inputs: ['a', 'b'], outputs: ['s'] },
        flattenTo('s'),
      ],
      initializers: [convWeight('w', 2, 3, 1)],
    });
    expect(g.params.map((p) => p.name)).toEqual(['w']);
    expect(g.nodes.filter((n) => n.op === 'conv2d')).toHaveLength(2);
  });

  it('resolves an Identity of an initializer to the initializer itself', () => {
    const g = importSpec({
      nodes: [
        { op: 'Identity', inputs: ['w'], outputs: ['onnx::Conv_7'] },
        { op: 'Conv', inputs: ['input', 'onnx::Conv_7'], outputs: ['y'] },
        flattenTo('y'),
      ],
      initializers: [convWeight('w', 2, 3, 1)],
    });
    expect(g.nodes.map((n) => n.op)).toEqual(['conv2d', 'flatten']);
    expect(nodeOf(g, 'conv2d').weight).toBe('w');
  });

  it('decodes float_data and raw_data alike, and FLOAT64 to Float64Array', () => {
    const values = [0.5, -1.25, 3, 1e-3, 7, -8];
    const conv = (w: ReturnType<typeof floats>) => importSpec({
      nodes: [{ op: 'Conv', inputs: ['input', 'w'], outputs: ['y'] }, flattenTo('y')],
      initializers: [w],
    });
    const raw = paramOf(conv({ ...floats('w', [2, 3, 1, 1], values) }), 'w');
    const typed = paramOf(conv({ ...floats('w', [2, 3, 1, 1], values), storage: 'typed' }), 'w');
    expect(raw.data).toBeInstanceOf(Float32Array);
    expect(typed.data).toEqual(raw.data);
    expect(Array.from(raw.data)).toEqual(Array.from(Float32Array.from(values)));
    for (const storage of ['raw', 'typed'] as const) {
      const f64 = paramOf(conv({ ...floats('w', [2, 3, 1, 1], values), dataType: DataType.DOUBLE, storage }), 'w');
      expect(f64.data).toBeInstanceOf(Float64Array);
      expect(Array.from(f64.data)).toEqual(values);
    }
  });

  it('names unnamed nodes uniquely', () => {
    const bytes = buildModel({
      nodes: [
        { op: 'Relu', inputs: ['input'], outputs: ['a'] },
        { op: 'Relu', inputs: ['a'], outputs: ['b'] },
        flattenTo('b'),
      ],
    });
    const proto = onnxProto.onnx.ModelProto.decode(bytes);
    for (const n of proto.graph?.node ?? []) n.name = '';
    const g = importOnnx(onnxProto.onnx.ModelProto.encode(proto).finish());
    expect(g.nodes.map((n) => n.name)).toEqual(['Relu_0', 'Relu_1', 'Flatten_2']);
  });

  it('accepts a static batch and numeric output dims', () => {
    const g = importSpec({
      nodes: [flattenTo('input')],
      inputs: [{ name: 'input', dims: [64, 3, 8, 8] }],
      outputs: [{ name: 'output', dims: [64, 192] }],
    });
    expect(g.output).toEqual({ name: 'output', shape: [192] });
  });
});
