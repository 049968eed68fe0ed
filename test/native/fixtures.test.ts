/**
 * The native engine against the PyTorch fixtures (test/fixtures/nb201, see
 * PROVENANCE.md): logits in both BN modes, the loss, per-layer gradient
 * norms, the decomposed Θ behind ntk_trace and the exact Θ behind
 * te_nas_cond — in float64 (tight: only summation order differs) and in
 * float32 (the fixture README's float32-engine tolerances).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Network } from '../../src/engine/network.js';
import { expectAllClose, maxAbs, maxRelToMax, relDiff } from '../helpers/allClose.js';
import { FIXTURES, expected, fixtureBatch, fixturePath, readF32, readF64, tolerances, type FixtureName } from '../helpers/fixtures.js';

// Tolerances, with the reason for each.
const TOL = {
  // float64 engine vs float64 torch: same math, other summation order.
  f64: 1e-8,
  // Logits relative to max|logit| (fixture README §8); Θ matrices likewise.
  f64Logits: 1e-12,
  // The 45-conv plain chain 376 amplifies rounding through train-mode BN
  // ~1e3× (README §8: its float32 train logits deviate 8.4e-5 where the
  // others deviate ~1e-7); a float64 engine summing in another order lands
  // at ~1.1e-12 there, so train mode gets the same factor of headroom.
  f64LogitsTrain: (name: FixtureName) => (name === '376_seed0' ? 1e-11 : 1e-12),
  f64Theta: 1e-10,
  // float32 engine logits: 4 × torch's own float32 deviation on the same
  // fixture (how the README derives its float32 rtol column), and never
  // tighter than the README's 1e-6. Torch's train-mode deviation is 3.7e-7 –
  // 8.0e-7 on most fixtures and 8.4e-5 on the 45-conv chain 376.
  f32Logits: (name: FixtureName, mode: 'eval' | 'train') =>
    Math.max(1e-6, 4 * maxRelToMax(readF32(name, `logits_${mode}_f32.bin`), readF64(name, `logits_${mode}_f64.bin`))),
};

const { input, labels } = fixtureBatch();
const input64 = Float64Array.from(input);
const f32Tol = tolerances().f32_engine as Record<string, { rtol: number }>;

function gradNorms(net: Network, grad: ArrayLike<number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of net.selectParams('weights')) {
    let s = 0;
    for (let i = 0; i < p.size; i++) s += grad[p.offset + i] ** 2;
    out.set(p.name, Math.sqrt(s));
  }
  return out;
}

function trace(theta: Float64Array, n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += theta[i * n + i];
  return t;
}

/** TE-NAS: every parameter whose name contains "weight" (conv, BN γ, classifier). */
const teNasParams = (p: { name: string }) => p.name.includes('weight');

