/**
 * Identities the engine must satisfy whatever the network: Θ symmetric PSD,
 * trace Θ = ‖J‖²_F, decomposed rows summing to the batch gradient, exact =
 * decomposed when samples do not interact, Hessian-vector products against
 * finite differences of the gradient and against the fixtures' GraSP.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Network } from '../../src/engine/network.js';
import type { GraphSpec } from '../../src/engine/graphSpec.js';
import { expectAllClose, maxAbs, relDiff } from '../helpers/allClose.js';
import { expected, fixtureBatch, fixturePath } from '../helpers/fixtures.js';

const N = 8;
const { input, labels: allLabels } = fixtureBatch();
const x = Float64Array.from(input.subarray(0, N * 3 * 32 * 32));
const labels = allLabels.slice(0, N);

function selectedGrad(net: Network, grad: ArrayLike<number>, sel: Parameters<Network['selectParams']>[0]): number[] {
  const out: number[] = [];
  for (const p of net.selectParams(sel)) for (let i = 0; i < p.size; i++) out.push(grad[p.offset + i]);
  return out;
}

function columnSums(j: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const s = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) s[c] += j[r * cols + c];
  return s;
}

describe('Θ and J on an NB201 network (4948, float64, batch 8)', () => {
  let net: Network;
  beforeAll(async () => {
    net = await Network.fromOnnxFile(fixturePath('4948_seed0', 'model.onnx'), { dtype: 'float64' });
  });
  afterAll(() => net.dispose());

  it('Θ is symmetric positive semi-definite, equals J·Jᵀ, and trace Θ = ‖J‖²_F', async () => {
    const r = await net.jacobian(x, labels, { result: 'both', output: 'true_class' });
    const theta = r.theta!;
    const J = r.jacobian!;
    const scale = maxAbs(theta);
    for (let i = 0; i < N; i++)
      for (let k = 0; k < N; k++) expect(Math.abs(theta[i * N + k] - theta[k * N + i])).toBeLessThan(1e-12 * scale);
    const eig = new EigenvalueDecomposition(new Matrix(Array.from({ length: N }, (_, i) => Array.from(theta.subarray(i * N, (i + 1) * N)))));
    expect(Math.min(...eig.realEigenvalues)).toBeGreaterThan(-1e-10 * scale);
    let fro = 0;
    for (const v of J) fro += v * v;
    let tr = 0;
    for (let i = 0; i < N; i++) tr += theta[i * N + i];
    expect(relDiff(tr, fro)).toBeLessThan(1e-12);
    const jjt = new Float64Array(N * N);
    for (let i = 0; i < N; i++)
      for (let k = 0; k < N; k++) {
        let s = 0;
        for (let c = 0; c < r.cols; c++) s += J[i * r.cols + c] * J[k * r.cols + c];
        jjt[i * N + k] = s;
      }
    expectAllClose(theta, jjt, { rtol: 1e-10, atol: 1e-12 * scale }, 'Θ vs J·Jᵀ');
  });

  it('decomposed per-sample rows sum to the batch gradient of the summed objective', async () => {
    for (const output of ['true_class', 'sum', 'mean_loss'] as const) {
      const r = await net.jacobian(x, labels, { result: 'jacobian', output, params: 'trainable' });
      const g = await net.gradient(x, labels, { objective: output });
      const batch = selectedGrad(net, g.grad, 'trainable');
      const scale = maxAbs(batch);
      expectAllClose(columnSums(r.jacobian!, r.rows, r.cols), batch, { rtol: 1e-9, atol: 1e-12 * scale }, `Σ rows (${output})`);
    }
  });

  it('exact per-sample loss gradients also sum to N × the mean-loss gradient (the knas identity)', async () => {
    const r = await net.jacobian(x, labels, { mode: 'exact', result: 'jacobian', output: 'loss', params: 'weights' });
    const g = await net.gradient(x, labels);
    const batch = selectedGrad(net, g.grad, 'weights').map((v) => v * N);
    const scale = maxAbs(batch);
    expectAllClose(columnSums(r.jacobian!, r.rows, r.cols), batch, { rtol: 1e-9, atol: 1e-12 * scale }, 'Σ exact rows');
  });

  it('exact equals decomposed when BN uses running statistics, for every output selection', async () => {
    for (const output of ['true_class', 'sum', 'all', 'loss'] as const) {
      const dec = await net.jacobian(x, labels, { bn: 'eval', result: 'jacobian', output, params: 'trainable' });
      const ex = await net.jacobian(x, labels, { bn: 'eval', mode: 'exact', result: 'jacobian', output, params: 'trainable', chunk: 3 });
      expect(ex.rows).toBe(output === 'all' ? N * 10 : N);
      const scale = maxAbs(dec.jacobian!);
      expectAllClose(ex.jacobian!, dec.jacobian!, { rtol: 1e-9, atol: 1e-12 * scale }, `exact vs decomposed (${output})`);
    }
  });

  it('output "all" rows are sample-major: row i·K + k is ∂f_k(x_i)/∂θ', async () => {
    // With running-statistics BN the samples are independent, so the row of
    // (i, y_i) is exactly sample i's true-class row. (With batch statistics a
    // decomposed row is a contribution to a summed objective, and the sums
    // differ between "all" and "true_class".)
    const all = await net.jacobian(x, labels, { bn: 'eval', result: 'jacobian', output: 'all', params: 'weights' });
    const tc = await net.jacobian(x, labels, { bn: 'eval', result: 'jacobian', output: 'true_class', params: 'weights' });
    const cols = all.cols;
    for (let i = 0; i < N; i++) {
      const row = all.jacobian!.subarray((i * 10 + labels[i]) * cols, (i * 10 + labels[i] + 1) * cols);
      const ref = tc.jacobian!.subarray(i * cols, (i + 1) * cols);
      expectAllClose(row, ref, { rtol: 1e-10, atol: 1e-12 * maxAbs(ref) }, `row ${i}`);
    }
  });

  it('Θ accumulated layer by layer equals Θ formed from the whole J', async () => {
    for (const [mode, output] of [['decomposed', 'all'], ['exact', 'sum']] as const) {
      const a = await net.jacobian(x, labels, { mode, output, result: 'theta' });
      const b = await net.jacobian(x, labels, { mode, output, result: 'both' });
      const scale = maxAbs(b.theta!);
      expectAllClose(a.theta!, b.theta!, { rtol: 1e-10, atol: 1e-13 * scale }, `Θ (${mode})`);
    }
  });
});

/** A ReLU-free network, so the gradient is smooth and finite differences of it converge to H·v. */
function smoothNet(): GraphSpec {
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  const arr = (n: number, scale = 1, offset = 0) => Float64Array.from({ length: n }, () => offset + scale * rnd());
  return {
    input: { name: 'x', shape: [3, 6, 6] },
    output: { name: 'y', shape: [4] },
    params: [
      { name: 'c1.w', kind: 'conv_weight', shape: [4, 3, 3, 3], data: arr(108, 0.6) },
      { name: 'b1.g', kind: 'bn_weight', shape: [4], data: arr(4, 0.4, 1) },
      { name: 'b1.b', kind: 'bn_bias', shape: [4], data: arr(4, 0.2) },
      { name: 'b1.m', kind: 'bn_running_mean', shape: [4], data: arr(4, 0.1) },
      { name: 'b1.v', kind: 'bn_running_var', shape: [4], data: arr(4, 0.2, 1) },
      { name: 'c2.w', kind: 'conv_weight', shape: [5, 4, 3, 3], data: arr(180, 0.5) },
      { name: 'c2.b', kind: 'conv_bias', shape: [5], data: arr(5, 0.2) },
      { name: 'fc.w', kind: 'linear_weight', shape: [4, 5], data: arr(20, 0.8) },
      { name: 'fc.b', kind: 'linear_bias', shape: [4], data: arr(4, 0.2) },
    ],
    nodes: [
      { op: 'conv2d', name: 'c1', inputs: ['x'], outputs: ['a'], weight: 'c1.w', stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 1 },
      { op: 'batch_norm', name: 'b1', inputs: ['a'], outputs: ['b'], weight: 'b1.g', bias: 'b1.b', runningMean: 'b1.m', runningVar: 'b1.v', eps: 1e-5, momentum: 0.1 },
      { op: 'avg_pool2d', name: 'p', inputs: ['b'], outputs: ['c'], kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], countIncludePad: false },
      { op: 'conv2d', name: 'c2', inputs: ['c'], outputs: ['d'], weight: 'c2.w', bias: 'c2.b', stride: [2, 2], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 1 },
      { op: 'global_avg_pool', name: 'g', inputs: ['d'], outputs: ['e'] },
      { op: 'linear', name: 'fc', inputs: ['e'], outputs: ['y'], weight: 'fc.w', bias: 'fc.b' },
    ],
  };
}

