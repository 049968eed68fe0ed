/**
 * The probe: scores one network on one batch with any set of metrics,
 * running each native computation the metrics need at most once.
 *
 * The union of the metrics' needs is run in a fixed order (cheap first);
 * e.g. one train-mode gradient serves grad_norm, grad_norm_global, snip,
 * plain and knas (knas = grad_norm_global², see knas.ts), and grasp's
 * Hessian-vector product reuses that gradient as its vector. Every need runs
 * in its own try: a need that throws marks only the metrics that depend on
 * it as failed, with the error's code (`ERR_HNAS_…`) and message; the other
 * metrics still compute. A metric whose arithmetic throws, or whose value is
 * NaN/±Inf, fails the same way. The probe itself rejects only for a bad
 * metric id or when `signal` aborts.
 */
import type { GraphSpec } from '../engine/graphSpec.js';
import { Network, type FloatArray, type ParamInfo } from '../engine/network.js';
import { InternalError, InvalidArgumentError, UnsupportedError } from '../errors.js';
import { metricFailure } from './metricResult.js';
import { getMetric } from './registry.js';
import type { MetricError, MetricId, MetricResult, ProbeData, ProbeNeed } from './types.js';
import { concatWeights } from './weightSums.js';

/**
 * Where synflow's float64 copy comes from (it must be the same architecture
 * with the same parameters):
 *  - a GraphSpec, or an ONNX file path or ONNX bytes: built in float64 and
 *    disposed after use;
 *  - a factory: called once; the probe owns and disposes the network it
 *    returns, unless that is the probed network itself.
 * Without one, a float64 probed network is used in place: its parameters are
 * set to |θ| for the one synflow pass and restored afterwards. A float32
 * network without a source fails synflow with ERR_HNAS_UNSUPPORTED.
 */
export type SynflowSource = GraphSpec | string | Uint8Array | (() => Promise<Network> | Network);

export interface ProbeOptions {
  synflowNetwork?: SynflowSource;
  /** Checked between computations: an aborted probe rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface ProbeBatch {
  /** NCHW, the network's per-sample shape times the batch size. */
  input: FloatArray;
  labels: Int32Array;
}

/** Wall-clock seconds of each need that ran (a failed need included). */
export type ProbeTimings = Partial<Record<ProbeNeed, number>>;

export interface ProbeOutcome<M extends MetricId = MetricId> {
  results: Record<M, MetricResult>;
  timings: ProbeTimings;
  /** Seconds spent in the metrics' own arithmetic after the needs (eigenvalues, determinants, sums). */
  computeSeconds: number;
}

/** Execution order: cheap and widely shared first, exact per-sample Θ (one backward per sample) last. */
export const NEED_ORDER: readonly ProbeNeed[] = Object.freeze([
  'gradient',
  'hvp',
  'input_gradient',
  'theta_decomposed',
  'relu_kernel',
  'layer_fisher',
  'synflow',
  'loss_jacobian',
  'theta_exact',
] as const);

/** Needs that consume another need's result. */
const NEED_DEPENDS: Readonly<Partial<Record<ProbeNeed, readonly ProbeNeed[]>>> = { hvp: ['gradient'] };

/** TE-NAS' parameter set: every trainable parameter whose name contains "weight" (conv, BN γ, classifier). */
export const teNasParams = (p: ParamInfo): boolean => p.name.includes('weight');

interface NeedContext {
  network: Network;
  batch: ProbeBatch;
  data: ProbeData;
  options: ProbeOptions;
}

