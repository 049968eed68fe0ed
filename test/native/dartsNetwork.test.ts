/**
 * DARTS' NetworkCIFAR built by src/spaces/darts/network.ts, on the native
 * engine: the DARTS-V2 parameter count of the paper (3.3M), parameter names
 * and logits/gradients against a PyTorch transcription of DARTS
 * (test/fixtures/darts/reference.json), NAS-Bench-301's recorded parameter
 * counts, spatial sizes, and forward/gradient on sampled genotypes.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Network } from '../../src/engine/network.js';
import type { GraphSpec, ParamKind } from '../../src/engine/graphSpec.js';
import { ArchitectureError } from '../../src/errors.js';
import { Rng } from '../../src/spaces/rng.js';
import {
  DARTS_V2,
  buildDartsGraph,
  buildDartsNetwork,
  dartsReductionCells,
  formatGenotype,
  parseGenotype,
  sampleGenotypeHnas,
  sampleGenotypeUniform,
  type Genotype,
} from '../../src/spaces/darts/index.js';
import { expectAllClose } from '../helpers/allClose.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'darts');

/** Trainable parameters of a spec (running statistics excluded), without the engine. */
function trainableCount(spec: GraphSpec): number {
  return spec.params.filter((p) => p.kind !== 'bn_running_mean' && p.kind !== 'bn_running_var').reduce((s, p) => s + p.data.length, 0);
}

function randomInput(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * 3 * 32 * 32 }, () => rng.normal());
}

function expectFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new Error(`${what}: element ${i} is ${values[i]}`);
  }
}

describe('DARTS-V2 at evaluation size (C = 36, 20 cells)', () => {
  it('has the paper’s 3.3M parameters (3,349,342), DARTS’ names and shapes, 32→16→8, and runs forward', async () => {
    const { spec, cells, stemShape } = buildDartsGraph(DARTS_V2, { channels: 36, layers: 20, seed: 1 });
    expect(trainableCount(spec)).toBe(3_349_342);

    expect(stemShape).toEqual([108, 32, 32]);
    expect(dartsReductionCells(20)).toEqual([6, 13]);
    expect(cells.map((c) => c.reduction)).toEqual(Array.from({ length: 20 }, (_, i) => i === 6 || i === 13));
    for (const c of cells) {
      const [channels, size] = c.index < 6 ? [36, 32] : c.index < 13 ? [72, 16] : [144, 8];
      expect(c.channels).toBe(channels);
      expect(c.outputShape).toEqual([4 * channels, size, size]);
      expect(c.reductionPrev).toBe(c.index === 7 || c.index === 14);
    }
    expect(cells[6].inputShapes).toEqual([[144, 32, 32], [144, 32, 32]]);
    expect(cells[7].inputShapes).toEqual([[144, 32, 32], [288, 16, 16]]);

    const shapes = new Map(spec.params.map((p) => [p.name, p.shape]));
    expect(shapes.get('stem.0.weight')).toEqual([108, 3, 3, 3]);
    expect(shapes.get('stem.1.running_var')).toEqual([108]);
    expect(shapes.get('cells.0.preprocess0.op.1.weight')).toEqual([36, 108, 1, 1]);
    expect(shapes.get('cells.7.preprocess0.conv_1.weight')).toEqual([36, 144, 1, 1]); // FactorizedReduce after a reduction
    expect(shapes.get('cells.7.preprocess0.conv_2.weight')).toEqual([36, 144, 1, 1]);
    expect(shapes.get('cells.7.preprocess0.bn.weight')).toEqual([72]);
    expect(shapes.get('cells.7.preprocess1.op.1.weight')).toEqual([72, 288, 1, 1]);
    expect(shapes.get('cells.0._ops.0.op.1.weight')).toEqual([36, 1, 3, 3]); // sep_conv_3x3: depthwise
    expect(shapes.get('cells.0._ops.0.op.6.weight')).toEqual([36, 36, 1, 1]);
    expect(shapes.get('cells.0._ops.0.op.7.bias')).toEqual([36]);
    expect(shapes.get('cells.19._ops.7.op.1.weight')).toEqual([144, 1, 3, 3]); // dil_conv_3x3
    expect(spec.params.some((p) => p.name.startsWith('cells.6._ops.'))).toBe(false); // V2's reduce cell: pools and identities
    expect(shapes.get('classifier.weight')).toEqual([10, 576]);
    expect(spec.params.at(-1)!.name).toBe('classifier.bias');

    const net = Network.create(spec, { dtype: 'float32', name: 'DARTS-V2' });
    try {
      expect(net.numTrainable).toBe(3_349_342);
      expect(net.numClasses).toBe(10);
      const logits = await net.forward(randomInput(2, 5), { bn: 'train' });
      expect(logits).toHaveLength(20);
      expectFinite(logits, 'DARTS-V2 logits');
    } finally {
      net.dispose();
    }
  });
});

