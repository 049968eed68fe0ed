/**
 * Every training-free metric through the probe, against the PyTorch
 * fixtures (test/fixtures/nb201, README §4 for the definitions, §8 for the
 * tolerances): one probe per fixture serves all of its metrics, in float64
 * (tight) and, for two fixtures, float32. Then the probe's own contract:
 * each computation once, the knas identity against explicit per-sample
 * gradients, synflow's float64 copy, and failures as typed per-metric results
 * that never stop the other metrics. Last, the registry.
 *
 * Set HNAS_METRICS_REPORT=1 to print the worst relative deviation per metric.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Network } from '../../src/engine/network.js';
import type { GraphSpec } from '../../src/engine/graphSpec.js';
import { HnasError, InvalidArgumentError } from '../../src/errors.js';
import {
  METRICS,
  METRIC_IDS,
  NEED_ORDER,
  getMetric,
  parseMetricList,
  probe,
  zicoScore,
  type MetricId,
  type MetricResult,
  type ProbeOutcome,
} from '../../src/metrics/index.js';
import { relDiff } from '../helpers/allClose.js';
import { expected, fixturePath, FIXTURES } from '../helpers/fixtures.js';
import {
  KERNEL_METRICS,
  TE_NAS_FIXTURES,
  batch32,
  batch64,
  checkMetric,
  fixtureMetrics,
  okResult,
  reportWorstDeviations,
} from '../helpers/fixtureMetrics.js';

afterAll(reportWorstDeviations);

describe.each(FIXTURES)('fixture %s, float64: one probe, every metric', (name) => {
  const exp = expected(name);
  const { core, kernel } = fixtureMetrics(name, TE_NAS_FIXTURES.has(name));
  let out: ProbeOutcome;

  beforeAll(async () => {
    const net = await Network.fromOnnxFile(fixturePath(name, 'model.onnx'), { dtype: 'float64' });
    try {
      out = await probe(net, batch64, [...core, ...kernel]);
    } finally {
      net.dispose();
    }
  }, 600_000);

  it.each(core)('%s matches the float64 reference', (id) => checkMetric(name, exp, id, out.results[id], 'f64'));

  it('reports a time for each computation it ran', () => {
    for (const need of ['gradient', 'hvp', 'input_gradient', 'theta_decomposed', 'synflow'] as const) {
      expect(out.timings[need], need).toBeGreaterThan(0);
    }
    expect(out.timings.theta_exact !== undefined).toBe(TE_NAS_FIXTURES.has(name));
    expect(out.timings.loss_jacobian).toBeUndefined();
  });

  describe('engine kernels (reluKernel, layerFisher)', () => {
    it.each(kernel)('%s matches the float64 reference', (id) => checkMetric(name, exp, id, out.results[id], 'f64'));
  });
});

describe.each([
  ['1835_seed0', true],
  ['4948_seed1', false],
] as const)('fixture %s, float32: one probe, every metric', (name, teNas) => {
  const exp = expected(name);
  const { core, kernel } = fixtureMetrics(name, teNas);
  let out: ProbeOutcome;

  beforeAll(async () => {
    const net = await Network.fromOnnxFile(fixturePath(name, 'model.onnx'), { dtype: 'float32' });
    try {
      // synflow needs float64: the probe builds the copy from the same ONNX file.
      out = await probe(net, batch32, [...core, ...kernel], { synflowNetwork: fixturePath(name, 'model.onnx') });
    } finally {
      net.dispose();
    }
  }, 600_000);

  it.each(core)('%s is within the float32-engine tolerance', (id) => checkMetric(name, exp, id, out.results[id], 'f32'));

  describe('engine kernels (reluKernel, layerFisher)', () => {
    it.each(kernel)('%s is within the float32-engine tolerance', (id) => checkMetric(name, exp, id, out.results[id], 'f32'));
  });
});

describe('knas = grad_norm_global², the unification the probe relies on', () => {
  it('equals (1/N²) Σ_ij g_iᵀ g_j of explicit exact per-sample loss gradients (4948, float64, batch 16)', async () => {
    const n = 16;
    const per = 3 * 32 * 32;
    const input = batch64.input.slice(0, n * per);
    const labels = batch64.labels.slice(0, n);
    const net = await Network.fromOnnxFile(fixturePath('4948_seed0', 'model.onnx'), { dtype: 'float64' });
    try {
      const { results } = await probe(net, { input, labels }, ['knas', 'grad_norm_global']);
      const knas = okResult('knas', results.knas).value;
      const global = okResult('grad_norm_global', results.grad_norm_global).value;
      expect(relDiff(knas, global * global)).toBeLessThan(1e-15);

      // The explicit route: exact per-sample CE gradients g_i, Σ_ij g_iᵀ g_j / N² = ‖Σ_i g_i / N‖².
      const j = await net.jacobian(input, labels, { mode: 'exact', output: 'loss', params: 'weights', result: 'jacobian' });
      expect(j.rows).toBe(n);
      const mean = new Float64Array(j.cols);
      for (let r = 0; r < n; r++) for (let c = 0; c < j.cols; c++) mean[c] += j.jacobian![r * j.cols + c] / n;
      let explicit = 0;
      for (const v of mean) explicit += v * v;
      // Both are float64 sums of ~3e5 terms in different orders.
      expect(relDiff(knas, explicit)).toBeLessThan(1e-12);
    } finally {
      net.dispose();
    }
  });
});

/** A small conv/BN/ReLU/linear network (values float32-representable, so float32 and float64 copies agree). */
function smallNet(options: { zeroClassifier?: boolean } = {}): GraphSpec {
  let seed = 987654;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  const arr = (n: number, scale = 1, offset = 0) => Float64Array.from({ length: n }, () => Math.fround(offset + scale * rnd()));
  const bn = (name: string, c: number) => [
    { name: `${name}.weight`, kind: 'bn_weight' as const, shape: [c], data: arr(c, 0.4, 1) },
    { name: `${name}.bias`, kind: 'bn_bias' as const, shape: [c], data: arr(c, 0.2) },
    { name: `${name}.running_mean`, kind: 'bn_running_mean' as const, shape: [c], data: new Float64Array(c) },
    { name: `${name}.running_var`, kind: 'bn_running_var' as const, shape: [c], data: new Float64Array(c).fill(1) },
  ];
  const bnNode = (name: string, input: string, output: string) => ({
    op: 'batch_norm' as const,
    name,
    inputs: [input],
    outputs: [output],
    weight: `${name}.weight`,
    bias: `${name}.bias`,
    runningMean: `${name}.running_mean`,
    runningVar: `${name}.running_var`,
    eps: 1e-5,
    momentum: 0.1,
  });
  return {
    input: { name: 'x', shape: [3, 6, 6] },
    output: { name: 'y', shape: [4] },
    params: [
      { name: 'c1.weight', kind: 'conv_weight', shape: [4, 3, 3, 3], data: arr(108, 0.6) },
      ...bn('b1', 4),
      { name: 'c2.weight', kind: 'conv_weight', shape: [5, 4, 3, 3], data: arr(180, 0.5) },
      { name: 'c2.bias', kind: 'conv_bias', shape: [5], data: arr(5, 0.2) },
      ...bn('b2', 5),
      { name: 'fc.weight', kind: 'linear_weight', shape: [4, 5], data: options.zeroClassifier ? new Float64Array(20) : arr(20, 0.8) },
      { name: 'fc.bias', kind: 'linear_bias', shape: [4], data: arr(4, 0.2) },
    ],
    nodes: [
      { op: 'conv2d', name: 'c1', inputs: ['x'], outputs: ['a'], weight: 'c1.weight', stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 1 },
      bnNode('b1', 'a', 'b'),
      { op: 'relu', name: 'r1', inputs: ['b'], outputs: ['c'] },
      { op: 'conv2d', name: 'c2', inputs: ['c'], outputs: ['d'], weight: 'c2.weight', bias: 'c2.bias', stride: [2, 2], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 1 },
      bnNode('b2', 'd', 'e'),
      { op: 'relu', name: 'r2', inputs: ['e'], outputs: ['f'] },
      { op: 'global_avg_pool', name: 'g', inputs: ['f'], outputs: ['h'] },
      { op: 'linear', name: 'fc', inputs: ['h'], outputs: ['y'], weight: 'fc.weight', bias: 'fc.bias' },
    ],
  };
}

