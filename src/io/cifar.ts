/**
 * CIFAR-10 / CIFAR-100 binary readers and normalisation.
 *
 * The binary format is the official one: fixed-size records, each `labelBytes`
 * label bytes followed by 3072 pixel bytes laid out channel-major (1024 R, then
 * 1024 G, then 1024 B; each plane row-major 32×32). CIFAR-10 has one label
 * byte; the official CIFAR-100 files have two (coarse, then fine) and the fine
 * label is the one used. Images stay as bytes (`images`, N×3072, CHW) until a
 * batch is normalised into a float32 NCHW tensor.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { DataFormatError, FileNotFoundError, InvalidArgumentError } from '../errors.js';

export const CIFAR_CHANNELS = 3;
export const CIFAR_SIDE = 32;
/** Pixel bytes of one image: 3 × 32 × 32. */
export const CIFAR_IMAGE_BYTES = CIFAR_CHANNELS * CIFAR_SIDE * CIFAR_SIDE;

export type CifarDataset = 'cifar10' | 'cifar100';

/** Decoded images and labels, in file order. */
export interface CifarSet {
  /** N × 3072 bytes; image i occupies [i·3072, (i+1)·3072), planes R, G, B. */
  images: Uint8Array;
  /** The class of each image (the fine label for CIFAR-100). */
  labels: Int32Array;
  /** Coarse labels (0..19), present only when records carried two label bytes. */
  coarseLabels?: Int32Array;
  count: number;
  numClasses: number;
}

/** A normalised batch ready for the engine: float32 NCHW plus labels. */
export interface CifarBatch {
  input: Float32Array;
  labels: Int32Array;
  dims: [number, number, number, number];
  /** The rows of the source set, in batch order. */
  rows: Int32Array;
}

export interface CifarReadOptions {
  /** Default 'cifar10'. */
  dataset?: CifarDataset;
  /** Label bytes per record: default 1 for cifar10, 2 (coarse, fine) for cifar100. */
  labelBytes?: 1 | 2;
  /** Labels must lie in [0, numClasses): default 10 for cifar10, 100 for cifar100. */
  numClasses?: number;
}

export interface NormaliseStats {
  /** Per-channel mean of pixel/255, channel order R, G, B. */
  mean: readonly [number, number, number];
  /** Per-channel standard deviation of pixel/255. */
  std: readonly [number, number, number];
}

/** The statistics NAS-Bench-201 (AutoDL) normalises CIFAR-10 with. */
export const CIFAR10_STATS: NormaliseStats = Object.freeze({
  mean: Object.freeze([0.4914, 0.4822, 0.4465] as const),
  std: Object.freeze([0.247, 0.2435, 0.2616] as const),
});

/** The statistics NAS-Bench-201 (AutoDL) normalises CIFAR-100 with. */
export const CIFAR100_STATS: NormaliseStats = Object.freeze({
  mean: Object.freeze([0.5071, 0.4865, 0.4409] as const),
  std: Object.freeze([0.2673, 0.2564, 0.2762] as const),
});

/** One source: a file path, or bytes already in memory. */
export type CifarSource = string | Uint8Array;

interface ResolvedReadOptions {
  dataset: CifarDataset;
  labelBytes: 1 | 2;
  numClasses: number;
  recordBytes: number;
}

function resolveReadOptions(options: CifarReadOptions): ResolvedReadOptions {
  const dataset = options.dataset ?? 'cifar10';
  if (dataset !== 'cifar10' && dataset !== 'cifar100') {
    throw new InvalidArgumentError(`readCifarBinary: dataset must be 'cifar10' or 'cifar100', got ${String(dataset)}`);
  }
  const labelBytes = options.labelBytes ?? (dataset === 'cifar100' ? 2 : 1);
  if (labelBytes !== 1 && labelBytes !== 2) {
    throw new InvalidArgumentError(`readCifarBinary: labelBytes must be 1 or 2, got ${String(labelBytes)}`);
  }
  const numClasses = options.numClasses ?? (dataset === 'cifar100' ? 100 : 10);
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 256) {
    throw new InvalidArgumentError(`readCifarBinary: numClasses must be an integer in [1, 256], got ${numClasses}`);
  }
  return { dataset, labelBytes, numClasses, recordBytes: labelBytes + CIFAR_IMAGE_BYTES };
}

async function readSource(source: CifarSource, i: number): Promise<{ name: string; bytes: Uint8Array }> {
  if (source instanceof Uint8Array) return { name: `<bytes #${i}>`, bytes: source };
  if (typeof source !== 'string') {
    throw new InvalidArgumentError(`readCifarBinary: a source must be a path or a Uint8Array, got ${typeof source}`);
  }
  try {
    const buf = await readFile(source);
    return { name: source, bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) };
  } catch (cause) {
    throw new FileNotFoundError(source, { cause });
  }
}

