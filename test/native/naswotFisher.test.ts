/**
 * The NASWOT ReLU kernel (`reluKernel`) and per-layer fisher (`layerFisher`)
 * requests against the PyTorch fixtures (test/fixtures/nb201, README §4):
 * the kernel K exactly, ln|det K| for `naswot` and `naswot_distinct`, the
 * ReLU counts under both conventions, and zero-cost-nas `fisher` per layer,
 * in float64 (tight) and float32 (the fixture README's float32 tolerances).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphSpec, ParamKind } from '../../src/engine/graphSpec.js';
import { Network } from '../../src/engine/network.js';
import { expectAllClose, relDiff } from '../helpers/allClose.js';
import { FIXTURES, expected, fixtureBatch, fixturePath, readF64, tolerances } from '../helpers/fixtures.js';
import { Rng } from '../helpers/singleOpGraph.js';

// Tolerances, with the reason for each.
const TOL = {
  // K holds integer counts: a float64 engine must reproduce them exactly.
  kernel: 0,
  // ln|det K| of the same integer K; only the LU's rounding differs from
  // numpy's slogdet (~n·κ·eps relative, far below this).
  logdetF64: 1e-10,
  // float64 engine vs float64 torch: same math, other summation order (README §8).
  fisherF64: 1e-8,
  // float32 engine (README §8): float32 rounding flips the sign of a few ReLU
  // inputs, moving ln|det K| by up to 3.4e-7 relative; the table's rtol.
  naswotF32: 2e-6,
  // Train-mode BN's backward amplifies float32 rounding (README §5); the
  // table's rtol for fisher (worst torch-f32 deviation 7.3e-3, on 376).
  fisherF32: (tolerances().f32_engine as Record<string, { rtol: number }>).fisher.rtol,
  // Synthetic graph, float64, fisher against Σ W·(decomposed per-sample
  // gradient): the same products summed in another order.
  fisherIdentity: 1e-12,
};

const { input, labels } = fixtureBatch();
const input64 = Float64Array.from(input);
const N = labels.length;

/** ln|det A| and the sign of det A by LU with partial pivoting, in float64. */
function slogdet(a: ArrayLike<number>, n: number): { sign: number; logabsdet: number } {
  const m = Float64Array.from(a);
  let sign = 1;
  let logabsdet = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]) > Math.abs(m[p * n + k])) p = i;
    const pivot = m[p * n + k];
    if (pivot === 0) return { sign: 0, logabsdet: -Infinity };
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = m[k * n + j];
        m[k * n + j] = m[p * n + j];
        m[p * n + j] = t;
      }
      sign = -sign;
    }
    if (pivot < 0) sign = -sign;
    logabsdet += Math.log(Math.abs(pivot));
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k] / pivot;
      if (f === 0) continue;
      for (let j = k + 1; j < n; j++) m[i * n + j] -= f * m[k * n + j];
    }
  }
  return { sign, logabsdet };
}