const SMALL_N = 12;
const smallBatch = {
  input: Float64Array.from({ length: SMALL_N * 3 * 6 * 6 }, (_, i) => Math.fround(Math.sin(i * 0.37) * 1.3 + Math.cos(i * 0.11))),
  labels: Int32Array.from({ length: SMALL_N }, (_, i) => (i * 7) % 4),
};
/** Everything but the engine-kernel metrics (kept apart, see above). */
const CORE_IDS = METRIC_IDS.filter((id) => !KERNEL_METRICS.includes(id));

describe('the probe on a small network', () => {
  it('runs each native computation once, however many metrics share it', async () => {
    const net = Network.create(smallNet(), { dtype: 'float64' });
    try {
      const gradient = vi.spyOn(net, 'gradient');
      const hvp = vi.spyOn(net, 'hvp');
      const jacobian = vi.spyOn(net, 'jacobian');
      const { results } = await probe(net, smallBatch, ['grad_norm', 'grad_norm_global', 'snip', 'plain', 'knas', 'grasp', 'ntk_trace', 'ntk_cond']);
      for (const r of Object.values(results)) expect(r.ok).toBe(true);
      expect(gradient).toHaveBeenCalledTimes(1); // the mean-CE gradient; grasp's H·g reuses it
      expect(hvp).toHaveBeenCalledTimes(1);
      expect(jacobian).toHaveBeenCalledTimes(1); // one Θ for ntk_trace and ntk_cond
    } finally {
      net.dispose();
    }
  });

  it('computes every metric; zico equals the statistic of explicit decomposed per-sample loss gradients', async () => {
    const net = Network.create(smallNet(), { dtype: 'float64' });
    try {
      const { results } = await probe(net, smallBatch, CORE_IDS);
      for (const id of CORE_IDS) okResult(id, results[id]);
      const j = await net.jacobian(smallBatch.input, smallBatch.labels, { mode: 'decomposed', output: 'loss', params: 'weights', result: 'jacobian' });
      let offset = 0;
      const blocks = j.params.map((p) => ({ offset: (offset += p.size) - p.size, size: p.size }));
      const ref = zicoScore(j.jacobian!, j.rows, j.cols, blocks);
      expect(relDiff(okResult('zico', results.zico).value, ref.value)).toBeLessThan(1e-14);
      expect(okResult('params', results.params).value).toBe(net.numTrainable);
    } finally {
      net.dispose();
    }
  });

  it('synflow: in place on a float64 network (parameters restored) = from a GraphSpec copy = from a factory', async () => {
    const spec = smallNet();
    const net = Network.create(spec, { dtype: 'float64' });
    const net32 = Network.create(spec, { dtype: 'float32' });
    try {
      const before = net.getParams();
      const inPlace = okResult('synflow', (await probe(net, smallBatch, ['synflow'])).results.synflow);
      expect(net.getParams()).toEqual(before);
      const fromSpec = okResult('synflow', (await probe(net32, smallBatch, ['synflow'], { synflowNetwork: spec })).results.synflow);
      let made: Network | undefined;
      const factory = () => (made = Network.create(spec, { dtype: 'float64' }));
      const fromFactory = okResult('synflow', (await probe(net32, smallBatch, ['synflow'], { synflowNetwork: factory })).results.synflow);
      expect(made!.disposed).toBe(true); // the probe owns what the factory made
      expect(fromSpec.value).toBe(inPlace.value);
      expect(fromFactory.value).toBe(inPlace.value);
      expect(fromSpec.extras.R).toBe(inPlace.extras.R);
    } finally {
      net.dispose();
      net32.dispose();
    }
  });
});

