/**
 * ONNX export (src/onnx/exportOnnx.ts) and the onnxruntime wrapper
 * (src/onnx/ortSession.ts): every shared fixture survives import -> export
 * -> import unchanged and runs in onnxruntime with the fixture's eval-mode
 * logits; a hand-built GraphSpec using every GraphSpec op runs in
 * onnxruntime as in the native engine; batching and errors of OrtModel.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { GraphSpec, NodeSpec, ParamKind, ParamSpec } from '../../src/engine/graphSpec.js';
import { Network } from '../../src/engine/network.js';
import {
  DisposedError,
  FileNotFoundError,
  InvalidArgumentError,
  NonFiniteError,
  OnnxFormatError,
  ShapeMismatchError,
  UnsupportedError,
} from '../../src/errors.js';
import { exportOnnx, writeOnnxFile } from '../../src/onnx/exportOnnx.js';
import { importOnnx, readOnnxFile } from '../../src/onnx/importOnnx.js';
import { decodeOnnxModel } from '../../src/onnx/onnxProto.js';
import { OrtModel } from '../../src/onnx/ortSession.js';
import { expectAllClose, maxAbs, maxRelToMax } from '../helpers/allClose.js';
import { FIXTURES, fixtureBatch, fixturePath, readF64 } from '../helpers/fixtures.js';
import { mulberry32 } from '../helpers/singleOpGraph.js';

// Tolerances, with the reason for each.
const TOL = {
  // onnxruntime float32 vs the float64 torch reference, relative to max|logit|:
  // the fixture README's ORT check got <= 3.4e-7.
  ortVsFixture: 1e-6,
  // onnxruntime float32 vs the native float32 engine: two float32 summation orders.
  ortVsNative32: 1e-6,
  // onnxruntime float32 vs the native float64 engine on the hand-built graph:
  // float32 rounding of parameters and activations through ~12 ops.
  ortVsNative64: 1e-5,
  // The same samples in batches of 64 or all at once: per-sample arithmetic
  // does not depend on the batch in onnxruntime's CPU kernels; allow float32
  // reassociation should a kernel choose another blocking.
  batching: 1e-6,
};

/** Samples of the fixture batch used where a few suffice (the file stays fast). */
const FEW = 8;
const { input: fixtureInput } = fixtureBatch();
const PER_SAMPLE = 3 * 32 * 32;
const K = 10;
const fewInput = fixtureInput.subarray(0, FEW * PER_SAMPLE);

/** Structure equal (without tensor data), then every parameter's values equal bit for bit. */
function expectSameSpec(actual: GraphSpec, expected: GraphSpec): void {
  const strip = (s: GraphSpec) => ({ ...s, params: s.params.map(({ data, ...rest }) => ({ ...rest, dtype: data.constructor.name })) });
  expect(strip(actual)).toEqual(strip(expected));
  actual.params.forEach((p, i) => {
    const e = expected.params[i].data;
    const same = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength)
      .equals(Buffer.from(e.buffer, e.byteOffset, e.byteLength));
    expect(same, `values of parameter "${p.name}"`).toBe(true);
  });
}

// ---------------------------------------------------------------------------
// (a), (b): the shared fixtures
// ---------------------------------------------------------------------------

describe.each(FIXTURES)('fixture %s', (name) => {
  let spec: GraphSpec;
  let exported: Uint8Array;
  const reference = readF64(name, 'logits_eval_f64.bin').subarray(0, FEW * K);

  beforeAll(async () => {
    spec = await readOnnxFile(fixturePath(name, 'model.onnx'));
    exported = exportOnnx(spec);
  });

  it('import -> export -> import gives the same GraphSpec', () => {
    expectSameSpec(importOnnx(exported, { source: `${name} (exported)` }), spec);
  });

  it('onnxruntime on the exported model: the fixture eval logits and the native float32 engine', async () => {
    const model = await OrtModel.load(exported, { name: `${name} (exported)` });
    const net = Network.create(spec, { dtype: 'float32', name });
    try {
      expect(model.inputShape).toEqual([3, 32, 32]);
      expect(model.staticBatch).toBeNull();
      const logits = await model.run(fewInput, FEW);
      expect(logits.length).toBe(FEW * K);
      expect(maxRelToMax(logits, reference)).toBeLessThan(TOL.ortVsFixture);
      const native = await net.forward(fewInput, { bn: 'eval' });
      expect(maxRelToMax(logits, native)).toBeLessThan(TOL.ortVsNative32);
    } finally {
      net.dispose();
      await model.dispose();
    }
  });

  it('onnxruntime on the original model.onnx matches the fixture too', async () => {
    const model = await OrtModel.load(fixturePath(name, 'model.onnx'));
    try {
      expect(maxRelToMax(await model.run(fewInput, FEW), reference)).toBeLessThan(TOL.ortVsFixture);
    } finally {
      await model.dispose();
    }
  });
});

