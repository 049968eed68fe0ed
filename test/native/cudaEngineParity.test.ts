/**
 * The engine on the CUDA device against the engine on the CPU: the same
 * network (NB201 and DARTS cells, small), the same seeded batch, every
 * request — forward, gradients (labels smoothed, loss heads, running
 * statistics, drop-path scales, input gradients), per-sample Jacobians and Θ
 * in both modes and chunkings, Hessian-vector products (dual-number passes),
 * the NASWOT kernel, layer fisher — and every metric through the probe.
 *
 * Reference and tolerances: the CPU float64 engine is the reference. A
 * float64 device engine must match it to 1e-9 relative to each result's
 * scale (only summation order differs). A float32 device engine must be as
 * accurate as the CPU float32 engine: its error against the reference at most
 * 4× the CPU float32 engine's, plus 1e-6 of the scale (a float32 engine that
 * is wrong anywhere is off by far more).
 *
 * Runs on a machine with a CUDA device (scripts/gpu-check.sh) and on an
 * HNAS_CUDA=EMULATE build (docs/cuda.md), where the device kernels run on the
 * host emulator (~10 s for the file on two cores): the test project
 * `cuda-emulated` (vitest.config.ts) runs it against that build on every
 * machine, CI included. Skipped with the reason against an addon that can do
 * neither. On every build: a CUDA network that cannot be served is
 * ERR_HNAS_DEVICE_UNAVAILABLE with a reason, never a CPU network in disguise.
 */
import { describe, expect, it } from 'vitest';
import type { GraphSpec } from '../../src/engine/graphSpec.js';
import { Network, type FloatArray } from '../../src/engine/network.js';
import { probe } from '../../src/metrics/probe.js';
import { METRIC_IDS } from '../../src/metrics/registry.js';
import type { MetricId } from '../../src/metrics/types.js';
import { loadAddon } from '../../src/native/binding.js';
import { buildArchitecture } from '../../src/spaces/architecture.js';
import { DARTS_V2, formatGenotype } from '../../src/spaces/darts/genotype.js';
import { Rng } from '../../src/spaces/rng.js';

const addon = loadAddon();
const info = addon.buildInfo();
const status = addon.cudaStatus();
const hasDevice = status.status === 'available' && status.deviceCount > 0;
const canRun = hasDevice || info.cudaEmulated === true;
if (!canRun) {
  console.log(
    `cudaEngineParity: skipped — ${info.cudaCompiled ? `no CUDA device (${status.status}: ${status.message})` : 'CUDA is not compiled into this addon'}. ` +
      'It runs on a GPU machine (scripts/gpu-check.sh) and, in the cuda-emulated test project, on the HNAS_CUDA=EMULATE build.',
  );
}

const N = 4;
// Per test (the emulator runs the kernels' threads one after another).
const TIMEOUT = 300_000;
const nb201 = (): GraphSpec => buildArchitecture('nb201', '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|', { channels: 4, cells: 1, inputSize: 8, seed: 3 });
const darts = (): GraphSpec => buildArchitecture('darts', formatGenotype(DARTS_V2), { channels: 4, cells: 3, inputSize: 8, seed: 4 });

function batch(spec: GraphSpec, seed: number): { x64: Float64Array; x32: Float32Array; labels: Int32Array } {
  const rng = new Rng(seed, 11);
  const per = spec.input.shape.reduce((a, b) => a * b, 1);
  const x64 = Float64Array.from({ length: N * per }, () => Math.fround(rng.uniform(-2, 2)));
  const labels = Int32Array.from({ length: N }, () => Math.floor(rng.uniform(0, 10)));
  return { x64, x32: Float32Array.from(x64), labels };
}

