/**
 * Evaluation by training, in-process on the native engine: the candidate's
 * network is trained briefly on one part of the training images and its
 * accuracy on the other part is the search's feedback — the training-based
 * half of the hybrid search outside NAS-Bench-201, with no other framework.
 *
 * Defaults (the `search` preset of src/train/options.ts, from the HNAS
 * paper's DARTS-space search): 10 epochs, SGD lr 0.1 cosine (per epoch) to
 * 5e-3, momentum 0.9, weight decay 3e-4, gradient clip 5, drop-path rising
 * 0 → 0.2 (DARTS cells only; 0 for NB201), batch 64, random crop + flip;
 * half of the training images (a seeded split) train, the other half
 * validate. The data is the bundled 1,000-image CIFAR-10 sample unless a
 * CIFAR folder is given. Networks: DARTS at the search proxy size (C = 16,
 * 5 cells), NB201 at its benchmark size (C = 16, N = 5) — the sizes hnas
 * scores them at — unless `architecture` says otherwise.
 *
 * The accuracy is onnxruntime's on the trained ONNX export (BN running
 * statistics), cross-checked against the native forward; the cost is the
 * wall-clock seconds of the whole evaluation. A run that diverges (NaN/Inf)
 * is an EvaluationError('malformed') carrying its cost; `timeoutSeconds`
 * gives EvaluationError('timeout'); the search's AbortSignal stops training
 * between steps with AbortedError.
 */
import { performance } from 'node:perf_hooks';

import type { DType } from '../../engine/network.js';
import { AbortedError, EvaluationError, InvalidArgumentError, NonFiniteError } from '../../errors.js';
import type { CifarDataset, CifarSet, NormaliseStats } from '../../io/cifar.js';
import { CIFAR10_STATS } from '../../io/cifar.js';
import { buildArchitecture, type ArchitectureOptions, type SpaceName } from '../../spaces/architecture.js';
import { sampleRows, splitRows } from '../../train/data.js';
import { allRows, loadCifarData } from '../../train/datasets.js';
import { resolveTrainOptions, type TrainOptions } from '../../train/options.js';
import { Trainer, type TrainProgress } from '../../train/trainer.js';
import { throwIfAborted } from '../history.js';
import type { Candidate, Evaluation, EvaluationContext, Evaluator } from '../types.js';
import { engineDevice, type Device } from '../../native/device.js';

/** Network sizes the evaluator trains at unless told otherwise. */
export const TRAIN_EVALUATOR_NETWORKS: Readonly<Record<SpaceName, ArchitectureOptions>> = Object.freeze({
  nb201: Object.freeze({ channels: 16, cells: 5 }),
  darts: Object.freeze({ channels: 16, cells: 5 }),
});

export interface TrainEvaluatorOptions {
  /** A folder with the official CIFAR binary files (their training files are split), or a set in memory. Default: the bundled sample. */
  data?: string | CifarSet;
  /** With a folder: which data set to look for (default: whichever is found). */
  dataset?: CifarDataset;
  /** Normalisation of an in-memory set; default the CIFAR-10 statistics. */
  stats?: NormaliseStats;
  /** Fraction of the images trained on; the rest validate. Default 0.5. */
  trainFraction?: number;
  /** Seed of the train/validation split; default 0. */
  splitSeed?: number;
  /** At most this many training images (a seeded subset of the training part); default all. */
  maxTrainImages?: number;
  /** Network options per space (channels, cells, init seed, …) over TRAIN_EVALUATOR_NETWORKS. */
  architecture?: Partial<Record<SpaceName, ArchitectureOptions>>;
  /** Training settings over the `search` preset. */
  train?: Partial<TrainOptions>;
  /** Default float32. */
  dtype?: DType;
  /** Where the training runs: auto | cpu | cuda (default HNAS_DEVICE, else auto). */
  device?: Device;
  /** Seconds before an evaluation is stopped (EvaluationError 'timeout'); default none. */
  timeoutSeconds?: number;
  /** Sees every training step of every evaluation. */
  onProgress?: (candidate: Candidate, progress: TrainProgress) => void;
  /** Name for logs; default `train(<epochs> epochs)`. */
  name?: string;
}

interface Split {
  set: CifarSet;
  stats: NormaliseStats;
  train: Int32Array;
  val: Int32Array;
}

export class TrainEvaluator implements Evaluator {
  readonly name: string;
  readonly #options: TrainEvaluatorOptions;
  #split: Promise<Split> | undefined;

