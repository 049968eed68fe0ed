/**
 * `hnas train <arch> --space nb201|darts [--data DIR] --epochs E --out model.onnx`:
 * full training of one architecture on the native engine (src/train/).
 *
 * Data: with --data, the official CIFAR training files train and the test
 * file tests; without it, the bundled 1,000-image CIFAR-10 sample is split
 * (seeded, --split-seed) into 500 training and 500 test images. Settings
 * default to the space's recipe (--preset: nb201 = NAS-Bench-201's, darts =
 * DARTS' evaluation training) and every one can be overridden.
 *
 * Outputs: the trained model as ONNX (--out, atomically), a checkpoint
 * rewritten atomically after every epoch (--checkpoint, default <out>.ckpt;
 * --resume continues from it), a JSON report with the per-epoch curves and
 * the final test accuracy (--report, default <out without .onnx>.json) and
 * an SVG of the accuracy curves (--svg, default <out without .onnx>.svg).
 * The final test accuracy is onnxruntime's on the exported model,
 * cross-checked against the native forward. Progress: one live line on a
 * terminal (epoch, step, loss, accuracy, images/s, ETA) and one line per
 * epoch on stderr. Ctrl-C stops after the step in flight; the last epoch's
 * checkpoint stays for --resume.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import type { GraphSpec } from '../../engine/graphSpec.js';
import { AbortedError, FileNotFoundError, InvalidArgumentError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import { writeOnnxFile } from '../../onnx/exportOnnx.js';
import { lineChartSvg, writeSvgAtomic } from '../../plot/index.js';
import { DATASETS, SPACES, buildArchitecture, type SpaceName } from '../../spaces/architecture.js';
import { INIT_SCHEMES, type InitScheme } from '../../spaces/init.js';
import { sampleRows, splitRows } from '../../train/data.js';
import { allRows, loadCifarData } from '../../train/datasets.js';
import { TRAIN_PRESET_NAMES, resolveTrainOptions, type TrainOptions, type TrainPresetName } from '../../train/options.js';
import { Trainer, type EpochRecord, type TrainProgress } from '../../train/trainer.js';
import { DEVICES, engineDevice, type Device, type ResolvedDevice } from '../../native/device.js';
import { DEVICE_OPTION_HELP, choiceOption, intOption } from '../options.js';
import { formatDuration } from '../progress.js';
import { interruptSignal } from '../searchSetup.js';

interface TrainCliOptions {
  device?: Device;
  space: SpaceName;
  out: string;
  data?: string;
  dataset?: 'cifar10' | 'cifar100';
  preset?: TrainPresetName;
  epochs?: number;
  batch?: number;
  lr?: number;
  lrMin?: number;
  warmup?: number;
  schedule?: 'step' | 'epoch';
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  clip?: number | null;
  labelSmoothing?: number;
  dropPath?: number;
  auxiliaryWeight?: number;
  cutout?: number;
  crop: boolean;
  flip: boolean;
  seed?: number;
  channels?: number;
  cells?: number;
  initSeed: number;
  init: InitScheme;
  dtype: 'float32' | 'float64';
  trainImages?: number;
  splitSeed: number;
  validateEvery: number;
  checkpoint?: string;
  resume?: boolean;
  report?: string;
  svg?: string;
}

function numberOption(name: string, check: (v: number) => boolean = () => true, range = 'a number') {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new InvalidArgumentError(`${name} must be ${range}, got "${value}"`);
    return n;
  };
}

function clipOption(value: string): number | null {
  if (value === 'none' || value === 'off') return null;
  return numberOption('--clip', (v) => v > 0, 'a number > 0 or "none"')(value);
}

/** `model.onnx` → `model`, for the default names of the other outputs. */
function stem(out: string): string {
  return out.toLowerCase().endsWith('.onnx') ? out.slice(0, -5) : out;
}