const RUN: Readonly<Record<ProbeNeed, (ctx: NeedContext) => Promise<void>>> = {
  async gradient({ network, batch, data }) {
    const g = await network.gradient(batch.input, batch.labels, { bn: 'train', objective: 'mean_loss' });
    data.gradient = { loss: g.loss, grad: g.grad };
  },
  async hvp({ network, batch, data }) {
    const g = data.gradient;
    if (!g) throw new InternalError('hvp ran before the gradient');
    const v = concatWeights(data.weights, g.grad);
    data.hvp = (await network.hvp(batch.input, batch.labels, v, { bn: 'train', params: 'weights' })).hvp;
  },
  async input_gradient({ network, batch, data }) {
    const g = await network.gradient(batch.input, batch.labels, { bn: 'train', objective: 'sum', inputGrad: true });
    if (!g.inputGrad) throw new InternalError(`${network.name}: the engine returned no input gradient`);
    data.inputGradient = g.inputGrad;
  },
  async theta_decomposed({ network, batch, data }) {
    const j = await network.jacobian(batch.input, batch.labels, {
      bn: 'train',
      mode: 'decomposed',
      output: 'true_class',
      params: 'weights_and_biases',
      result: 'theta',
    });
    data.thetaDecomposed = j.theta;
  },
  async theta_exact({ network, batch, data }) {
    const j = await network.jacobian(batch.input, batch.labels, {
      bn: 'train',
      mode: 'exact',
      output: 'sum',
      params: teNasParams,
      result: 'theta',
    });
    data.thetaExact = j.theta;
  },
  async loss_jacobian({ network, batch, data }) {
    const j = await network.jacobian(batch.input, batch.labels, {
      bn: 'train',
      mode: 'decomposed',
      output: 'loss',
      params: 'weights',
      result: 'jacobian',
    });
    data.lossJacobian = j.jacobian;
  },
  async relu_kernel({ network, batch, data }) {
    const k = await network.reluKernel(batch.input, { bn: 'train' });
    data.reluKernel = {
      weighted: k.weighted,
      distinct: k.distinct,
      reluNodes: k.reluNodes,
      reluModules: k.reluModules,
      distinctInputs: k.distinctInputs,
      unitsPerSample: k.unitsPerSample,
      distinctUnitsPerSample: k.distinctUnitsPerSample,
    };
  },
  async layer_fisher({ network, batch, data }) {
    const f = await network.layerFisher(batch.input, batch.labels, { bn: 'train' });
    const index = new Map(data.weights.map((p, l) => [p.name, l]));
    const perLayer = new Float64Array(data.weights.length);
    for (const { param, score } of f.layers) {
      const l = index.get(param);
      if (l === undefined) throw new InternalError(`${network.name}: layerFisher scored "${param}", which is not a conv/linear weight`);
      perLayer[l] += score;
    }
    data.layerFisher = perLayer;
    data.layerFisherTotal = f.total;
  },
  async synflow({ network, data, options }) {
    data.synflow = await synflowPass(network, options.synflowNetwork);
  },
};

async function synflowCopy(network: Network, source: SynflowSource | undefined): Promise<{ copy: Network; owned: boolean }> {
  const name = `${network.name} (synflow float64 copy)`;
  if (source === undefined) {
    if (network.dtype !== 'float64') {
      throw new UnsupportedError(
        `${network.name}: synflow is computed in float64 (float32 overflows on large networks) and this network is ` +
          'float32; pass options.synflowNetwork (a GraphSpec, an ONNX path or bytes, or a factory of a float64 copy)',
      );
    }
    return { copy: network, owned: false };
  }
  if (typeof source === 'function') {
    const copy = await source();
    return { copy, owned: copy !== network };
  }
  // On the probed network's device.
  const device = network.device;
  if (typeof source === 'string') return { copy: await Network.fromOnnxFile(source, { dtype: 'float64', device }), owned: true };
  if (source instanceof Uint8Array) return { copy: await Network.fromOnnxBytes(source, { dtype: 'float64', name, device }), owned: true };
  return { copy: Network.create(source, { dtype: 'float64', name, device }), owned: true };
}