/** The four engines of one network: CPU and device, float32 and float64. */
function engines(spec: GraphSpec) {
  return {
    cpu64: Network.create(spec, { dtype: 'float64', name: 'cpu64' }),
    cpu32: Network.create(spec, { dtype: 'float32', name: 'cpu32' }),
    dev64: Network.create(spec, { dtype: 'float64', name: 'dev64', device: 'cuda' }),
    dev32: Network.create(spec, { dtype: 'float32', name: 'dev32', device: 'cuda' }),
    dispose() {
      for (const n of [this.cpu64, this.cpu32, this.dev64, this.dev32]) n.dispose();
    },
  };
}

const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** dev64 ≈ ref to 1e-9 of the scale; dev32 no worse than 4× cpu32 (+1e-6 of the scale). */
function expectParity(what: string, ref: ArrayLike<number>, cpu32: ArrayLike<number>, dev64: ArrayLike<number>, dev32: ArrayLike<number>): void {
  const scale = Math.max(maxAbs(ref), 1e-30);
  const e64 = maxDiff(dev64, ref) / scale;
  const eCpu32 = maxDiff(cpu32, ref) / scale;
  const eDev32 = maxDiff(dev32, ref) / scale;
  if (e64 > 1e-9) throw new Error(`${what}: float64 device result off by ${e64.toExponential(2)} of the scale ${scale.toExponential(2)}`);
  if (eDev32 > 4 * eCpu32 + 1e-6) {
    throw new Error(`${what}: float32 device error ${eDev32.toExponential(2)} vs the CPU float32 engine's ${eCpu32.toExponential(2)} (relative to ${scale.toExponential(2)})`);
  }
}