describe('exported model layout', () => {
  it('is opset 13, IR 7, producer hnas, dynamic batch N, float32 raw_data initializers named as the params', async () => {
    const spec = await readOnnxFile(fixturePath('1835_seed0', 'model.onnx'));
    const model = decodeOnnxModel(exportOnnx(spec, { docString: 'test export' }));
    expect(model.irVersion).toBe(7);
    expect(model.producerName).toBe('hnas');
    expect(model.opsetImport).toEqual([{ domain: '', version: 13 }]);
    const graph = model.graph!;
    expect(graph.inputs).toEqual([{ name: spec.input.name, tensor: { elemType: 1, shape: [{ param: 'N' }, { value: 3 }, { value: 32 }, { value: 32 }] } }]);
    expect(graph.outputs).toEqual([{ name: spec.output.name, tensor: { elemType: 1, shape: [{ param: 'N' }, { value: 10 }] } }]);
    expect(graph.initializers.map((t) => t.name)).toEqual(spec.params.map((p) => p.name));
    for (const t of graph.initializers) {
      expect(t.dataType).toBe(1);
      expect(t.rawData.length).toBe(4 * t.dims.reduce((a, b) => a * b, 1));
    }
    expect(graph.nodes.map((n) => n.name)).toEqual(spec.nodes.map((n) => n.name));
  });

  it('a static batch is written into input and output, and onnxruntime enforces it', async () => {
    const spec = await readOnnxFile(fixturePath('1835_seed0', 'model.onnx'));
    const bytes = exportOnnx(spec, { batch: 8, producer: 'hnas-test' });
    const decoded = decodeOnnxModel(bytes);
    expect(decoded.producerName).toBe('hnas-test');
    expect(decoded.graph!.inputs[0].tensor!.shape![0]).toEqual({ value: 8 });
    expect(decoded.graph!.outputs[0].tensor!.shape![0]).toEqual({ value: 8 });
    const model = await OrtModel.load(bytes);
    try {
      expect(model.staticBatch).toBe(8);
      await expect(model.run(fixtureInput.subarray(0, 4 * PER_SAMPLE), 4)).rejects.toBeInstanceOf(ShapeMismatchError);
      // runBatched pads the last batch of a static-batch model: 13 = 8 + 5.
      const n = 13;
      const batched = await model.runBatched(fixtureInput.subarray(0, n * PER_SAMPLE), n);
      const reference = readF64('1835_seed0', 'logits_eval_f64.bin').subarray(0, n * K);
      expect(maxRelToMax(batched, reference)).toBeLessThan(TOL.ortVsFixture);
    } finally {
      await model.dispose();
    }
  });

  it('writeOnnxFile writes atomically (no temporary file left) a model both readers load', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hnas-export-'));
    try {
      const spec = await readOnnxFile(fixturePath('7581_seed0', 'model.onnx'));
      const path = join(dir, 'model.onnx');
      await writeFile(path, 'stale contents');
      await writeOnnxFile(spec, path);
      expect(await readdir(dir)).toEqual(['model.onnx']);
      expectSameSpec(await readOnnxFile(path), spec);
      const model = await OrtModel.load(path);
      try {
        const reference = readF64('7581_seed0', 'logits_eval_f64.bin').subarray(0, FEW * K);
        expect(maxRelToMax(await model.run(fewInput, FEW), reference)).toBeLessThan(TOL.ortVsFixture);
      } finally {
        await model.dispose();
      }
      await expect(writeOnnxFile(spec, join(dir, 'missing', 'model.onnx'))).rejects.toThrow();
      expect(await readdir(dir)).toEqual(['model.onnx']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------
// (c): a hand-built GraphSpec with every op
// ---------------------------------------------------------------------------

/**
 * input [3, 9, 9]
 *  -> conv 3x3 pad 1 (+bias) -> non-affine BN -> relu               [8, 9, 9]
 *  -> grouped (4) dilated (2) strided (2, 1) conv (+bias), pads (2,1,2,1)
 *     -> affine BN                                                    [8, 5, 7]
 *  -> max_pool 3x3 | avg_pool count_include_pad | avg_pool exclude pad
 *     add(max, avg_incl) ++ avg_excl (concat)                         [16, 5, 7]
 *  -> dilated (2, 3) max_pool 2x2 + slice step (2, 2) + slice offset (1, 1)
 *                                                                      [16, 3, 4]
 *  -> mul_const 0.5 -> add zeros_like -> identity
 *  -> flatten -> linear (+bias)                                        [10]
 *  -> global_avg_pool -> BN on [N, C, 1, 1] -> linear (no bias, fed without flatten)
 *  -> add of the two heads                                             [10]
 */
function everyOpSpec(seed = 7): GraphSpec {
  const rand = mulberry32(seed);
  const params: ParamSpec[] = [];
  const param = (name: string, kind: ParamKind, shape: number[], lo = -0.5, hi = 0.5): string => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float64Array.from({ length: n }, () => lo + (hi - lo) * rand());
    params.push({ name, kind, shape, data });
    return name;
  };
  const nodes: NodeSpec[] = [];
  const io = (name: string, ...inputs: string[]) => ({ name, inputs, outputs: [`${name}.out`] });
  const o = (name: string) => `${name}.out`;

  nodes.push({ ...io('conv1', 'input'), op: 'conv2d', weight: param('conv1.weight', 'conv_weight', [8, 3, 3, 3]), bias: param('conv1.bias', 'conv_bias', [8]), stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 1 });
  nodes.push({ ...io('bn1', o('conv1')), op: 'batch_norm', runningMean: param('bn1.running_mean', 'bn_running_mean', [8]), runningVar: param('bn1.running_var', 'bn_running_var', [8], 0.5, 1.5), eps: 1e-5, momentum: 0.1 });
  nodes.push({ ...io('relu1', o('bn1')), op: 'relu' });
  nodes.push({ ...io('conv2', o('relu1')), op: 'conv2d', weight: param('conv2.weight', 'conv_weight', [8, 2, 3, 3]), bias: param('conv2.bias', 'conv_bias', [8]), stride: [2, 1], pads: [2, 1, 2, 1], dilation: [2, 2], groups: 4 });
  nodes.push({ ...io('bn2', o('conv2')), op: 'batch_norm', weight: param('bn2.weight', 'bn_weight', [8], 0.5, 1.5), bias: param('bn2.bias', 'bn_bias', [8]), runningMean: param('bn2.running_mean', 'bn_running_mean', [8]), runningVar: param('bn2.running_var', 'bn_running_var', [8], 0.5, 1.5), eps: 1e-3, momentum: 0.3 });
  nodes.push({ ...io('max1', o('bn2')), op: 'max_pool2d', kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1] });
  nodes.push({ ...io('avgIncl', o('bn2')), op: 'avg_pool2d', kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], countIncludePad: true });
  nodes.push({ ...io('avgExcl', o('bn2')), op: 'avg_pool2d', kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], countIncludePad: false });
  nodes.push({ ...io('sum1', o('max1'), o('avgIncl')), op: 'add' });
  nodes.push({ ...io('cat', o('sum1'), o('avgExcl')), op: 'concat', axis: 1 });
  nodes.push({ ...io('maxDil', o('cat')), op: 'max_pool2d', kernel: [2, 2], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [2, 3] });
  nodes.push({ ...io('sliceStep', o('cat')), op: 'slice', starts: [0, 0], ends: [5, 7], steps: [2, 2] });
  nodes.push({ ...io('sliceOff', o('cat')), op: 'slice', starts: [1, 1], ends: [4, 5], steps: [1, 1] });
  nodes.push({ ...io('sum2', o('maxDil'), o('sliceStep')), op: 'add' });
  nodes.push({ ...io('sum3', o('sum2'), o('sliceOff')), op: 'add' });
  nodes.push({ ...io('half', o('sum3')), op: 'mul_const', value: 0.5 });
  nodes.push({ ...io('zeros', o('half')), op: 'zeros_like' });
  nodes.push({ ...io('plusZero', o('half'), o('zeros')), op: 'add' });
  nodes.push({ ...io('id', o('plusZero')), op: 'identity' });
  nodes.push({ ...io('flat', o('id')), op: 'flatten' });
  nodes.push({ ...io('fc1', o('flat')), op: 'linear', weight: param('fc1.weight', 'linear_weight', [10, 16 * 3 * 4], -0.1, 0.1), bias: param('fc1.bias', 'linear_bias', [10]) });
  nodes.push({ ...io('gap', o('id')), op: 'global_avg_pool' });
  nodes.push({ ...io('bn3', o('gap')), op: 'batch_norm', weight: param('bn3.weight', 'bn_weight', [16], 0.5, 1.5), bias: param('bn3.bias', 'bn_bias', [16]), runningMean: param('bn3.running_mean', 'bn_running_mean', [16]), runningVar: param('bn3.running_var', 'bn_running_var', [16], 0.5, 1.5), eps: 1e-5, momentum: 0.1 });
  nodes.push({ ...io('fc2', o('bn3')), op: 'linear', weight: param('fc2.weight', 'linear_weight', [10, 16]) });
  nodes.push({ name: 'head', op: 'add', inputs: [o('fc1'), o('fc2')], outputs: ['logits'] });
  return { input: { name: 'input', shape: [3, 9, 9] }, output: { name: 'logits', shape: [10] }, params, nodes };
}

function randomInput(n: number, perSample: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n * perSample }, () => 2 * rand() - 1);
}

