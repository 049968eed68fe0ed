/**
 * The engine's training step: Network.gradient with label smoothing,
 * drop-path scales (`sampleScales`) and the BN running-statistics update in
 * the same forward pass, and one SGD step on the engine's gradient of a tiny
 * network against values computed by hand.
 *
 * Tolerances (float64 networks):
 *  - FD: |fd − analytic| ≤ 1e-8 + 1e-6·|analytic| with a central step
 *    h = 1e-6·max(1, |θ|). The network is smooth (no ReLU / max-pool), so no
 *    kink can fall inside the stencil; L ~ log K carries ~1e-15 of rounding,
 *    ~1e-9 after dividing by 2h, and the truncation error h²/6·|L'''| is
 *    ~1e-13. Same reasoning as test/native/opsFiniteDifference.test.ts.
 *  - Closed forms (loss, running statistics, SGD): 1e-12 relative, a few
 *    ulps of float64 summation order.
 */
import { describe, expect, it } from 'vitest';
import type { GraphSpec, NodeSpec } from '../../src/engine/graphSpec.js';
import { Network } from '../../src/engine/network.js';
import { Sgd } from '../../src/train/sgd.js';
import { expectAllClose } from '../helpers/allClose.js';
import { Rng, singleOpGraph } from '../helpers/singleOpGraph.js';

const FD = { atol: 1e-8, rtol: 1e-6 };
const EXACT = { atol: 1e-14, rtol: 1e-12 };

/**
 * A smooth two-branch network: conv → BN(train) → avg pool, plus a 1×1 conv
 * branch (the one drop-path scales), summed, BN, global pool, linear.
 */
function smoothNet(seed: number): { spec: GraphSpec; branch: string } {
  let branch = '';
  const { spec } = singleOpGraph([3, 6, 6], seed, (b, x) => {
    const a = b.avgPool(b.batchNorm(b.conv(x, { cout: 4, kernel: [3, 3], pads: [1, 1, 1, 1] })), {
      kernel: [3, 3],
      stride: [1, 1],
      pads: [1, 1, 1, 1],
      countIncludePad: false,
    });
    const c = b.conv(x, { cout: 4, kernel: [1, 1] });
    branch = c.name;
    const s = b.batchNorm(b.add(a, c));
    return b.linear(b.globalAvgPool(s), { out: 5 });
  });
  return { spec, branch };
}

function randomBatch(seed: number, n: number, per: number, k: number): { input: Float64Array; labels: Int32Array } {
  const rng = new Rng(seed);
  const input = Float64Array.from({ length: n * per }, () => rng.normal());
  const labels = Int32Array.from({ length: n }, () => rng.int(k));
  return { input, labels };
}

/** −Σ_k q_k log softmax(f)_k averaged over samples, q = (1 − ε)·onehot + ε/K. */
function smoothedCe(logits: ArrayLike<number>, labels: Int32Array, eps: number): number {
  const n = labels.length;
  const k = logits.length / n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, logits[i * k + j]);
    let z = 0;
    for (let j = 0; j < k; j++) z += Math.exp(logits[i * k + j] - m);
    const lse = m + Math.log(z);
    for (let j = 0; j < k; j++) {
      const q = (j === labels[i] ? 1 - eps : 0) + eps / k;
      total -= q * (logits[i * k + j] - lse);
    }
  }
  return total / n;
}

