/**
 * The training-based evaluator (src/search/evaluators/train.ts) and the
 * `hnas train` command (src/cli/commands/train.ts), on tiny budgets: one or
 * two epochs of a few dozen images, to check the plumbing (splits, reports,
 * onnxruntime evaluation of the written model, checkpoints and --resume,
 * failures), not the learning — test/native/trainLoop.test.ts checks that.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { trainCommand } from '../../src/cli/commands/train.js';
import { cifarBatch, selectRows } from '../../src/io/cifar.js';
import { loadDefaultCifar10 } from '../../src/io/defaultData.js';
import { OrtModel } from '../../src/onnx/ortSession.js';
import { TrainEvaluator } from '../../src/search/evaluators/train.js';
import { validateEvaluation } from '../../src/search/types.js';
import { DARTS_V2, formatGenotype } from '../../src/spaces/darts/genotype.js';
import { sampleRows, splitRows } from '../../src/train/data.js';
import { allRows } from '../../src/train/datasets.js';
import { accuracyOf } from '../../src/train/evaluate.js';

const dir = mkdtempSync(join(tmpdir(), 'hnas-train-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = { nb201: { channels: 8, cells: 1 }, darts: { channels: 8, cells: 3 } };

describe('TrainEvaluator', () => {
  it('trains NB201 and DARTS candidates briefly and reports validation accuracy (onnxruntime) and cost', async () => {
    const progress: number[] = [];
    // 240 images in memory: 120 train (64 of them used), 120 validate.
    const data = selectRows(await loadDefaultCifar10(), sampleRows(allRows(1000), 240, 9));
    const evaluator = new TrainEvaluator({
      data,
      architecture: tiny,
      maxTrainImages: 64,
      train: { epochs: 1, batchSize: 32 },
      onProgress: (_c, p) => progress.push(p.step),
    });
    const nb = await evaluator.evaluate({ space: 'nb201', arch: '13714' }, { step: 0 });
    expect(validateEvaluation(nb, 'train evaluator')).toEqual(nb);
    expect(nb.cost).toBeGreaterThan(0);
    expect(nb.report).toMatchObject({ epochs: 1, train_images: 64, val_images: 120 });
    expect(nb.report!.native_val_accuracy).toBe(nb.accuracy);
    expect(progress).toEqual([0, 1]);
    const darts = await evaluator.evaluate({ space: 'darts', arch: formatGenotype(DARTS_V2) }, { step: 1 });
    expect(darts.accuracy).toBeGreaterThanOrEqual(0);
    expect(darts.accuracy).toBeLessThanOrEqual(100);
    expect(darts.report!.native_val_accuracy).toBe(darts.accuracy);
  });

  it('stops on the search\'s signal, times out as EvaluationError, and rejects drop-path on NB201', async () => {
    const evaluator = new TrainEvaluator({ architecture: tiny, maxTrainImages: 32, train: { epochs: 1, batchSize: 16 } });
    const aborted = new AbortController();
    aborted.abort(new Error('stop'));
    await expect(evaluator.evaluate({ space: 'nb201', arch: '13714' }, { step: 0, signal: aborted.signal })).rejects.toMatchObject({
      code: 'ERR_HNAS_ABORTED',
    });
    const slow = new TrainEvaluator({ architecture: tiny, maxTrainImages: 32, train: { epochs: 50, batchSize: 16 }, timeoutSeconds: 0.5 });
    await expect(slow.evaluate({ space: 'nb201', arch: '13714' }, { step: 0 })).rejects.toMatchObject({
      code: 'ERR_HNAS_EVALUATION_FAILED',
      reason: 'timeout',
    });
    const wrong = new TrainEvaluator({ architecture: tiny, train: { epochs: 1, dropPath: 0.2 } });
    await expect(wrong.evaluate({ space: 'nb201', arch: '13714' }, { step: 0 })).rejects.toThrow(/drop-path/);
    expect(() => new TrainEvaluator({ trainFraction: 1 })).toThrow(/trainFraction/);
  });
});

describe('hnas train', () => {
  let errors: string[];
  let logs: string[];
  beforeEach(() => {
    errors = [];
    logs = [];
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
  });
  afterEach(() => vi.restoreAllMocks());

  const run = (args: string[]) => trainCommand().exitOverride().parseAsync(args, { from: 'user' });

  it('writes the trained ONNX model, a JSON report, an SVG and a checkpoint; --resume continues it', async () => {
    const out = join(dir, 'nb.onnx');
    const args = ['13714', '--space', 'nb201', '--channels', '8', '--cells', '1', '--epochs', '2', '--batch', '32', '--train-images', '64', '--out', out];
    await run(args);
    for (const f of ['nb.onnx', 'nb.json', 'nb.svg', 'nb.onnx.ckpt']) expect(existsSync(join(dir, f))).toBe(true);
    const report = JSON.parse(readFileSync(join(dir, 'nb.json'), 'utf8'));
    expect(report.epochs).toHaveLength(2);
    expect(report.data).toMatchObject({ trainImages: 64, testImages: 500 });
    expect(report.settings).toMatchObject({ epochs: 2, batchSize: 32, nesterov: true, weightDecay: 5e-4 });
    expect(report.final.testAccuracy).toBe(report.final.nativeTestAccuracy);
    expect(readFileSync(join(dir, 'nb.svg'), 'utf8')).toMatch(/^<svg/);
    expect(errors.filter((l) => l.startsWith('epoch '))).toHaveLength(2);
    expect(logs.join('\n')).toMatch(/test accuracy/);

    // The written model, run independently on the test half, gives the reported accuracy.
    const set = await loadDefaultCifar10();
    const [, testRows] = splitRows(allRows(set.count), 0.5, 0);
    const batch = cifarBatch(set, testRows);
    const model = await OrtModel.load(out);
    const logits = await model.runBatched(batch.input, testRows.length);
    await model.dispose();
    expect(accuracyOf(logits, batch.labels)).toBe(report.final.testAccuracy);

    // An existing checkpoint is not overwritten without --resume; with it the finished run is reported again.
    await expect(run(args)).rejects.toThrow(/--resume/);
    await run([...args, '--resume']);
    const again = JSON.parse(readFileSync(join(dir, 'nb.json'), 'utf8'));
    expect(again.resumedFromEpoch).toBe(2);
    expect(again.final.testAccuracy).toBe(report.final.testAccuracy);
    // Other settings refuse the checkpoint.
    await expect(run([...args.map((a) => (a === '32' ? '16' : a)), '--resume'])).rejects.toThrow(/batchSize/);
  });

  it('trains a DARTS genotype with drop-path', async () => {
    const out = join(dir, 'darts.onnx');
    await run([formatGenotype(DARTS_V2), '--space', 'darts', '--channels', '8', '--cells', '3', '--epochs', '1', '--batch', '16', '--train-images', '32', '--cutout', '0', '--validate-every', '0', '--out', out]);
    const report = JSON.parse(readFileSync(join(dir, 'darts.json'), 'utf8'));
    expect(report.settings).toMatchObject({ dropPath: 0.2, gradClip: 5, schedule: 'epoch' });
    expect(report.network.dropPathTensors).toBeGreaterThan(0);
    expect(report.final.testAccuracy).toBe(report.final.nativeTestAccuracy);
  });
});