// ---------------------------------------------------------------------------
// Against PyTorch (fixture made by test/fixtures/darts/make_reference.py).

interface ReferenceCase {
  genotype: string;
  channels: number;
  layers: number;
  params: { name: string; shape: number[] }[];
  numTrainable: number;
  logitsEval: number[];
  logitsTrain: number[];
  lossTrain: number;
  gradSum: Record<string, number>;
  gradNorm: Record<string, number>;
}
interface AuxiliaryCase {
  genotype: string;
  channels: number;
  layers: number;
  auxiliaryWeight: number;
  params: { name: string; shape: number[] }[];
  numTrainable: number;
  logitsTrain: number[];
  logitsAuxTrain: number[];
  lossTrain: number;
  gradSum: Record<string, number>;
  gradNorm: Record<string, number>;
}
const reference = JSON.parse(readFileSync(join(FIXTURES, 'reference.json'), 'utf8')) as {
  batch: number;
  labels: number[];
  cases: ReferenceCase[];
  auxiliary: AuxiliaryCase;
};

/** The closed-form parameter values of make_reference.py (`param_values`), for the k-th parameter. */
function referenceValues(kind: ParamKind, shape: number[], k: number): Float64Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  for (let i = 0; i < n; i++) {
    switch (kind) {
      case 'conv_weight':
      case 'linear_weight':
        out[i] = Math.sin(0.37 * i + 1.3 * k + 0.5) * Math.sqrt(3 / fanIn);
        break;
      case 'linear_bias':
        out[i] = 0.1 * Math.cos(0.7 * i + k);
        break;
      case 'bn_weight':
        out[i] = 1 + 0.2 * Math.sin(0.9 * i + k);
        break;
      case 'bn_bias':
        out[i] = 0.1 * Math.cos(1.1 * i + k);
        break;
      case 'bn_running_mean':
        out[i] = 0.05 * Math.sin(0.3 * i + k);
        break;
      case 'bn_running_var':
        out[i] = 1 + 0.5 * Math.sin(0.5 * i + k) ** 2;
        break;
      case 'conv_bias':
        throw new Error('DARTS convs have no bias');
    }
  }
  return out;
}

function referenceInput(n: number): Float64Array {
  return Float64Array.from({ length: n * 3 * 32 * 32 }, (_, i) => Math.sin(0.731 * i + 0.1) + 0.5 * Math.cos(0.117 * i));
}

// float64 on both sides; the engine and PyTorch sum in different orders, so a
// few ulps per op accumulate through ~20 BN-normalised layers: observed
// differences are ~1e-15 absolute on logits of size ~1.
const TOL = {
  logits: { atol: 1e-11, rtol: 1e-9 }, // float64 through the whole net
  grad: { atol: 1e-11, rtol: 1e-8 }, // per-parameter Σg and ‖g‖, batch-coupled (train-mode BN)
};

