/**
 * The training data pipeline (seeded shuffling, augmentation, splits), the
 * drop-path tensors and masks, and the checkpoint format. Pure TypeScript.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CIFAR_IMAGE_BYTES, cifarBatch, normalisationTable, type CifarSet } from '../../src/io/cifar.js';
import { DARTS_V2 } from '../../src/spaces/darts/genotype.js';
import { buildDartsNetwork } from '../../src/spaces/darts/network.js';
import { buildArchitecture } from '../../src/spaces/architecture.js';
import { Rng } from '../../src/spaces/rng.js';
import { decodeCheckpoint, encodeCheckpoint, readCheckpoint, writeCheckpoint } from '../../src/train/checkpoint.js';
import { BatchPlan, sampleRows, splitRows } from '../../src/train/data.js';
import { dartsDropPathTensors, drawDropPathFactors, dropPathProbability } from '../../src/train/dropPath.js';

/** n images whose bytes are (7·i + j) mod 256, labels i mod 10. */
function syntheticSet(n: number): CifarSet {
  const images = new Uint8Array(n * CIFAR_IMAGE_BYTES);
  for (let i = 0; i < n; i++) for (let j = 0; j < CIFAR_IMAGE_BYTES; j++) images[i * CIFAR_IMAGE_BYTES + j] = (7 * i + j) % 256;
  return { images, labels: Int32Array.from({ length: n }, (_, i) => i % 10), count: n, numClasses: 10 };
}

describe('BatchPlan', () => {
  const set = syntheticSet(23);
  const rows = Int32Array.from({ length: 20 }, (_, i) => i + 3);

  it('each epoch visits every row once in a seeded order, in batches of the given size', () => {
    const plan = new BatchPlan(set, rows, { batchSize: 8, seed: 4, augment: { crop: false, flip: false } });
    expect(plan.stepsPerEpoch).toBe(3);
    const epoch0 = [...plan.epoch(0)];
    expect(epoch0.map((b) => b.labels.length)).toEqual([8, 8, 4]);
    const seen = epoch0.flatMap((b) => Array.from(b.rows));
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from(rows));
    expect(seen).not.toEqual(Array.from(rows)); // shuffled
    // Deterministic per (seed, epoch); another epoch, another order.
    expect([...plan.epoch(0)].flatMap((b) => Array.from(b.rows))).toEqual(seen);
    expect([...plan.epoch(1)].flatMap((b) => Array.from(b.rows))).not.toEqual(seen);
    // Without augmentation a batch is the plain normalisation of its rows.
    const b = epoch0[1];
    expect(Array.from(b.input)).toEqual(Array.from(cifarBatch(set, b.rows).input));
    expect(Array.from(b.labels)).toEqual(Array.from(b.rows, (r) => set.labels[r]));
    // dropLast drops the 4-image tail.
    const dropping = new BatchPlan(set, rows, { batchSize: 8, seed: 4, dropLast: true });
    expect(dropping.stepsPerEpoch).toBe(2);
    expect([...dropping.epoch(0)].length).toBe(2);
  });

  it('flip alone mirrors rows or leaves them; crop moves pixels within the padded frame; cutout zeroes a square', () => {
    const lut = normalisationTable();
    const flipOnly = new BatchPlan(set, rows, { batchSize: 20, seed: 1, augment: { crop: false, flip: true } });
    const [batch] = [...flipOnly.epoch(0)];
    let mirrored = 0;
    for (let i = 0; i < 20; i++) {
      const plain = cifarBatch(set, [batch.rows[i]]).input;
      const img = batch.input.subarray(i * CIFAR_IMAGE_BYTES, (i + 1) * CIFAR_IMAGE_BYTES);
      const same = img.every((v, j) => v === plain[j]);
      const flipped = img.every((v, j) => v === plain[j - (j % 32) + 31 - (j % 32)]);
      expect(same || flipped).toBe(true);
      if (!same) mirrored++;
    }
    expect(mirrored).toBeGreaterThan(3);
    expect(mirrored).toBeLessThan(17);
    // Crop: every value is a table entry of its channel (padding = pixel 0's entry).
    const crop = new BatchPlan(set, rows, { batchSize: 20, seed: 2, augment: { crop: true, flip: false } });
    const [cropped] = [...crop.epoch(0)];
    for (let j = 0; j < cropped.input.length; j += 97) {
      const c = Math.floor((j % CIFAR_IMAGE_BYTES) / 1024);
      expect(Array.from(lut.subarray(c * 256, (c + 1) * 256))).toContain(cropped.input[j]);
    }
    const cut = new BatchPlan(set, rows, { batchSize: 20, seed: 2, augment: { crop: false, flip: false, cutout: 8 } });
    const [withCutout] = [...cut.epoch(0)];
    for (let i = 0; i < 20; i++) {
      const zeros = withCutout.input.subarray(i * CIFAR_IMAGE_BYTES, (i + 1) * CIFAR_IMAGE_BYTES).filter((v) => v === 0).length;
      expect(zeros).toBeGreaterThan(0);
      expect(zeros).toBeLessThanOrEqual(3 * 64);
    }
  });

  it('splits and subsets are seeded, disjoint and complete', () => {
    const all = Int32Array.from({ length: 100 }, (_, i) => i);
    const [a, b] = splitRows(all, 0.3, 5);
    expect(a.length).toBe(30);
    expect(b.length).toBe(70);
    expect([...a, ...b].sort((x, y) => x - y)).toEqual(Array.from(all));
    expect(Array.from(splitRows(all, 0.3, 5)[0])).toEqual(Array.from(a));
    expect(Array.from(splitRows(all, 0.3, 6)[0])).not.toEqual(Array.from(a));
    const s = sampleRows(b, 10, 1);
    expect(s.length).toBe(10);
    for (const r of s) expect(b).toContain(r);
    expect(() => splitRows(all, 1, 0)).toThrow(/split fraction/);
  });
});

