/**
 * Evaluation of a trained network: validation / test accuracy computed by
 * onnxruntime on the architecture's ONNX export carrying the trained weights
 * (BatchNormalization in inference form, i.e. the running statistics), with
 * the native engine's forward (BN `eval`) as the cross-check: both must give
 * the same logits to float32 precision and the same predictions, except on
 * near-ties that the two runtimes' rounding can flip.
 */
import type { GraphSpec, ParamSpec } from '../engine/graphSpec.js';
import type { FloatArray, Network } from '../engine/network.js';
import { InternalError, InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import { CIFAR10_STATS, cifarBatch, type CifarSet, type NormaliseStats } from '../io/cifar.js';
import { exportOnnx } from '../onnx/exportOnnx.js';
import { OrtModel } from '../onnx/ortSession.js';

/** A copy of `spec` whose parameters hold `values` (laid out like the network's parameter vector). */
export function specWithParams(spec: GraphSpec, net: Network, values: FloatArray): GraphSpec {
  if (spec.params.length !== net.params.length) {
    throw new ShapeMismatchError(`specWithParams: the spec has ${spec.params.length} parameters, the network ${net.params.length}`);
  }
  spec.params.forEach((p, i) => {
    if (net.params[i].name !== p.name) {
      throw new ShapeMismatchError(`specWithParams: parameter ${i} is "${p.name}" in the spec and "${net.params[i].name}" in the network`);
    }
  });
  return specWithParamsByName(spec, net, values);
}

/**
 * A copy of `spec` whose parameters take their values by name from the
 * network's parameter vector: the evaluation network of a network trained
 * with extra (training-only) parameters, such as DARTS' auxiliary head. Every
 * parameter of `spec` must exist in the network with the same size.
 */
export function specWithParamsByName(spec: GraphSpec, net: Network, values: FloatArray): GraphSpec {
  if (values.length !== net.totalParamSize) {
    throw new ShapeMismatchError(`specWithParamsByName: ${values.length} values for ${net.totalParamSize} parameters`);
  }
  const byName = new Map(net.params.map((p) => [p.name, p]));
  const params: ParamSpec[] = spec.params.map((p) => {
    const info = byName.get(p.name);
    if (!info) throw new ShapeMismatchError(`specWithParamsByName: the network has no parameter "${p.name}"`);
    if (info.size !== p.data.length) {
      throw new ShapeMismatchError(`specWithParamsByName: "${p.name}" has ${p.data.length} values in the spec and ${info.size} in the network`);
    }
    const data = values instanceof Float64Array ? new Float64Array(info.size) : new Float32Array(info.size);
    data.set(values.subarray(info.offset, info.offset + info.size));
    return { ...p, shape: [...p.shape], data };
  });
  return { ...spec, params };
}

/** The first `k` columns of [n][K] logits (the main head of [main | auxiliary] logits). */
export function mainLogits(logits: ArrayLike<number>, n: number, k: number): Float64Array {
  const width = logits.length / n;
  if (!Number.isInteger(width) || width < k) throw new ShapeMismatchError(`mainLogits: ${logits.length} logits for ${n} samples of at least ${k}`);
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) out[i * k + j] = logits[i * width + j];
  return out;
}

/** Top-1 accuracy in percent of [n][k] logits. */
export function accuracyOf(logits: ArrayLike<number>, labels: Int32Array): number {
  if (labels.length === 0) throw new InvalidArgumentError('accuracyOf: no samples');
  return (100 * correctCount(logits, labels)) / labels.length;
}

/** How many of the samples' largest logits are at their label (ties: the first maximum). */
export function correctCount(logits: ArrayLike<number>, labels: Int32Array): number {
  const n = labels.length;
  const k = n === 0 ? 0 : logits.length / n;
  let correct = 0;
  for (let i = 0; i < n; i++) if (argmax(logits, i * k, k) === labels[i]) correct++;
  return correct;
}

/** Mean cross-entropy of [n][k] logits (log-sum-exp with the maximum subtracted), in float64. */
export function meanCrossEntropy(logits: ArrayLike<number>, labels: Int32Array): number {
  const n = labels.length;
  const k = logits.length / n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, logits[i * k + j]);
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.exp(logits[i * k + j] - m);
    total += m + Math.log(s) - logits[i * k + labels[i]];
  }
  return total / n;
}

function argmax(a: ArrayLike<number>, at: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (a[at + j] > a[at + best]) best = j;
  return best;
}

export interface EvalSet {
  set: CifarSet;
  rows: Int32Array;
  stats?: NormaliseStats;
}