/** Per trainable parameter, Σ g and ‖g‖ against the reference's (what make_reference.py records). */
function expectGradientLike(net: Network, grad: ArrayLike<number>, ref: { gradSum: Record<string, number>; gradNorm: Record<string, number> }): void {
  const sums: number[] = [], norms: number[] = [], refSums: number[] = [], refNorms: number[] = [];
  for (const p of net.params.filter((q) => q.trainable)) {
    let s = 0, ss = 0;
    for (let i = 0; i < p.size; i++) {
      const v = grad[p.offset + i];
      s += v;
      ss += v * v;
    }
    sums.push(s);
    norms.push(Math.sqrt(ss));
    refSums.push(ref.gradSum[p.name]);
    refNorms.push(ref.gradNorm[p.name]);
  }
  expect(sums.length).toBe(Object.keys(ref.gradSum).length);
  expectAllClose(sums, refSums, TOL.grad, 'Σ grad per parameter');
  expectAllClose(norms, refNorms, TOL.grad, '‖grad‖ per parameter');
}

describe('against PyTorch’s DARTS NetworkCIFAR (float64, closed-form parameters)', () => {
  it.each(reference.cases.map((c, i) => [i, c] as const))('case %i', async (_, ref) => {
    const genotype = parseGenotype(ref.genotype);
    const spec = buildDartsNetwork(genotype, { channels: ref.channels, layers: ref.layers });
    // Same names, shapes and order as DARTS' state_dict.
    expect(spec.params.map((p) => p.name)).toEqual(ref.params.map((p) => p.name));
    expect(spec.params.map((p) => p.shape)).toEqual(ref.params.map((p) => p.shape));
    expect(trainableCount(spec)).toBe(ref.numTrainable);

    const spec64: GraphSpec = { ...spec, params: spec.params.map((p, k) => ({ ...p, data: referenceValues(p.kind, p.shape, k) })) };
    const net = Network.create(spec64, { dtype: 'float64', name: `reference case ${ref.genotype.slice(0, 40)}` });
    try {
      const x = referenceInput(reference.batch);
      const labels = Int32Array.from(reference.labels);
      expectAllClose(await net.forward(x, { bn: 'eval' }), ref.logitsEval, TOL.logits, 'eval logits');
      const g = await net.gradient(x, labels, { bn: 'train' });
      expectAllClose(g.logits, ref.logitsTrain, TOL.logits, 'train logits');
      expectAllClose([g.loss], [ref.lossTrain], TOL.logits, 'loss');
      expectGradientLike(net, g.grad, ref);
    } finally {
      net.dispose();
    }
  });
});

