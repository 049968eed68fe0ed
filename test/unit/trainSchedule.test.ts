/**
 * The learning-rate schedule point by point, the SGD update rule on a
 * hand-worked vector (float32 rounding included), and the training settings.
 * Pure TypeScript: the update on the engine's gradient of a real network is
 * in test/native/trainStep.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { LrSchedule } from '../../src/train/schedule.js';
import { Sgd } from '../../src/train/sgd.js';
import { TRAIN_PRESETS, resolveTrainOptions } from '../../src/train/options.js';
import { expectAllClose } from '../helpers/allClose.js';

const EXACT = { atol: 0, rtol: 4e-16 };

describe('LrSchedule', () => {
  it('per step: linear warm-up over one epoch, then cosine from lr to lrMin', () => {
    // lr 0.1 → 0.005, 4 epochs × 3 steps, 1 warm-up epoch: U = 12 units, W = 3.
    const s = new LrSchedule({ lr: 0.1, lrMin: 0.005, epochs: 4, stepsPerEpoch: 3, warmupEpochs: 1, per: 'step' });
    const got: number[] = [];
    for (let e = 0; e < 4; e++) for (let k = 0; k < 3; k++) got.push(s.at(e, k));
    // u < 3: 0.1·(u+1)/4. u ≥ 3: 0.005 + 0.095·(1 + cos(π(u−3)/9))/2; u = 6 and 9 are cos = ±½:
    // 0.005 + 0.095·0.75 = 0.07625 and 0.005 + 0.095·0.25 = 0.02875.
    const want = [
      0.025, 0.05, 0.075, 0.1, 0.09713539948733066, 0.08888711104815146, 0.07625, 0.0607482884391792,
      0.044251711560820806, 0.02875, 0.01611288895184855, 0.007864600512669354,
    ];
    expectAllClose(got, want, { atol: 1e-17, rtol: 1e-15 }, 'per-step learning rates');
  });

  it('per epoch: every step of an epoch has that epoch\'s rate; DARTS cosine to 0 without warm-up', () => {
    const s = new LrSchedule({ lr: 0.025, lrMin: 0, epochs: 5, stepsPerEpoch: 7, warmupEpochs: 0, per: 'epoch' });
    const want = [0.025, 0.022612712429686845, 0.016362712429686843, 0.008637287570313158, 0.0023872875703131583];
    for (let e = 0; e < 5; e++) {
      for (let k = 0; k < 7; k++) expectAllClose([s.at(e, k)], [want[e]], { atol: 1e-18, rtol: 1e-15 }, `epoch ${e} step ${k}`);
    }
  });

  it('is constant when lrMin = lr, and rejects bad settings and positions', () => {
    const s = new LrSchedule({ lr: 0.3, lrMin: 0.3, epochs: 2, stepsPerEpoch: 2, warmupEpochs: 0, per: 'step' });
    expect([s.at(0, 0), s.at(0, 1), s.at(1, 0), s.at(1, 1)]).toEqual([0.3, 0.3, 0.3, 0.3]);
    const base = { lr: 0.1, lrMin: 0, epochs: 3, stepsPerEpoch: 2, warmupEpochs: 0, per: 'step' } as const;
    expect(() => new LrSchedule({ ...base, lrMin: 0.2 })).toThrow(/minimum learning rate/);
    expect(() => new LrSchedule({ ...base, warmupEpochs: 3 })).toThrow(/warm-up/);
    expect(() => new LrSchedule({ ...base, lr: 0 })).toThrow(/learning rate/);
    expect(() => new LrSchedule(base).at(3, 0)).toThrow(/epoch/);
    expect(() => new LrSchedule(base).at(0, 2)).toThrow(/step/);
  });
});

describe('Sgd', () => {
  it('one step, by hand: clipping of the global norm, weight decay, momentum; non-trainable entries untouched', () => {
    // Trainable: entries 0..2 and 4; entry 3 (a running statistic) is not.
    const sgd = new Sgd([{ offset: 0, size: 3 }, { offset: 4, size: 1 }], 5, 'float64', { momentum: 0.5, weightDecay: 0.1, clip: 2.5 });
    const p = Float64Array.from([1, -2, 0.5, 7, 4]);
    const g = Float64Array.from([3, 0, -4, 100, 0]); // ‖g‖ over trainable = 5 → clip coefficient 2.5/(5 + 1e-6)
    const info = sgd.step(p, g, 0.2);
    const c = 2.5 / (5 + 1e-6);
    expect(info.gradNorm).toBe(5);
    expect(info.clipCoef).toBe(c);
    // d = c·g + 0.1·θ; first step b = d; θ ← θ − 0.2·b.
    const d = [c * 3 + 0.1, c * 0 - 0.2, c * -4 + 0.05, 0, 0 + 0.4];
    expectAllClose(sgd.buffer, d, EXACT, 'buffer after step 1');
    expectAllClose(p, [1 - 0.2 * d[0], -2 - 0.2 * d[1], 0.5 - 0.2 * d[2], 7, 4 - 0.2 * d[4]], EXACT, 'θ after step 1');
    // Second step, below the clip: b ← 0.5·b + d'.
    const theta1 = Array.from(p);
    const g2 = Float64Array.from([0.5, 0.5, 0.5, -3, 0.5]);
    const info2 = sgd.step(p, g2, 0.1);
    expect(info2.clipCoef).toBe(1);
    const b2 = [0, 1, 2, 3, 4].map((i) => (i === 3 ? 0 : 0.5 * d[i] + 0.5 + 0.1 * theta1[i]));
    expectAllClose(sgd.buffer, b2, EXACT, 'buffer after step 2');
    expectAllClose(p, theta1.map((t, i) => (i === 3 ? 7 : t - 0.1 * b2[i])), EXACT, 'θ after step 2');
  });

  it('Nesterov uses d + μ·b; float32 parameters and buffer round once per value', () => {
    const sgd = new Sgd([{ offset: 0, size: 2 }], 2, 'float32', { momentum: 0.9, nesterov: true });
    const p = Float32Array.from([0.1, 0.2]);
    sgd.step(p, Float32Array.from([1, -1]), 0.01);
    // b = d = g; θ ← θ − lr·(g + 0.9·g) = θ − 0.019·g, computed in float64, rounded to float32.
    expect(Array.from(sgd.buffer)).toEqual([1, -1]);
    expect(Array.from(p)).toEqual([Math.fround(Math.fround(0.1) - 0.019), Math.fround(Math.fround(0.2) + 0.019)]);
  });

  it('rejects a non-finite gradient and bad settings', () => {
    const sgd = new Sgd([{ offset: 0, size: 2 }], 2, 'float64');
    expect(() => sgd.step(new Float64Array(2), Float64Array.from([NaN, 0]), 0.1)).toThrow(/NaN or Inf/);
    expect(() => new Sgd([], 0, 'float64', { momentum: 1 })).toThrow(/momentum/);
    expect(() => new Sgd([], 0, 'float64', { momentum: 0, nesterov: true })).toThrow(/Nesterov/);
    expect(() => new Sgd([], 0, 'float64', { clip: 0 })).toThrow(/clip/);
    expect(() => new Sgd([{ offset: 1, size: 2 }], 2, 'float64')).toThrow(/outside/);
  });
});

describe('training settings', () => {
  it('presets hold the reference recipes; overrides are checked and named', () => {
    expect(TRAIN_PRESETS.search).toMatchObject({ epochs: 10, lr: 0.1, lrMin: 5e-3, momentum: 0.9, weightDecay: 3e-4, gradClip: 5, dropPath: 0.2, schedule: 'epoch' });
    expect(TRAIN_PRESETS.nb201).toMatchObject({ epochs: 200, batchSize: 256, lr: 0.1, lrMin: 0, nesterov: true, weightDecay: 5e-4, gradClip: null, schedule: 'step' });
    expect(TRAIN_PRESETS.darts).toMatchObject({ epochs: 600, batchSize: 96, lr: 0.025, weightDecay: 3e-4, gradClip: 5, dropPath: 0.2, cutout: 16 });
    const o = resolveTrainOptions({ epochs: 3, gradClip: null }, 'search');
    expect(o.epochs).toBe(3);
    expect(o.gradClip).toBeNull();
    expect(() => resolveTrainOptions({ lrMin: 1 })).toThrow(/lrMin/);
    expect(() => resolveTrainOptions({ epochs: 0 })).toThrow(/epochs/);
    expect(() => resolveTrainOptions({ labelSmoothing: 1 })).toThrow(/labelSmoothing/);
    expect(() => resolveTrainOptions({ bogus: 1 } as never)).toThrow(/unknown training setting "bogus"/);
  });
});