describe('a hand-built GraphSpec using every op', () => {
  const spec = everyOpSpec();
  const n = 6;
  const input = randomInput(n, 3 * 9 * 9, 11);

  it('covers every GraphSpec op', () => {
    const ops = new Set(spec.nodes.map((x) => x.op));
    expect([...ops].sort()).toEqual([
      'add', 'avg_pool2d', 'batch_norm', 'concat', 'conv2d', 'flatten', 'global_avg_pool', 'identity',
      'linear', 'max_pool2d', 'mul_const', 'relu', 'slice', 'zeros_like',
    ]);
  });

  it('onnxruntime eval logits equal the native float64 eval forward', async () => {
    const net = Network.create(spec, { dtype: 'float64', name: 'every-op' });
    const model = await OrtModel.load(exportOnnx(spec), { name: 'every-op (exported)' });
    try {
      const native = await net.forward(Float64Array.from(input), { bn: 'eval' });
      const logits = await model.run(input, n);
      expect(maxAbs(native)).toBeGreaterThan(0.1);
      expect(maxRelToMax(logits, native)).toBeLessThan(TOL.ortVsNative64);
      // Every graph optimization level computes the same function.
      for (const graphOptimization of ['disabled', 'basic', 'extended'] as const) {
        const other = await OrtModel.load(exportOnnx(spec), { graphOptimization, intraOpThreads: 1 });
        try {
          expect(maxRelToMax(await other.run(input, n), native), graphOptimization).toBeLessThan(TOL.ortVsNative64);
        } finally {
          await other.dispose();
        }
      }
    } finally {
      net.dispose();
      await model.dispose();
    }
  });

  it('imports back to a GraphSpec the native engine runs identically', async () => {
    const back = importOnnx(exportOnnx(spec));
    // Non-affine BN comes back with constant γ = 1, β = 0 parameters; linear fed by
    // global_avg_pool gets the Flatten the export inserted. Nothing else changes.
    const names = new Set(spec.params.map((p) => p.name));
    const added = back.params.filter((p) => !names.has(p.name));
    expect(added.map((p) => p.kind).sort()).toEqual(['bn_bias', 'bn_weight']);
    expect(back.nodes.filter((x) => x.op === 'flatten')).toHaveLength(2);
    expect(back.nodes.filter((x) => x.op !== 'flatten').map((x) => x.name)).toEqual(spec.nodes.filter((x) => x.op !== 'flatten').map((x) => x.name));
    const a = Network.create(spec, { dtype: 'float64' });
    const b = Network.create(back, { dtype: 'float64' });
    try {
      const x = Float64Array.from(input);
      // Parameters went through float32: compare at float32 resolution.
      expectAllClose(await b.forward(x, { bn: 'eval' }), await a.forward(x, { bn: 'eval' }), { atol: 1e-5 });
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('a graph ending in [N, K, 1, 1] gets a Flatten into the declared output', async () => {
    const s = everyOpSpec();
    // Replace the two heads by a 1x1 conv to 10 channels after global_avg_pool.
    s.nodes = s.nodes.filter((x) => !['flat', 'fc1', 'bn3', 'fc2', 'head'].includes(x.name));
    s.params = s.params.filter((p) => !/^(fc|bn3)/.test(p.name));
    s.params.push({ name: 'head.weight', kind: 'conv_weight', shape: [10, 16, 1, 1], data: new Float32Array(160).map((_, i) => ((i % 7) - 3) / 4) });
    s.nodes.push({ name: 'head', op: 'conv2d', inputs: ['gap.out'], outputs: ['logits'], weight: 'head.weight', stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], groups: 1 });
    const net = Network.create(s, { dtype: 'float64' });
    const model = await OrtModel.load(exportOnnx(s));
    try {
      expect(model.outputName).toBe('logits');
      expect(model.numClasses).toBe(10);
      expect(maxRelToMax(await model.run(input, n), await net.forward(Float64Array.from(input), { bn: 'eval' }))).toBeLessThan(TOL.ortVsNative64);
    } finally {
      net.dispose();
      await model.dispose();
    }
  });
});

// ---------------------------------------------------------------------------
// (d): batching
// ---------------------------------------------------------------------------

describe('OrtModel.runBatched', () => {
  let model: OrtModel;
  beforeAll(async () => {
    model = await OrtModel.load(fixturePath('1835_seed0', 'model.onnx'));
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it('130 samples in batches of 64 equal one run of 130', async () => {
    const n = 130;
    // The 64 fixture images, then mirrored and negated copies: 130 distinct samples.
    const input = new Float32Array(n * PER_SAMPLE);
    for (let i = 0; i < n; i++) {
      const src = fixtureInput.subarray((i % 64) * PER_SAMPLE, (i % 64 + 1) * PER_SAMPLE);
      const sign = i < 64 ? 1 : i < 128 ? -1 : 0.5;
      for (let j = 0; j < PER_SAMPLE; j++) input[i * PER_SAMPLE + j] = sign * src[j];
    }
    const whole = await model.run(input, n);
    const batched = await model.runBatched(input, n, { batchSize: 64 });
    expect(batched.length).toBe(n * K);
    expectAllClose(batched, whole, { atol: TOL.batching * maxAbs(whole) }, 'batched logits');
    const small = await model.runBatched(input, n, { batchSize: 7 });
    expectAllClose(small, whole, { atol: TOL.batching * maxAbs(whole) }, 'batches of 7');
  });
});

// ---------------------------------------------------------------------------
// (e): errors
// ---------------------------------------------------------------------------

/** Where onnxruntime-node would load its CUDA provider from (its install script puts it there). */
function cudaProviderInstalled(): boolean {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  const dir = join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(dir, 'libonnxruntime_providers_cuda.so')) || existsSync(join(dir, 'onnxruntime_providers_cuda.dll'));
}

describe('errors', () => {
  let model: OrtModel;
  beforeAll(async () => {
    model = await OrtModel.load(fixturePath('1835_seed0', 'model.onnx'));
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it('wrong inputs are rejected with typed errors before onnxruntime runs', async () => {
    const short = fixtureInput.subarray(0, 2 * PER_SAMPLE - 1);
    await expect(model.run(short, 2)).rejects.toThrow(ShapeMismatchError);
    await expect(model.run(short, 2)).rejects.toThrow(/has 6143 values, but 2 samples of \[3, 32, 32\] need 6144/);
    await expect(model.runBatched(short, 2)).rejects.toThrow(ShapeMismatchError);
    await expect(model.run(Float64Array.from(fewInput) as unknown as Float32Array, FEW)).rejects.toThrow(InvalidArgumentError);
    await expect(model.run(fewInput, 0)).rejects.toThrow(InvalidArgumentError);
    await expect(model.runBatched(fewInput, FEW, { batchSize: 0 })).rejects.toThrow(InvalidArgumentError);
  });

  it.skipIf(cudaProviderInstalled())('executionProvider "cuda" without the CUDA provider is UnsupportedError, never a CPU fallback', async () => {
    const load = OrtModel.load(fixturePath('1835_seed0', 'model.onnx'), { executionProvider: 'cuda' });
    await expect(load).rejects.toThrow(UnsupportedError);
    await expect(load).rejects.toThrow(/CUDA execution provider is not available.*executionProvider "cpu"/s);
  });

  it('a corrupt or missing model is OnnxFormatError / FileNotFoundError', async () => {
    await expect(OrtModel.load(new Uint8Array([8, 7, 0xff, 0xff, 0xff, 1, 2, 3]))).rejects.toThrow(OnnxFormatError);
    const spec = await readOnnxFile(fixturePath('1835_seed0', 'model.onnx'));
    const bytes = exportOnnx(spec);
    await expect(OrtModel.load(bytes.subarray(0, bytes.length >> 1))).rejects.toThrow(OnnxFormatError);
    await expect(OrtModel.load(join(tmpdir(), 'hnas-no-such-model.onnx'))).rejects.toThrow(FileNotFoundError);
  });

  it('bad options and use after dispose', async () => {
    const bytes = exportOnnx(everyOpSpec());
    await expect(OrtModel.load(bytes, { executionProvider: 'tpu' as 'cpu' })).rejects.toThrow(InvalidArgumentError);
    await expect(OrtModel.load(bytes, { intraOpThreads: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(OrtModel.load(bytes, { graphOptimization: 'max' as 'all' })).rejects.toThrow(InvalidArgumentError);
    const m = await OrtModel.load(bytes);
    await m.dispose();
    expect(m.disposed).toBe(true);
    await expect(m.run(new Float32Array(243), 1)).rejects.toThrow(DisposedError);
  });

  it('the exporter rejects malformed specs with typed errors', () => {
    const spec = everyOpSpec();
    const withNode = (i: number, patch: object): GraphSpec => ({ ...spec, nodes: spec.nodes.map((x, j) => (j === i ? ({ ...x, ...patch } as NodeSpec) : x)) });
    expect(() => exportOnnx(withNode(0, { weight: 'nope' }))).toThrow(/node "conv1" \(conv2d\): parameter "nope" is not defined/);
    expect(() => exportOnnx(withNode(0, { weight: 'conv1.bias' }))).toThrow(InvalidArgumentError);
    expect(() => exportOnnx(withNode(2, { inputs: ['later'] }))).toThrow(InvalidArgumentError);
    expect(() => exportOnnx(spec, { batch: 0 })).toThrow(InvalidArgumentError);
    // A linear on an unflattened [N, C, H, W] tensor.
    expect(() => exportOnnx(withNode(20, { inputs: ['id.out'] }))).toThrow(/needs \[N, F\] \(flatten first\)/);
    // A spatial op on an [N, F] tensor has no ONNX form the importer reads.
    expect(() => exportOnnx(withNode(21, { inputs: ['flat.out'] }))).toThrow(UnsupportedError);
    const nan = { ...spec, params: spec.params.map((p, i) => (i === 0 ? { ...p, data: Float64Array.from(p.data, (v, j) => (j === 3 ? Number.NaN : v)) } : p)) };
    expect(() => exportOnnx(nan)).toThrow(NonFiniteError);
    const huge = { ...spec, params: spec.params.map((p, i) => (i === 0 ? { ...p, data: Float64Array.from(p.data, (v, j) => (j === 3 ? 1e300 : v)) } : p)) };
    expect(() => exportOnnx(huge)).toThrow(/overflows float32/);
    expect(() => exportOnnx({ ...spec, output: { name: 'logits', shape: [11] } })).toThrow(/declared as \[N, 11\] but the graph computes \[N, 10\]/);
  });
});