describe('drop-path', () => {
  it('acts on the outputs of every DARTS cell op but stride-1 skip connections', () => {
    const spec = buildDartsNetwork(DARTS_V2, { channels: 16, layers: 5 });
    const tensors = dartsDropPathTensors(spec);
    // Reduction cells 1 and 3. DARTS_V2 normal: 2 of 8 ops are skip_connect (identity) → 6;
    // reduce: 3 skip_connect from node 2 (stride 1, identity) → 5. 3·6 + 2·5 = 28.
    expect(tensors.length).toBe(28);
    const producer = new Map(spec.nodes.map((n) => [n.outputs[0], n.name]));
    for (const t of tensors) expect(producer.get(t)).toMatch(/^cells\.\d+\._ops\.\d+/);
    expect(new Set(tensors).size).toBe(28);
    // NB201 has no DARTS cells.
    expect(dartsDropPathTensors(buildArchitecture('nb201', '13714', { channels: 8, cells: 1 }))).toEqual([]);
  });

  it('draws 0 or 1/keep per sample with the right frequency, and rises linearly over epochs', () => {
    const f = drawDropPathFactors(new Rng(3), 10, 1000, 0.2);
    const kept = f.filter((v) => v === 1 / 0.8).length;
    expect(f.filter((v) => v === 0).length + kept).toBe(10000);
    expect(kept / 10000).toBeGreaterThan(0.78);
    expect(kept / 10000).toBeLessThan(0.82);
    expect(Array.from(drawDropPathFactors(new Rng(3), 2, 3, 0))).toEqual([1, 1, 1, 1, 1, 1]);
    expect([0, 5, 9].map((e) => dropPathProbability(0.2, e, 10))).toEqual([0, (0.2 * 5) / 10, (0.2 * 9) / 10]);
  });
});

describe('checkpoints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hnas-ckpt-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trip the arrays bit for bit and the header as JSON', async () => {
    const params = Float32Array.from([1.5, -0, Number.MIN_VALUE, 3.4e38, 1 / 3]);
    const momentum = Float64Array.from([Math.PI, -1e-300, 0]);
    const meta = { kind: 'test', epoch: 3, nested: { a: [1, 2] } };
    const path = join(dir, 'a.ckpt');
    await writeCheckpoint(path, meta, { params, momentum });
    const back = await readCheckpoint<typeof meta>(path);
    expect(back.meta).toEqual(meta);
    expect(back.arrays.params).toBeInstanceOf(Float32Array);
    expect(Array.from(new Uint8Array(back.arrays.params.buffer))).toEqual(Array.from(new Uint8Array(params.buffer)));
    expect(Array.from(back.arrays.momentum)).toEqual(Array.from(momentum));
  });

  it('reject a torn, corrupted or foreign file with a DataFormatError', async () => {
    const bytes = encodeCheckpoint({ x: 1 }, { p: Float32Array.from([1, 2, 3]) });
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 6))).toThrow(/truncated|trailing|checksum/);
    const flipped = bytes.slice();
    flipped[flipped.length - 8] ^= 1;
    expect(() => decodeCheckpoint(flipped)).toThrow(/checksum/);
    expect(() => decodeCheckpoint(new TextEncoder().encode('not a checkpoint at all'))).toThrow(/magic/);
    const path = join(dir, 'bad.ckpt');
    writeFileSync(path, flipped);
    await expect(readCheckpoint(path)).rejects.toMatchObject({ code: 'ERR_HNAS_DATA_FORMAT' });
    await expect(readCheckpoint(join(dir, 'missing.ckpt'))).rejects.toMatchObject({ code: 'ERR_HNAS_FILE_NOT_FOUND' });
    expect(readFileSync(path).length).toBe(bytes.length);
  });
});
