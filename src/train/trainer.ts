/**
 * Mini-batch training on the native engine.
 *
 * Each optimiser step is one `Network.gradient` call — forward and backward
 * of the (label-smoothed) mean cross-entropy in BN train mode, the BN running
 * statistics updated from the same forward (momentum from the graph, 0.1 in
 * the search spaces), drop-path factors applied to the DARTS op outputs —
 * followed by the SGD update in TypeScript (src/train/sgd.ts) on the flat
 * parameter vector. The native call runs off the event loop; while it runs,
 * the next batch is shuffled, augmented and normalised on the main thread,
 * so the engine's threads (one per core) are never kept waiting for data.
 *
 * With `auxiliaryWeight` > 0 (DARTS) the trained network carries the
 * auxiliary head and outputs [main | auxiliary] logits; the loss is
 * CE(main) + w·CE(auxiliary) (loss heads of the native gradient), accuracy
 * is the main head's, and evaluation, validation and export use `evalSpec`,
 * the network without the head, whose parameters are taken by name.
 *
 * Checkpoints (src/train/checkpoint.ts) are written atomically after every
 * epoch: parameters (running statistics included), the momentum buffer, the
 * epoch count, the per-epoch history and the random state. All randomness of
 * epoch e (order, augmentation, drop-path masks) comes from streams keyed by
 * (seed, e), so the random state at an epoch boundary is (seed, next epoch)
 * and a resumed run performs exactly the computation the uninterrupted run
 * would have: on the CPU it ends with bit-identical weights (tested).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import type { GraphSpec } from '../engine/graphSpec.js';
import { Network, type DType, type FloatArray, type LossHead } from '../engine/network.js';
import { AbortedError, DataFormatError, InvalidArgumentError, NonFiniteError } from '../errors.js';
import { CIFAR10_STATS, type CifarSet, type NormaliseStats } from '../io/cifar.js';
import { buildInfo } from '../native/buildInfo.js';
import type { ResolvedDevice } from '../native/device.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { BatchPlan, STREAM_DROP_PATH, epochRng, type TrainBatch } from './data.js';
import { dartsDropPathTensors, drawDropPathFactors, dropPathProbability } from './dropPath.js';
import {
  accuracyOf,
  correctCount,
  evaluateTrained,
  mainLogits,
  meanCrossEntropy,
  nativeLogits,
  specWithParamsByName,
  type EvalSet,
  type TrainedEvaluation,
} from './evaluate.js';
import { resolveTrainOptions, type TrainOptions, type TrainPresetName } from './options.js';
import { LrSchedule } from './schedule.js';
import { Sgd } from './sgd.js';

export interface TrainingData {
  set: CifarSet;
  /** Rows of `set` to train on. */
  rows: ArrayLike<number>;
  /** Default: the CIFAR-10 statistics. */
  stats?: NormaliseStats;
}

export interface TrainerConfig {
  /** The network trained (with the auxiliary head when options.auxiliaryWeight > 0). */
  spec: GraphSpec;
  /**
   * The network evaluated and exported: `spec` without its training-only
   * parts (the auxiliary head), parameters matched by name. Required with
   * auxiliaryWeight > 0; default `spec`.
   */
  evalSpec?: GraphSpec;
  /** Used in messages; default "network". */
  name?: string;
  /** Default float32. */
  dtype?: DType;
  /** Where the engine runs (resolved: see engineDevice()); default cpu. */
  device?: ResolvedDevice;
  train: TrainingData;
  /** Settings over a preset (default preset `search`). */
  options?: Partial<TrainOptions>;
  preset?: TrainPresetName;
  /** Tensors drop-path acts on; default: the DARTS cell op outputs of the spec (none for NB201). */
  dropPathTensors?: readonly string[];
}

