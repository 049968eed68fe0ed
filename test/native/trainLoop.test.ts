/**
 * Training end to end on the native engine, on the bundled 1,000-image
 * CIFAR-10 sample:
 *  - a small NB201 network (index 13714, C = 8, N = 1, 69k parameters)
 *    memorises 300 training images: > 90% training accuracy within 30 epochs
 *    (batch 32, SGD lr 0.05 Nesterov cosine per step, weight decay 5e-4, no
 *    augmentation), and reaches well above chance (10%) on the 700 held-out
 *    images; onnxruntime's accuracy on the trained ONNX export equals the
 *    native forward's. Measured on 2 cores: > 90% from epoch 22, 98% at
 *    epoch 30, 99.3% in eval mode; held-out accuracy 34%; ~24 s of training
 *    and ~30 s for the whole test with the machine shared with other jobs.
 *  - a run resumed from a mid-run checkpoint ends with exactly the weights,
 *    momentum buffer and history of an uninterrupted run (NB201 with cutout
 *    and label smoothing; DARTS cells with drop-path).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CifarSet } from '../../src/io/cifar.js';
import { loadDefaultCifar10 } from '../../src/io/defaultData.js';
import { buildArchitecture } from '../../src/spaces/architecture.js';
import { formatGenotype, DARTS_V2 } from '../../src/spaces/darts/genotype.js';
import { sampleRows, splitRows } from '../../src/train/data.js';
import { allRows } from '../../src/train/datasets.js';
import { Trainer, type TrainerConfig } from '../../src/train/trainer.js';

let set: CifarSet;
const dir = mkdtempSync(join(tmpdir(), 'hnas-train-'));
beforeAll(async () => {
  set = await loadDefaultCifar10();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('training a small NB201 network on the bundled sample', () => {
  it('memorises 300 images (> 90% within 30 epochs), generalises above chance, and onnxruntime agrees with the native forward', async () => {
    const [train, heldOut] = splitRows(allRows(set.count), 0.3, 0);
    const trainer = new Trainer({
      spec: buildArchitecture('nb201', '13714', { channels: 8, cells: 1, seed: 0 }),
      name: 'nb201-13714-C8N1',
      train: { set, rows: train },
      preset: 'nb201',
      options: { epochs: 30, batchSize: 32, lr: 0.05, crop: false, flip: false, seed: 0 },
    });
    const result = await trainer.run({ validation: { set, rows: heldOut }, validateEvery: 0 });
    expect(result.history).toHaveLength(30);
    const last = result.history[29];
    // Running accuracy of the last epoch (train-mode BN, the weights as they moved).
    expect(last.trainAccuracy).toBeGreaterThan(90);
    expect(result.history[0].trainAccuracy).toBeLessThan(40); // it had to learn
    // The trained weights in eval mode (running statistics), by onnxruntime on the ONNX export.
    const onTrain = await trainer.evaluate({ set, rows: train });
    expect(onTrain.accuracy).toBeGreaterThan(90);
    expect(onTrain.accuracy).toBe(onTrain.nativeAccuracy);
    const onHeldOut = await trainer.evaluate({ set, rows: heldOut });
    expect(onHeldOut.accuracy).toBeGreaterThan(20);
    expect(onHeldOut.accuracy).toBe(onHeldOut.nativeAccuracy);
    expect(onHeldOut.comparison.maxAbsDiff).toBeLessThan(1e-3);
    // The last epoch's native validation is the same evaluation.
    expect(last.valAccuracy).toBe(onHeldOut.nativeAccuracy);
    console.log(
      `memorisation: train ${result.history.map((e) => e.trainAccuracy.toFixed(0)).join(' ')}; ` +
        `eval on train ${onTrain.accuracy.toFixed(1)}%, held-out ${onHeldOut.accuracy.toFixed(1)}%, ${result.seconds.toFixed(1)} s`,
    );
    trainer.dispose();
  });
});

describe('resuming from a checkpoint', () => {
  async function compare(config: () => TrainerConfig, stopAt: number, tag: string): Promise<void> {
    const whole = new Trainer(config());
    const full = await whole.run();
    const checkpoint = join(dir, `${tag}.ckpt`);
    const first = new Trainer(config());
    await first.run({ checkpoint, stopAfterEpoch: stopAt });
    first.dispose();
    const second = new Trainer(config());
    const resumed = await second.run({ checkpoint, resume: true });
    expect(resumed.startEpoch).toBe(stopAt);
    // Bit for bit: parameters (running statistics included) and momentum.
    expect(Buffer.from(second.network.getParams().buffer).equals(Buffer.from(whole.network.getParams().buffer))).toBe(true);
    expect(Buffer.from(second.sgd.buffer.buffer).equals(Buffer.from(whole.sgd.buffer.buffer))).toBe(true);
    expect(resumed.history.map(({ seconds, imagesPerSecond, ...rest }) => rest)).toEqual(
      full.history.map(({ seconds, imagesPerSecond, ...rest }) => rest),
    );
    second.dispose();
    // Different settings refuse the checkpoint, naming the setting.
    const other = config();
    const changed = new Trainer({ ...other, options: { ...other.options, lr: 0.07 } });
    await expect(changed.run({ checkpoint, resume: true })).rejects.toThrow(/lr = /);
    changed.dispose();
    whole.dispose();
  }

  it('NB201 with cutout and label smoothing ends with the uninterrupted run\'s exact weights', async () => {
    const rows = sampleRows(allRows(set.count), 96, 3);
    const spec = buildArchitecture('nb201', '13714', { channels: 8, cells: 1, seed: 2 });
    await compare(
      () => ({ spec, train: { set, rows }, preset: 'nb201', options: { epochs: 4, batchSize: 32, cutout: 8, labelSmoothing: 0.1, seed: 5 } }),
      2,
      'nb201',
    );
  });

  it('DARTS cells with drop-path end with the uninterrupted run\'s exact weights', async () => {
    const rows = sampleRows(allRows(set.count), 48, 4);
    const spec = buildArchitecture('darts', formatGenotype(DARTS_V2), { channels: 8, cells: 3, seed: 1 });
    await compare(
      () => ({ spec, train: { set, rows }, preset: 'search', options: { epochs: 3, batchSize: 16, dropPath: 0.3, seed: 6 } }),
      1,
      'darts',
    );
  });
});
