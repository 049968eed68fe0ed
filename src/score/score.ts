/**
 * The library's front door to the metric suite: score(architecture or ONNX
 * model, options) builds the network, loads a batch and runs one probe.
 * `hnas score` is this function in a loop with a resumable JSONL file.
 */
import type { GraphSpec } from '../engine/graphSpec.js';
import { Network, type DType } from '../engine/network.js';
import { InvalidArgumentError } from '../errors.js';
import { engineDevice, type Device, type ResolvedDevice } from '../native/device.js';
import { importOnnx, readOnnxFile } from '../onnx/importOnnx.js';
import {
  parseMetricList,
  probe,
  type MetricError,
  type MetricId,
  type MetricResult,
  type ProbeBatch,
  type ProbeTimings,
  type SynflowSource,
} from '../metrics/index.js';
import { buildArchitecture, type ArchitectureOptions, type SpaceName } from '../spaces/architecture.js';
import { loadProbeBatch, type DataSource } from './probeBatch.js';

/**
 * What to score: an NB201 string or benchmark index, a DARTS genotype (with
 * `space: 'darts'`), a GraphSpec, or an ONNX model (`{ onnx: path }` or
 * `{ onnxBytes }`).
 */
export type ScoreTarget = string | number | GraphSpec | { onnx: string } | { onnxBytes: Uint8Array };

export interface ScoreOptions {
  /** Search space of a string target (default nb201). */
  space?: SpaceName;
  /** Metric ids or groups, as an array or a comma-separated list (default 'hnas': ntk_trace, ntk_cond). */
  metrics?: string | readonly string[];
  /** Batch size for the data sources that draw one (default 64). */
  batch?: number;
  /** Default: the bundled CIFAR-10 sample. */
  data?: DataSource;
  /** Seed of the batch rows or Gaussian draws (default 0). */
  dataSeed?: number;
  /** Initialisation seed of space architectures (default 0); ONNX models keep their weights. */
  initSeed?: number;
  dtype?: DType;
  /** Network options for space architectures (channels, cells, dataset, init). */
  architecture?: Omit<ArchitectureOptions, 'seed'>;
  signal?: AbortSignal;
  /** auto | cpu | cuda (default HNAS_DEVICE, else auto): see engineDevice(). grasp (a Hessian-vector product) fails on cuda. */
  device?: Device;
}

export interface ScoreResult {
  /** Metric values; null where the metric failed (see `errors`). */
  metrics: Partial<Record<MetricId, number | null>>;
  errors: Partial<Record<MetricId, MetricError>>;
  /** Per-metric extras (e.g. ntk_cond's eigenvalues and `singular` flag). */
  extras: Partial<Record<MetricId, Record<string, number | boolean>>>;
  /** The probe's full typed results. */
  results: Partial<Record<MetricId, MetricResult>>;
  /** Seconds per native computation, plus `compute` for the metrics' arithmetic. */
  timings: ProbeTimings & { compute: number };
  /** Wall-clock seconds including network construction. */
  seconds: number;
  /** Where the engine ran. */
  device: ResolvedDevice;
}

interface Resolved {
  spec: GraphSpec;
  synflow: SynflowSource;
}

async function resolveTarget(target: ScoreTarget, options: ScoreOptions): Promise<Resolved> {
  if (typeof target === 'string' || typeof target === 'number') {
    const spec = buildArchitecture(options.space ?? 'nb201', String(target), { ...options.architecture, seed: options.initSeed ?? 0 });
    return { spec, synflow: spec };
  }
  if (target === null || typeof target !== 'object') {
    throw new InvalidArgumentError('score: the target must be an architecture string or index, a GraphSpec, { onnx } or { onnxBytes }');
  }
  if ('onnx' in target) {
    if (typeof target.onnx !== 'string') throw new InvalidArgumentError('score: { onnx } must be a file path');
    return { spec: await readOnnxFile(target.onnx), synflow: target.onnx };
  }
  if ('onnxBytes' in target) {
    return { spec: importOnnx(target.onnxBytes, { source: 'onnxBytes' }), synflow: target.onnxBytes };
  }
  return { spec: target, synflow: target };
}

/**
 * Scores one architecture or model: every requested metric from one probe.
 * A metric that fails is reported in `errors` (typed code and message), not
 * thrown; score() rejects only for bad arguments, unreadable inputs or abort.
 */
export async function score(target: ScoreTarget, options: ScoreOptions = {}): Promise<ScoreResult> {
  const start = performance.now();
  const device = engineDevice(options.device);
  const metrics = parseMetricList(typeof options.metrics === 'object' ? options.metrics.join(',') : (options.metrics ?? 'hnas'));
  const dtype = options.dtype ?? 'float32';
  const { spec, synflow } = await resolveTarget(target, options);
  const network = Network.create(spec, { dtype, device });
  try {
    const batch: ProbeBatch = await loadProbeBatch(options.data ?? 'default', {
      size: options.batch ?? 64,
      seed: options.dataSeed ?? 0,
      dtype,
      sampleShape: network.inputShape,
      numClasses: network.numClasses,
    });
    const wantsSynflow = metrics.includes('synflow') || metrics.includes('log_synflow');
    const outcome = await probe(network, batch, metrics, {
      ...(wantsSynflow ? { synflowNetwork: synflow } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return summarise(metrics, outcome.results, outcome.timings, outcome.computeSeconds, start, device);
  } finally {
    network.dispose();
  }
}

function summarise(
  metrics: readonly MetricId[],
  results: Record<MetricId, MetricResult>,
  timings: ProbeTimings,
  computeSeconds: number,
  start: number,
  device: ResolvedDevice,
): ScoreResult {
  const out: ScoreResult = { metrics: {}, errors: {}, extras: {}, results: {}, timings: { ...timings, compute: computeSeconds }, seconds: 0, device };
  for (const id of metrics) {
    const r = results[id];
    out.results[id] = r;
    if (r.ok) {
      out.metrics[id] = r.value;
      if (r.extras && Object.keys(r.extras).length > 0) out.extras[id] = r.extras;
    } else {
      out.metrics[id] = null;
      out.errors[id] = { code: r.error.code, message: r.error.message };
    }
  }
  out.seconds = (performance.now() - start) / 1000;
  return out;
}

/** Scores several targets in turn with the same options; `onResult` sees each as it finishes. */
export async function scoreMany(
  targets: readonly ScoreTarget[],
  options: ScoreOptions & { onResult?: (result: ScoreResult, position: number) => void | Promise<void> } = {},
): Promise<ScoreResult[]> {
  const results: ScoreResult[] = [];
  for (let i = 0; i < targets.length; i++) {
    options.signal?.throwIfAborted();
    const result = await score(targets[i], options);
    results.push(result);
    await options.onResult?.(result, i);
  }
  return results;
}