/** One progress report, after every optimiser step. */
export interface TrainProgress {
  /** 0-based epoch and step; `epochs` and `steps` (per epoch) are the totals. */
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  lr: number;
  /** Mean training loss of this epoch so far (the smoothed objective when labelSmoothing > 0). */
  loss: number;
  /** Training accuracy of this epoch so far, percent (train-mode forward, augmented images). */
  accuracy: number;
  /** Images per second in this run so far. */
  imagesPerSecond: number;
  /** Seconds left for the remaining steps at that rate. */
  etaSeconds: number;
}

export interface EpochRecord {
  /** 0-based. */
  epoch: number;
  /** Learning rate of the epoch's first step. */
  lr: number;
  dropPath: number;
  trainLoss: number;
  /** Percent. */
  trainAccuracy: number;
  /** Native eval-mode validation, when a validation set was given and this epoch was validated. */
  valLoss?: number;
  valAccuracy?: number;
  /** Seconds of this epoch's training steps. */
  seconds: number;
  imagesPerSecond: number;
}

export interface RunOptions {
  /** Checkpoint file, rewritten atomically after every epoch. */
  checkpoint?: string;
  /** Continue from `checkpoint` when it exists (its settings must match). */
  resume?: boolean;
  /** Validate on this set (native forward, BN eval) after every `validateEvery`-th epoch and the last. */
  validation?: EvalSet;
  /** Default 1. 0: only after the last epoch. */
  validateEvery?: number;
  /** Stop after this many epochs in total (for tests and budgets); default all. */
  stopAfterEpoch?: number;
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
  onEpoch?: (e: EpochRecord) => void | Promise<void>;
  /** Told when a resume cannot be bit-identical (the checkpoint came from another thread count or GEMM kernel). */
  onWarning?: (message: string) => void;
}

export interface TrainResult {
  history: EpochRecord[];
  /** Epochs done in total (resumed ones included). */
  epochsDone: number;
  /** The epoch this run started from (> 0 when resumed). */
  startEpoch: number;
  /** Training seconds over every run of this training (from the checkpoint when resumed). */
  seconds: number;
}

/** What a checkpoint's header records (besides the parameter and momentum arrays). */
export interface TrainCheckpointMeta {
  kind: 'hnas-train';
  epochsDone: number;
  settings: Record<string, unknown>;
  /** The random state: every stream of epoch e is keyed by (seed, e). */
  rng: { seed: number; nextEpoch: number };
  history: EpochRecord[];
  seconds: number;
  /**
   * The engine that computed it. Results are deterministic for a given
   * thread count and GEMM kernel; another one sums in another order.
   */
  engine: { threads: number; gemmKernel: string; device?: ResolvedDevice };
}

function engineInfo(device: ResolvedDevice): { threads: number; gemmKernel: string; device: ResolvedDevice } {
  const info = buildInfo();
  return { threads: info.threads, gemmKernel: info.gemmKernel, device };
}

export class Trainer {
  readonly spec: GraphSpec;
  /** The network evaluated and exported (`spec` without training-only parts). */
  readonly evalSpec: GraphSpec;
  readonly network: Network;
  /** Classes of the main head (the first outputs of the trained network). */
  readonly numClasses: number;
  /** The loss heads when training with the auxiliary head. */
  readonly heads: readonly LossHead[] | undefined;
  readonly options: Readonly<TrainOptions>;
  readonly plan: BatchPlan;
  readonly schedule: LrSchedule;
  readonly sgd: Sgd;
  readonly dropPathTensors: readonly string[];
  readonly #settings: Record<string, unknown>;

