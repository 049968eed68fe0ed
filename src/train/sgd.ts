/**
 * SGD with momentum (optionally Nesterov), coupled weight decay and
 * gradient-norm clipping, over a network's flat parameter vector — the
 * arithmetic of PyTorch's `clip_grad_norm_` followed by `optim.SGD.step()`
 * (dampening 0), which both DARTS' and NAS-Bench-201's training use:
 *
 *   ‖g‖   = sqrt(Σ g_i²) over every trainable parameter (the raw gradient)
 *   c     = min(1, clip / (‖g‖ + 1e-6))          (c = 1 without clipping)
 *   d_i   = c·g_i + wd·θ_i                        (weight decay on every trainable parameter)
 *   b_i   ← μ·b_i + d_i                           (b starts at 0: the first step sets b = d)
 *   θ_i   ← θ_i − lr·(Nesterov ? d_i + μ·b_i : b_i)
 *
 * Weight decay applies to all trainable parameters — conv and linear
 * weights, biases and BN γ/β — as `optim.SGD(model.parameters(), …,
 * weight_decay=…)` in DARTS and NAS-Bench-201 does. BN running statistics
 * are not parameters of the optimiser: they are left as the engine set them.
 * The update is computed in float64 and rounded once to the parameter dtype;
 * the momentum buffer has the parameters' dtype (as PyTorch's).
 */
import { InvalidArgumentError, NonFiniteError, ShapeMismatchError } from '../errors.js';
import type { FloatArray } from '../engine/network.js';

export interface SgdOptions {
  /** μ ∈ [0, 1); default 0.9. */
  momentum?: number;
  /** Nesterov momentum (needs μ > 0); default false. */
  nesterov?: boolean;
  /** Coupled L2 weight decay ≥ 0; default 0. */
  weightDecay?: number;
  /** Maximum global gradient norm (> 0), or null for no clipping; default null. */
  clip?: number | null;
}

/** The trainable entries of the flat parameter vector: [offset, offset + size) ranges. */
export interface ParamRange {
  offset: number;
  size: number;
}

export interface SgdStepInfo {
  /** Global L2 norm of the raw gradient over the trainable parameters. */
  gradNorm: number;
  /** The factor the gradient was multiplied by (1 when not clipped). */
  clipCoef: number;
}

export class Sgd {
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  readonly clip: number | null;
  readonly ranges: readonly ParamRange[];
  readonly length: number;
  /** The momentum buffer, laid out like the parameter vector (0 outside the trainable ranges). */
  readonly buffer: FloatArray;

  constructor(ranges: readonly ParamRange[], length: number, dtype: 'float32' | 'float64', options: SgdOptions = {}) {
    const momentum = options.momentum ?? 0.9;
    const weightDecay = options.weightDecay ?? 0;
    const clip = options.clip ?? null;
    const nesterov = options.nesterov ?? false;
    if (!(Number.isFinite(momentum) && momentum >= 0 && momentum < 1)) {
      throw new InvalidArgumentError(`momentum must lie in [0, 1), got ${momentum}`);
    }
    if (typeof nesterov !== 'boolean') throw new InvalidArgumentError(`nesterov must be a boolean, got ${String(nesterov)}`);
    if (nesterov && momentum === 0) throw new InvalidArgumentError('Nesterov momentum needs momentum > 0');
    if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) {
      throw new InvalidArgumentError(`weight decay must be a finite number ≥ 0, got ${weightDecay}`);
    }
    if (clip !== null && !(Number.isFinite(clip) && clip > 0)) {
      throw new InvalidArgumentError(`gradient clip must be a finite number > 0 (or null), got ${clip}`);
    }
    if (!(Number.isInteger(length) && length >= 0)) throw new InvalidArgumentError(`parameter length must be an integer ≥ 0, got ${length}`);
    for (const r of ranges) {
      if (!(Number.isInteger(r.offset) && Number.isInteger(r.size) && r.offset >= 0 && r.size >= 0 && r.offset + r.size <= length)) {
        throw new InvalidArgumentError(`parameter range [${r.offset}, ${r.offset + r.size}) lies outside [0, ${length})`);
      }
    }
    this.momentum = momentum;
    this.nesterov = nesterov;
    this.weightDecay = weightDecay;
    this.clip = clip;
    this.ranges = ranges.map((r) => ({ offset: r.offset, size: r.size }));
    this.length = length;
    this.buffer = dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
  }

  /** Replaces the momentum buffer (resuming from a checkpoint). */
  loadBuffer(values: FloatArray): void {
    if (values.length !== this.length) {
      throw new ShapeMismatchError(`momentum buffer has ${values.length} values for ${this.length} parameters`);
    }
    this.buffer.set(values);
  }

  /** Updates `params` in place from `grad` (both laid out like the network's parameter vector) at learning rate `lr`. */
  step(params: FloatArray, grad: FloatArray, lr: number): SgdStepInfo {
    if (params.length !== this.length || grad.length !== this.length) {
      throw new ShapeMismatchError(`Sgd.step: ${params.length} parameters and ${grad.length} gradient values for ${this.length}`);
    }
    if (!(Number.isFinite(lr) && lr >= 0)) throw new InvalidArgumentError(`Sgd.step: learning rate must be finite and ≥ 0, got ${lr}`);
    let sq = 0;
    for (const { offset, size } of this.ranges) sq += sumOfSquares(grad, offset, offset + size);
    const gradNorm = Math.sqrt(sq);
    if (!Number.isFinite(gradNorm)) throw new NonFiniteError(`Sgd.step: the gradient holds NaN or Inf (norm ${gradNorm})`);
    const clipCoef = this.clip === null ? 1 : Math.min(1, this.clip / (gradNorm + 1e-6));
    for (const { offset, size } of this.ranges) {
      update(params, grad, this.buffer, offset, offset + size, clipCoef, this.weightDecay, this.momentum, lr, this.nesterov);
    }
    return { gradNorm, clipCoef };
  }
}

// The loops as plain functions of their arrays, so V8 compiles each with
// fixed element kinds (an order of magnitude faster than the same loop over
// class fields).
function sumOfSquares(g: FloatArray, from: number, to: number): number {
  let sq = 0;
  for (let i = from; i < to; i++) sq += g[i] * g[i];
  return sq;
}

function update(
  params: FloatArray,
  grad: FloatArray,
  buf: FloatArray,
  from: number,
  to: number,
  c: number,
  wd: number,
  mu: number,
  lr: number,
  nesterov: boolean,
): void {
  if (nesterov) {
    for (let i = from; i < to; i++) {
      const p = params[i];
      const d = c * grad[i] + wd * p;
      buf[i] = mu * buf[i] + d;
      params[i] = p - lr * (d + mu * buf[i]);
    }
  } else {
    for (let i = from; i < to; i++) {
      const p = params[i];
      buf[i] = mu * buf[i] + (c * grad[i] + wd * p);
      params[i] = p - lr * buf[i];
    }
  }
}
