/**
 * Where a probe batch comes from: the bundled CIFAR-10 sample, a CIFAR binary
 * file, seeded Gaussian inputs, or raw tensors the user wrote (float32 NCHW
 * and int32 labels, little-endian, as in the shared fixtures). One module so
 * that the library's score() and `hnas score` read data the same way.
 */
import { readFile } from 'node:fs/promises';

import type { DType } from '../engine/network.js';
import { DataFormatError, FileNotFoundError, InvalidArgumentError, NonFiniteError, ShapeMismatchError } from '../errors.js';
import { CIFAR10_STATS, cifarBatch, readCifarBinary } from '../io/cifar.js';
import { defaultBatch, defaultRows } from '../io/defaultData.js';
import { gaussianBatch, randomLabels } from '../io/gaussian.js';
import type { ProbeBatch } from '../metrics/index.js';
import { Rng } from '../spaces/rng.js';

/**
 * `default` (bundled CIFAR-10 sample), `gaussian`, `cifar:<file>` (a CIFAR-10
 * binary file), or `{ input, labels }` already in memory.
 */
export type DataSource = 'default' | 'gaussian' | `cifar:${string}` | ProbeBatch;

export interface BatchRequest {
  /** Images in the batch (ignored for in-memory data). */
  size: number;
  /** Seed of the row choice or of the Gaussian draws. */
  seed: number;
  dtype: DType;
  /** Per-sample [C, H, W] the network expects. */
  sampleShape: readonly number[];
  numClasses: number;
}

const CIFAR_SAMPLE_SHAPE = [3, 32, 32];

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function checkLabels(labels: Int32Array, count: number, numClasses: number, what: string): void {
  if (labels.length !== count) {
    throw new ShapeMismatchError(`${what}: ${labels.length} labels for ${count} samples`);
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0 || labels[i] >= numClasses) {
      throw new DataFormatError(`${what}: label ${labels[i]} at position ${i} is outside [0, ${numClasses})`);
    }
  }
}

function checkFinite(input: ArrayLike<number>, what: string): void {
  for (let i = 0; i < input.length; i++) {
    if (!Number.isFinite(input[i])) throw new NonFiniteError(`${what}: input value ${input[i]} at index ${i}`);
  }
}

/** Builds the batch, checked against the network's per-sample shape and class count. */
export async function loadProbeBatch(source: DataSource, request: BatchRequest): Promise<ProbeBatch> {
  const { size, seed, dtype, sampleShape, numClasses } = request;
  let input: Float32Array | Float64Array;
  let labels: Int32Array;
  if (typeof source === 'object' && source !== null) {
    ({ input, labels } = source);
    const perSample = sampleShape.reduce((a, b) => a * b, 1);
    if (input.length === 0 || input.length % perSample !== 0) {
      throw new ShapeMismatchError(`input of ${input.length} values is not a whole number of [${sampleShape.join(', ')}] samples`);
    }
    checkLabels(labels, input.length / perSample, numClasses, 'data');
    checkFinite(input, 'data');
  } else if (source === 'gaussian') {
    if (sampleShape.length !== 3) {
      throw new ShapeMismatchError(`Gaussian inputs need a per-sample [C, H, W] shape, got [${sampleShape.join(', ')}]`);
    }
    const rng = new Rng(seed);
    input = gaussianBatch(size, sampleShape as [number, number, number], rng);
    labels = randomLabels(size, numClasses, rng);
  } else if (source === 'default' || source.startsWith('cifar:')) {
    if (!sameShape(sampleShape, CIFAR_SAMPLE_SHAPE)) {
      throw new ShapeMismatchError(`CIFAR images are [3, 32, 32]; the network expects [${sampleShape.join(', ')}]`);
    }
    if (source === 'default') {
      ({ input, labels } = await defaultBatch({ size, seed }));
    } else {
      const path = source.slice('cifar:'.length);
      if (path.length === 0) throw new InvalidArgumentError('data source "cifar:" needs a file path after the colon');
      const set = await readCifarBinary(path, { dataset: 'cifar10' });
      ({ input, labels } = cifarBatch(set, defaultRows(size, seed, set.count), CIFAR10_STATS));
    }
    checkLabels(labels, labels.length, numClasses, 'CIFAR-10 data');
  } else {
    throw new InvalidArgumentError(`data must be default, gaussian, cifar:<file> or { input, labels }, got "${String(source)}"`);
  }
  if (dtype === 'float64' && !(input instanceof Float64Array)) input = Float64Array.from(input);
  if (dtype === 'float32' && !(input instanceof Float32Array)) input = Float32Array.from(input);
  return { input, labels };
}

async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new FileNotFoundError(path, { cause });
  }
}

/**
 * Raw tensors: `inputPath` holds little-endian float32 NCHW values, `labelsPath`
 * little-endian int32 labels. N comes from the file sizes and must agree.
 */
export async function readRawBatch(inputPath: string, labelsPath: string, sampleShape: readonly number[]): Promise<ProbeBatch> {
  const [inputBytes, labelBytes] = await Promise.all([readBytes(inputPath), readBytes(labelsPath)]);
  const perSample = sampleShape.reduce((a, b) => a * b, 1) * 4;
  if (inputBytes.length === 0 || inputBytes.length % perSample !== 0) {
    throw new ShapeMismatchError(
      `${inputPath}: ${inputBytes.length} bytes is not a whole number of float32 [${sampleShape.join(', ')}] samples (${perSample} bytes each)`,
    );
  }
  if (labelBytes.length % 4 !== 0) throw new DataFormatError(`${labelsPath}: ${labelBytes.length} bytes is not a whole number of int32 labels`);
  const n = inputBytes.length / perSample;
  if (labelBytes.length / 4 !== n) {
    throw new ShapeMismatchError(`${labelsPath} holds ${labelBytes.length / 4} labels but ${inputPath} holds ${n} samples`);
  }
  const input = new Float32Array(n * (perSample / 4));
  for (let i = 0; i < input.length; i++) input[i] = inputBytes.readFloatLE(4 * i);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = labelBytes.readInt32LE(4 * i);
  return { input, labels };
}

/** Parses `N,C,H,W` or `C,H,W`; returns the per-sample [C, H, W] and N when given. */
export function parseInputShape(text: string): { sampleShape: number[]; batch?: number } {
  const parts = text.split(/[,x×\s]+/).filter((p) => p.length > 0);
  const dims = parts.map(Number);
  if ((dims.length !== 3 && dims.length !== 4) || dims.some((d, i) => !/^\d+$/.test(parts[i]) || d < 1)) {
    throw new InvalidArgumentError(`--input-shape must be N,C,H,W or C,H,W with positive integers, got "${text}"`);
  }
  return dims.length === 4 ? { batch: dims[0], sampleShape: dims.slice(1) } : { sampleShape: dims };
}
