/**
 * The learning-rate schedule: linear warm-up, then cosine annealing from
 * `lr` down to `lrMin`, evaluated per optimiser step or per epoch.
 *
 * In units u (steps, or epochs) out of U, with W warm-up units:
 *
 *   u < W:   lr(u) = lr · (u + 1) / (W + 1)
 *   u ≥ W:   lr(u) = lrMin + (lr − lrMin) · (1 + cos(π · (u − W) / (U − W))) / 2
 *
 * so the warm-up rises in equal steps to just below `lr`, the first cosine
 * unit is `lr`, and the last unit (u = U − 1) is one cosine step above
 * `lrMin` — PyTorch's CosineAnnealingLR(T_max = U − W, eta_min = lrMin)
 * stepped once per unit after the warm-up. Per step, u = epoch · S + step
 * and U = epochs · S (S steps per epoch), W = warmupEpochs · S: the
 * fractional-epoch cosine NAS-Bench-201's training uses. Per epoch,
 * u = epoch, U = epochs, W = warmupEpochs: DARTS' schedule (DARTS calls
 * scheduler.step() before each epoch, which with the PyTorch of its time
 * gave epoch e the rate of e + 1; here epoch 0 gets `lr`).
 */
import { InvalidArgumentError } from '../errors.js';

export type SchedulePer = 'step' | 'epoch';

export interface LrScheduleOptions {
  /** Peak (initial) learning rate, > 0. */
  lr: number;
  /** Floor of the cosine, 0 ≤ lrMin ≤ lr. */
  lrMin: number;
  epochs: number;
  stepsPerEpoch: number;
  /** Whole epochs of linear warm-up (0: none); less than epochs. */
  warmupEpochs: number;
  per: SchedulePer;
}

export class LrSchedule {
  readonly options: Readonly<LrScheduleOptions>;
  readonly #units: number;
  readonly #warmup: number;

  constructor(options: LrScheduleOptions) {
    const { lr, lrMin, epochs, stepsPerEpoch, warmupEpochs, per } = options;
    if (!(Number.isFinite(lr) && lr > 0)) throw new InvalidArgumentError(`learning rate must be a finite number > 0, got ${lr}`);
    if (!(Number.isFinite(lrMin) && lrMin >= 0 && lrMin <= lr)) {
      throw new InvalidArgumentError(`minimum learning rate must lie in [0, lr = ${lr}], got ${lrMin}`);
    }
    if (!(Number.isInteger(epochs) && epochs >= 1)) throw new InvalidArgumentError(`epochs must be an integer ≥ 1, got ${epochs}`);
    if (!(Number.isInteger(stepsPerEpoch) && stepsPerEpoch >= 1)) {
      throw new InvalidArgumentError(`steps per epoch must be an integer ≥ 1, got ${stepsPerEpoch}`);
    }
    if (!(Number.isInteger(warmupEpochs) && warmupEpochs >= 0 && warmupEpochs < epochs)) {
      throw new InvalidArgumentError(`warm-up epochs must be an integer in [0, epochs = ${epochs}), got ${warmupEpochs}`);
    }
    if (per !== 'step' && per !== 'epoch') throw new InvalidArgumentError(`schedule must be "step" or "epoch", got "${String(per)}"`);
    this.options = Object.freeze({ ...options });
    const scale = per === 'step' ? stepsPerEpoch : 1;
    this.#units = epochs * scale;
    this.#warmup = warmupEpochs * scale;
  }

  /** The learning rate of optimiser step `step` (0-based) of epoch `epoch` (0-based). */
  at(epoch: number, step: number): number {
    const { lr, lrMin, epochs, stepsPerEpoch, per } = this.options;
    if (!(Number.isInteger(epoch) && epoch >= 0 && epoch < epochs)) {
      throw new InvalidArgumentError(`LrSchedule.at: epoch must be an integer in [0, ${epochs}), got ${epoch}`);
    }
    if (!(Number.isInteger(step) && step >= 0 && step < stepsPerEpoch)) {
      throw new InvalidArgumentError(`LrSchedule.at: step must be an integer in [0, ${stepsPerEpoch}), got ${step}`);
    }
    const u = per === 'step' ? epoch * stepsPerEpoch + step : epoch;
    const w = this.#warmup;
    if (u < w) return (lr * (u + 1)) / (w + 1);
    return lrMin + ((lr - lrMin) * (1 + Math.cos((Math.PI * (u - w)) / (this.#units - w)))) / 2;
  }
}