describe('the auxiliary head against PyTorch (DARTS train.py --auxiliary, float64)', () => {
  it('gives DARTS’ names and shapes, the main and auxiliary logits, CE + 0.4·CE_aux and its gradient', async () => {
    const ref = reference.auxiliary;
    const genotype = parseGenotype(ref.genotype);
    const built = buildDartsGraph(genotype, { channels: ref.channels, layers: ref.layers, auxiliary: true });
    const spec = built.spec;
    expect(built.auxiliary).toEqual({ classes: 10, cell: 3 });
    expect(spec.output.shape).toEqual([20]);
    expect(spec.params.map((p) => p.name)).toEqual(ref.params.map((p) => p.name));
    expect(spec.params.map((p) => p.shape)).toEqual(ref.params.map((p) => p.shape));
    expect(trainableCount(spec)).toBe(ref.numTrainable);
    // Without the head: the same parameters by name, minus the head's.
    const plain = buildDartsNetwork(genotype, { channels: ref.channels, layers: ref.layers });
    expect(plain.params.map((p) => p.name)).toEqual(spec.params.map((p) => p.name).filter((n) => !n.startsWith('auxiliary_head.')));

    const spec64: GraphSpec = { ...spec, params: spec.params.map((p, k) => ({ ...p, data: referenceValues(p.kind, p.shape, k) })) };
    const net = Network.create(spec64, { dtype: 'float64', name: 'reference with auxiliary head' });
    try {
      const x = referenceInput(reference.batch);
      const labels = Int32Array.from(reference.labels);
      const heads = [
        { offset: 0, count: 10, weight: 1 },
        { offset: 10, count: 10, weight: ref.auxiliaryWeight },
      ];
      const g = await net.gradient(x, labels, { bn: 'train', heads });
      const n = reference.batch;
      const main: number[] = [], aux: number[] = [];
      for (let i = 0; i < n; i++) {
        main.push(...Array.from(g.logits.subarray(i * 20, i * 20 + 10)));
        aux.push(...Array.from(g.logits.subarray(i * 20 + 10, i * 20 + 20)));
      }
      expectAllClose(main, ref.logitsTrain, TOL.logits, 'main logits');
      expectAllClose(aux, ref.logitsAuxTrain, TOL.logits, 'auxiliary logits');
      expectAllClose([g.loss], [ref.lossTrain], TOL.logits, 'CE + 0.4·CE_aux');
      expectGradientLike(net, g.grad, ref);
      // The head's weight matters: without it the loss is the main CE only and the head gets no gradient.
      const mainOnly = await net.gradient(x, labels, { bn: 'train', heads: [heads[0]] });
      expect(Math.abs(mainOnly.loss - ref.lossTrain)).toBeGreaterThan(0.1);
      const auxWeight = net.params.find((p) => p.name === 'auxiliary_head.classifier.weight')!;
      expect(mainOnly.grad.subarray(auxWeight.offset, auxWeight.offset + auxWeight.size).every((v) => v === 0)).toBe(true);
    } finally {
      net.dispose();
    }
  });

  it('rejects bad loss heads with typed errors', async () => {
    const spec = buildDartsNetwork(parseGenotype(reference.auxiliary.genotype), { channels: 4, layers: 3, auxiliary: true });
    const net = Network.create(spec, { name: 'tiny with auxiliary head' });
    try {
      const x = new Float32Array(2 * 3 * 32 * 32).fill(0.5);
      const labels = Int32Array.from([1, 9]);
      await expect(net.gradient(x, labels, { heads: [{ offset: 15, count: 10, weight: 1 }] })).rejects.toThrow(/loss head 0 must cover/);
      await expect(net.gradient(x, labels, { heads: [{ offset: 0, count: 5, weight: 1 }] })).rejects.toThrow(/label 9 of sample 1 is outside loss head 0/);
      await expect(net.gradient(x, labels, { heads: [{ offset: 0, count: 10, weight: Number.NaN }] })).rejects.toThrow(/finite weight/);
      await expect(net.gradient(x, labels, { objective: 'true_class', heads: [{ offset: 0, count: 10, weight: 1 }] })).rejects.toThrow(/loss objectives/);
      await expect(net.gradient(x, labels, { heads: [] })).rejects.toThrow(/non-empty/);
    } finally {
      net.dispose();
    }
  });
});

// ---------------------------------------------------------------------------

describe('NAS-Bench-301 parameter counts', () => {
  it('match the `params` column at C = 32, 8 cells with non-affine op BNs (NASLib’s network), every 50th genotype', () => {
    const lines = readFileSync(join(FIXTURES, 'nb301_genotypes.csv'), 'utf8').trim().split('\n').slice(1);
    let checked = 0;
    for (let i = 0; i < lines.length; i += 50) {
      const m = /^"([^"]*)","[^"]*",([0-9.]+)$/.exec(lines[i])!;
      const spec = buildDartsNetwork(parseGenotype(m[1]), { channels: 32, layers: 8, opsAffine: false });
      expect(trainableCount(spec), `row ${i}`).toBe(Math.round(Number(m[2]) * 1e6));
      checked++;
    }
    expect(checked).toBe(15);
  });
});

