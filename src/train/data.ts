/**
 * The training data pipeline over CIFAR images held as bytes (CifarSet):
 * seeded shuffling per epoch, the NAS-Bench-201 / DARTS augmentation
 * (random 32×32 crop of the 4-pixel zero-padded image, horizontal flip) and
 * optional DARTS cutout, normalised into float32 NCHW batches.
 *
 * Determinism: everything random in epoch e comes from Rng streams keyed by
 * (seed, e) — the order from one, the augmentation from another — and the
 * batches of an epoch are built in order. So the pipeline's state at an
 * epoch boundary is exactly (seed, next epoch), which is what a checkpoint
 * records, and a resumed run sees the same batches as an uninterrupted one.
 */
import { InvalidArgumentError } from '../errors.js';
import { applyAugment, cutout, drawAugmentParams } from '../io/augment.js';
import { CIFAR10_STATS, CIFAR_CHANNELS, CIFAR_SIDE, checkRows, cifarBatch, type CifarSet, type NormaliseStats } from '../io/cifar.js';
import { Rng } from '../spaces/rng.js';

export interface AugmentOptions {
  /** Random crop with 4-pixel zero padding; default true. */
  crop?: boolean;
  /** Random horizontal flip; default true. */
  flip?: boolean;
  /** DARTS cutout side length in pixels (0: off); default 0. */
  cutout?: number;
}

export interface TrainBatch {
  /** float32 NCHW. */
  input: Float32Array;
  labels: Int32Array;
  /** Rows of the set, in batch order. */
  rows: Int32Array;
}

/** Stream keys of the per-epoch generators (the second Rng argument). */
const STREAM_ORDER = 0x51;
const STREAM_AUGMENT = 0xa7;
/** For callers that draw more randomness per epoch (drop-path masks). */
export const STREAM_DROP_PATH = 0xd9;

/** The generator of one purpose in one epoch: keyed by (seed, epoch) and the stream. */
export function epochRng(seed: number, epoch: number, stream: number): Rng {
  return new Rng(BigInt(seed) * 65536n + BigInt(epoch), stream);
}

/** A seeded permutation of 0..n−1 (Fisher–Yates from the top, j = rng.int(i + 1)). */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * A seeded split of rows into two disjoint parts: the first ⌊fraction·n⌋ of a
 * permutation (sorted ascending) and the rest (sorted).
 */
export function splitRows(rows: ArrayLike<number>, fraction: number, seed: number): [Int32Array, Int32Array] {
  if (!(Number.isFinite(fraction) && fraction > 0 && fraction < 1)) {
    throw new InvalidArgumentError(`split fraction must lie in (0, 1), got ${fraction}`);
  }
  const n = rows.length;
  const k = Math.floor(fraction * n);
  if (k < 1 || k >= n) throw new InvalidArgumentError(`splitting ${n} rows at ${fraction} leaves an empty part`);
  return splitAt(rows, k, seed);
}

/** k rows chosen by a seeded permutation, sorted ascending (all of them when k ≥ the count). */
export function sampleRows(rows: ArrayLike<number>, k: number, seed: number): Int32Array {
  if (!(Number.isSafeInteger(k) && k >= 1)) throw new InvalidArgumentError(`sampleRows: k must be an integer ≥ 1, got ${k}`);
  if (k >= rows.length) return Int32Array.from(rows).sort();
  return splitAt(rows, k, seed)[0];
}

function splitAt(rows: ArrayLike<number>, k: number, seed: number): [Int32Array, Int32Array] {
  const perm = permutation(rows.length, new Rng(seed, 0x5b));
  const a = Int32Array.from(perm.subarray(0, k), (i) => rows[i]).sort();
  const b = Int32Array.from(perm.subarray(k), (i) => rows[i]).sort();
  return [a, b];
}