describe('probe failures are typed results per metric; the other metrics still compute', () => {
  const codeOf = (r: MetricResult | undefined) => (r && !r.ok ? r.error.code : 'ok');

  it('a duplicated sample: K singular (naswot fails), Θ singular, everything else computes', async () => {
    const net = await Network.fromOnnxFile(fixturePath('1835_seed0', 'model.onnx'), { dtype: 'float64' });
    try {
      const n = 8;
      const per = 3 * 32 * 32;
      const labels = batch64.labels.slice(0, n);
      labels[1] = labels[0];
      /** Sample 1 := sample 0 + eps·sin(i). */
      const batchWithCopy = (eps: number) => {
        const input = batch64.input.slice(0, n * per);
        for (let i = 0; i < per; i++) input[per + i] = input[i] + eps * Math.sin(i);
        return { input, labels };
      };
      const ids: MetricId[] = ['ntk_trace', 'ntk_cond', 'grad_norm', 'snip', 'jacob_cov', 'naswot', 'naswot_distinct'];
      const exact = (await probe(net, batchWithCopy(0), ids)).results;
      for (const id of ['ntk_trace', 'grad_norm', 'snip', 'jacob_cov'] as const) okResult(id, exact[id]);
      // Two identical rows of K: ln|det K| = −∞, a typed failure, not a number.
      expect(codeOf(exact.naswot)).toBe('ERR_HNAS_NON_FINITE');
      expect(codeOf(exact.naswot_distinct)).toBe('ERR_HNAS_NON_FINITE');
      // Two identical rows of Θ: λ_min is 0 or rounding noise, either a failure or a flagged ratio.
      const cond = exact.ntk_cond;
      if (cond.ok) expect(cond.extras?.singular).toBe(true);
      else expect(cond.error.code).toBe('ERR_HNAS_NON_FINITE');

      // A copy 1e-9 away: λ_min ~ 1e-16·λ_max, below √N·eps·λ_max: the ratio is returned, flagged.
      const near = (await probe(net, batchWithCopy(1e-9), ['ntk_cond', 'ntk_trace'])).results;
      const flagged = okResult('ntk_cond', near.ntk_cond);
      expect(flagged.extras.singular).toBe(true);
      expect(flagged.value).toBeGreaterThan(1e14);
      okResult('ntk_trace', near.ntk_trace);
    } finally {
      net.dispose();
    }
  });

  it('synflow = 0 (zero classifier): log_synflow is ERR_HNAS_NON_FINITE, synflow and the rest are values', async () => {
    const net = Network.create(smallNet({ zeroClassifier: true }), { dtype: 'float64' });
    try {
      const { results } = await probe(net, smallBatch, ['synflow', 'log_synflow', 'grad_norm', 'ntk_trace']);
      expect(okResult('synflow', results.synflow).value).toBe(0);
      expect(codeOf(results.log_synflow)).toBe('ERR_HNAS_NON_FINITE');
      expect(okResult('grad_norm', results.grad_norm).value).toBeGreaterThan(0);
      okResult('ntk_trace', results.ntk_trace);
    } finally {
      net.dispose();
    }
  });

  it('a computation that throws fails only the metrics that need it, with the error’s code', async () => {
    const net = Network.create(smallNet(), { dtype: 'float32' });
    try {
      const ids: MetricId[] = ['synflow', 'log_synflow', 'snip', 'jacob_cov', 'zico'];
      // float32 without a float64 source: synflow cannot run.
      const a = await probe(net, smallBatch, ids);
      expect(codeOf(a.results.synflow)).toBe('ERR_HNAS_UNSUPPORTED');
      expect(codeOf(a.results.log_synflow)).toBe('ERR_HNAS_UNSUPPORTED');
      for (const id of ['snip', 'jacob_cov', 'zico'] as const) okResult(id, a.results[id]);
      // A factory that throws a typed error.
      const b = await probe(net, smallBatch, ids, {
        synflowNetwork: () => {
          throw new InvalidArgumentError('no float64 copy today');
        },
      });
      expect(codeOf(b.results.synflow)).toBe('ERR_HNAS_INVALID_ARGUMENT');
      expect(!b.results.log_synflow.ok && b.results.log_synflow.error.message).toContain('no float64 copy today');
      for (const id of ['snip', 'jacob_cov', 'zico'] as const) okResult(id, b.results[id]);
      // A gradient that fails: grasp's H·g, which needs it, fails with it; Θ still computes.
      const c = await probe(net, smallBatch, ['grad_norm', 'grasp', 'ntk_trace'], {});
      okResult('grasp', c.results.grasp);
      vi.spyOn(net, 'gradient').mockRejectedValueOnce(new HnasError('ERR_HNAS_OUT_OF_MEMORY', 'simulated'));
      const d = await probe(net, smallBatch, ['grad_norm', 'grasp', 'ntk_trace']);
      expect(codeOf(d.results.grad_norm)).toBe('ERR_HNAS_OUT_OF_MEMORY');
      expect(codeOf(d.results.grasp)).toBe('ERR_HNAS_OUT_OF_MEMORY');
      okResult('ntk_trace', d.results.ntk_trace);
    } finally {
      net.dispose();
    }
  });

  it('a disposed network fails every metric with ERR_HNAS_DISPOSED; an aborted signal rejects', async () => {
    const net = Network.create(smallNet(), { dtype: 'float64' });
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(probe(net, smallBatch, ['snip'], { signal: controller.signal })).rejects.toThrow('stop');
    net.dispose();
    const { results } = await probe(net, smallBatch, ['snip', 'ntk_cond']);
    expect(codeOf(results.snip)).toBe('ERR_HNAS_DISPOSED');
    expect(codeOf(results.ntk_cond)).toBe('ERR_HNAS_DISPOSED');
  });
});