describe('search-proxy size (C = 16, 5 cells) on sampled genotypes', () => {
  const rng = new Rng(2024);
  const genotypes: Genotype[] = [
    ...Array.from({ length: 5 }, () => sampleGenotypeUniform(rng)),
    ...Array.from({ length: 5 }, () => sampleGenotypeHnas(rng)),
  ];
  const x = randomInput(2, 9);
  const labels = Int32Array.from([1, 7]);

  it.each(genotypes.map((g, i) => [i, g] as const))('genotype %i: shapes 32→16→8, forward (train, eval) and gradient', async (_, g) => {
    const { spec, cells } = buildDartsGraph(g, { channels: 16, layers: 5, seed: 3 });
    expect(cells.map((c) => c.outputShape)).toEqual([
      [64, 32, 32],
      [128, 16, 16],
      [128, 16, 16],
      [256, 8, 8],
      [256, 8, 8],
    ]);
    const net = Network.create(spec, { dtype: 'float32', name: formatGenotype(g) });
    try {
      expect(net.numTrainable).toBe(trainableCount(spec));
      for (const bn of ['train', 'eval'] as const) {
        const logits = await net.forward(x, { bn });
        expect(logits).toBeInstanceOf(Float32Array);
        expect(logits).toHaveLength(2 * 10);
        expectFinite(logits, `${bn} logits`);
      }
      const r = await net.gradient(x, labels, { bn: 'train' });
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.grad).toHaveLength(net.totalParamSize);
      expectFinite(r.grad, 'gradient');
      const classifier = net.params.find((p) => p.name === 'classifier.weight')!;
      expect(r.grad.subarray(classifier.offset, classifier.offset + classifier.size).some((v) => v !== 0)).toBe(true);
      const stem = net.params.find((p) => p.name === 'stem.0.weight')!;
      expect(r.grad.subarray(stem.offset, stem.offset + stem.size).some((v) => v !== 0)).toBe(true);
    } finally {
      net.dispose();
    }
  });
});

describe('buildDartsNetwork options', () => {
  it('rejects bad options and invalid genotypes', () => {
    expect(() => buildDartsNetwork(DARTS_V2, { channels: 15, layers: 2 })).toThrow(/channels must be even/);
    expect(() => buildDartsNetwork(DARTS_V2, { channels: 0 })).toThrow(/channels must be a positive integer/);
    expect(() => buildDartsNetwork(DARTS_V2, { channels: 4, layers: 5, inputSize: 30 })).toThrow(/inputSize 30 is not divisible by 4/);
    expect(() => buildDartsNetwork(DARTS_V2, { auxiliary: 1 as unknown as boolean })).toThrow(/auxiliary must be a boolean/);
    expect(() => buildDartsNetwork(DARTS_V2, { channels: 8, layers: 5, inputSize: 64, auxiliary: true })).toThrow(/auxiliary head needs an 8×8 input/);
    const bad = { ...DARTS_V2, reduce: DARTS_V2.reduce.slice(0, 6) };
    expect(() => buildDartsNetwork(bad, { channels: 4, layers: 3 })).toThrow(ArchitectureError);
  });

  it('is deterministic per seed, and other sizes keep exact halving (C = 8, 8 cells, 64×64, 100 classes)', () => {
    const a = buildDartsNetwork(DARTS_V2, { channels: 8, layers: 3, seed: 4 });
    const b = buildDartsNetwork(DARTS_V2, { channels: 8, layers: 3, seed: 4 });
    const c = buildDartsNetwork(DARTS_V2, { channels: 8, layers: 3, seed: 5 });
    expect(a.params.map((p) => Array.from(p.data))).toEqual(b.params.map((p) => Array.from(p.data)));
    expect(a.params[0].data).not.toEqual(c.params[0].data);
    const { spec, cells } = buildDartsGraph(DARTS_V2, { channels: 8, layers: 8, inputSize: 64, numClasses: 100 });
    expect(cells.filter((x) => x.reduction).map((x) => x.index)).toEqual([2, 5]);
    expect(cells.at(-1)!.outputShape).toEqual([128, 16, 16]);
    expect(spec.output.shape).toEqual([100]);
    expect(spec.input.shape).toEqual([3, 64, 64]);
  });
});