/** Record count of one source after checking its size. */
function checkSize(name: string, bytes: Uint8Array, opts: ResolvedReadOptions): number {
  const size = bytes.byteLength;
  const remainder = size % opts.recordBytes;
  if (remainder !== 0) {
    throw new DataFormatError(
      `${name}: size ${size} bytes is not a multiple of the ${opts.dataset} record size ${opts.recordBytes} ` +
        `(${opts.labelBytes} label byte${opts.labelBytes === 1 ? '' : 's'} + ${CIFAR_IMAGE_BYTES} pixels): ` +
        `${Math.floor(size / opts.recordBytes)} records and a remainder of ${remainder} bytes`,
    );
  }
  if (size === 0) throw new DataFormatError(`${name}: empty file, no ${opts.dataset} records`);
  return size / opts.recordBytes;
}

/**
 * Reads one CIFAR binary file (or several, concatenated in the order given —
 * e.g. the official data_batch_1..5.bin) into one set. Throws
 * FileNotFoundError for an unreadable path, DataFormatError for a size that is
 * not a whole number of records or a label ≥ numClasses.
 */
export async function readCifarBinary(
  source: CifarSource | readonly CifarSource[],
  options: CifarReadOptions = {},
): Promise<CifarSet> {
  const opts = resolveReadOptions(options);
  const sources = Array.isArray(source) ? (source as readonly CifarSource[]) : [source as CifarSource];
  if (sources.length === 0) throw new InvalidArgumentError('readCifarBinary: no sources given');
  const parts = await Promise.all(sources.map((s, i) => readSource(s, i)));
  const counts = parts.map((p) => checkSize(p.name, p.bytes, opts));
  const count = counts.reduce((a, b) => a + b, 0);

  const images = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  const labels = new Int32Array(count);
  const coarseLabels = opts.labelBytes === 2 ? new Int32Array(count) : undefined;
  let n = 0;
  parts.forEach(({ name, bytes }, p) => {
    for (let r = 0; r < counts[p]; r++, n++) {
      const at = r * opts.recordBytes;
      const label = bytes[at + opts.labelBytes - 1];
      if (label >= opts.numClasses) {
        throw new DataFormatError(
          `${name}: record ${r} has label ${label}, outside [0, ${opts.numClasses}) for ${opts.dataset}`,
        );
      }
      if (coarseLabels) {
        const coarse = bytes[at];
        if (opts.dataset === 'cifar100' && coarse >= 20) {
          throw new DataFormatError(`${name}: record ${r} has coarse label ${coarse}, outside [0, 20) for cifar100`);
        }
        coarseLabels[n] = coarse;
      }
      labels[n] = label;
      images.set(bytes.subarray(at + opts.labelBytes, at + opts.recordBytes), n * CIFAR_IMAGE_BYTES);
    }
  });
  const set: CifarSet = { images, labels, count, numClasses: opts.numClasses };
  if (coarseLabels) set.coarseLabels = coarseLabels;
  return set;
}

/** The official files of one data set, as found by cifarDirectory. */
export interface CifarFiles {
  dataset: CifarDataset;
  /** The folder that holds the files. */
  dir: string;
  train: string[];
  test: string[];
}

const OFFICIAL: readonly { dataset: CifarDataset; folder: string; train: string[]; test: string[] }[] = [
  {
    dataset: 'cifar10',
    folder: 'cifar-10-batches-bin',
    train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
    test: ['test_batch.bin'],
  },
  { dataset: 'cifar100', folder: 'cifar-100-binary', train: ['train.bin'], test: ['test.bin'] },
];

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the official binary files under `dir`: either `dir` is itself
 * cifar-10-batches-bin / cifar-100-binary (identified by its files), or it
 * contains one of those folders. With `dataset` only that layout is
 * considered. Throws FileNotFoundError listing every path it looked for.
 */
export async function cifarDirectory(dir: string, options: { dataset?: CifarDataset } = {}): Promise<CifarFiles> {
  const layouts = OFFICIAL.filter((l) => options.dataset === undefined || l.dataset === options.dataset);
  if (layouts.length === 0) {
    throw new InvalidArgumentError(`cifarDirectory: dataset must be 'cifar10' or 'cifar100', got ${String(options.dataset)}`);
  }
  const lookedFor: string[] = [];
  const partial: string[] = [];
  for (const layout of layouts) {
    for (const base of [dir, join(dir, layout.folder)]) {
      const names = [...layout.train, ...layout.test];
      const present = await Promise.all(names.map((f) => exists(join(base, f))));
      if (present.every(Boolean)) {
        return {
          dataset: layout.dataset,
          dir: base,
          train: layout.train.map((f) => join(base, f)),
          test: layout.test.map((f) => join(base, f)),
        };
      }
      lookedFor.push(`${base}/{${names.join(',')}}`);
      if (present.some(Boolean)) {
        partial.push(`${base} lacks ${names.filter((_, i) => !present[i]).join(', ')}`);
      }
    }
  }
  const detail = partial.length > 0 ? `; incomplete: ${partial.join('; ')}` : '';
  throw new FileNotFoundError(`${dir} (no official CIFAR binary files; looked for ${lookedFor.join(' and ')}${detail})`);
}