describe.each(FIXTURES)('fixture %s', (name) => {
  const exp = expected(name);
  const naswot = exp.metrics.naswot;
  const distinct = exp.metrics.naswot_distinct;
  let net64: Network;
  let net32: Network;

  beforeAll(async () => {
    net64 = await Network.fromOnnxFile(fixturePath(name, 'model.onnx'), { dtype: 'float64' });
    net32 = await Network.fromOnnxFile(fixturePath(name, 'model.onnx'), { dtype: 'float32' });
  });
  afterAll(() => {
    net64?.dispose();
    net32?.dispose();
  });

  it('float64: the weighted kernel is the reference K exactly; naswot and naswot_distinct', async () => {
    const k = await net64.reluKernel(input64);
    expect(k.weighted.length).toBe(N * N);
    expect(k.distinct.length).toBe(N * N);
    expectAllClose(k.weighted, readF64(name, 'naswot_K_f64.bin'), { atol: TOL.kernel }, `${name} K`);
    for (const m of [k.weighted, k.distinct]) {
      expect(m.every((v) => Number.isInteger(v))).toBe(true);
      for (let i = 0; i < N; i++) for (let j = 0; j < i; j++) expect(m[i * N + j]).toBe(m[j * N + i]);
    }
    // A sample agrees with itself on every unit.
    for (let i = 0; i < N; i++) {
      expect(k.weighted[i * N + i]).toBe(k.unitsPerSample);
      expect(k.distinct[i * N + i]).toBe(k.distinctUnitsPerSample);
    }

    const w = slogdet(k.weighted, N);
    expect(w.sign).toBe(naswot.sign);
    expect(relDiff(w.logabsdet, naswot.f64)).toBeLessThan(TOL.logdetF64);
    const d = slogdet(k.distinct, N);
    expect(d.sign).toBe(distinct.sign);
    expect(relDiff(d.logabsdet, distinct.f64)).toBeLessThan(TOL.logdetF64);

    // Counts: the ONNX graph has one Relu node per distinct input (the
    // exporter merged equal ReLUs); the peers count modules = Σ consumers.
    expect(k.reluNodes).toBe(exp.onnx.op_counts.Relu);
    expect(k.reluNodes).toBe(distinct.onnx_relu_nodes);
    expect(k.distinctInputs).toBe(distinct.num_distinct_relu_inputs);
    expect(k.reluModules).toBe(naswot.num_relus);
    expect(k.unitsPerSample).toBe(naswot.units_per_sample);
    expect(k.distinctUnitsPerSample).toBe(distinct.units_per_sample);
  });

  it('float64: per-layer fisher by weight name and the total', async () => {
    const f = await net64.layerFisher(input64, labels);
    expect(relDiff(f.loss, exp.loss_train.f64)).toBeLessThan(TOL.fisherF64);
    const ours = new Map(f.layers.map((l) => [l.param, l.score]));
    expect(ours.size).toBe(f.layers.length);
    const refNames = new Set<string>();
    const actual: number[] = [];
    const want: number[] = [];
    for (const layer of exp.per_layer as { name: string; fisher_f64: number }[]) {
      refNames.add(layer.name);
      const score = ours.get(layer.name);
      // Dead ops (README §3.3) are absent from model.onnx; their fisher is 0.
      actual.push(score ?? 0);
      want.push(layer.fisher_f64);
    }
    for (const l of f.layers) expect(refNames.has(l.param)).toBe(true);
    expectAllClose(actual, want, { rtol: TOL.fisherF64 }, `${name} per-layer fisher`);
    expect(relDiff(f.total, exp.metrics.fisher.f64)).toBeLessThan(TOL.fisherF64);
    expect(f.total).toBe(f.layers.reduce((s, l) => s + l.score, 0));
  });

  it('float32: naswot, naswot_distinct and fisher within the float32-engine tolerances', async () => {
    const k = await net32.reluKernel(input);
    expect(k.weighted.every((v) => Number.isInteger(v))).toBe(true);
    expect(k.reluModules).toBe(naswot.num_relus);
    expect(relDiff(slogdet(k.weighted, N).logabsdet, naswot.f64)).toBeLessThan(TOL.naswotF32);
    expect(relDiff(slogdet(k.distinct, N).logabsdet, distinct.f64)).toBeLessThan(TOL.naswotF32);
    const f = await net32.layerFisher(input, labels);
    expect(relDiff(f.total, exp.metrics.fisher.f64)).toBeLessThan(TOL.fisherF32);
  });
});

/**
 * Two Relu nodes on one tensor (one feeding one conv, the other two), a
 * zero node's ReLU, a grouped conv with bias under train-mode BN, and a
 * linear head: input [4,5,5] -> ... -> logits [3].
 */