describe('training step: label smoothing and drop-path scales', () => {
  it('the smoothed loss is −Σ q log p of the logits, and ε = 0 is the plain cross-entropy', async () => {
    const { spec } = smoothNet(1);
    const net = Network.create(spec, { dtype: 'float64' });
    const { input, labels } = randomBatch(2, 4, 3 * 36, 5);
    for (const eps of [0, 0.1, 0.35]) {
      const r = await net.gradient(input, labels, { labelSmoothing: eps });
      expectAllClose([r.loss], [smoothedCe(r.logits, labels, eps)], EXACT, `loss at ε = ${eps}`);
    }
    const plain = await net.gradient(input, labels);
    const zero = await net.gradient(input, labels, { labelSmoothing: 0 });
    expect(Array.from(zero.grad)).toEqual(Array.from(plain.grad));
    net.dispose();
  });

  it('the gradient of the smoothed loss with per-sample branch scales matches central differences', async () => {
    const { spec, branch } = smoothNet(3);
    const net = Network.create(spec, { dtype: 'float64' });
    const n = 4;
    const { input, labels } = randomBatch(4, n, 3 * 36, 5);
    // Drop-path factors as DARTS draws them for keep 0.75: 0 or 1/0.75, plus a free value.
    const scales = { tensors: [branch], factors: Float64Array.from([0, 4 / 3, 4 / 3, 0.5]) };
    const options = { labelSmoothing: 0.1, sampleScales: scales } as const;
    const r = await net.gradient(input, labels, options);
    const theta0 = Float64Array.from(net.getParams());
    const theta = theta0.slice();
    const rng = new Rng(5);
    let checked = 0;
    let largest = 0;
    for (const p of net.params.filter((q) => q.trainable)) {
      const analytic: number[] = [];
      const fd: number[] = [];
      for (const i of rng.subset(p.size, 12)) {
        const j = p.offset + i;
        const h = 1e-6 * Math.max(1, Math.abs(theta0[j]));
        theta[j] = theta0[j] + h;
        const up = theta[j];
        net.setParams(theta);
        const lp = (await net.gradient(input, labels, options)).loss;
        theta[j] = theta0[j] - h;
        const down = theta[j];
        net.setParams(theta);
        const lm = (await net.gradient(input, labels, options)).loss;
        theta[j] = theta0[j];
        fd.push((lp - lm) / (up - down));
        analytic.push(r.grad[j]);
        largest = Math.max(largest, Math.abs(fd[fd.length - 1]));
      }
      net.setParams(theta0);
      expectAllClose(analytic, fd, FD, `∂L/∂${p.name}`);
      checked += analytic.length;
    }
    expect(checked).toBeGreaterThan(60);
    expect(largest).toBeGreaterThan(1e-3); // the comparison is not between zeros
    // The branch weights of the samples with factor 0 contribute nothing: scaling
    // the zeroed samples' factors to anything else must change the gradient.
    const other = await net.gradient(input, labels, { ...options, sampleScales: { tensors: [branch], factors: Float64Array.from([1, 4 / 3, 4 / 3, 0.5]) } });
    expect(Array.from(other.grad)).not.toEqual(Array.from(r.grad));
    net.dispose();
  });

  it('a sample scale multiplies that sample\'s tensor exactly as an inserted constant multiplication would', async () => {
    const { spec, branch } = smoothNet(6);
    const n = 3;
    const factors = [0, 1.25, 0.5];
    const { input, labels } = randomBatch(7, n, 3 * 36, 5);
    const net = Network.create(spec, { dtype: 'float64' });
    // BN eval: samples do not interact, so each sample can be run alone.
    const scaled = await net.gradient(input, labels, { bn: 'eval', sampleScales: { tensors: [branch], factors: Float64Array.from(factors) } });
    for (let s = 0; s < n; s++) {
      const withMul = insertMulConst(spec, branch, factors[s]);
      const single = Network.create(withMul, { dtype: 'float64' });
      const one = await single.gradient(input.subarray(s * 108, (s + 1) * 108), labels.subarray(s, s + 1), { bn: 'eval' });
      expectAllClose(scaled.logits.subarray(s * 5, (s + 1) * 5), one.logits, EXACT, `logits of sample ${s}`);
      single.dispose();
    }
    // All ones: the unscaled network.
    const ones = await net.gradient(input, labels, { sampleScales: { tensors: [branch], factors: new Float64Array(n).fill(1) } });
    const plain = await net.gradient(input, labels);
    expect(Array.from(ones.grad)).toEqual(Array.from(plain.grad));
    net.dispose();
  });

  it('rejects bad requests with typed errors', async () => {
    const { spec, branch } = smoothNet(8);
    const net = Network.create(spec, { dtype: 'float64' });
    const { input, labels } = randomBatch(9, 2, 108, 5);
    await expect(net.gradient(input, labels, { labelSmoothing: 1 })).rejects.toMatchObject({ code: 'ERR_HNAS_INVALID_ARGUMENT' });
    await expect(net.gradient(input, labels, { labelSmoothing: 0.1, objective: 'true_class' })).rejects.toMatchObject({
      code: 'ERR_HNAS_INVALID_ARGUMENT',
    });
    await expect(net.gradient(input, labels, { updateRunning: true, bn: 'eval' })).rejects.toMatchObject({ code: 'ERR_HNAS_INVALID_ARGUMENT' });
    await expect(net.gradient(input, labels, { sampleScales: { tensors: ['nope'], factors: new Float64Array(2) } })).rejects.toThrow(/nope/);
    await expect(net.gradient(input, labels, { sampleScales: { tensors: ['input'], factors: new Float64Array(2) } })).rejects.toThrow(/graph input/);
    await expect(net.gradient(input, labels, { sampleScales: { tensors: [branch], factors: new Float64Array(3) } })).rejects.toMatchObject({
      code: 'ERR_HNAS_SHAPE_MISMATCH',
    });
    await expect(net.gradient(input, labels, { sampleScales: { tensors: [branch], factors: Float64Array.from([1, NaN]) } })).rejects.toMatchObject({
      code: 'ERR_HNAS_NON_FINITE',
    });
    net.dispose();
  });
});

