/**
 * The embedded default data set: 1000 JPEG-decoded CIFAR-10 test images
 * (100 per class, sorted by class) in data/cifar10/ — see
 * data/cifar10/PROVENANCE.md. Commands use it when no data directory is given.
 *
 * The folder is found by walking up from this module until a directory
 * containing data/cifar10 appears, so it works from src/io/ (vitest, tsx) and
 * from dist/src/io/ (compiled) alike.
 */
import { existsSync } from 'node:fs';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';

import { FileNotFoundError, InvalidArgumentError } from '../errors.js';
import { Rng } from '../spaces/rng.js';
import { CIFAR10_STATS, cifarBatch, readCifarBinary, type CifarBatch, type CifarSet } from './cifar.js';

export const DEFAULT_CIFAR10_FILE = 'cifar10_test_1000_jpegdecoded.bin';
/** Records in the default file. */
export const DEFAULT_CIFAR10_COUNT = 1000;

const DATA_SUBDIR = join('data', 'cifar10');

/** Absolute path of the embedded default CIFAR-10 file. */
export function defaultCifar10Path(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  let dir = start;
  const root = parse(dir).root;
  for (;;) {
    const candidate = join(dir, DATA_SUBDIR, DEFAULT_CIFAR10_FILE);
    if (existsSync(join(dir, DATA_SUBDIR))) return candidate;
    if (dir === root) break;
    dir = dirname(dir);
  }
  throw new FileNotFoundError(`${DATA_SUBDIR}/${DEFAULT_CIFAR10_FILE} (searched ${start} and every folder above it)`);
}

/** The 1000-image default set (labels 0..9, rows 100·k … 100·k + 99 are class k). */
export async function loadDefaultCifar10(): Promise<CifarSet> {
  return readCifarBinary(defaultCifar10Path(), { dataset: 'cifar10' });
}

export interface DefaultBatchOptions {
  /** Images in the batch, 1..1000; default 64. */
  size?: number;
  /** Seed of the row choice; default 0. */
  seed?: number;
  /** Explicit rows of the default file instead of a seeded choice (size and seed are then ignored). */
  rows?: ArrayLike<number>;
}

/**
 * The seeded row choice of defaultBatch: a Fisher–Yates shuffle of 0..count−1
 * driven by `new Rng(seed)` (for i from count−1 down to 1, swap i with
 * rng.int(i + 1)), keeping the last `size` positions in the order they were
 * fixed (count−1, count−2, …). Rows are distinct. It is not numpy's
 * permutation: the NAS-Bench-201 fixture rows come from test/fixtures/nb201/batch.json.
 */
export function defaultRows(size: number, seed: number, count = DEFAULT_CIFAR10_COUNT): Int32Array {
  if (!Number.isInteger(size) || size < 1 || size > count) {
    throw new InvalidArgumentError(`defaultBatch: size must be an integer in [1, ${count}], got ${size}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new InvalidArgumentError(`defaultBatch: seed must be a non-negative safe integer, got ${seed}`);
  }
  const rng = new Rng(seed);
  const perm = new Int32Array(count);
  for (let i = 0; i < count; i++) perm[i] = i;
  const rows = new Int32Array(size);
  for (let k = 0; k < size; k++) {
    const i = count - 1 - k;
    const j = i > 0 ? rng.int(i + 1) : 0;
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
    rows[k] = perm[i];
  }
  return rows;
}

/**
 * A batch of the default set normalised with the CIFAR-10 statistics:
 * float32 NCHW [size, 3, 32, 32] and int32 labels, with the rows used.
 */
export async function defaultBatch(options: DefaultBatchOptions = {}): Promise<CifarBatch> {
  const set = await loadDefaultCifar10();
  const rows = options.rows ?? defaultRows(options.size ?? 64, options.seed ?? 0, set.count);
  return cifarBatch(set, rows, CIFAR10_STATS);
}