function sharingSpec(rng: Rng): GraphSpec {
  const param = (name: string, kind: ParamKind, shape: number[], fill?: number) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = Float64Array.from({ length: size }, () => fill ?? rng.range(-0.5, 0.5));
    return { name, kind, shape, data };
  };
  const conv = { stride: [1, 1] as [number, number], dilation: [1, 1] as [number, number] };
  return {
    input: { name: 'x', shape: [4, 5, 5] },
    output: { name: 'y', shape: [3] },
    params: [
      param('ca.w', 'conv_weight', [4, 2, 3, 3]),
      param('ca.b', 'conv_bias', [4]),
      param('cb.w', 'conv_weight', [4, 4, 1, 1]),
      param('cc.w', 'conv_weight', [4, 4, 3, 3]),
      param('bn.w', 'bn_weight', [4], 1),
      param('bn.b', 'bn_bias', [4], 0.1),
      param('bn.rm', 'bn_running_mean', [4], 0),
      param('bn.rv', 'bn_running_var', [4], 1),
      param('fc.w', 'linear_weight', [3, 4]),
      param('fc.b', 'linear_bias', [3]),
    ],
    nodes: [
      { op: 'relu', name: 'r1', inputs: ['x'], outputs: ['p'] },
      { op: 'relu', name: 'r2', inputs: ['x'], outputs: ['q'] },
      { op: 'conv2d', name: 'ca', inputs: ['p'], outputs: ['a'], weight: 'ca.w', bias: 'ca.b', pads: [1, 1, 1, 1], groups: 2, ...conv },
      { op: 'conv2d', name: 'cb', inputs: ['q'], outputs: ['b'], weight: 'cb.w', pads: [0, 0, 0, 0], groups: 1, ...conv },
      { op: 'conv2d', name: 'cc', inputs: ['q'], outputs: ['c'], weight: 'cc.w', pads: [1, 1, 1, 1], groups: 1, ...conv },
      { op: 'batch_norm', name: 'bn', inputs: ['a'], outputs: ['an'], weight: 'bn.w', bias: 'bn.b', runningMean: 'bn.rm', runningVar: 'bn.rv', eps: 1e-5, momentum: 0.1 },
      { op: 'add', name: 's', inputs: ['an', 'b'], outputs: ['s'] },
      { op: 'add', name: 't', inputs: ['s', 'c'], outputs: ['t'] },
      { op: 'zeros_like', name: 'z', inputs: ['t'], outputs: ['zz'] },
      { op: 'relu', name: 'r3', inputs: ['zz'], outputs: ['zr'] },
      { op: 'add', name: 'u', inputs: ['t', 'zr'], outputs: ['u'] },
      { op: 'relu', name: 'r4', inputs: ['u'], outputs: ['v'] },
      { op: 'global_avg_pool', name: 'g', inputs: ['v'], outputs: ['g'] },
      { op: 'flatten', name: 'f', inputs: ['g'], outputs: ['f'] },
      { op: 'linear', name: 'fc', inputs: ['f'], outputs: ['y'], weight: 'fc.w', bias: 'fc.b' },
    ],
  };
}