export interface BatchPlanOptions {
  batchSize: number;
  seed: number;
  augment?: AugmentOptions;
  /** Drop a last, incomplete batch; default false (as PyTorch's DataLoader). */
  dropLast?: boolean;
  stats?: NormaliseStats;
}

/** Shuffled, augmented batches of the rows `rows` of `set`, epoch by epoch. */
export class BatchPlan {
  readonly set: CifarSet;
  readonly rows: Int32Array;
  readonly batchSize: number;
  readonly seed: number;
  readonly crop: boolean;
  readonly flip: boolean;
  readonly cutout: number;
  readonly dropLast: boolean;
  readonly stats: NormaliseStats;
  readonly stepsPerEpoch: number;

  constructor(set: CifarSet, rows: ArrayLike<number>, options: BatchPlanOptions) {
    checkRows(set, rows, 'BatchPlan');
    if (rows.length === 0) throw new InvalidArgumentError('BatchPlan: no training rows');
    const { batchSize, seed } = options;
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new InvalidArgumentError(`batch size must be an integer ≥ 1, got ${batchSize}`);
    if (!(Number.isSafeInteger(seed) && seed >= 0)) throw new InvalidArgumentError(`seed must be a non-negative safe integer, got ${seed}`);
    const aug = options.augment ?? {};
    const cut = aug.cutout ?? 0;
    if (!(Number.isInteger(cut) && cut >= 0 && cut <= CIFAR_SIDE)) {
      throw new InvalidArgumentError(`cutout length must be an integer in [0, ${CIFAR_SIDE}], got ${cut}`);
    }
    this.set = set;
    this.rows = Int32Array.from(rows);
    this.batchSize = batchSize;
    this.seed = seed;
    this.crop = aug.crop ?? true;
    this.flip = aug.flip ?? true;
    this.cutout = cut;
    this.dropLast = options.dropLast ?? false;
    this.stats = options.stats ?? CIFAR10_STATS;
    const full = Math.floor(this.rows.length / batchSize);
    this.stepsPerEpoch = this.dropLast || full * batchSize === this.rows.length ? full : full + 1;
    if (this.stepsPerEpoch === 0) {
      throw new InvalidArgumentError(`batch size ${batchSize} exceeds the ${this.rows.length} training rows with dropLast`);
    }
  }

  /** The images an epoch trains on. */
  get imagesPerEpoch(): number {
    return Math.min(this.rows.length, this.stepsPerEpoch * this.batchSize);
  }

  /** The batches of one epoch, built lazily and in order. */
  *epoch(epoch: number): Generator<TrainBatch, void, void> {
    if (!(Number.isInteger(epoch) && epoch >= 0)) throw new InvalidArgumentError(`epoch must be an integer ≥ 0, got ${epoch}`);
    const order = permutation(this.rows.length, epochRng(this.seed, epoch, STREAM_ORDER));
    const rng = epochRng(this.seed, epoch, STREAM_AUGMENT);
    for (let s = 0; s < this.stepsPerEpoch; s++) {
      const start = s * this.batchSize;
      const end = Math.min(start + this.batchSize, this.rows.length);
      const rows = Int32Array.from(order.subarray(start, end), (i) => this.rows[i]);
      yield this.#build(rows, rng);
    }
  }

  #build(rows: Int32Array, rng: Rng): TrainBatch {
    const labels = Int32Array.from(rows, (r) => this.set.labels[r]);
    let input: Float32Array;
    if (this.crop || this.flip) {
      const params = drawAugmentParams(rows.length, rng).map((p) => ({
        flip: this.flip ? p.flip : false,
        top: this.crop ? p.top : 4,
        left: this.crop ? p.left : 4,
      }));
      input = applyAugment(this.set, rows, params, this.stats);
    } else {
      input = cifarBatch(this.set, rows, this.stats).input;
    }
    if (this.cutout > 0) cutout(input, rows.length, this.cutout, rng, [CIFAR_CHANNELS, CIFAR_SIDE, CIFAR_SIDE]);
    return { input, labels, rows };
  }
}
