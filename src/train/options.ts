/**
 * Training settings and the recipes they default to.
 *
 *  - `nb201`: NAS-Bench-201's training (AutoDL): SGD lr 0.1, Nesterov momentum
 *    0.9, weight decay 5e-4, batch 256, cosine to 0 per step, 200 epochs,
 *    crop + flip, no clipping.
 *  - `darts`: DARTS' evaluation training (train.py): SGD lr 0.025, momentum
 *    0.9, weight decay 3e-4, batch 96, cosine to 0 per epoch, 600 epochs,
 *    gradient clip 5, drop-path 0.2 (rising linearly), cutout 16, auxiliary
 *    head with loss weight 0.4.
 *  - `search`: the short training of the hybrid search's train evaluator,
 *    from the HNAS paper's DARTS-space search: 10 epochs, SGD lr 0.1 cosine
 *    to 5e-3 per epoch, momentum 0.9, weight decay 3e-4, clip 5, drop-path
 *    0 → 0.2, batch 64, crop + flip, no auxiliary head.
 */
import { InvalidArgumentError } from '../errors.js';
import type { SchedulePer } from './schedule.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Floor of the cosine schedule. */
  lrMin: number;
  /** Whole epochs of linear warm-up. */
  warmupEpochs: number;
  /** Learning rate evaluated per optimiser step or per epoch (src/train/schedule.ts). */
  schedule: SchedulePer;
  momentum: number;
  nesterov: boolean;
  /** Coupled L2 weight decay on every trainable parameter. */
  weightDecay: number;
  /** Global gradient-norm clip, or null. */
  gradClip: number | null;
  /** Label smoothing ε of the cross-entropy. */
  labelSmoothing: number;
  /**
   * Weight of DARTS' auxiliary-head loss (loss = CE(main) + w·CE(auxiliary));
   * 0 trains without the head. DARTS networks only.
   */
  auxiliaryWeight: number;
  /** Final drop-path probability (DARTS cells only); epoch e uses dropPath·e/epochs. */
  dropPath: number;
  /** Random crop with 4-pixel padding. */
  crop: boolean;
  /** Random horizontal flip. */
  flip: boolean;
  /** Cutout side length (0: off). */
  cutout: number;
  /** Drop the last incomplete batch of an epoch. */
  dropLast: boolean;
  /** Seed of the shuffling, augmentation and drop-path streams. */
  seed: number;
}

export type TrainPresetName = 'nb201' | 'darts' | 'search';
export const TRAIN_PRESET_NAMES: readonly TrainPresetName[] = ['nb201', 'darts', 'search'];

const COMMON = { warmupEpochs: 0, labelSmoothing: 0, crop: true, flip: true, dropLast: false, seed: 0, auxiliaryWeight: 0 } as const;

export const TRAIN_PRESETS: Readonly<Record<TrainPresetName, Readonly<TrainOptions>>> = Object.freeze({
  nb201: Object.freeze({
    ...COMMON,
    epochs: 200, batchSize: 256, lr: 0.1, lrMin: 0, schedule: 'step', momentum: 0.9, nesterov: true,
    weightDecay: 5e-4, gradClip: null, dropPath: 0, cutout: 0,
  }),
  darts: Object.freeze({
    ...COMMON,
    epochs: 600, batchSize: 96, lr: 0.025, lrMin: 0, schedule: 'epoch', momentum: 0.9, nesterov: false,
    weightDecay: 3e-4, gradClip: 5, dropPath: 0.2, cutout: 16, auxiliaryWeight: 0.4,
  }),
  search: Object.freeze({
    ...COMMON,
    epochs: 10, batchSize: 64, lr: 0.1, lrMin: 5e-3, schedule: 'epoch', momentum: 0.9, nesterov: false,
    weightDecay: 3e-4, gradClip: 5, dropPath: 0.2, cutout: 0,
  }),
});

/** A preset with overrides, every value checked (InvalidArgumentError names the setting). */
export function resolveTrainOptions(overrides: Partial<TrainOptions> = {}, preset: TrainPresetName = 'search'): TrainOptions {
  const base = TRAIN_PRESETS[preset];
  if (!base) throw new InvalidArgumentError(`unknown training preset "${String(preset)}" (expected ${TRAIN_PRESET_NAMES.join(', ')})`);
  const o: TrainOptions = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in base)) throw new InvalidArgumentError(`unknown training setting "${key}"`);
    (o as unknown as Record<string, unknown>)[key] = value;
  }
  const int = (name: keyof TrainOptions, min: number) => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got ${String(v)}`);
  };
  const num = (name: keyof TrainOptions, ok: (v: number) => boolean, range: string) => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new InvalidArgumentError(`${name} must be ${range}, got ${String(v)}`);
  };
  const bool = (name: keyof TrainOptions) => {
    if (typeof o[name] !== 'boolean') throw new InvalidArgumentError(`${name} must be a boolean, got ${String(o[name])}`);
  };
  int('epochs', 1);
  int('batchSize', 1);
  num('lr', (v) => v > 0, 'a number > 0');
  num('lrMin', (v) => v >= 0 && v <= o.lr, `a number in [0, lr = ${o.lr}]`);
  int('warmupEpochs', 0);
  if (o.warmupEpochs >= o.epochs) throw new InvalidArgumentError(`warmupEpochs (${o.warmupEpochs}) must be less than epochs (${o.epochs})`);
  if (o.schedule !== 'step' && o.schedule !== 'epoch') throw new InvalidArgumentError(`schedule must be "step" or "epoch", got "${String(o.schedule)}"`);
  num('momentum', (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  bool('nesterov');
  if (o.nesterov && o.momentum === 0) throw new InvalidArgumentError('nesterov needs momentum > 0');
  num('weightDecay', (v) => v >= 0, 'a number ≥ 0');
  if (o.gradClip !== null) num('gradClip', (v) => v > 0, 'a number > 0 (or null: no clipping)');
  num('labelSmoothing', (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  num('auxiliaryWeight', (v) => v >= 0, 'a number ≥ 0');
  num('dropPath', (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  bool('crop');
  bool('flip');
  int('cutout', 0);
  if (o.cutout > 32) throw new InvalidArgumentError(`cutout must be at most 32 pixels, got ${o.cutout}`);
  bool('dropLast');
  int('seed', 0);
  return o;
}
