/**
 * Data-agnostic inputs: standard-normal batches and uniform random labels, for
 * metrics that are computed without real images. All randomness comes from
 * the caller's seeded Rng.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Rng } from '../spaces/rng.js';

function checkCount(value: number, what: string, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(`${what} must be an integer ≥ ${min}, got ${value}`);
  }
}

/**
 * A float32 NCHW batch [n, C, H, W] of independent standard-normal values,
 * drawn in memory order with `rng.normal()`.
 */
export function gaussianBatch(n: number, shape: readonly [number, number, number], rng: Rng): Float32Array {
  checkCount(n, 'gaussianBatch: n', 1);
  if (!Array.isArray(shape) || shape.length !== 3) {
    throw new InvalidArgumentError(`gaussianBatch: shape must be [C, H, W], got ${JSON.stringify(shape)}`);
  }
  shape.forEach((d, i) => checkCount(d, `gaussianBatch: shape[${i}]`, 1));
  const out = new Float32Array(n * shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal();
  return out;
}

/** n labels drawn uniformly from [0, numClasses). */
export function randomLabels(n: number, numClasses: number, rng: Rng): Int32Array {
  checkCount(n, 'randomLabels: n', 1);
  checkCount(numClasses, 'randomLabels: numClasses', 1);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(numClasses);
  return out;
}