/** |θ| everywhere, BN removed, one all-ones sample, ∂(Σ logits)/∂θ, in float64. */
async function synflowPass(network: Network, source: SynflowSource | undefined): Promise<NonNullable<ProbeData['synflow']>> {
  const { copy, owned } = await synflowCopy(network, source);
  let restore: FloatArray | undefined;
  try {
    if (copy.dtype !== 'float64') {
      throw new InvalidArgumentError(`synflowNetwork gave a ${copy.dtype} network (${copy.name}); synflow needs float64`);
    }
    const same =
      copy.params.length === network.params.length &&
      copy.params.every((p, i) => p.name === network.params[i].name && p.size === network.params[i].size) &&
      copy.inputShape.join() === network.inputShape.join();
    if (!same) {
      throw new InvalidArgumentError(`synflowNetwork (${copy.name}) is not the same architecture as ${network.name}`);
    }
    const original = copy.getParams();
    const abs = Float64Array.from(original, Math.abs);
    if (!owned) restore = original;
    copy.setParams(abs);
    const ones = new Float64Array(copy.inputShape.reduce((a, b) => a * b, 1)).fill(1);
    const g = await copy.gradient(ones, Int32Array.of(0), { bn: 'identity', objective: 'sum' });
    let output = 0;
    for (const v of g.logits) output += v;
    return { params: abs, grad: Float64Array.from(g.grad), weights: copy.selectParams('weights'), output };
  } finally {
    if (restore) copy.setParams(restore);
    if (owned) copy.dispose();
  }
}

/** Scores `network` on `batch` with `metrics`; see the file comment for how failures are reported. */
export async function probe<M extends MetricId>(
  network: Network,
  batch: ProbeBatch,
  metrics: readonly M[],
  options: ProbeOptions = {},
): Promise<ProbeOutcome<M>> {
  const defs = metrics.map((id) => getMetric(id));
  const { signal } = options;
  signal?.throwIfAborted();

  const needed = new Set<ProbeNeed>();
  const add = (need: ProbeNeed): void => {
    if (needed.has(need)) return;
    needed.add(need);
    for (const dep of NEED_DEPENDS[need] ?? []) add(dep);
  };
  for (const def of defs) for (const need of def.needs) add(need);

  const failed = new Map<ProbeNeed, MetricError>();
  const timings: ProbeTimings = {};
  const results = {} as Record<M, MetricResult>;

  let data: ProbeData;
  try {
    let weights: ParamInfo[] = [];
    if (network.params.some((p) => p.kind === 'conv_weight' || p.kind === 'linear_weight')) weights = network.selectParams('weights');
    data = { network, batchSize: batch.labels.length, weights, params: network.getParams() };
  } catch (error) {
    // The network itself is unusable (e.g. disposed): every metric carries that error.
    const failure = metricFailure(error);
    for (const def of defs) results[def.id as M] = failure;
    return { results, timings, computeSeconds: 0 };
  }

  for (const need of NEED_ORDER) {
    if (!needed.has(need)) continue;
    signal?.throwIfAborted();
    const brokenDep = (NEED_DEPENDS[need] ?? []).find((d) => failed.has(d));
    if (brokenDep !== undefined) {
      const e = failed.get(brokenDep)!;
      failed.set(need, { code: e.code, message: `${need} needs ${brokenDep}, which failed: ${e.message}` });
      continue;
    }
    const start = performance.now();
    try {
      await RUN[need]({ network, batch, data, options });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      failed.set(need, metricFailure(error, need).error);
    } finally {
      timings[need] = (performance.now() - start) / 1000;
    }
  }

  signal?.throwIfAborted();
  const start = performance.now();
  for (const def of defs) {
    const broken = def.needs.find((n) => failed.has(n));
    if (broken !== undefined) {
      results[def.id as M] = { ok: false, error: failed.get(broken)! };
      continue;
    }
    try {
      results[def.id as M] = def.compute(data);
    } catch (error) {
      results[def.id as M] = metricFailure(error, def.id);
    }
  }
  return { results, timings, computeSeconds: (performance.now() - start) / 1000 };
}
