/**
 * CIFAR readers, normalisation (bit-exact against the PyTorch fixture batch),
 * the NAS-Bench-201 augmentation, cutout and Gaussian inputs.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DataFormatError, FileNotFoundError, InvalidArgumentError } from '../../src/errors.js';
import {
  applyAugment,
  augmentBatch,
  cutout,
  drawAugmentParams,
  MAX_CROP_OFFSET,
} from '../../src/io/augment.js';
import {
  CIFAR100_STATS,
  CIFAR10_STATS,
  CIFAR_IMAGE_BYTES,
  cifarDirectory,
  normalise,
  normalisationTable,
  readCifarBinary,
  selectRows,
  type CifarSet,
} from '../../src/io/cifar.js';
import { defaultBatch, defaultCifar10Path, defaultRows, loadDefaultCifar10 } from '../../src/io/defaultData.js';
import { gaussianBatch, randomLabels } from '../../src/io/gaussian.js';
import { Rng } from '../../src/spaces/rng.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const BUNDLED = join(ROOT, 'data', 'cifar10', 'cifar10_test_1000_jpegdecoded.bin');
const NB201 = join(HERE, '..', 'fixtures', 'nb201');
const CIFAR_FIX = join(HERE, '..', 'fixtures', 'cifar');
const FIRST20_C10 = join(CIFAR_FIX, 'cifar10_test_first20_exact.bin');
const FIRST20_C100 = join(CIFAR_FIX, 'cifar100_test_first20_exact.bin');

const FIRST20_C10_LABELS = [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6];
const FIRST20_C100_LABELS = [49, 33, 72, 51, 71, 92, 15, 14, 23, 0, 71, 75, 81, 69, 40, 43, 92, 97, 70, 53];

function bytesOf(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function fixtureRows(): number[] {
  const batch = JSON.parse(readFileSync(join(NB201, 'batch.json'), 'utf8')) as { rows: number[] };
  return batch.rows;
}

/** A one-image set whose pixels are given by f(c, y, x). */
function syntheticSet(f: (c: number, y: number, x: number) => number): CifarSet {
  const images = new Uint8Array(CIFAR_IMAGE_BYTES);
  for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) images[c * 1024 + y * 32 + x] = f(c, y, x);
  return { images, labels: Int32Array.of(0), count: 1, numClasses: 10 };
}

/**
 * Bit-for-bit equality of two typed arrays, reporting the first differing
 * element (vitest's deep equality is slow on arrays of ~10^5 elements).
 */
function expectSameBits(
  actual: Float32Array | Uint8Array,
  expected: Float32Array | Uint8Array,
  what: string,
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const e = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(e)) return;
  let i = 0;
  while (i < actual.length && Object.is(actual[i], expected[i])) i++;
  throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
}

/** Expects `fn` to reject with a DataFormatError whose message matches every pattern. */
async function expectDataFormat(fn: () => Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataFormatError);
  expect((err as DataFormatError).code).toBe('ERR_HNAS_DATA_FORMAT');
  for (const p of patterns) expect((err as Error).message).toMatch(p);
}

