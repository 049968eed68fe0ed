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
import { accuracyOf, mainLogits, meanCrossEntropy } from '../../src/train/evaluate.js';
import { Network } from '../../src/engine/network.js';
import { cifarBatch } from '../../src/io/cifar.js';

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

  it('DARTS cells with drop-path and the auxiliary head end with the uninterrupted run\'s exact weights', async () => {
    const rows = sampleRows(allRows(set.count), 48, 4);
    const arch = { channels: 8, cells: 3, seed: 1 };
    const spec = buildArchitecture('darts', formatGenotype(DARTS_V2), { ...arch, auxiliary: true });
    const evalSpec = buildArchitecture('darts', formatGenotype(DARTS_V2), arch);
    await compare(
      () => ({ spec, evalSpec, train: { set, rows }, preset: 'search', options: { epochs: 3, batchSize: 16, dropPath: 0.3, auxiliaryWeight: 0.4, seed: 6 } }),
      1,
      'darts',
    );
  });
});

describe('DARTS training with the auxiliary head', () => {
  const arch = { channels: 8, cells: 3, seed: 1 };
  const text = formatGenotype(DARTS_V2);

  it('trains on CE + w·CE_aux, reports the main head, and evaluates and exports the network without the head', async () => {
    const heldOut = { set, rows: sampleRows(allRows(set.count), 50, 8) };
    const spec = buildArchitecture('darts', text, { ...arch, auxiliary: true });
    const evalSpec = buildArchitecture('darts', text, arch);
    // One epoch of one batch: its recorded loss and accuracy are those of the initial weights on
    // these 16 images (no augmentation; BN batch statistics and the means ignore the order).
    const rows = sampleRows(allRows(set.count), 16, 7);
    const trainer = new Trainer({
      spec,
      evalSpec,
      train: { set, rows },
      preset: 'search',
      options: { epochs: 1, batchSize: 16, dropPath: 0, crop: false, flip: false, auxiliaryWeight: 0.4, seed: 3 },
    });
    const fresh = Network.create(spec, { dtype: 'float32', name: 'initial weights' });
    try {
      expect(trainer.heads).toEqual([
        { offset: 0, count: 10, weight: 1 },
        { offset: 10, count: 10, weight: 0.4 },
      ]);
      expect(trainer.network.numClasses).toBe(20);
      expect(trainer.numClasses).toBe(10);
      const batch = cifarBatch(set, rows);
      const logits = await fresh.forward(batch.input, { bn: 'train' });
      const n = rows.length;
      const main = mainLogits(logits, n, 10);
      const aux = Float64Array.from({ length: n * 10 }, (_, i) => logits[Math.floor(i / 10) * 20 + 10 + (i % 10)]);
      const expected = meanCrossEntropy(main, batch.labels) + 0.4 * meanCrossEntropy(aux, batch.labels);
      const result = await trainer.run({ validation: heldOut });
      expect(Math.abs(result.history[0].trainLoss - expected)).toBeLessThan(1e-5 * expected);
      expect(result.history[0].trainAccuracy).toBe(accuracyOf(main, batch.labels));
      // The exported network has the evaluation parameters only, with the trained values.
      const trained = trainer.trainedSpec();
      expect(trained.params.map((p) => p.name)).toEqual(evalSpec.params.map((p) => p.name));
      expect(trained.output.shape).toEqual([10]);
      const stem = trainer.network.params.find((p) => p.name === 'stem.0.weight')!;
      expect(Array.from(trained.params.find((p) => p.name === 'stem.0.weight')!.data)).toEqual(
        Array.from(trainer.network.getParams().subarray(stem.offset, stem.offset + stem.size)),
      );
      // onnxruntime on that export agrees with the native forward, and with the epoch's validation.
      const evaluation = await trainer.evaluate(heldOut);
      expect(evaluation.accuracy).toBe(evaluation.nativeAccuracy);
      expect(evaluation.count).toBe(50);
      expect(result.history[0].valAccuracy).toBe(evaluation.nativeAccuracy);
    } finally {
      trainer.dispose();
      fresh.dispose();
    }
  });

  it('refuses an auxiliary weight without a head, and a head without a weight', () => {
    const rows = sampleRows(allRows(set.count), 16, 1);
    const spec = buildArchitecture('darts', text, { ...arch, auxiliary: true });
    const evalSpec = buildArchitecture('darts', text, arch);
    expect(() => new Trainer({ spec: evalSpec, train: { set, rows }, options: { auxiliaryWeight: 0.4 } })).toThrow(/needs a network with an auxiliary head/);
    expect(() => new Trainer({ spec, evalSpec, train: { set, rows }, options: { auxiliaryWeight: 0 } })).toThrow(/needs auxiliaryWeight > 0/);
    expect(() => buildArchitecture('nb201', '13714', { auxiliary: true })).toThrow(/DARTS networks only/);
  });
});