describe('registry', () => {
  it('has one entry per id, each under its own id, in the canonical order', () => {
    expect(Object.keys(METRICS)).toEqual([...METRIC_IDS]);
    expect(new Set(METRIC_IDS).size).toBe(METRIC_IDS.length);
    for (const id of METRIC_IDS) {
      expect(METRICS[id].id).toBe(id);
      expect(id).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/); // snake_case, the one spelling
      expect(getMetric(id)).toBe(METRICS[id]);
    }
    expect(METRIC_IDS.slice(0, 2)).toEqual(['ntk_trace', 'ntk_cond']);
  });

  it('parses lists and groups, keeping order and dropping repeats', () => {
    expect(parseMetricList('ntk_trace,snip')).toEqual(['ntk_trace', 'snip']);
    expect(parseMetricList(' snip , ntk_trace ,snip')).toEqual(['snip', 'ntk_trace']);
    expect(parseMetricList('hnas')).toEqual(['ntk_trace', 'ntk_cond']);
    expect(parseMetricList('all')).toEqual([...METRIC_IDS]);
    expect(parseMetricList('synflow,hnas')).toEqual(['synflow', 'ntk_trace', 'ntk_cond']);
  });

  it('rejects unknown names and empty lists with InvalidArgumentError naming the valid ids', () => {
    expect(() => parseMetricList('ntkTrace')).toThrow(InvalidArgumentError);
    expect(() => parseMetricList('ntk-trace')).toThrow(/valid metrics: ntk_trace, ntk_cond/);
    expect(() => parseMetricList('')).toThrow(InvalidArgumentError);
    expect(() => parseMetricList('snip,,grasp')).toThrow(/empty item/);
    expect(() => getMetric('NASWOT')).toThrow(InvalidArgumentError);
    try {
      getMetric('nope');
    } catch (error) {
      expect((error as HnasError).code).toBe('ERR_HNAS_INVALID_ARGUMENT');
      for (const id of METRIC_IDS) expect((error as Error).message).toContain(id);
    }
  });

  it('unknown ids passed to the probe are rejected before any work', async () => {
    const net = Network.create(smallNet(), { dtype: 'float64' });
    try {
      await expect(probe(net, smallBatch, ['snip', 'bogus' as MetricId])).rejects.toThrow(InvalidArgumentError);
    } finally {
      net.dispose();
    }
  });

  it('declares needs the probe knows and a description for each metric', () => {
    for (const def of Object.values(METRICS)) {
      expect(def.description.length).toBeGreaterThan(5);
      for (const need of def.needs) expect(NEED_ORDER).toContain(need);
    }
  });
});