/** spec with `t` replaced, for its consumers, by mul_const(t, value). */
function insertMulConst(spec: GraphSpec, t: string, value: number): GraphSpec {
  const nodes: NodeSpec[] = [];
  for (const node of spec.nodes) {
    nodes.push({ ...node, inputs: node.inputs.map((i) => (i === t ? `${t}.scaled` : i)) } as NodeSpec);
    if (node.outputs[0] === t) nodes.push({ op: 'mul_const', name: `${t}.mul`, inputs: [t], outputs: [`${t}.scaled`], value });
  }
  return { ...spec, nodes };
}

describe('training step: BN running statistics', () => {
  it('updates running mean and unbiased variance with momentum in the same pass, leaving the gradient unchanged', async () => {
    const momentum = 0.1;
    const { spec } = singleOpGraph([2, 3, 4], 11, (b, x) => {
      const y = b.batchNorm(x, { momentum });
      return b.linear(b.flatten(b.batchNorm(b.conv(y, { cout: 3, kernel: [3, 3] }))), { out: 4 });
    });
    const n = 5;
    const { input, labels } = randomBatch(12, n, 24, 4);
    const net = Network.create(spec, { dtype: 'float64' });
    const before = Float64Array.from(net.getParams());
    const plain = await net.gradient(input, labels);
    expect(Array.from(net.getParams())).toEqual(Array.from(before));
    const updated = await net.gradient(input, labels, { updateRunning: true });
    expect(Array.from(updated.grad)).toEqual(Array.from(plain.grad));
    expect(updated.loss).toBe(plain.loss);
    const after = net.getParams();

    // The first BN reads the input itself: its statistics by hand.
    const mean = net.params.find((p) => p.kind === 'bn_running_mean')!;
    const variance = net.params.find((p) => p.kind === 'bn_running_var')!;
    const plane = 12;
    const wantMean: number[] = [];
    const wantVar: number[] = [];
    for (let c = 0; c < 2; c++) {
      const xs: number[] = [];
      for (let s = 0; s < n; s++) for (let i = 0; i < plane; i++) xs.push(input[(s * 2 + c) * plane + i]);
      const mu = xs.reduce((a, v) => a + v, 0) / xs.length;
      const unbiased = xs.reduce((a, v) => a + (v - mu) ** 2, 0) / (xs.length - 1);
      wantMean.push((1 - momentum) * before[mean.offset + c] + momentum * mu);
      wantVar.push((1 - momentum) * before[variance.offset + c] + momentum * unbiased);
    }
    expectAllClose(after.subarray(mean.offset, mean.offset + 2), wantMean, EXACT, 'running mean');
    expectAllClose(after.subarray(variance.offset, variance.offset + 2), wantVar, EXACT, 'running variance');

    // Every BN's statistics move exactly as the forward pass's own update moves them.
    const ref = Network.create(spec, { dtype: 'float64' });
    await ref.forward(input, { bn: 'train', updateRunning: true });
    expect(Array.from(ref.getParams())).toEqual(Array.from(after));
    // The second BN's statistics did change.
    const second = net.params.filter((p) => p.kind === 'bn_running_var')[1];
    expect(after[second.offset]).not.toBe(before[second.offset]);
    ref.dispose();
    net.dispose();
  });
});