describe('readCifarBinary', () => {
  it('reads the bundled default file: 1000 records, 100 per class, sorted by class', async () => {
    const set = await readCifarBinary(BUNDLED);
    expect(set.count).toBe(1000);
    expect(set.numClasses).toBe(10);
    expect(set.images.length).toBe(1000 * 3072);
    for (let i = 0; i < 1000; i++) expect(set.labels[i]).toBe(Math.floor(i / 100));
    expect(set.coarseLabels).toBeUndefined();
    // The first pixel bytes follow the label byte of record 0.
    expect(Array.from(set.images.subarray(0, 8))).toEqual(Array.from(bytesOf(BUNDLED).subarray(1, 9)));
  });

  it('loadDefaultCifar10 finds data/cifar10 from the module', async () => {
    expect(defaultCifar10Path()).toBe(BUNDLED);
    const set = await loadDefaultCifar10();
    expect(set.count).toBe(1000);
  });

  it('first20_exact CIFAR-10 labels match the shared README', async () => {
    const set = await readCifarBinary(FIRST20_C10, { dataset: 'cifar10' });
    expect(Array.from(set.labels)).toEqual(FIRST20_C10_LABELS);
  });

  it('CIFAR-100 with 1 label byte (the shared file) and 2 label bytes (official layout)', async () => {
    const oneByte = await readCifarBinary(FIRST20_C100, { dataset: 'cifar100', labelBytes: 1 });
    expect(oneByte.count).toBe(20);
    expect(oneByte.numClasses).toBe(100);
    expect(Array.from(oneByte.labels)).toEqual(FIRST20_C100_LABELS);

    // The official layout: coarse, fine, pixels (3074 bytes). The default for cifar100 is 2.
    const raw = bytesOf(FIRST20_C100);
    const two = new Uint8Array(20 * 3074);
    for (let r = 0; r < 20; r++) {
      two[r * 3074] = r % 20; // coarse
      two.set(raw.subarray(r * 3073, (r + 1) * 3073), r * 3074 + 1); // fine + pixels
    }
    const twoByte = await readCifarBinary(two, { dataset: 'cifar100' });
    expect(Array.from(twoByte.labels)).toEqual(FIRST20_C100_LABELS);
    expect(Array.from(twoByte.coarseLabels ?? [])).toEqual(Array.from({ length: 20 }, (_, r) => r));
    expectSameBits(twoByte.images, oneByte.images, '2-label-byte images');

    // The 1-label-byte file read with the default (2) is 19 records and 3054 bytes over.
    await expectDataFormat(() => readCifarBinary(FIRST20_C100, { dataset: 'cifar100' }), /61460/, /3074/, /remainder of 3054/);
  });

  it('concatenates several files in order', async () => {
    const set = await readCifarBinary([FIRST20_C10, BUNDLED, FIRST20_C10]);
    expect(set.count).toBe(1040);
    expect(Array.from(set.labels.subarray(0, 20))).toEqual(FIRST20_C10_LABELS);
    expect(set.labels[20]).toBe(0);
    expect(Array.from(set.labels.subarray(1020))).toEqual(FIRST20_C10_LABELS);
    expectSameBits(set.images.subarray(1020 * 3072), set.images.subarray(0, 20 * 3072), 'third file');
  });

  it('rejects sizes that are not whole records with a DataFormatError naming size and remainder', async () => {
    await expectDataFormat(() => readCifarBinary(new Uint8Array(3072)), /3072 bytes/, /3073/, /remainder of 3072/);
    await expectDataFormat(
      () => readCifarBinary(new Uint8Array(3073 * 2 + 5)),
      /6151 bytes/,
      /record size 3073/,
      /2 records and a remainder of 5 bytes/,
    );
    await expectDataFormat(() => readCifarBinary(new Uint8Array(0)), /empty/);
  });

  it('names the file at fault', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hnas-cifar-'));
    try {
      const bad = join(dir, 'short.bin');
      await writeFile(bad, new Uint8Array(3073 * 2 + 5));
      await expectDataFormat(() => readCifarBinary([FIRST20_C10, bad]), new RegExp(bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a label out of range with the record index', async () => {
    const bytes = bytesOf(FIRST20_C10).slice();
    bytes[7 * 3073] = 10;
    await expectDataFormat(() => readCifarBinary(bytes), /record 7/, /label 10/, /\[0, 10\)/);
    // numClasses narrows the range.
    await expectDataFormat(() => readCifarBinary(FIRST20_C10, { numClasses: 5 }), /record 1 has label 8/);
    await expect(readCifarBinary(bytes, { numClasses: 11 })).resolves.toMatchObject({ count: 20 });
  });

  it('rejects bad options', async () => {
    await expect(readCifarBinary(FIRST20_C10, { labelBytes: 3 as 1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(readCifarBinary(FIRST20_C10, { numClasses: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(readCifarBinary([])).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('a missing file is a FileNotFoundError', async () => {
    const missing = join(HERE, 'no-such-cifar.bin');
    const err = await readCifarBinary(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileNotFoundError);
    expect((err as FileNotFoundError).code).toBe('ERR_HNAS_FILE_NOT_FOUND');
    expect((err as Error).message).toContain(missing);
  });
});

describe('cifarDirectory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hnas-cifardir-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds cifar-10-batches-bin inside a folder or as the folder', async () => {
    const c10 = join(dir, 'c10', 'cifar-10-batches-bin');
    await mkdir(c10, { recursive: true });
    const first20 = bytesOf(FIRST20_C10);
    for (const f of ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch']) {
      await writeFile(join(c10, `${f}.bin`), first20);
    }
    for (const where of [join(dir, 'c10'), c10]) {
      const files = await cifarDirectory(where);
      expect(files.dataset).toBe('cifar10');
      expect(files.dir).toBe(c10);
      expect(files.train).toEqual([1, 2, 3, 4, 5].map((k) => join(c10, `data_batch_${k}.bin`)));
      expect(files.test).toEqual([join(c10, 'test_batch.bin')]);
    }
    const train = await readCifarBinary((await cifarDirectory(dir + '/c10')).train);
    expect(train.count).toBe(100);
  });

  it('finds cifar-100-binary', async () => {
    const c100 = join(dir, 'c100', 'cifar-100-binary');
    await mkdir(c100, { recursive: true });
    await writeFile(join(c100, 'train.bin'), new Uint8Array(3074));
    await writeFile(join(c100, 'test.bin'), new Uint8Array(3074));
    const files = await cifarDirectory(join(dir, 'c100'));
    expect(files).toEqual({ dataset: 'cifar100', dir: c100, train: [join(c100, 'train.bin')], test: [join(c100, 'test.bin')] });
    const set = await readCifarBinary(files.test, { dataset: files.dataset });
    expect(set.count).toBe(1);
  });

  it('a missing or incomplete directory is a FileNotFoundError listing what it looked for', async () => {
    const err = await cifarDirectory(join(dir, 'nothing-here')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileNotFoundError);
    const msg = (err as Error).message;
    for (const s of ['cifar-10-batches-bin', 'data_batch_1.bin', 'test_batch.bin', 'cifar-100-binary', 'train.bin']) {
      expect(msg).toContain(s);
    }
    const partial = join(dir, 'partial', 'cifar-10-batches-bin');
    await mkdir(partial, { recursive: true });
    await writeFile(join(partial, 'data_batch_1.bin'), new Uint8Array(3073));
    const err2 = await cifarDirectory(join(dir, 'partial'), { dataset: 'cifar10' }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(FileNotFoundError);
    expect((err2 as Error).message).toMatch(/lacks data_batch_2\.bin.*test_batch\.bin/);
  });
});

describe('normalise', () => {
  it('reproduces the NB201 fixture batch bit for bit, and its labels', async () => {
    const rows = fixtureRows();
    expect(rows.length).toBe(64);
    const set = await readCifarBinary(BUNDLED);
    const input = normalise(set, rows, CIFAR10_STATS);
    const inputBytes = readFileSync(join(NB201, 'input.bin'));
    const expected = new Float32Array(
      inputBytes.buffer.slice(inputBytes.byteOffset, inputBytes.byteOffset + inputBytes.byteLength) as ArrayBuffer,
    );
    expect(input.length).toBe(64 * 3 * 32 * 32);
    expectSameBits(input, expected, 'normalised fixture batch');
    const labelBytes = readFileSync(join(NB201, 'labels.bin'));
    const labels = new Int32Array(labelBytes.buffer.slice(labelBytes.byteOffset, labelBytes.byteOffset + labelBytes.byteLength));
    expect(Array.from(selectRows(set, rows).labels)).toEqual(Array.from(labels));
    // defaultBatch with explicit rows is the same batch.
    const batch = await defaultBatch({ rows });
    expectSameBits(batch.input, input, 'defaultBatch({ rows })');
    expect(Array.from(batch.labels)).toEqual(Array.from(labels));
    expect(batch.dims).toEqual([64, 3, 32, 32]);
  });

  it('computes in float64 and rounds once', () => {
    const lut = normalisationTable(CIFAR100_STATS);
    for (const [c, p] of [[0, 0], [1, 128], [2, 255]]) {
      expect(lut[c * 256 + p]).toBe(Math.fround((p / 255 - CIFAR100_STATS.mean[c]) / CIFAR100_STATS.std[c]));
    }
    expect(CIFAR10_STATS).toEqual({ mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] });
    expect(CIFAR100_STATS).toEqual({ mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] });
  });

  it('rejects rows out of range and bad stats', async () => {
    const set = await readCifarBinary(FIRST20_C10);
    expect(() => normalise(set, [0, 20])).toThrow(InvalidArgumentError);
    expect(() => normalise(set, [1.5])).toThrow(InvalidArgumentError);
    expect(() => selectRows(set, [-1])).toThrow(InvalidArgumentError);
    expect(() => normalise(set, [0], { mean: [0, 0, 0], std: [1, 0, 1] })).toThrow(InvalidArgumentError);
  });

  it('selectRows copies images and labels in order', async () => {
    const set = await readCifarBinary(FIRST20_C10);
    const sub = selectRows(set, [3, 0]);
    expect(sub.count).toBe(2);
    expect(Array.from(sub.labels)).toEqual([0, 3]);
    expect(sub.images.subarray(3072)).toEqual(set.images.subarray(0, 3072));
  });
});

describe('defaultBatch', () => {
  it('a seeded choice of distinct rows, normalised with CIFAR-10 stats', async () => {
    const a = await defaultBatch({ size: 64, seed: 0 });
    const b = await defaultBatch();
    const c = await defaultBatch({ seed: 1 });
    expectSameBits(a.input, b.input, 'defaultBatch() vs seed 0');
    expect(Array.from(a.rows)).toEqual(Array.from(defaultRows(64, 0)));
    expect(new Set(a.rows).size).toBe(64);
    expect(Array.from(a.rows).every((r) => r >= 0 && r < 1000)).toBe(true);
    expect(Array.from(c.rows)).not.toEqual(Array.from(a.rows));
    expect(Array.from(a.labels)).toEqual(Array.from(a.rows, (r) => Math.floor(r / 100)));
    const set = await loadDefaultCifar10();
    expectSameBits(a.input, normalise(set, a.rows), 'defaultBatch vs normalise');
    expect(new Set(defaultRows(1000, 3)).size).toBe(1000);
    await expect(defaultBatch({ size: 1001 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(defaultBatch({ size: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('augmentBatch', () => {
  const padValue = (c: number): number => Math.fround((0 - CIFAR10_STATS.mean[c]) / CIFAR10_STATS.std[c]);
  const at = (t: Float32Array, n: number, c: number, y: number, x: number): number => t[n * 3072 + c * 1024 + y * 32 + x];

  it('is deterministic per seed and differs between seeds', async () => {
    const set = await readCifarBinary(FIRST20_C10);
    const rows = Array.from({ length: 20 }, (_, i) => i);
    const a = augmentBatch(set, rows, new Rng(7));
    const b = augmentBatch(set, rows, new Rng(7));
    const c = augmentBatch(set, rows, new Rng(8));
    expectSameBits(a, b, 'same seed');
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
    // augmentBatch = applyAugment with the parameters the same Rng state draws.
    expectSameBits(a, applyAugment(set, rows, drawAugmentParams(20, new Rng(7))), 'augmentBatch vs applyAugment');
  });

  it('crop offsets cover [0, 8] and flips are about half', () => {
    const params = drawAugmentParams(4000, new Rng(11));
    const tops = new Set(params.map((p) => p.top));
    const lefts = new Set(params.map((p) => p.left));
    expect([...tops].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...lefts].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(MAX_CROP_OFFSET).toBe(8);
    const flips = params.filter((p) => p.flip).length / params.length;
    expect(Math.abs(flips - 0.5)).toBeLessThan(0.05); // 4000 draws: σ ≈ 0.008
  });

  it('centre crop without flip is the normalised image; with flip it is its mirror', async () => {
    const set = await readCifarBinary(FIRST20_C10);
    const plain = normalise(set, [5]);
    const same = applyAugment(set, [5], [{ flip: false, top: 4, left: 4 }]);
    expectSameBits(same, plain, 'centre crop');
    const mirrored = applyAugment(set, [5], [{ flip: true, top: 4, left: 4 }]);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) expect(at(mirrored, 0, c, y, x)).toBe(at(plain, 0, c, y, 31 - x));
      }
    }
  });

  it('shifts by the crop offset and pads with the normalised value of pixel 0', () => {
    // Pixel value encodes position: distinct for every (y, x) of a channel.
    const set = syntheticSet((c, y, x) => (y * 7 + x * 3 + c + 1) % 256);
    const plain = normalise(set, [0]);
    const cases = [
      { flip: false, top: 0, left: 0 },
      { flip: false, top: 8, left: 3 },
      { flip: true, top: 2, left: 8 },
    ];
    for (const p of cases) {
      const out = applyAugment(set, [0], [p]);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < 32; y++) {
          for (let x = 0; x < 32; x++) {
            const sy = p.top + y - 4;
            const fx = p.left + x - 4;
            const want =
              sy < 0 || sy > 31 || fx < 0 || fx > 31 ? padValue(c) : at(plain, 0, c, sy, p.flip ? 31 - fx : fx);
            expect(at(out, 0, c, y, x)).toBe(want);
          }
        }
      }
    }
    // Top-left crop: a 4-pixel band on the top and left is the padded value, which is not 0.
    const tl = applyAugment(set, [0], [{ flip: false, top: 0, left: 0 }]);
    for (let c = 0; c < 3; c++) {
      expect(padValue(c)).toBeLessThan(-1.7);
      for (let k = 0; k < 32; k++) {
        for (let b = 0; b < 4; b++) {
          expect(at(tl, 0, c, b, k)).toBe(padValue(c));
          expect(at(tl, 0, c, k, b)).toBe(padValue(c));
        }
      }
      expect(at(tl, 0, c, 4, 4)).toBe(at(plain, 0, c, 0, 0));
    }
  });

  it('rejects bad parameters', async () => {
    const set = await readCifarBinary(FIRST20_C10);
    expect(() => applyAugment(set, [0], [{ flip: false, top: 9, left: 0 }])).toThrow(InvalidArgumentError);
    expect(() => applyAugment(set, [0, 1], [{ flip: false, top: 0, left: 0 }])).toThrow(InvalidArgumentError);
    expect(() => augmentBatch(set, [20], new Rng(0))).toThrow(InvalidArgumentError);
  });
});

describe('cutout', () => {
  it('zeroes a clipped length×length square per image in every channel', () => {
    const n = 200;
    const length = 16;
    const batch = new Float32Array(n * 3072).fill(1);
    const boxes = cutout(batch, n, length, new Rng(3));
    expect(boxes.length).toBe(n);
    let clipped = 0;
    for (let i = 0; i < n; i++) {
      const { y1, y2, x1, x2 } = boxes[i];
      const h = y2 - y1;
      const w = x2 - x1;
      expect(h).toBeGreaterThanOrEqual(8);
      expect(h).toBeLessThanOrEqual(16);
      expect(w).toBeGreaterThanOrEqual(8);
      expect(w).toBeLessThanOrEqual(16);
      if (h < 16 || w < 16) clipped++;
      for (let c = 0; c < 3; c++) {
        let zeros = 0;
        let misplaced = 0;
        for (let y = 0; y < 32; y++) {
          for (let x = 0; x < 32; x++) {
            const v = batch[i * 3072 + c * 1024 + y * 32 + x];
            const inside = y >= y1 && y < y2 && x >= x1 && x < x2;
            if (v !== (inside ? 0 : 1)) misplaced++;
            if (v === 0) zeros++;
          }
        }
        expect(misplaced).toBe(0);
        expect(zeros).toBe(h * w);
      }
    }
    // Centres are uniform over the image, so many boxes touch an edge.
    expect(clipped).toBeGreaterThan(n / 4);
    const again = new Float32Array(n * 3072).fill(1);
    expect(cutout(again, n, length, new Rng(3))).toEqual(boxes);
    expectSameBits(again, batch, 'cutout rerun');
  });

  it('rejects a batch of the wrong size', () => {
    expect(() => cutout(new Float32Array(3072), 2, 16, new Rng(0))).toThrow(InvalidArgumentError);
    expect(() => cutout(new Float32Array(3072), 1, -1, new Rng(0))).toThrow(InvalidArgumentError);
  });
});

describe('gaussian inputs', () => {
  it('gaussianBatch is standard normal and seeded', () => {
    const x = gaussianBatch(16, [3, 32, 32], new Rng(42));
    expect(x.length).toBe(16 * 3072);
    let sum = 0;
    let sq = 0;
    for (const v of x) {
      sum += v;
      sq += v * v;
    }
    const mean = sum / x.length;
    const variance = sq / x.length - mean * mean;
    // n = 49152: standard error of the mean ≈ 0.0045, of the variance ≈ 0.0064.
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.04);
    expectSameBits(gaussianBatch(16, [3, 32, 32], new Rng(42)), x, 'gaussian rerun');
    expect(gaussianBatch(16, [3, 32, 32], new Rng(43))[0]).not.toBe(x[0]);
    expect(() => gaussianBatch(0, [3, 32, 32], new Rng(0))).toThrow(InvalidArgumentError);
    expect(() => gaussianBatch(1, [3, 32] as unknown as [number, number, number], new Rng(0))).toThrow(InvalidArgumentError);
  });

  it('randomLabels are uniform over the classes', () => {
    const labels = randomLabels(10000, 10, new Rng(5));
    const counts = new Array<number>(10).fill(0);
    for (const l of labels) counts[l]++;
    for (const k of counts) expect(Math.abs(k - 1000)).toBeLessThan(150); // σ = 30
    expect(randomLabels(10000, 10, new Rng(5))).toEqual(labels);
    expect(() => randomLabels(4, 0, new Rng(0))).toThrow(InvalidArgumentError);
  });
});