export function trainCommand(): Command {
  return new Command('train')
    .description('train an architecture on CIFAR with the native engine; export the trained model as ONNX')
    .argument('<arch>', 'NB201: architecture string or benchmark index; DARTS: Genotype(...) text, or @file holding it')
    .requiredOption('-o, --out <file>', 'the trained model, as ONNX (written atomically)')
    .option('-s, --space <space>', `search space: ${SPACES.join(' | ')}`, choiceOption('--space', SPACES), 'nb201')
    .option('--data <dir>', 'folder with the official CIFAR binary files (default: the bundled 1,000-image sample, split in two)')
    .option('--dataset <name>', 'with --data: cifar10 | cifar100 (default: whichever is found)', choiceOption('--dataset', ['cifar10', 'cifar100'] as const))
    .option('--preset <name>', `training recipe: ${TRAIN_PRESET_NAMES.join(' | ')} (default: the space's, nb201 or darts)`, choiceOption('--preset', TRAIN_PRESET_NAMES))
    .option('-E, --epochs <E>', 'epochs (preset: nb201 200, darts 600, search 10)', intOption('--epochs', 1))
    .option('-b, --batch <N>', 'batch size (preset: nb201 256, darts 96, search 64)', intOption('--batch', 1))
    .option('--lr <rate>', 'peak learning rate', numberOption('--lr', (v) => v > 0, 'a number > 0'))
    .option('--lr-min <rate>', 'floor of the cosine schedule', numberOption('--lr-min', (v) => v >= 0, 'a number ≥ 0'))
    .option('--warmup <E>', 'epochs of linear warm-up', intOption('--warmup', 0))
    .option('--schedule <per>', 'learning rate per optimiser step or per epoch', choiceOption('--schedule', ['step', 'epoch'] as const))
    .option('--momentum <μ>', 'SGD momentum', numberOption('--momentum', (v) => v >= 0 && v < 1, 'a number in [0, 1)'))
    .option('--nesterov', 'Nesterov momentum')
    .option('--no-nesterov', 'plain (heavy-ball) momentum')
    .option('--weight-decay <wd>', 'L2 weight decay on every trainable parameter', numberOption('--weight-decay', (v) => v >= 0, 'a number ≥ 0'))
    .option('--clip <norm>', 'global gradient-norm clip, or "none"', clipOption)
    .option('--label-smoothing <ε>', 'label smoothing of the cross-entropy', numberOption('--label-smoothing', (v) => v >= 0 && v < 1, 'a number in [0, 1)'))
    .option('--drop-path <p>', 'final drop-path probability (DARTS cells; rises linearly from 0)', numberOption('--drop-path', (v) => v >= 0 && v < 1, 'a number in [0, 1)'))
    .option(
      '--auxiliary-weight <w>',
      "weight of DARTS' auxiliary-head loss (preset darts: 0.4; 0: no head); the head is training-only and not exported",
      numberOption('--auxiliary-weight', (v) => v >= 0, 'a number ≥ 0'),
    )
    .option('--cutout <px>', 'cutout side length (0: off)', intOption('--cutout', 0))
    .option('--no-crop', 'no random crop')
    .option('--no-flip', 'no random horizontal flip')
    .option('--seed <n>', 'seed of shuffling, augmentation and drop-path', intOption('--seed', 0))
    .option('--channels <C>', 'initial channels (NB201 default 16; DARTS default 36)', intOption('--channels', 1))
    .option('--cells <N>', 'NB201: cells per stage (default 5); DARTS: total cells (default 20)', intOption('--cells', 1))
    .option('--init-seed <n>', 'initialisation seed', intOption('--init-seed', 0), 0)
    .option('--init <scheme>', `initialisation: ${INIT_SCHEMES.join(' | ')}`, choiceOption('--init', INIT_SCHEMES), 'pytorch')
    .option('--dtype <dtype>', 'float32 | float64', choiceOption('--dtype', ['float32', 'float64'] as const), 'float32')
    .option('--train-images <N>', 'train on a seeded subset of N training images', intOption('--train-images', 1))
    .option('--split-seed <n>', 'bundled sample: seed of the train/test split', intOption('--split-seed', 0), 0)
    .option('--validate-every <E>', 'test accuracy (native forward) every E epochs; 0: only at the end', intOption('--validate-every', 0), 1)
    .option('--checkpoint <file>', 'checkpoint, rewritten atomically every epoch (default <out>.ckpt)')
    .option('--resume', 'continue from the checkpoint')
    .option('--report <file>', 'JSON report (default <out without .onnx>.json)')
    .option('--svg <file>', 'learning curves as SVG (default <out without .onnx>.svg)')
    .option('--device <device>', DEVICE_OPTION_HELP, choiceOption('--device', DEVICES))
    .action(async (arch: string, o: TrainCliOptions) => {
      await runTrain(arch, o, engineDevice(o.device));
    });
}