  constructor(options: TrainEvaluatorOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('TrainEvaluator options must be an object');
    const fraction = options.trainFraction ?? 0.5;
    if (!(Number.isFinite(fraction) && fraction > 0 && fraction < 1)) {
      throw new InvalidArgumentError(`trainFraction must lie in (0, 1), got ${String(options.trainFraction)}`);
    }
    if (options.maxTrainImages !== undefined && !(Number.isSafeInteger(options.maxTrainImages) && options.maxTrainImages >= 1)) {
      throw new InvalidArgumentError(`maxTrainImages must be an integer ≥ 1, got ${String(options.maxTrainImages)}`);
    }
    if (options.timeoutSeconds !== undefined && !(Number.isFinite(options.timeoutSeconds) && options.timeoutSeconds > 0)) {
      throw new InvalidArgumentError(`timeoutSeconds must be a number > 0, got ${String(options.timeoutSeconds)}`);
    }
    this.#options = options;
    this.name = options.name ?? `train(${options.train?.epochs ?? 10} epochs)`;
  }

  async evaluate(candidate: Candidate, context: EvaluationContext): Promise<Evaluation> {
    const what = `${this.name} for ${candidate.arch} (step ${context.step})`;
    throwIfAborted(context.signal, what);
    const start = performance.now();
    const seconds = () => (performance.now() - start) / 1000;
    const o = this.#options;
    const split = await this.#data();
    const archOptions = { ...TRAIN_EVALUATOR_NETWORKS[candidate.space], ...o.architecture?.[candidate.space] };
    // Drop-path and the auxiliary head are defined on DARTS networks; NB201 trains without them unless asked (which then fails).
    const trainOptions: Partial<TrainOptions> = {
      ...(candidate.space === 'nb201' ? { dropPath: 0, auxiliaryWeight: 0 } : {}),
      ...o.train,
    };
    const auxiliary = resolveTrainOptions(trainOptions, 'search').auxiliaryWeight > 0;
    const spec = buildArchitecture(candidate.space, candidate.arch, { ...archOptions, auxiliary });
    const evalSpec = auxiliary ? buildArchitecture(candidate.space, candidate.arch, archOptions) : undefined;

    const timeout = new AbortController();
    const timer = o.timeoutSeconds === undefined ? undefined : setTimeout(() => timeout.abort(), o.timeoutSeconds * 1000);
    const signal = context.signal ? AbortSignal.any([context.signal, timeout.signal]) : timeout.signal;
    const trainer = new Trainer({
      spec,
      evalSpec,
      name: `${candidate.space} ${candidate.arch.length > 60 ? `${candidate.arch.slice(0, 57)}...` : candidate.arch}`,
      dtype: o.dtype,
      device: engineDevice(o.device),
      train: { set: split.set, rows: split.train, stats: split.stats },
      options: trainOptions,
      preset: 'search',
    });
    try {
      const result = await trainer.run({
        signal,
        onProgress: o.onProgress ? (p) => o.onProgress!(candidate, p) : undefined,
      });
      const val = await trainer.evaluate({ set: split.set, rows: split.val, stats: split.stats });
      const last = result.history[result.history.length - 1];
      return {
        accuracy: val.accuracy,
        cost: seconds(),
        report: {
          val_loss: val.loss,
          native_val_accuracy: val.nativeAccuracy,
          train_accuracy: last.trainAccuracy,
          train_loss: last.trainLoss,
          epochs: result.epochsDone,
          train_images: split.train.length,
          val_images: split.val.length,
          params: trainer.network.numTrainable,
          train_seconds: result.seconds,
        },
      };
    } catch (error) {
      if (error instanceof AbortedError && timeout.signal.aborted && !context.signal?.aborted) {
        throw new EvaluationError('timeout', `${what}: training ran past ${o.timeoutSeconds} s`, { cost: seconds(), cause: error });
      }
      if (error instanceof NonFiniteError) {
        throw new EvaluationError('malformed', `${what}: ${error.message}`, { cost: seconds(), cause: error });
      }
      throw error;
    } finally {
      if (timer) clearTimeout(timer);
      trainer.dispose();
    }
  }

  /** The data and its split, loaded once for every evaluation. */
  #data(): Promise<Split> {
    this.#split ??= (async () => {
      const o = this.#options;
      let set: CifarSet;
      let stats = o.stats ?? CIFAR10_STATS;
      if (typeof o.data === 'object' && o.data !== null) {
        set = o.data;
      } else {
        const data = await loadCifarData(o.data, { dataset: o.dataset });
        set = data.train;
        stats = data.stats;
      }
      const seed = o.splitSeed ?? 0;
      const [part, val] = splitRows(allRows(set.count), o.trainFraction ?? 0.5, seed);
      const train = o.maxTrainImages === undefined ? part : sampleRows(part, o.maxTrainImages, seed + 1);
      return { set, stats, train, val };
    })();
    this.#split.catch(() => {
      this.#split = undefined;
    });
    return this.#split;
  }
}