describe('Hessian-vector products', () => {
  it('match central differences of the gradient on a smooth network, and H is symmetric', async () => {
    const net = Network.create(smoothNet(), { dtype: 'float64' });
    try {
      const xs = Float64Array.from({ length: 5 * 3 * 6 * 6 }, (_, i) => Math.sin(i * 0.37) * 1.3);
      const ys = Int32Array.from([0, 3, 1, 2, 3]);
      for (const bn of ['train', 'eval'] as const) {
        const sel = net.selectParams('trainable');
        const total = sel.reduce((s, p) => s + p.size, 0);
        const v = Float64Array.from({ length: total }, (_, i) => Math.cos(i * 1.7));
        const u = Float64Array.from({ length: total }, (_, i) => Math.sin(i * 0.9 + 0.3));
        const h = await net.hvp(xs, ys, v, { bn, params: 'trainable' });
        const base = net.getParams();
        const eps = 1e-5;
        const gradAt = async (sign: number) => {
          const p = Float64Array.from(base);
          let o = 0;
          for (const s of sel) for (let i = 0; i < s.size; i++) p[s.offset + i] += sign * eps * v[o++];
          net.setParams(p);
          return selectedGrad(net, (await net.gradient(xs, ys, { bn })).grad, 'trainable');
        };
        const gp = await gradAt(1);
        const gm = await gradAt(-1);
        net.setParams(base);
        const fd = gp.map((a, i) => (a - gm[i]) / (2 * eps));
        const scale = maxAbs(fd);
        // Central differences: O(eps²) truncation ~1e-10 relative, plus rounding ~1e-16/eps.
        expectAllClose(h.hvp, fd, { rtol: 1e-6, atol: 1e-7 * scale }, `H·v (bn ${bn})`);
        const hu = await net.hvp(xs, ys, u, { bn, params: 'trainable' });
        let uhv = 0;
        let vhu = 0;
        for (let i = 0; i < total; i++) {
          uhv += u[i] * h.hvp[i];
          vhu += v[i] * hu.hvp[i];
        }
        expect(relDiff(uhv, vhu)).toBeLessThan(1e-10);
      }
    } finally {
      net.dispose();
    }
  });

  it.each(['1835_seed0', '4948_seed0'] as const)('reproduce GraSP (Σ −W ⊙ H g) of fixture %s in float64', async (name) => {
    const net = await Network.fromOnnxFile(fixturePath(name, 'model.onnx'), { dtype: 'float64' });
    try {
      const full = fixtureBatch();
      const xin = Float64Array.from(full.input);
      const g = await net.gradient(xin, full.labels);
      const gw = Float64Array.from(selectedGrad(net, g.grad, 'weights'));
      const h = await net.hvp(xin, full.labels, gw, { params: 'weights' });
      const w = selectedGrad(net, net.getParams(), 'weights');
      let grasp = 0;
      for (let i = 0; i < w.length; i++) grasp -= w[i] * h.hvp[i];
      expectAllClose(h.grad, gw, { rtol: 1e-10, atol: 1e-12 * maxAbs(gw) }, 'gradient from the dual pass');
      // Fixture README: a float64 engine matches grasp to 1e-7 (cancelling sums).
      expect(relDiff(grasp, expected(name).metrics.grasp.f64)).toBeLessThan(1e-7);
    } finally {
      net.dispose();
    }
  });
});