async function runTrain(arch: string, o: TrainCliOptions, device: ResolvedDevice): Promise<void> {
  let text = arch;
  if (arch.startsWith('@')) {
    const path = arch.slice(1);
    text = await readFile(path, 'utf8').catch((cause) => {
      throw new FileNotFoundError(path, { cause });
    });
  }
  text = text.trim();
  const checkpoint = o.checkpoint ?? `${o.out}.ckpt`;
  const reportPath = o.report ?? `${stem(o.out)}.json`;
  const svgPath = o.svg ?? `${stem(o.out)}.svg`;
  if (existsSync(checkpoint) && !o.resume) {
    throw new InvalidArgumentError(`checkpoint ${checkpoint} exists: pass --resume to continue that training, or remove it to start afresh`);
  }

  const data = await loadCifarData(o.data, { dataset: o.dataset });
  let trainRows: Int32Array;
  let test: { set: typeof data.train; rows: Int32Array };
  if (data.test) {
    trainRows = allRows(data.train.count);
    test = { set: data.test, rows: allRows(data.test.count) };
  } else {
    const [a, b] = splitRows(allRows(data.train.count), 0.5, o.splitSeed);
    trainRows = a;
    test = { set: data.train, rows: b };
  }
  if (o.trainImages !== undefined) trainRows = sampleRows(trainRows, o.trainImages, o.splitSeed + 1);

  const numClasses = data.dataset === 'cifar100' ? 100 : DATASETS.cifar10.numClasses;
  const preset: TrainPresetName = o.preset ?? (o.space === 'darts' ? 'darts' : 'nb201');
  const overrides: Partial<TrainOptions> = {
    epochs: o.epochs,
    batchSize: o.batch,
    lr: o.lr,
    lrMin: o.lrMin,
    warmupEpochs: o.warmup,
    schedule: o.schedule,
    momentum: o.momentum,
    nesterov: o.nesterov,
    weightDecay: o.weightDecay,
    gradClip: o.clip,
    labelSmoothing: o.labelSmoothing,
    dropPath: o.dropPath ?? (o.space === 'nb201' ? 0 : undefined),
    auxiliaryWeight: o.auxiliaryWeight ?? (o.space === 'nb201' ? 0 : undefined),
    cutout: o.cutout,
    crop: o.crop,
    flip: o.flip,
    seed: o.seed,
  };
  const auxiliary = resolveTrainOptions(overrides, preset).auxiliaryWeight > 0;
  const archOptions = { channels: o.channels, cells: o.cells, numClasses, seed: o.initSeed, init: o.init };
  const spec = buildArchitecture(o.space, text, { ...archOptions, auxiliary });
  const trainer = new Trainer({
    spec,
    device,
    evalSpec: auxiliary ? buildArchitecture(o.space, text, archOptions) : undefined,
    name: o.space === 'nb201' ? `nb201 ${text}` : 'darts genotype',
    dtype: o.dtype,
    train: { set: data.train, rows: trainRows, stats: data.stats },
    options: overrides,
    preset,
  });
  const opts = trainer.options;
  const live = process.stderr.isTTY === true;
  console.error(
    `hnas train: ${o.space} network, ${trainableCount(trainer.evalSpec).toLocaleString('en-US')} parameters` +
      (trainer.heads
        ? ` (+${(trainer.network.numTrainable - trainableCount(trainer.evalSpec)).toLocaleString('en-US')} in the auxiliary head, loss weight ${opts.auxiliaryWeight}), `
        : ', ') +
      `${trainRows.length} training / ${test.rows.length} test images (${data.source}), ${opts.epochs} epochs of ` +
      `${trainer.plan.stepsPerEpoch} steps, batch ${opts.batchSize}, lr ${opts.lr} → ${opts.lrMin} per ${opts.schedule}` +
      `${o.resume && existsSync(checkpoint) ? `, resuming from ${checkpoint}` : ''}`,
  );
  let lastDraw = 0;
  const onProgress = (p: TrainProgress) => {
    if (!live) return;
    const now = performance.now();
    if (now - lastDraw < 200 && p.step + 1 < p.steps) return;
    lastDraw = now;
    process.stderr.write(
      `\r\x1b[2Kepoch ${p.epoch + 1}/${p.epochs} step ${p.step + 1}/${p.steps} loss ${p.loss.toFixed(4)} ` +
        `acc ${p.accuracy.toFixed(1)}% lr ${p.lr.toPrecision(3)} ${p.imagesPerSecond.toFixed(0)} img/s ETA ${formatDuration(p.etaSeconds)}`,
    );
  };
  const onEpoch = (e: EpochRecord) => {
    if (live) process.stderr.write('\r\x1b[2K');
    const tested = e.valAccuracy === undefined ? '' : `, test ${e.valAccuracy.toFixed(2)}% (loss ${e.valLoss!.toFixed(4)})`;
    console.error(
      `epoch ${e.epoch + 1}/${opts.epochs}: loss ${e.trainLoss.toFixed(4)}, train ${e.trainAccuracy.toFixed(2)}%${tested}, ` +
        `${e.imagesPerSecond.toFixed(0)} img/s, ${e.seconds.toFixed(1)} s`,
    );
  };
  const interrupt = interruptSignal();
  try {
    const result = await trainer.run({
      checkpoint,
      resume: o.resume,
      validation: { ...test, stats: data.stats },
      validateEvery: o.validateEvery,
      signal: interrupt.signal,
      onProgress,
      onEpoch,
      onWarning: (message) => console.error(`hnas train: warning: ${message}`),
    });
    const final = await trainer.evaluate({ ...test, stats: data.stats });
    await writeOnnxFile(trainer.trainedSpec(), o.out, { docString: `hnas train --space ${o.space} ${text}` });
    const last = result.history[result.history.length - 1];
    const report = {
      command: 'train',
      space: o.space,
      arch: text,
      network: {
        channels: o.channels ?? null,
        cells: o.cells ?? null,
        init: o.init,
        initSeed: o.initSeed,
        dtype: trainer.network.dtype,
        // The exported network's trainable parameters (DARTS counts them without the auxiliary head).
        params: trainableCount(trainer.evalSpec),
        auxiliaryHead: trainer.heads !== undefined,
        trainedParams: trainer.network.numTrainable,
        macsPerSample: trainer.network.macsPerSample,
        dropPathTensors: trainer.dropPathTensors.length,
      },
      data: { source: data.source, dataset: data.dataset, trainImages: trainRows.length, testImages: test.rows.length },
      preset,
      settings: opts,
      epochs: result.history,
      final: {
        testAccuracy: final.accuracy,
        nativeTestAccuracy: final.nativeAccuracy,
        testLoss: final.loss,
        maxLogitDifference: final.comparison.maxAbsDiff,
        trainAccuracy: last?.trainAccuracy ?? null,
        trainLoss: last?.trainLoss ?? null,
      },
      trainingSeconds: result.seconds,
      resumedFromEpoch: result.startEpoch,
      outputs: { onnx: o.out, checkpoint, svg: svgPath },
    };
    await writeFileAtomic(reportPath, `${JSON.stringify(report, null, 2)}\n`);
    const series = [{ name: 'train', points: result.history.map((e) => ({ x: e.epoch + 1, y: e.trainAccuracy })) }];
    const tested = result.history.filter((e) => e.valAccuracy !== undefined);
    if (tested.length > 0) series.push({ name: 'test', points: tested.map((e) => ({ x: e.epoch + 1, y: e.valAccuracy as number })) });
    await writeSvgAtomic(
      svgPath,
      await lineChartSvg({ series, title: `hnas train: ${o.space} ${o.space === 'nb201' ? text : 'genotype'}`, xTitle: 'epoch', yTitle: 'accuracy (%)', showPoints: true }),
    );
    console.log(
      `test accuracy ${final.accuracy.toFixed(2)}% (onnxruntime; native ${final.nativeAccuracy.toFixed(2)}%) on ${final.count} images after ` +
        `${result.epochsDone} epochs (${formatDuration(result.seconds)} of training); wrote ${o.out}, ${reportPath}, ${svgPath}`,
    );
  } catch (error) {
    if (live) process.stderr.write('\r\x1b[2K');
    if (error instanceof AbortedError) {
      throw new AbortedError(`${error.message}; the checkpoint of the last finished epoch is ${checkpoint}: continue with --resume`, { cause: error });
    }
    throw error;
  } finally {
    interrupt.dispose();
    trainer.dispose();
  }
}

function trainableCount(spec: GraphSpec): number {
  return spec.params.reduce((sum, p) => (p.kind === 'bn_running_mean' || p.kind === 'bn_running_var' ? sum : sum + p.data.length), 0);
}