describe('one SGD step on a tiny network, by hand', () => {
  // y = W x + b, W 2×2, b 2, batch 2, mean cross-entropy.
  const spec: GraphSpec = {
    input: { name: 'x', shape: [2] },
    output: { name: 'y', shape: [2] },
    params: [
      { name: 'fc.weight', kind: 'linear_weight', shape: [2, 2], data: Float64Array.from([0.5, -0.25, 0.1, 0.2]) },
      { name: 'fc.bias', kind: 'linear_bias', shape: [2], data: Float64Array.from([0, 0.1]) },
    ],
    nodes: [{ op: 'linear', name: 'fc', inputs: ['x'], outputs: ['y'], weight: 'fc.weight', bias: 'fc.bias' }],
  };
  const x = Float64Array.from([1, 2, -1, 0.5]);
  const labels = Int32Array.from([0, 1]);

  /** ∂L/∂(W, b) of the mean CE, written out: (softmax − onehot)/N times the input. */
  function handGradient(theta: number[]): number[] {
    const [w00, w01, w10, w11, b0, b1] = theta;
    const g = [0, 0, 0, 0, 0, 0];
    for (let s = 0; s < 2; s++) {
      const [x0, x1] = [x[2 * s], x[2 * s + 1]];
      const f0 = w00 * x0 + w01 * x1 + b0;
      const f1 = w10 * x0 + w11 * x1 + b1;
      const p0 = Math.exp(f0) / (Math.exp(f0) + Math.exp(f1));
      const d0 = (p0 - (labels[s] === 0 ? 1 : 0)) / 2;
      const d1 = (1 - p0 - (labels[s] === 1 ? 1 : 0)) / 2;
      g[0] += d0 * x0;
      g[1] += d0 * x1;
      g[2] += d1 * x0;
      g[3] += d1 * x1;
      g[4] += d0;
      g[5] += d1;
    }
    return g;
  }

  it('matches momentum, weight decay and clipping computed by hand over two steps (heavy ball and Nesterov)', async () => {
    for (const nesterov of [false, true]) {
      const net = Network.create(spec, { dtype: 'float64' });
      const lr = 0.5;
      const mu = 0.9;
      const wd = 0.01;
      const clip = 0.2; // the raw gradient norm here is ≈ 0.57: clipping is active
      const sgd = new Sgd([{ offset: 0, size: 6 }], 6, 'float64', { momentum: mu, nesterov, weightDecay: wd, clip });
      let theta = [0.5, -0.25, 0.1, 0.2, 0, 0.1];
      let buf = [0, 0, 0, 0, 0, 0];
      for (let step = 0; step < 2; step++) {
        const r = await net.gradient(x, labels);
        const g = handGradient(theta);
        expectAllClose(r.grad, g, EXACT, `engine gradient at step ${step}`);
        const norm = Math.hypot(...g);
        const coef = Math.min(1, clip / (norm + 1e-6));
        if (step === 0) expect(coef).toBeLessThan(0.5);
        const d = g.map((gi, i) => coef * gi + wd * theta[i]);
        buf = buf.map((bi, i) => mu * bi + d[i]);
        theta = theta.map((t, i) => t - lr * (nesterov ? d[i] + mu * buf[i] : buf[i]));

        const params = net.getParams();
        const info = sgd.step(params, r.grad, lr);
        net.setParams(params);
        expectAllClose([info.gradNorm, info.clipCoef], [norm, coef], EXACT, 'norm and clip coefficient');
        expectAllClose(params, theta, EXACT, `parameters after step ${step + 1} (nesterov ${nesterov})`);
        expectAllClose(sgd.buffer, buf, EXACT, `momentum buffer after step ${step + 1}`);
      }
      net.dispose();
    }
  });
});

describe('depthwise convolution (the direct kernel DARTS training runs on)', () => {
  it('per-sample gradient rows (decomposed and exact) equal each sample\'s own gradient', async () => {
    const { spec } = singleOpGraph([4, 7, 7], 21, (b, x) => {
      let y = b.conv(x, { cout: 4, kernel: [3, 3], pads: [1, 1, 1, 1], groups: 4 }); // depthwise
      y = b.batchNorm(y);
      y = b.conv(y, { cout: 8, kernel: [3, 3], stride: [2, 2], pads: [2, 2, 2, 2], dilation: [2, 2], groups: 4, bias: false }); // multiplier 2
      return b.linear(b.globalAvgPool(b.batchNorm(y)), { out: 3 });
    });
    const net = Network.create(spec, { dtype: 'float64' });
    const n = 3;
    const { input, labels } = randomBatch(22, n, 4 * 49, 3);
    const params = net.selectParams('weights_and_biases');
    const cols = params.reduce((s, p) => s + p.size, 0);
    for (const mode of ['decomposed', 'exact'] as const) {
      const { jacobian } = await net.jacobian(input, labels, { bn: 'eval', mode, output: 'true_class', params: 'weights_and_biases', result: 'jacobian' });
      for (let s = 0; s < n; s++) {
        const one = await net.gradient(input.subarray(s * 196, (s + 1) * 196), labels.subarray(s, s + 1), { bn: 'eval', objective: 'true_class' });
        const want = params.flatMap((p) => Array.from(one.grad.subarray(p.offset, p.offset + p.size)));
        expectAllClose(jacobian!.subarray(s * cols, (s + 1) * cols), want, EXACT, `${mode} row ${s}`);
      }
    }
    net.dispose();
  });
});