/** Eval-mode (running statistics) logits of the rows, in chunks of `batch`. */
export async function nativeLogits(net: Network, data: EvalSet, batch = 250): Promise<Float32Array> {
  const k = net.numClasses;
  const out = new Float32Array(data.rows.length * k);
  for (let at = 0; at < data.rows.length; at += batch) {
    const rows = data.rows.subarray(at, Math.min(at + batch, data.rows.length));
    const b = cifarBatch(data.set, rows, data.stats ?? CIFAR10_STATS);
    const input = net.dtype === 'float64' ? Float64Array.from(b.input) : b.input;
    out.set(await net.forward(input, { bn: 'eval' }), at * k);
  }
  return out;
}

/** Logits of the rows by onnxruntime on the model bytes, in chunks of `batch`. */
export async function ortLogits(model: OrtModel, data: EvalSet, batch = 250): Promise<Float32Array> {
  let out: Float32Array | undefined;
  let k = 0;
  for (let at = 0; at < data.rows.length; at += batch) {
    const rows = data.rows.subarray(at, Math.min(at + batch, data.rows.length));
    const b = cifarBatch(data.set, rows, data.stats ?? CIFAR10_STATS);
    const logits = await model.runBatched(b.input, rows.length, { batchSize: Math.min(batch, 64) });
    if (!out) {
      k = logits.length / rows.length;
      out = new Float32Array(data.rows.length * k);
    }
    out.set(logits, at * k);
  }
  return out as Float32Array;
}

export interface LogitComparison {
  /** max |native − ort| over every logit. */
  maxAbsDiff: number;
  /** max |logit| (native), the scale of the comparison. */
  scale: number;
  /** Samples whose predicted class differs. */
  disagreements: number;
  /** Of those, samples whose two classes are NOT within the logit difference of a tie in both runtimes. */
  unexplained: number;
}

/** Compares two [n][k] logit arrays sample by sample. */
export function compareLogits(native: ArrayLike<number>, ort: ArrayLike<number>, n: number): LogitComparison {
  if (native.length !== ort.length || native.length % n !== 0) {
    throw new ShapeMismatchError(`compareLogits: ${native.length} native and ${ort.length} onnxruntime logits for ${n} samples`);
  }
  const k = native.length / n;
  let maxAbsDiff = 0;
  let scale = 0;
  for (let i = 0; i < native.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(native[i] - ort[i]));
    scale = Math.max(scale, Math.abs(native[i]));
  }
  let disagreements = 0;
  let unexplained = 0;
  for (let s = 0; s < n; s++) {
    const a = argmax(native, s * k, k);
    const b = argmax(ort, s * k, k);
    if (a === b) continue;
    disagreements++;
    const gapNative = native[s * k + a] - native[s * k + b];
    const gapOrt = ort[s * k + b] - ort[s * k + a];
    if (gapNative > 2 * maxAbsDiff || gapOrt > 2 * maxAbsDiff) unexplained++;
  }
  return { maxAbsDiff, scale, disagreements, unexplained };
}

export interface TrainedEvaluation {
  /** onnxruntime top-1 accuracy, percent. */
  accuracy: number;
  /** The native forward's top-1 accuracy, percent (the cross-check). */
  nativeAccuracy: number;
  /** Mean cross-entropy (onnxruntime logits). */
  loss: number;
  count: number;
  comparison: LogitComparison;
}

/** Logits may differ by this much relative to their scale before the cross-check fails. */
export const CROSS_CHECK_RTOL = 1e-3;

/**
 * Accuracy of the network's current weights on `data` by onnxruntime (on the
 * ONNX export of `spec` carrying those weights), cross-checked against the
 * native eval-mode forward. Throws InternalError when the two disagree
 * beyond float32 rounding.
 */
export async function evaluateTrained(net: Network, spec: GraphSpec, data: EvalSet, options: { batch?: number } = {}): Promise<TrainedEvaluation> {
  const batch = options.batch ?? 250;
  const labels = Int32Array.from(data.rows, (r) => data.set.labels[r]);
  const trained = specWithParams(spec, net, net.getParams());
  const model = await OrtModel.load(exportOnnx(trained, { docString: `hnas: trained ${net.name}` }), { name: `${net.name} (onnxruntime)` });
  let ort: Float32Array;
  try {
    ort = await ortLogits(model, data, batch);
  } finally {
    await model.dispose();
  }
  const native = await nativeLogits(net, data, batch);
  const comparison = compareLogits(native, ort, labels.length);
  if (comparison.maxAbsDiff > CROSS_CHECK_RTOL * Math.max(1, comparison.scale) || comparison.unexplained > 0) {
    throw new InternalError(
      `${net.name}: onnxruntime and the native forward disagree on the trained model: max |Δlogit| ${comparison.maxAbsDiff.toExponential(3)} ` +
        `(scale ${comparison.scale.toFixed(3)}), ${comparison.disagreements} different predictions of which ${comparison.unexplained} are not near-ties`,
    );
  }
  return {
    accuracy: accuracyOf(ort, labels),
    nativeAccuracy: accuracyOf(native, labels),
    loss: meanCrossEntropy(ort, labels),
    count: labels.length,
    comparison,
  };
}