  constructor(config: TrainerConfig) {
    this.options = Object.freeze(resolveTrainOptions(config.options, config.preset ?? 'search'));
    const o = this.options;
    this.spec = config.spec;
    this.dropPathTensors = [...(config.dropPathTensors ?? dartsDropPathTensors(config.spec))];
    if (o.dropPath > 0 && this.dropPathTensors.length === 0) {
      throw new InvalidArgumentError(
        `${config.name ?? 'network'}: drop-path ${o.dropPath} needs DARTS cells (no cell op outputs found); set dropPath 0`,
      );
    }
    this.plan = new BatchPlan(config.train.set, config.train.rows, {
      batchSize: o.batchSize,
      seed: o.seed,
      augment: { crop: o.crop, flip: o.flip, cutout: o.cutout },
      dropLast: o.dropLast,
      stats: config.train.stats ?? CIFAR10_STATS,
    });
    this.schedule = new LrSchedule({
      lr: o.lr,
      lrMin: o.lrMin,
      epochs: o.epochs,
      stepsPerEpoch: this.plan.stepsPerEpoch,
      warmupEpochs: o.warmupEpochs,
      per: o.schedule,
    });
    this.evalSpec = config.evalSpec ?? config.spec;
    const outputs = config.spec.output.shape[0];
    const evalClasses = this.evalSpec.output.shape[0];
    if (o.auxiliaryWeight > 0) {
      if (config.evalSpec === undefined || outputs !== 2 * evalClasses) {
        throw new InvalidArgumentError(
          `${config.name ?? 'network'}: auxiliaryWeight ${o.auxiliaryWeight} needs a network with an auxiliary head ` +
            `([main | auxiliary] logits) and evalSpec, the network without it (DARTS only); set auxiliaryWeight 0`,
        );
      }
      this.heads = [
        { offset: 0, count: evalClasses, weight: 1 },
        { offset: evalClasses, count: evalClasses, weight: o.auxiliaryWeight },
      ];
    } else if (outputs !== evalClasses) {
      throw new InvalidArgumentError(
        `${config.name ?? 'network'}: the trained network has ${outputs} outputs and evalSpec ${evalClasses}; ` +
          'a network with an auxiliary head needs auxiliaryWeight > 0',
      );
    }
    this.numClasses = evalClasses;
    this.network = Network.create(config.spec, { dtype: config.dtype ?? 'float32', name: config.name ?? 'network', device: config.device });
    const ranges = this.network.params.filter((p) => p.trainable).map((p) => ({ offset: p.offset, size: p.size }));
    this.sgd = new Sgd(ranges, this.network.totalParamSize, this.network.dtype, {
      momentum: o.momentum,
      nesterov: o.nesterov,
      weightDecay: o.weightDecay,
      clip: o.gradClip,
    });
    this.#settings = {
      ...o,
      dtype: this.network.dtype,
      network: specDigest(config.spec),
      data: dataDigest(config.train.set, this.plan.rows),
      dropPathTensors: this.dropPathTensors.length,
    };
  }

  /** Frees the native network. */
  dispose(): void {
    this.network.dispose();
  }

  /** The evaluated network (evalSpec) carrying the current (trained) weights, running statistics included. */
  trainedSpec(): GraphSpec {
    return specWithParamsByName(this.evalSpec, this.network, this.network.getParams());
  }

  /** Accuracy by onnxruntime on the trained ONNX model, cross-checked against the native forward. */
  async evaluate(data: EvalSet): Promise<TrainedEvaluation> {
    if (this.evalSpec === this.spec) return evaluateTrained(this.network, this.spec, data);
    // The network without the auxiliary head, holding the trained weights.
    const trained = this.trainedSpec();
    const net = Network.create(trained, { dtype: this.network.dtype, name: this.network.name, device: this.network.device });
    try {
      return await evaluateTrained(net, trained, data);
    } finally {
      net.dispose();
    }
  }

  /** Trains from the start, or from the checkpoint with `resume`. */
  async run(options: RunOptions = {}): Promise<TrainResult> {
    const o = this.options;
    const net = this.network;
    let history: EpochRecord[] = [];
    let start = 0;
    let seconds = 0;
    if (options.resume) {
      if (!options.checkpoint) throw new InvalidArgumentError('resume needs a checkpoint path');
      if (existsSync(options.checkpoint)) {
        const state = await this.#load(options.checkpoint);
        const here = engineInfo(this.network.device);
        const storedDevice = state.engine?.device ?? 'cpu';
        if (state.engine && storedDevice !== here.device) {
          options.onWarning?.(
            `${options.checkpoint} was written on the ${storedDevice} engine and this run is on ${here.device}: ` +
              'the resumed run is valid but not bit-identical to an uninterrupted one',
          );
        } else if (state.engine && here.device === 'cpu' && (state.engine.threads !== here.threads || state.engine.gemmKernel !== here.gemmKernel)) {
          options.onWarning?.(
            `${options.checkpoint} was written with ${state.engine.threads} threads and the ${state.engine.gemmKernel} GEMM; ` +
              `this run has ${here.threads} and ${here.gemmKernel}: the resumed run is valid but not bit-identical to an uninterrupted one`,
          );
        }
        history = state.history;
        start = state.epochsDone;
        seconds = state.seconds;
      }
    }
    const stop = Math.min(o.epochs, options.stopAfterEpoch ?? o.epochs);
    const validateEvery = options.validateEvery ?? 1;
    if (!(Number.isInteger(validateEvery) && validateEvery >= 0)) {
      throw new InvalidArgumentError(`validateEvery must be an integer ≥ 0, got ${validateEvery}`);
    }
    const steps = this.plan.stepsPerEpoch;
    const runStart = performance.now();
    let imagesThisRun = 0;
    const totalImagesLeft = (epoch: number, step: number) =>
      (o.epochs - epoch - 1) * this.plan.imagesPerEpoch + (steps - step - 1) * o.batchSize;

    for (let epoch = start; epoch < stop; epoch++) {
      const epochStart = performance.now();
      const dropProb = dropPathProbability(o.dropPath, epoch, o.epochs);
      const dropRng = epochRng(o.seed, epoch, STREAM_DROP_PATH);
      const batches = this.plan.epoch(epoch);
      let next: TrainBatch | undefined = batches.next().value ?? undefined;
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let firstLr = 0;
      for (let step = 0; step < steps; step++) {
        if (options.signal?.aborted) {
          throw new AbortedError(`training of ${net.name} aborted at epoch ${epoch}, step ${step}`, { cause: options.signal.reason });
        }
        const batch = next as TrainBatch;
        const n = batch.labels.length;
        const lr = this.schedule.at(epoch, step);
        if (step === 0) firstLr = lr;
        const scales =
          dropProb > 0
            ? { tensors: this.dropPathTensors, factors: drawDropPathFactors(dropRng, this.dropPathTensors.length, n, dropProb) }
            : undefined;
        const pending = net.gradient(batch.input, batch.labels, {
          bn: 'train',
          objective: 'mean_loss',
          labelSmoothing: o.labelSmoothing,
          updateRunning: true,
          sampleScales: scales,
          heads: this.heads,
        });
        // Built while the engine computes this step.
        try {
          next = step + 1 < steps ? (batches.next().value ?? undefined) : undefined;
        } catch (error) {
          await pending.catch(() => undefined);
          throw error;
        }
        const r = await pending;
        if (!Number.isFinite(r.loss)) {
          throw new NonFiniteError(`training of ${net.name} diverged at epoch ${epoch}, step ${step}: loss ${r.loss} (learning rate ${lr})`);
        }
        const params = net.getParams();
        this.sgd.step(params, r.grad, lr);
        net.setParams(params);

        lossSum += r.loss * n;
        correct += correctCount(this.heads ? mainLogits(r.logits, n, this.numClasses) : r.logits, batch.labels);
        seen += n;
        imagesThisRun += n;
        if (options.onProgress) {
          const elapsed = (performance.now() - runStart) / 1000;
          const rate = elapsed > 0 ? imagesThisRun / elapsed : 0;
          options.onProgress({
            epoch,
            epochs: o.epochs,
            step,
            steps,
            lr,
            loss: lossSum / seen,
            accuracy: (100 * correct) / seen,
            imagesPerSecond: rate,
            etaSeconds: rate > 0 ? totalImagesLeft(epoch, step) / rate : Infinity,
          });
        }
      }
      const epochSeconds = (performance.now() - epochStart) / 1000;
      seconds += epochSeconds;
      const record: EpochRecord = {
        epoch,
        lr: firstLr,
        dropPath: dropProb,
        trainLoss: lossSum / seen,
        trainAccuracy: (100 * correct) / seen,
        seconds: epochSeconds,
        imagesPerSecond: seen / epochSeconds,
      };
      const last = epoch === stop - 1;
      if (options.validation && (last || (validateEvery > 0 && (epoch + 1) % validateEvery === 0))) {
        const labels = Int32Array.from(options.validation.rows, (row) => options.validation!.set.labels[row]);
        const all = await nativeLogits(net, options.validation);
        const logits = this.heads ? mainLogits(all, labels.length, this.numClasses) : all;
        record.valLoss = meanCrossEntropy(logits, labels);
        record.valAccuracy = accuracyOf(logits, labels);
      }
      history.push(record);
      if (options.checkpoint) await this.#save(options.checkpoint, epoch + 1, history, seconds);
      await options.onEpoch?.(record);
    }
    return { history, epochsDone: Math.max(start, stop), startEpoch: start, seconds };
  }

  async #save(path: string, epochsDone: number, history: EpochRecord[], seconds: number): Promise<void> {
    const meta: TrainCheckpointMeta = {
      kind: 'hnas-train',
      epochsDone,
      settings: this.#settings,
      rng: { seed: this.options.seed, nextEpoch: epochsDone },
      history,
      seconds,
      engine: engineInfo(this.network.device),
    };
    await writeCheckpoint(path, meta, { params: this.network.getParams(), momentum: this.sgd.buffer });
  }

  async #load(path: string): Promise<TrainCheckpointMeta> {
    const { meta, arrays } = await readCheckpoint<TrainCheckpointMeta>(path);
    if (!meta || meta.kind !== 'hnas-train') throw new DataFormatError(`${path}: not an hnas training checkpoint`);
    for (const [key, value] of Object.entries(this.#settings)) {
      const stored = meta.settings?.[key];
      if (JSON.stringify(stored) !== JSON.stringify(value)) {
        throw new InvalidArgumentError(
          `${path}: the checkpoint was written with ${key} = ${JSON.stringify(stored)}, this run has ${JSON.stringify(value)}; ` +
            'resume with the same settings, or start afresh without resume',
        );
      }
    }
    const params = arrays.params;
    const momentum = arrays.momentum;
    const want = this.network.dtype === 'float64' ? Float64Array : Float32Array;
    if (!(params instanceof want) || !(momentum instanceof want)) {
      throw new DataFormatError(`${path}: the checkpoint's arrays are not ${this.network.dtype}`);
    }
    if (!(Number.isInteger(meta.epochsDone) && meta.epochsDone >= 0 && meta.epochsDone <= this.options.epochs)) {
      throw new DataFormatError(`${path}: bad epoch count ${String(meta.epochsDone)}`);
    }
    this.network.setParams(params);
    this.sgd.loadBuffer(momentum);
    return meta;
  }
}

/** A digest of a network's structure: ops, attributes, parameter names and shapes (not values). */
export function specDigest(spec: GraphSpec): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ input: spec.input, output: spec.output, nodes: spec.nodes }));
  for (const p of spec.params) h.update(`${p.name}:${p.kind}:${p.shape.join('x')};`);
  return h.digest('hex').slice(0, 16);
}

/** A digest of the training data: the images and labels of the rows trained on. */
export function dataDigest(set: CifarSet, rows: Int32Array): string {
  const h = createHash('sha256');
  h.update(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength));
  h.update(new Uint8Array(set.labels.buffer, set.labels.byteOffset, set.labels.byteLength));
  h.update(set.images);
  return h.digest('hex').slice(0, 16);
}

/** The parameter vector and its info, for callers that want the trained weights by name. */
export function paramsByName(net: Network, values: FloatArray = net.getParams()): Map<string, FloatArray> {
  return new Map(net.params.map((p) => [p.name, values.subarray(p.offset, p.offset + p.size)]));
}
