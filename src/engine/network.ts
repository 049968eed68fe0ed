/**
 * A network on the native engine: forward passes, gradients, per-sample
 * Jacobians and the NTK Θ = J·Jᵀ, Hessian-vector products, the NASWOT ReLU
 * kernel and per-layer fisher scores. Every slow call
 * returns a Promise and runs off the event loop; calls on one Network are
 * queued natively. Call dispose() to free native memory early.
 */
import { readFile } from 'node:fs/promises';
import { DisposedError, InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import { fromDeviceNative, type ResolvedDevice as EngineDeviceName } from '../native/device.js';
import { fromNative } from '../native/errors.js';
import {
  loadAddon,
  type BnModeName,
  type FloatArray,
  type OutputName,
  type RawNetwork,
  type RawReluKernelResult,
} from '../native/binding.js';
import type { GraphSpec, ParamKind } from './graphSpec.js';

export type DType = 'float32' | 'float64';
export type { BnModeName, FloatArray, OutputName };

/** BN behaviour: batch statistics, stored running statistics, or removed. */
export type BnMode = BnModeName;

/**
 * Per-sample gradient construction:
 * - `decomposed`: one backward of the summed selected outputs; each sample's
 *   gradient is its own activations times its own back-propagated gradient
 *   (what per-example gradient hooks compute). Exact when samples do not
 *   interact (BN with running statistics or removed).
 * - `exact`: ∂f(x_i)/∂θ through the batch-coupled forward (train-mode BN),
 *   by back-propagating one cotangent per row, in chunks.
 */
export type JacobianMode = 'decomposed' | 'exact';

export interface ParamInfo {
  index: number;
  name: string;
  kind: ParamKind;
  shape: number[];
  size: number;
  /** Offset in the flat parameter vector (getParams/setParams, gradient). */
  offset: number;
  trainable: boolean;
}

/**
 * Which parameters a per-sample gradient covers:
 * - `weights`: conv and linear weights
 * - `weights_and_biases`: conv and linear weights and biases
 * - `bn_affine`: BN γ and β
 * - `trainable`: everything but BN running statistics
 * - an array of parameter names, or a predicate.
 */
export type ParamSelection =
  | 'weights'
  | 'weights_and_biases'
  | 'bn_affine'
  | 'trainable'
  | readonly string[]
  | ((param: ParamInfo) => boolean);

export interface GradientResult {
  /** Mean cross-entropy over the batch (whatever the objective). */
  loss: number;
  /** [N][K] row-major. */
  logits: FloatArray;
  /** Gradient of the objective, laid out like getParams() (0 for running statistics). */
  grad: FloatArray;
  /** ∂objective/∂input, NCHW, when `inputGrad` was asked for. */
  inputGrad?: FloatArray;
}

export interface JacobianResult {
  /** Rows of J: N, or N·K (sample-major) for output `all`. */
  rows: number;
  /** Columns of J: the selected parameters' sizes, in `params` order. */
  cols: number;
  params: ParamInfo[];
  /** [rows][cols], when result is `jacobian` or `both`. */
  jacobian?: FloatArray;
  /** Θ = J·Jᵀ [rows][rows], accumulated in float64, when result is `theta` or `both`. */
  theta?: Float64Array;
  logits: FloatArray;
  /** Exact mode: the cotangents back-propagated per pass. */
  chunk: number;
}

export interface HvpResult {
  loss: number;
  /** ∂L/∂θ over the selected parameters, concatenated in `params` order. */
  grad: FloatArray;
  /** H·v over the same parameters (exact: forward-over-reverse). */
  hvp: FloatArray;
  params: ParamInfo[];
}

/**
 * The NASWOT kernel of one forward pass; the addon's result is returned as
 * is (fields documented on RawReluKernelResult).
 */
export type ReluKernelResult = RawReluKernelResult;

export interface LayerFisherResult {
  /**
   * Per Conv2d / Linear node in graph order, named by its weight parameter:
   * Σ_k F_k · (weights per output channel), F_k = ½·mean_n (Σ_hw a·∂L/∂a)².
   */
  layers: { param: string; score: number }[];
  /** Σ of the layer scores (zero-cost-nas `fisher`). */
  total: number;
  /** Mean cross-entropy L of the batch. */
  loss: number;
}

export interface BatchOptions {
  /** Default `train` (batch statistics), as in the training-free metrics. */
  bn?: BnMode;
}

/**
 * Per-sample factors on chosen op outputs: sample s of tensor `tensors[k]` is
 * multiplied by `factors[k·N + s]` in forward, and the gradient reaching it by
 * the same factor. DARTS' drop-path is factors mask/keepProb (0 or 1/keepProb)
 * on the outputs of a cell's non-identity ops (see src/train/dropPath.ts).
 */
export interface SampleScales {
  /** Tensor names of the GraphSpec, each produced by a node (not the input), each once. */
  tensors: readonly string[];
  /** [tensors.length][N], finite. */
  factors: Float32Array | Float64Array;
}

export interface GradientOptions extends BatchOptions {
  /** Default `mean_loss`. */
  objective?: Exclude<OutputName, 'all'>;
  /** Also return ∂objective/∂input (NCHW). */
  inputGrad?: boolean;
  /**
   * Label smoothing ε ∈ [0, 1), loss objectives only: targets
   * (1 − ε)·onehot(y) + ε/K, as PyTorch's CrossEntropyLoss(label_smoothing=ε);
   * the returned loss is then the smoothed cross-entropy. Default 0.
   */
  labelSmoothing?: number;
  /**
   * Update the BN running statistics from this batch in the same forward pass
   * (bn `train` only): running ← 0.9·running + 0.1·batch for momentum 0.1,
   * with the unbiased batch variance, as PyTorch. Default false.
   */
  updateRunning?: boolean;
  /** Per-sample factors on chosen tensors (drop-path). */
  sampleScales?: SampleScales;
  /**
   * A loss over several output heads (loss objectives only): Σ_h weight_h ·
   * CE(outputs [offset, offset + count)) against the labels. DARTS' training
   * with the auxiliary head is `[{offset: 0, count: K, weight: 1}, {offset: K,
   * count: K, weight: 0.4}]` on its [main | auxiliary] logits. Default: one
   * head over every output.
   */
  heads?: readonly LossHead[];
}

/** One term of a multi-head loss (GradientOptions.heads). */
export interface LossHead {
  offset: number;
  count: number;
  weight: number;
}

/** What the addon's gradient() takes; binding.ts declares the older subset. */
interface RawGradientOptions {
  bn: BnModeName;
  objective: Exclude<OutputName, 'all'>;
  inputGrad: boolean;
  labelSmoothing: number;
  updateRunning: boolean;
  sampleScales?: { tensors: string[]; factors: Float32Array | Float64Array };
  heads?: LossHead[];
}

const KIND_NAMES: readonly ParamKind[] = [
  'conv_weight',
  'conv_bias',
  'linear_weight',
  'linear_bias',
  'bn_weight',
  'bn_bias',
  'bn_running_mean',
  'bn_running_var',
];

/** The numeric kind codes the addon uses, in GraphSpec spelling (pinned by a test). */
export const PARAM_KIND_CODES: Readonly<Record<ParamKind, number>> = Object.fromEntries(
  KIND_NAMES.map((k, i) => [k, i]),
) as Record<ParamKind, number>;

export class Network {
  readonly dtype: DType;
  /**
   * Where the engine runs this network's passes. On `cuda` every request,
   * `hvp` (grasp) included, runs on the device.
   */
  readonly device: EngineDeviceName;
  readonly params: readonly ParamInfo[];
  readonly numClasses: number;
  /** Per-sample input shape, e.g. [3, 32, 32]. */
  readonly inputShape: readonly number[];
  /** Conv and linear multiply-accumulates for one sample. */
  readonly macsPerSample: number;
  /** Length of the flat parameter vector (running statistics included). */
  readonly totalParamSize: number;
  /** Number of trainable parameters (running statistics excluded). */
  readonly numTrainable: number;
  readonly name: string;
  /** Names of the graph's tensors (input, op outputs), for sampleScales. */
  readonly tensorNames: ReadonlySet<string>;
  #raw: RawNetwork | undefined;

  private constructor(raw: RawNetwork, spec: GraphSpec, dtype: DType, name: string) {
    this.#raw = raw;
    this.dtype = dtype;
    this.name = name;
    const d = raw.describe();
    this.device = d.device;
    this.params = d.params.map((p, index) => {
      const kind = KIND_NAMES[p.kind];
      return {
        index,
        name: p.name,
        kind,
        shape: [...spec.params[index].shape],
        size: p.size,
        offset: p.offset,
        trainable: kind !== 'bn_running_mean' && kind !== 'bn_running_var',
      };
    });
    this.numClasses = d.numClasses;
    this.inputShape = [...spec.input.shape];
    this.macsPerSample = d.macsPerSample;
    this.totalParamSize = d.totalParamSize;
    this.numTrainable = this.params.filter((p) => p.trainable).reduce((s, p) => s + p.size, 0);
    this.tensorNames = new Set(d.values.map((v) => v.name));
  }

  /** Builds a network from a GraphSpec; parameters are copied. */
  static create(spec: GraphSpec, options: { dtype?: DType; name?: string; device?: EngineDeviceName } = {}): Network {
    const dtype = options.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float64') {
      throw new InvalidArgumentError(`dtype must be "float32" or "float64", got "${String(dtype)}"`);
    }
    const device = options.device ?? 'cpu';
    if (device !== 'cpu' && device !== 'cuda') {
      throw new InvalidArgumentError(`device must be "cpu" or "cuda" (resolve "auto" with engineDevice()), got "${String(device)}"`);
    }
    const name = options.name ?? 'network';
    try {
      const raw = new (loadAddon().Network)(spec, { dtype, device });
      return new Network(raw, spec, dtype, name);
    } catch (error) {
      throw fromDeviceNative(error, `building ${name}`);
    }
  }

  /** Loads an ONNX model file (see src/onnx/importOnnx.ts for what is supported). */
  static async fromOnnxFile(path: string, options: { dtype?: DType; device?: EngineDeviceName } = {}): Promise<Network> {
    const { readOnnxFile } = await import('../onnx/importOnnx.js');
    const spec = await readOnnxFile(path);
    return Network.create(spec, { ...options, name: path });
  }

  /** Builds from ONNX bytes already in memory. */
  static async fromOnnxBytes(bytes: Uint8Array, options: { dtype?: DType; name?: string; device?: EngineDeviceName } = {}): Promise<Network> {
    const { importOnnx } = await import('../onnx/importOnnx.js');
    const spec = importOnnx(bytes, { source: options.name });
    return Network.create(spec, options);
  }

  get disposed(): boolean {
    return this.#raw === undefined;
  }

  /** Frees the native graph and parameters; later calls throw DisposedError. */
  dispose(): void {
    this.#raw?.dispose();
    this.#raw = undefined;
  }

  /** A copy of the flat parameter vector. */
  getParams(): FloatArray {
    return this.#call('getParams', (raw) => raw.getParams());
  }

  /** Replaces every parameter (NaN/Inf rejected). */
  setParams(values: FloatArray): void {
    if (values.length !== this.totalParamSize) {
      throw new ShapeMismatchError(
        `${this.name}: setParams needs ${this.totalParamSize} values, got ${values.length}`,
      );
    }
    this.#call('setParams', (raw) => raw.setParams(values));
  }

  /** The parameter indices a selection names, in ascending order. */
  selectParams(selection: ParamSelection): ParamInfo[] {
    let pick: (p: ParamInfo) => boolean;
    if (typeof selection === 'function') {
      pick = selection;
    } else if (Array.isArray(selection)) {
      const names = new Set(selection as readonly string[]);
      for (const n of names) {
        if (!this.params.some((p) => p.name === n)) {
          throw new InvalidArgumentError(`${this.name}: no parameter named "${n}"`);
        }
      }
      pick = (p) => names.has(p.name);
    } else {
      switch (selection) {
        case 'weights':
          pick = (p) => p.kind === 'conv_weight' || p.kind === 'linear_weight';
          break;
        case 'weights_and_biases':
          pick = (p) => p.kind === 'conv_weight' || p.kind === 'linear_weight' || p.kind === 'conv_bias' || p.kind === 'linear_bias';
          break;
        case 'bn_affine':
          pick = (p) => p.kind === 'bn_weight' || p.kind === 'bn_bias';
          break;
        case 'trainable':
          pick = (p) => p.trainable;
          break;
        default:
          throw new InvalidArgumentError(`unknown parameter selection "${String(selection)}"`);
      }
    }
    const chosen = this.params.filter((p) => p.trainable && pick(p));
    if (chosen.length === 0) throw new InvalidArgumentError(`${this.name}: the parameter selection is empty`);
    return chosen;
  }

  /** Logits [N][K] of an NCHW batch. `updateRunning` updates BN running statistics (train mode). */
  async forward(input: FloatArray, options: BatchOptions & { updateRunning?: boolean } = {}): Promise<FloatArray> {
    const n = this.#batchSize(input);
    return this.#callAsync('forward', (raw) =>
      raw.forward(input, n, { bn: options.bn ?? 'train', updateRunning: options.updateRunning ?? false }),
    );
  }

  /**
   * Loss, logits and the gradient of one scalar objective: by default the
   * mean cross-entropy; `true_class`, `sum` and `loss` sum the per-sample
   * outputs instead. The training step is this call with `labelSmoothing`,
   * `updateRunning` and `sampleScales` (drop-path): one forward and one
   * backward pass.
   */
  async gradient(input: FloatArray, labels: Int32Array, options: GradientOptions = {}): Promise<GradientResult> {
    const n = this.#batchSize(input);
    this.#checkLabels(labels, n);
    const bn = options.bn ?? 'train';
    const objective = options.objective ?? 'mean_loss';
    const labelSmoothing = options.labelSmoothing ?? 0;
    if (typeof labelSmoothing !== 'number' || !(labelSmoothing >= 0 && labelSmoothing < 1)) {
      throw new InvalidArgumentError(`${this.name}: labelSmoothing must be a number in [0, 1), got ${String(labelSmoothing)}`);
    }
    if (labelSmoothing > 0 && objective !== 'mean_loss' && objective !== 'loss') {
      throw new InvalidArgumentError(`${this.name}: labelSmoothing applies to the loss objectives (mean_loss, loss), not "${objective}"`);
    }
    const updateRunning = options.updateRunning ?? false;
    if (updateRunning && bn !== 'train') {
      throw new InvalidArgumentError(`${this.name}: updateRunning needs bn "train" (running statistics come from batch statistics)`);
    }
    const raw: RawGradientOptions = { bn, objective, inputGrad: options.inputGrad ?? false, labelSmoothing, updateRunning };
    if (options.heads !== undefined) raw.heads = this.#checkHeads(options.heads, objective, labels);
    const scales = options.sampleScales;
    if (scales !== undefined && scales.tensors.length > 0) {
      const seen = new Set<string>();
      for (const t of scales.tensors) {
        if (!this.tensorNames.has(t)) throw new InvalidArgumentError(`${this.name}: sampleScales names no tensor "${t}"`);
        if (seen.has(t)) throw new InvalidArgumentError(`${this.name}: sampleScales names tensor "${t}" twice`);
        seen.add(t);
      }
      if (!(scales.factors instanceof Float32Array || scales.factors instanceof Float64Array)) {
        throw new InvalidArgumentError(`${this.name}: sampleScales.factors must be a Float32Array or Float64Array`);
      }
      if (scales.factors.length !== scales.tensors.length * n) {
        throw new ShapeMismatchError(
          `${this.name}: sampleScales has ${scales.factors.length} factors for ${scales.tensors.length} tensors × a batch of ${n}`,
        );
      }
      raw.sampleScales = { tensors: [...scales.tensors], factors: scales.factors };
    }
    return this.#callAsync('gradient', (r) => r.gradient(input, labels, n, raw));
  }

  /**
   * Per-sample gradients of the selected outputs w.r.t. the selected
   * parameters: J, or Θ = J·Jᵀ accumulated layer by layer without keeping J
   * (`result: 'theta'`, the default).
   */
  async jacobian(
    input: FloatArray,
    labels: Int32Array,
    options: BatchOptions & {
      mode?: JacobianMode;
      output?: OutputName;
      params?: ParamSelection;
      result?: 'theta' | 'jacobian' | 'both';
      /** Exact mode: cotangents per backward pass (0 or absent: sized to ~1.5 GiB). */
      chunk?: number;
    } = {},
  ): Promise<JacobianResult> {
    const n = this.#batchSize(input);
    this.#checkLabels(labels, n);
    const params = this.selectParams(options.params ?? 'weights_and_biases');
    const result = options.result ?? 'theta';
    if (!['theta', 'jacobian', 'both'].includes(result)) {
      throw new InvalidArgumentError(`result must be "theta", "jacobian" or "both", got "${result}"`);
    }
    if (options.chunk !== undefined && (!Number.isInteger(options.chunk) || options.chunk < 0)) {
      throw new InvalidArgumentError(`chunk must be a non-negative integer, got ${options.chunk}`);
    }
    const raw = await this.#callAsync('jacobian', (r) =>
      r.jacobian(input, labels, n, {
        bn: options.bn ?? 'train',
        mode: options.mode ?? 'decomposed',
        output: options.output ?? 'true_class',
        params: Int32Array.from(params, (p) => p.index),
        jacobian: result !== 'theta',
        theta: result !== 'jacobian',
        chunk: options.chunk ?? 0,
      }),
    );
    return { ...raw, params };
  }

  /** H·v of the mean cross-entropy w.r.t. the selected parameters (default: weights). */
  async hvp(
    input: FloatArray,
    labels: Int32Array,
    vector: FloatArray,
    options: BatchOptions & { params?: ParamSelection } = {},
  ): Promise<HvpResult> {
    const n = this.#batchSize(input);
    this.#checkLabels(labels, n);
    const params = this.selectParams(options.params ?? 'weights');
    const total = params.reduce((s, p) => s + p.size, 0);
    if (vector.length !== total) {
      throw new ShapeMismatchError(`${this.name}: hvp vector has ${vector.length} values for ${total} selected parameters`);
    }
    const raw = await this.#callAsync('hvp', (r) =>
      r.hvp(input, labels, n, { bn: options.bn ?? 'train', params: Int32Array.from(params, (p) => p.index), vector }),
    );
    return { ...raw, params };
  }

  /**
   * The NASWOT kernels (one forward pass, BN `train` by default): `weighted`
   * for `naswot`, `distinct` for `naswot_distinct`; score = ln|det K|.
   */
  async reluKernel(input: FloatArray, options: BatchOptions = {}): Promise<ReluKernelResult> {
    const n = this.#batchSize(input);
    return this.#callAsync('reluKernel', (raw) => raw.reluKernel(input, n, { bn: options.bn ?? 'train' }));
  }

  /**
   * zero-cost-nas `fisher` per Conv2d / Linear layer, from one forward and one
   * backward pass of the mean cross-entropy (BN `train` by default): a = the
   * layer's output (before BN; the logits for a Linear), δ = ∂L/∂a,
   * s_nk = Σ_hw a·δ, F_k = ½·mean_n s_nk², score = Σ_k F_k · C_in/groups·kh·kw
   * (in-features for a Linear).
   */
  async layerFisher(input: FloatArray, labels: Int32Array, options: BatchOptions = {}): Promise<LayerFisherResult> {
    const n = this.#batchSize(input);
    this.#checkLabels(labels, n);
    const raw = await this.#callAsync('layerFisher', (r) => r.layerFisher(input, labels, n, { bn: options.bn ?? 'train' }));
    const layers = Array.from(raw.params, (p, i) => ({ param: this.params[p].name, score: raw.scores[i] }));
    return { layers, total: raw.total, loss: raw.loss };
  }

  #batchSize(input: FloatArray): number {
    if (!(input instanceof Float32Array || input instanceof Float64Array)) {
      throw new InvalidArgumentError(`${this.name}: input must be a Float32Array or Float64Array`);
    }
    const per = this.inputShape.reduce((a, b) => a * b, 1);
    if (input.length === 0 || input.length % per !== 0) {
      throw new ShapeMismatchError(
        `${this.name}: input of ${input.length} values is not a batch of [${this.inputShape.join(', ')}] samples (${per} values each)`,
      );
    }
    return input.length / per;
  }

  #checkHeads(heads: readonly LossHead[], objective: string, labels: Int32Array): LossHead[] {
    if (!Array.isArray(heads) || heads.length === 0) {
      throw new InvalidArgumentError(`${this.name}: heads must be a non-empty array of {offset, count, weight}`);
    }
    if (objective !== 'mean_loss' && objective !== 'loss') {
      throw new InvalidArgumentError(`${this.name}: loss heads apply to the loss objectives (mean_loss, loss), not "${objective}"`);
    }
    const k = this.numClasses;
    return heads.map((h, i) => {
      const { offset, count, weight } = h ?? ({} as LossHead);
      if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(count) || count < 1 || offset + count > k) {
        throw new InvalidArgumentError(
          `${this.name}: loss head ${i} must cover whole outputs inside [0, ${k}), got offset ${String(offset)}, count ${String(count)}`,
        );
      }
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
        throw new InvalidArgumentError(`${this.name}: loss head ${i} needs a finite weight ≥ 0, got ${String(weight)}`);
      }
      for (let s = 0; s < labels.length; s++) {
        if (labels[s] >= count) {
          throw new InvalidArgumentError(`${this.name}: label ${labels[s]} of sample ${s} is outside loss head ${i}'s ${count} classes`);
        }
      }
      return { offset, count, weight };
    });
  }

  #checkLabels(labels: Int32Array, n: number): void {
    if (!(labels instanceof Int32Array)) throw new InvalidArgumentError(`${this.name}: labels must be an Int32Array`);
    if (labels.length !== n) {
      throw new ShapeMismatchError(`${this.name}: ${labels.length} labels for a batch of ${n}`);
    }
  }

  #call<R>(what: string, fn: (raw: RawNetwork) => R): R {
    const raw = this.#raw;
    if (!raw) throw new DisposedError(this.name);
    try {
      return fn(raw);
    } catch (error) {
      throw fromNative(error, `${this.name}: ${what}`);
    }
  }

  async #callAsync<R>(what: string, fn: (raw: RawNetwork) => Promise<R>): Promise<R> {
    const raw = this.#raw;
    if (!raw) throw new DisposedError(this.name);
    try {
      return await fn(raw);
    } catch (error) {
      throw fromNative(error, `${this.name}: ${what}`);
    }
  }
}
