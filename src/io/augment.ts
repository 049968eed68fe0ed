/**
 * The NAS-Bench-201 training augmentation for CIFAR, seeded, and DARTS-style
 * cutout.
 *
 * NAS-Bench-201 (AutoDL `get_datasets`) trains CIFAR with
 *   RandomHorizontalFlip() → RandomCrop(32, padding=4) → ToTensor() → Normalize(mean, std)
 * The flip and the crop act on the PIL image, so the 4-pixel border is padded
 * with pixel value 0 *before* normalisation: a padded position becomes
 * (0 − mean[c]) / std[c] in the tensor, not 0. This module reproduces that:
 * every output value, padded or not, is the same float32 table entry
 * `normalise` would produce for that byte (see `normalisationTable`).
 *
 * Per image the Rng is consumed in torchvision's order: one `next()` for the
 * flip (flipped when < 0.5), then `int(9)` for the crop's top offset and
 * `int(9)` for its left offset (torchvision draws randint(0, 40 − 32 + 1) for
 * each). The streams are not PyTorch's; only the distribution is.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Rng } from '../spaces/rng.js';
import {
  CIFAR10_STATS,
  CIFAR_CHANNELS,
  CIFAR_IMAGE_BYTES,
  CIFAR_SIDE,
  checkRows,
  normalisationTable,
  type CifarSet,
  type NormaliseStats,
} from './cifar.js';

/** Zero padding on each side before the random crop. */
export const CROP_PADDING = 4;
/** Crop offsets are integers in [0, MAX_CROP_OFFSET]. */
export const MAX_CROP_OFFSET = 2 * CROP_PADDING;

/** The random choices for one image. */
export interface AugmentParams {
  /** Mirror left–right (applied before the crop). */
  flip: boolean;
  /** Row of the padded 40×40 image where the 32×32 crop starts, 0..8. */
  top: number;
  /** Column of the padded 40×40 image where the crop starts, 0..8. */
  left: number;
}

/** Draws the flip and crop for `n` images, image by image. */
export function drawAugmentParams(n: number, rng: Rng): AugmentParams[] {
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`drawAugmentParams: n must be an integer ≥ 0, got ${n}`);
  const out: AugmentParams[] = [];
  for (let i = 0; i < n; i++) {
    const flip = rng.next() < 0.5;
    const top = rng.int(MAX_CROP_OFFSET + 1);
    const left = rng.int(MAX_CROP_OFFSET + 1);
    out.push({ flip, top, left });
  }
  return out;
}

/**
 * Applies given flips and crops to the rows at `indices` and normalises:
 * float32 NCHW [indices.length, 3, 32, 32]. Output pixel (y, x) is the padded,
 * optionally flipped image at (top + y, left + x); positions in the padding
 * get the normalised value of pixel 0.
 */
export function applyAugment(
  set: CifarSet,
  indices: ArrayLike<number>,
  params: readonly AugmentParams[],
  stats: NormaliseStats = CIFAR10_STATS,
): Float32Array {
  checkRows(set, indices, 'applyAugment');
  if (params.length !== indices.length) {
    throw new InvalidArgumentError(`applyAugment: ${params.length} params for ${indices.length} images`);
  }
  params.forEach((p, i) => {
    for (const key of ['top', 'left'] as const) {
      const v = p[key];
      if (!Number.isInteger(v) || v < 0 || v > MAX_CROP_OFFSET) {
        throw new InvalidArgumentError(`applyAugment: params[${i}].${key} is ${v}, outside [0, ${MAX_CROP_OFFSET}]`);
      }
    }
  });
  const lut = normalisationTable(stats);
  const S = CIFAR_SIDE;
  const plane = S * S;
  const out = new Float32Array(indices.length * CIFAR_IMAGE_BYTES);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i] * CIFAR_IMAGE_BYTES;
    const dst = i * CIFAR_IMAGE_BYTES;
    const { flip, top, left } = params[i];
    for (let c = 0; c < CIFAR_CHANNELS; c++) {
      const base = c * 256;
      const pad = lut[base];
      const inPlane = src + c * plane;
      const outPlane = dst + c * plane;
      for (let y = 0; y < S; y++) {
        const sy = top + y - CROP_PADDING;
        const outRow = outPlane + y * S;
        if (sy < 0 || sy >= S) {
          out.fill(pad, outRow, outRow + S);
          continue;
        }
        const inRow = inPlane + sy * S;
        for (let x = 0; x < S; x++) {
          const fx = left + x - CROP_PADDING; // column in the (flipped) image
          out[outRow + x] =
            fx < 0 || fx >= S ? pad : lut[base + set.images[inRow + (flip ? S - 1 - fx : fx)]];
        }
      }
    }
  }
  return out;
}

/**
 * The NAS-Bench-201 training augmentation (random flip, then a random 32×32
 * crop of the 4-pixel zero-padded image, then normalisation) for the rows at
 * `indices`: float32 NCHW. Deterministic for a given Rng state.
 */
export function augmentBatch(
  set: CifarSet,
  indices: ArrayLike<number>,
  rng: Rng,
  stats: NormaliseStats = CIFAR10_STATS,
): Float32Array {
  checkRows(set, indices, 'augmentBatch');
  return applyAugment(set, indices, drawAugmentParams(indices.length, rng), stats);
}

/** The zeroed rectangle of one image: rows [y1, y2), columns [x1, x2). */
export interface CutoutBox {
  y1: number;
  y2: number;
  x1: number;
  x2: number;
}

/**
 * DARTS-style cutout, in place on a normalised NCHW batch of `n` images of
 * `shape` [C, H, W]: per image a centre (y, x) is drawn uniformly over the
 * image (`rng.int(H)`, then `rng.int(W)`), and rows [y − ⌊length/2⌋,
 * y + ⌊length/2⌋) × the same columns, clipped to the image, are set to 0 in
 * every channel (0 in normalised space, as DARTS applies it after Normalize).
 * Returns the boxes; a box can be smaller than length² near an edge.
 */
export function cutout(
  batch: Float32Array,
  n: number,
  length: number,
  rng: Rng,
  shape: readonly [number, number, number] = [CIFAR_CHANNELS, CIFAR_SIDE, CIFAR_SIDE],
): CutoutBox[] {
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`cutout: n must be an integer ≥ 0, got ${n}`);
  if (!Number.isInteger(length) || length < 0) {
    throw new InvalidArgumentError(`cutout: length must be an integer ≥ 0, got ${length}`);
  }
  const [C, H, W] = shape;
  if (![C, H, W].every((d) => Number.isInteger(d) && d > 0)) {
    throw new InvalidArgumentError(`cutout: shape must be [C, H, W] of positive integers, got ${JSON.stringify(shape)}`);
  }
  if (!(batch instanceof Float32Array) || batch.length !== n * C * H * W) {
    throw new InvalidArgumentError(
      `cutout: batch has ${batch?.length} values, expected n·C·H·W = ${n}·${C}·${H}·${W} = ${n * C * H * W}`,
    );
  }
  const half = Math.floor(length / 2);
  const clip = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
  const boxes: CutoutBox[] = [];
  for (let i = 0; i < n; i++) {
    const y = rng.int(H);
    const x = rng.int(W);
    const box = { y1: clip(y - half, H), y2: clip(y + half, H), x1: clip(x - half, W), x2: clip(x + half, W) };
    boxes.push(box);
    for (let c = 0; c < C; c++) {
      const planeAt = (i * C + c) * H * W;
      for (let r = box.y1; r < box.y2; r++) batch.fill(0, planeAt + r * W + box.x1, planeAt + r * W + box.x2);
    }
  }
  return boxes;
}