describe('shared ReLUs, a zero node and fisher on a synthetic graph (float64)', () => {
  const rng = new Rng(20240611);
  const n = 6;
  const d = 4 * 5 * 5;
  const x = Float64Array.from({ length: n * d }, () => rng.normal());
  const y = Int32Array.from({ length: n }, () => rng.int(3));
  let net: Network;
  beforeAll(() => {
    net = Network.create(sharingSpec(rng), { dtype: 'float64', name: 'sharing' });
  });
  afterAll(() => net?.dispose());

  it('weights each Relu node by its readers and counts each input tensor once', async () => {
    const k = await net.reluKernel(x);
    // r1 (1 reader) and r2 (2 readers) share x; r3 reads the zero node; r4 reads u.
    expect(k.reluNodes).toBe(4);
    expect(k.distinctInputs).toBe(3);
    expect(k.reluModules).toBe(5);
    expect(k.unitsPerSample).toBe(5 * d);
    expect(k.distinctUnitsPerSample).toBe(3 * d);
    // K of the input, by brute force; the zero node's codes are all 0 (K = D).
    const kx = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let agree = 0;
        for (let u = 0; u < d; u++) if (x[i * d + u] > 0 === x[j * d + u] > 0) agree++;
        kx[i * n + j] = agree;
      }
    const ku = new Float64Array(n * n);
    for (let e = 0; e < n * n; e++) {
      ku[e] = k.distinct[e] - kx[e] - d;
      expect(k.weighted[e]).toBe(3 * kx[e] + d + ku[e]);
      expect(ku[e]).toBeGreaterThanOrEqual(0);
      expect(ku[e]).toBeLessThanOrEqual(d);
    }
    for (let i = 0; i < n; i++) expect(ku[i * n + i]).toBe(d);
  });

  it('fisher: s_nk equals W_k·g_n[k] (+ b_k·g_n[b_k]) from decomposed per-sample gradients', async () => {
    const f = await net.layerFisher(x, y);
    expect(f.layers.map((l) => l.param)).toEqual(['ca.w', 'cb.w', 'cc.w', 'fc.w']);
    const jac = await net.jacobian(x, y, { mode: 'decomposed', output: 'mean_loss', params: 'weights_and_biases', result: 'jacobian' });
    const J = jac.jacobian!;
    const col = new Map<string, number>();
    let c0 = 0;
    for (const p of jac.params) {
      col.set(p.name, c0);
      c0 += p.size;
    }
    const theta = net.getParams();
    const byName = new Map(net.params.map((p) => [p.name, p]));
    let total = 0;
    for (const l of f.layers) {
      const w = byName.get(l.param)!;
      const b = byName.get(l.param.replace(/\.w$/, '.b'));
      const cout = w.shape[0];
      const per = w.size / cout;
      let score = 0;
      for (let ch = 0; ch < cout; ch++) {
        let sumSq = 0;
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let e = 0; e < per; e++) s += theta[w.offset + ch * per + e] * J[i * jac.cols + col.get(w.name)! + ch * per + e];
          if (b) s += theta[b.offset + ch] * J[i * jac.cols + col.get(b.name)! + ch];
          sumSq += s * s;
        }
        score += (0.5 * sumSq) / n;
      }
      score *= per;
      expect(relDiff(l.score, score)).toBeLessThan(TOL.fisherIdentity);
      total += score;
    }
    expect(relDiff(f.total, total)).toBeLessThan(TOL.fisherIdentity);
  });
});

describe('reluKernel and layerFisher input checks', () => {
  let net: Network;
  beforeAll(async () => {
    net = await Network.fromOnnxFile(fixturePath('1835_seed0', 'model.onnx'), { dtype: 'float32' });
  });
  afterAll(() => net?.dispose());

  it('rejects NaN in the input with ERR_HNAS_NON_FINITE, naming the sample', async () => {
    const bad = input.slice(0, 4 * 3072);
    bad[2 * 3072 + 5] = NaN;
    const y = labels.slice(0, 4);
    await expect(net.reluKernel(bad)).rejects.toMatchObject({
      code: 'ERR_HNAS_NON_FINITE',
      message: expect.stringContaining('sample 2'),
    });
    await expect(net.layerFisher(bad, y)).rejects.toMatchObject({ code: 'ERR_HNAS_NON_FINITE' });
  });

  it('rejects mismatched shapes and bad labels', async () => {
    const x = input.slice(0, 4 * 3072);
    await expect(net.reluKernel(x.subarray(0, 3000))).rejects.toMatchObject({ code: 'ERR_HNAS_SHAPE_MISMATCH' });
    await expect(net.layerFisher(x, labels.slice(0, 3))).rejects.toMatchObject({ code: 'ERR_HNAS_SHAPE_MISMATCH' });
    await expect(net.layerFisher(x, Int32Array.from([0, 1, 2, 10]))).rejects.toMatchObject({
      code: 'ERR_HNAS_INVALID_ARGUMENT',
      message: expect.stringContaining('label 10'),
    });
  });
});