describe.skipIf(!canRun)('the engine on the CUDA device against the CPU engine', { timeout: TIMEOUT }, () => {
  it.each([
    ['NB201 cell', nb201],
    ['DARTS cells', darts],
  ] as const)('%s: forward, gradients, running statistics, input gradients', async (_, make) => {
    const spec = make();
    const { x64, x32, labels } = batch(spec, 1);
    const e = engines(spec);
    try {
      expect(e.dev32.device).toBe('cuda');
      expect(e.cpu32.device).toBe('cpu');
      for (const bn of ['train', 'eval'] as const) {
        const [r, c, d64, d32] = await Promise.all([
          e.cpu64.forward(x64, { bn }), e.cpu32.forward(x32, { bn }), e.dev64.forward(x64, { bn }), e.dev32.forward(x32, { bn }),
        ]);
        expectParity(`forward (${bn})`, r, c, d64, d32);
      }
      const options = { bn: 'train' as const, inputGrad: true, labelSmoothing: 0.1 };
      const [r, c, d64, d32] = await Promise.all([
        e.cpu64.gradient(x64, labels, options), e.cpu32.gradient(x32, labels, options),
        e.dev64.gradient(x64, labels, options), e.dev32.gradient(x32, labels, options),
      ]);
      expectParity('loss', [r.loss], [c.loss], [d64.loss], [d32.loss]);
      expectParity('logits', r.logits, c.logits, d64.logits, d32.logits);
      expectParity('parameter gradient', r.grad, c.grad, d64.grad, d32.grad);
      expectParity('input gradient', r.inputGrad!, c.inputGrad!, d64.inputGrad!, d32.inputGrad!);
      // A training step's forward: the running statistics come back to the host copy.
      await Promise.all([e.cpu64, e.cpu32, e.dev64, e.dev32].map((n) => n.gradient(n.dtype === 'float64' ? x64 : x32, labels, { updateRunning: true })));
      expectParity('parameters after updateRunning', e.cpu64.getParams(), e.cpu32.getParams(), e.dev64.getParams(), e.dev32.getParams());
      // New parameters on the host reach the device.
      const shifted = e.cpu64.getParams().map((v, i) => v + 0.01 * Math.sin(i));
      for (const n of [e.cpu64, e.cpu32, e.dev64, e.dev32]) n.setParams(n.dtype === 'float64' ? shifted : Float32Array.from(shifted));
      const after = await Promise.all([e.cpu64.forward(x64, { bn: 'eval' }), e.cpu32.forward(x32, { bn: 'eval' }), e.dev64.forward(x64, { bn: 'eval' }), e.dev32.forward(x32, { bn: 'eval' })]);
      expectParity('forward after setParams', after[0], after[1], after[2], after[3]);
    } finally {
      e.dispose();
    }
  });

  it('DARTS: drop-path scales and loss heads in the gradient', async () => {
    const spec = darts();
    const { x64, x32, labels } = batch(spec, 2);
    const e = engines(spec);
    try {
      const tensors = spec.nodes.filter((n) => n.op === 'conv2d').slice(0, 5).map((n) => n.outputs[0]);
      const rng = new Rng(9, 1);
      const factors = Float64Array.from({ length: tensors.length * N }, () => (rng.uniform(0, 1) < 0.3 ? 0 : 1 / 0.7));
      const heads = [{ offset: 0, count: 6, weight: 1 }, { offset: 4, count: 6, weight: 0.4 }];
      const labels6 = labels.map((l) => l % 6);
      const run = (n: Network, x: FloatArray) => n.gradient(x, labels6, { sampleScales: { tensors, factors }, heads });
      const [r, c, d64, d32] = await Promise.all([run(e.cpu64, x64), run(e.cpu32, x32), run(e.dev64, x64), run(e.dev32, x32)]);
      expectParity('loss with heads and drop-path', [r.loss], [c.loss], [d64.loss], [d32.loss]);
      expectParity('gradient with heads and drop-path', r.grad, c.grad, d64.grad, d32.grad);
    } finally {
      e.dispose();
    }
  });

  it.each([
    ['NB201 cell', nb201],
    ['DARTS cells', darts],
  ] as const)('%s: per-sample Jacobians and Θ, decomposed and exact, chunked and whole', async (_, make) => {
    const spec = make();
    const { x64, x32, labels } = batch(spec, 3);
    const e = engines(spec);
    try {
      const requests = [
        { mode: 'decomposed', output: 'true_class', params: 'weights_and_biases', result: 'theta' },
        { mode: 'decomposed', output: 'all', params: 'weights', result: 'both' },
        { mode: 'exact', output: 'sum', params: 'weights', result: 'theta' },
        { mode: 'exact', output: 'loss', params: 'weights', result: 'both', chunk: 3 },
      ] as const;
      for (const req of requests) {
        const options = { bn: 'train' as const, ...req };
        const [r, c, d64, d32] = await Promise.all([
          e.cpu64.jacobian(x64, labels, options), e.cpu32.jacobian(x32, labels, options),
          e.dev64.jacobian(x64, labels, options), e.dev32.jacobian(x32, labels, options),
        ]);
        const what = `${req.mode} ${req.output} ${req.result}`;
        expectParity(`Θ (${what})`, r.theta!, c.theta!, d64.theta!, d32.theta!);
        if (req.result !== 'theta') expectParity(`J (${what})`, r.jacobian!, c.jacobian!, d64.jacobian!, d32.jacobian!);
        expect(d32.rows).toBe(r.rows);
      }
    } finally {
      e.dispose();
    }
  });

  it('NASWOT kernels are identical integers, layer fisher matches', async () => {
    const spec = nb201();
    const { x64, x32, labels } = batch(spec, 4);
    const e = engines(spec);
    try {
      const [r, d64, d32] = await Promise.all([e.cpu64.reluKernel(x64, { bn: 'train' }), e.dev64.reluKernel(x64, { bn: 'train' }), e.dev32.reluKernel(x32, { bn: 'train' })]);
      expect(Array.from(d64.weighted)).toEqual(Array.from(r.weighted));
      expect(Array.from(d64.distinct)).toEqual(Array.from(r.distinct));
      expect(d32.reluNodes).toBe(r.reluNodes);
      expect(d32.unitsPerSample).toBe(r.unitsPerSample);
      const [f, c, f64, f32] = await Promise.all([
        e.cpu64.layerFisher(x64, labels, { bn: 'train' }), e.cpu32.layerFisher(x32, labels, { bn: 'train' }),
        e.dev64.layerFisher(x64, labels, { bn: 'train' }), e.dev32.layerFisher(x32, labels, { bn: 'train' }),
      ]);
      const scores = (o: typeof f) => o.layers.map((l) => l.score);
      expect(f32.layers.map((l) => l.param)).toEqual(f.layers.map((l) => l.param));
      expectParity('layer fisher', scores(f), scores(c), scores(f64), scores(f32));
    } finally {
      e.dispose();
    }
  });

  it.each([
    ['NB201 cell', nb201],
    ['DARTS cells', darts],
  ] as const)('%s: Hessian-vector products (forward-over-reverse on dual numbers)', async (_, make) => {
    const spec = make();
    const { x64, x32, labels } = batch(spec, 6);
    const e = engines(spec);
    try {
      const params = e.cpu64.selectParams('weights');
      const total = params.reduce((s, p) => s + p.size, 0);
      const rng = new Rng(13, 2);
      const v64 = Float64Array.from({ length: total }, () => Math.fround(rng.uniform(-1, 1)));
      const v32 = Float32Array.from(v64);
      for (const bn of ['train', 'eval'] as const) {
        const [r, c, d64, d32] = await Promise.all([
          e.cpu64.hvp(x64, labels, v64, { bn }), e.cpu32.hvp(x32, labels, v32, { bn }),
          e.dev64.hvp(x64, labels, v64, { bn }), e.dev32.hvp(x32, labels, v32, { bn }),
        ]);
        expectParity(`hvp loss (${bn})`, [r.loss], [c.loss], [d64.loss], [d32.loss]);
        expectParity(`hvp gradient (${bn})`, r.grad, c.grad, d64.grad, d32.grad);
        expectParity(`H·v (${bn})`, r.hvp, c.hvp, d64.hvp, d32.hvp);
        expect(maxAbs(r.hvp)).toBeGreaterThan(0);
      }
    } finally {
      e.dispose();
    }
  });

  it('every metric through the probe, grasp (a Hessian-vector product) included', async () => {
    const spec = nb201();
    const { x64, x32, labels } = batch(spec, 5);
    const e = engines(spec);
    try {
      const metrics: MetricId[] = [...METRIC_IDS];
      const run = (n: Network, x: FloatArray) => probe(n, { input: x, labels }, metrics, { synflowNetwork: spec });
      const [r, c, d64, d32] = await Promise.all([run(e.cpu64, x64), run(e.cpu32, x32), run(e.dev64, x64), run(e.dev32, x32)]);
      for (const m of metrics) {
        const want = r.results[m];
        expect(want.ok, `${m} on the CPU`).toBe(true);
        for (const d of [d64, d32]) expect(d.results[m].ok, `${m} on the device`).toBe(true);
        const value = (o: typeof want) => (o.ok ? o.value : Number.NaN);
        expectParity(m, [value(want)], [value(c.results[m])], [value(d64.results[m])], [value(d32.results[m])]);
      }
    } finally {
      e.dispose();
    }
  });
});

describe('a CUDA network that cannot be served', () => {
  it.skipIf(canRun)('is ERR_HNAS_DEVICE_UNAVAILABLE with the reason, not a CPU network', () => {
    let error: unknown;
    try {
      Network.create(nb201(), { device: 'cuda' }).dispose();
    } catch (e) {
      error = e;
    }
    expect(error).toBeDefined();
    const e = error as { code?: string; reason?: string; message: string };
    expect(e.code).toBe('ERR_HNAS_DEVICE_UNAVAILABLE');
    expect(['not-compiled', 'no-driver', 'no-device', 'driver-error']).toContain(e.reason);
  });

  it('rejects an unknown device name', () => {
    expect(() => Network.create(nb201(), { device: 'tpu' as 'cuda' })).toThrow(/device must be "cpu" or "cuda"/);
  });
});