function checkStats(stats: NormaliseStats, what: string): void {
  const ok = (a: readonly number[], positive: boolean): boolean =>
    Array.isArray(a) && a.length === CIFAR_CHANNELS && a.every((v) => Number.isFinite(v) && (!positive || v > 0));
  if (!stats || !ok(stats.mean, false) || !ok(stats.std, true)) {
    throw new InvalidArgumentError(`${what}: stats need mean and std of 3 finite numbers each, std > 0`);
  }
}

/**
 * The normalised value of every byte per channel: entry c·256 + p holds
 * float32((p/255 − mean[c]) / std[c]), computed in float64 and rounded once —
 * the arithmetic of the PyTorch fixtures (torchvision ToTensor + Normalize in
 * float64, then cast).
 */
export function normalisationTable(stats: NormaliseStats = CIFAR10_STATS): Float32Array {
  checkStats(stats, 'normalisationTable');
  const lut = new Float32Array(CIFAR_CHANNELS * 256);
  for (let c = 0; c < CIFAR_CHANNELS; c++) {
    for (let p = 0; p < 256; p++) lut[c * 256 + p] = (p / 255 - stats.mean[c]) / stats.std[c];
  }
  return lut;
}

/** Throws InvalidArgumentError unless every index is an integer row of the set. */
export function checkRows(set: CifarSet, indices: ArrayLike<number>, what: string): void {
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    if (!Number.isInteger(r) || r < 0 || r >= set.count) {
      throw new InvalidArgumentError(`${what}: index ${i} is row ${r}, outside [0, ${set.count})`);
    }
  }
}

/**
 * The images at `indices` as a float32 NCHW tensor [indices.length, 3, 32, 32],
 * each value (pixel/255 − mean[c]) / std[c] computed in float64 and rounded
 * once to float32. Defaults to the CIFAR-10 statistics.
 */
export function normalise(
  set: CifarSet,
  indices: ArrayLike<number>,
  stats: NormaliseStats = CIFAR10_STATS,
): Float32Array {
  checkRows(set, indices, 'normalise');
  const lut = normalisationTable(stats);
  const plane = CIFAR_SIDE * CIFAR_SIDE;
  const out = new Float32Array(indices.length * CIFAR_IMAGE_BYTES);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i] * CIFAR_IMAGE_BYTES;
    const dst = i * CIFAR_IMAGE_BYTES;
    for (let c = 0; c < CIFAR_CHANNELS; c++) {
      const base = c * 256;
      const o = c * plane;
      for (let k = 0; k < plane; k++) out[dst + o + k] = lut[base + set.images[src + o + k]];
    }
  }
  return out;
}

/** A new set holding copies of the rows at `indices`, in that order. */
export function selectRows(set: CifarSet, indices: ArrayLike<number>): CifarSet {
  checkRows(set, indices, 'selectRows');
  const n = indices.length;
  const images = new Uint8Array(n * CIFAR_IMAGE_BYTES);
  const labels = new Int32Array(n);
  const coarse = set.coarseLabels ? new Int32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const r = indices[i];
    images.set(set.images.subarray(r * CIFAR_IMAGE_BYTES, (r + 1) * CIFAR_IMAGE_BYTES), i * CIFAR_IMAGE_BYTES);
    labels[i] = set.labels[r];
    if (coarse && set.coarseLabels) coarse[i] = set.coarseLabels[r];
  }
  const out: CifarSet = { images, labels, count: n, numClasses: set.numClasses };
  if (coarse) out.coarseLabels = coarse;
  return out;
}

/** normalise + the matching labels, as one batch. */
export function cifarBatch(
  set: CifarSet,
  indices: ArrayLike<number>,
  stats: NormaliseStats = CIFAR10_STATS,
): CifarBatch {
  const input = normalise(set, indices, stats);
  const rows = Int32Array.from(indices);
  const labels = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) labels[i] = set.labels[rows[i]];
  return { input, labels, dims: [rows.length, CIFAR_CHANNELS, CIFAR_SIDE, CIFAR_SIDE], rows };
}