describe.each(FIXTURES)('fixture %s', (name) => {
  const exp = expected(name);
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

  it('counts parameters and MACs as NAS-Bench-201 does', () => {
    expect(net64.numTrainable).toBe(exp.num_params);
    expect(net64.macsPerSample).toBe(exp.macs);
  });

  it('float64: eval- and train-mode logits, loss and per-layer gradient norms', async () => {
    const eval64 = await net64.forward(input64, { bn: 'eval' });
    expect(maxRelToMax(eval64, readF64(name, 'logits_eval_f64.bin'))).toBeLessThan(TOL.f64Logits);
    const train64 = await net64.forward(input64, { bn: 'train' });
    expect(maxRelToMax(train64, readF64(name, 'logits_train_f64.bin'))).toBeLessThan(TOL.f64LogitsTrain(name));

    const g = await net64.gradient(input64, labels);
    expect(relDiff(g.loss, exp.loss_train.f64)).toBeLessThan(TOL.f64);
    expect(maxRelToMax(g.logits, readF64(name, 'logits_train_f64.bin'))).toBeLessThan(TOL.f64LogitsTrain(name));
    const norms = gradNorms(net64, g.grad);
    for (const layer of exp.per_layer as { name: string; grad_norm: { f64: number } }[]) {
      // Dead ops' parameters are absent from the ONNX graph (README §3.3).
      const got = norms.get(layer.name) ?? 0;
      expect(relDiff(got, layer.grad_norm.f64), layer.name).toBeLessThan(TOL.f64);
    }
    const sum = [...norms.values()].reduce((a, b) => a + b, 0);
    expect(relDiff(sum, exp.metrics.grad_norm.f64)).toBeLessThan(TOL.f64);
  });

  it('float64: decomposed Θ of the true-class logits (ntk_trace), BN train and eval', async () => {
    const j = await net64.jacobian(input64, labels, { mode: 'decomposed', output: 'true_class', params: 'weights_and_biases' });
    expect(j.rows).toBe(64);
    expect(maxRelToMax(j.theta!, readF64(name, 'theta_ntk_train_f64.bin'))).toBeLessThan(TOL.f64Theta);
    expect(relDiff(Math.sqrt(trace(j.theta!, 64) / 64), exp.metrics.ntk_trace.f64)).toBeLessThan(TOL.f64);

    const e = await net64.jacobian(input64, labels, { mode: 'decomposed', bn: 'eval', params: 'weights_and_biases' });
    expect(maxRelToMax(e.theta!, readF64(name, 'theta_ntk_eval_f64.bin'))).toBeLessThan(TOL.f64Theta);
  });

  // One backward per row (64) in float64: ~60 s for the largest fixtures alone,
  // more beside other test files on 2 cores.
  it('float64: exact Θ of the summed logits (te_nas_cond)', { timeout: 600_000 }, async () => {
    const j = await net64.jacobian(input64, labels, { mode: 'exact', output: 'sum', params: teNasParams });
    expect(j.cols).toBe(exp.metrics.te_nas_cond.num_params);
    expect(maxRelToMax(j.theta!, readF64(name, 'theta_tenas_f64.bin'))).toBeLessThan(TOL.f64Theta);
    expect(relDiff(trace(j.theta!, 64), exp.metrics.te_nas_trace.f64)).toBeLessThan(TOL.f64);
  });

  // The float32-engine rtol column of the fixture README (4 × the worst
  // deviation of torch's float32 pipeline over all fixtures). The tighter
  // per-fixture values in tolerances.json are 4 × torch's own rounding luck
  // on each fixture; they are not asserted (see BENCHMARKS.md for ours).
  it('float32: logits, loss, gradient norms and ntk_trace within the float32-engine tolerances', async () => {
    const eval32 = await net32.forward(input, { bn: 'eval' });
    expect(maxRelToMax(eval32, readF64(name, 'logits_eval_f64.bin')), 'eval logits').toBeLessThan(TOL.f32Logits(name, 'eval'));
    const g = await net32.gradient(input, labels);
    expect(maxRelToMax(g.logits, readF64(name, 'logits_train_f64.bin')), 'train logits').toBeLessThan(TOL.f32Logits(name, 'train'));
    expect(relDiff(g.loss, exp.loss_train.f64), 'loss').toBeLessThan(f32Tol.loss_train.rtol);
    const sum = [...gradNorms(net32, g.grad).values()].reduce((a, b) => a + b, 0);
    expect(relDiff(sum, exp.metrics.grad_norm.f64), 'grad_norm').toBeLessThan(f32Tol.grad_norm.rtol);

    const j = await net32.jacobian(input, labels, { params: 'weights_and_biases' });
    const ntk = Math.sqrt(trace(j.theta!, 64) / 64);
    expect(relDiff(ntk, exp.metrics.ntk_trace.f64), 'ntk_trace').toBeLessThan(f32Tol.ntk_trace.rtol);
  });
});

describe('float32 exact Θ', () => {
  it('matches te_nas_trace of a small fixture within the float32 tolerance, chunked or not', async () => {
    const name: FixtureName = '4948_seed1';
    const exp = expected(name);
    const net = await Network.fromOnnxFile(fixturePath(name, 'model.onnx'), { dtype: 'float32' });
    try {
      const whole = await net.jacobian(input, labels, { mode: 'exact', output: 'sum', params: teNasParams });
      expect(relDiff(trace(whole.theta!, 64), exp.metrics.te_nas_trace.f64)).toBeLessThan(f32Tol.te_nas_trace.rtol);
      const chunked = await net.jacobian(input, labels, { mode: 'exact', output: 'sum', params: teNasParams, chunk: 7 });
      expect(chunked.chunk).toBe(7);
      // The same float32 rows in another grouping: equal up to Θ's float64 sums.
      expectAllClose(chunked.theta!, whole.theta!, { rtol: 1e-5, atol: 1e-6 * maxAbs(whole.theta!) }, 'chunked Θ');
    } finally {
      net.dispose();
    }
  });
});
