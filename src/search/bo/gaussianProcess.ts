/**
 * Gaussian-process regression with the Matérn-5/2 ARD kernel: the surrogate
 * that HNAS's Bayesian optimisation fits to (weights → validation accuracy).
 *
 * Targets are standardised (zero mean, unit population std) before fitting,
 * so hyper-parameter bounds and the noise level mean the same thing whatever
 * the accuracy's units; predictions come back in the original units. A target
 * set with no spread keeps scale 1. The noise variance is fixed (default
 * 1e-6, in standardised units): evaluations are treated as near-exact, as in
 * HNAS, and the term mainly keeps K positive definite. If the Cholesky still
 * fails, jitter (relative to σ²) is escalated until it succeeds.
 *
 * Hyper-parameters θ = [log ℓ_1 … log ℓ_d, log σ²] are fitted by maximising
 * the log marginal likelihood with analytic gradients and L-BFGS, from a
 * default start plus seeded random starts. Bounds are imposed by optimising
 * an unbounded u with θ = lo + (hi − lo)·sigmoid(u), which needs no
 * projected line search.
 *
 * The factorisation and solves are ml-matrix's; K⁻¹ is formed once per fit
 * (it is needed for the LML gradient anyway) so that predicting thousands of
 * candidates is plain dot products.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { InternalError, InvalidArgumentError } from '../../errors.js';
import { Rng } from '../../spaces/rng.js';
import { lbfgsMinimise } from './lbfgs.js';
import { type MaternParams, type Point, matern52, matern52DerivFactor, scaledSqDist } from './matern.js';

export type GpHyperParams = MaternParams;

export interface GpOptions {
  /** Observation noise variance in standardised target units (default 1e-6). */
  readonly noiseVariance?: number;
}

export interface GpPrediction {
  /** Posterior mean of f, in the targets' units. */
  readonly mean: Float64Array;
  /** Posterior variance of f (noise-free), in the targets' units squared; ≥ 0. */
  readonly variance: Float64Array;
}

/** The log marginal likelihood of the standardised targets and its gradient w.r.t. [log ℓ_1 … log ℓ_d, log σ²]. */
export interface LmlResult {
  readonly value: number;
  readonly gradient: Float64Array;
}

export interface GpFitOptions extends GpOptions {
  /** Random starts beyond the default start (default 5). */
  readonly restarts?: number;
  /** Draws the random starts (default new Rng(0)). */
  readonly rng?: Rng;
  /** Bounds on every ℓ_j (default [1e-2, 1e2], sized for inputs in a unit box). */
  readonly lengthScaleBounds?: readonly [number, number];
  /** Bounds on σ² in standardised units (default [1e-2, 1e2]). */
  readonly signalVarianceBounds?: readonly [number, number];
  /** The default start (default: defaultHyperParams). */
  readonly initial?: GpHyperParams;
  /** L-BFGS iterations per start (default 100). */
  readonly maxIterations?: number;
}

export interface GpFit {
  readonly hyper: GpHyperParams;
  readonly logMarginalLikelihood: number;
}

export const DEFAULT_NOISE_VARIANCE = 1e-6;
export const DEFAULT_LENGTH_SCALE_BOUNDS: readonly [number, number] = [1e-2, 1e2];
export const DEFAULT_SIGNAL_VARIANCE_BOUNDS: readonly [number, number] = [1e-2, 1e2];
const DEFAULT_LENGTH_SCALE = 0.5;
// Extra diagonal, relative to σ², tried in turn when K + noise·I is not numerically positive definite.
const JITTERS = [0, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3];
const LOG_2PI = Math.log(2 * Math.PI);

// ---------------------------------------------------------------- the model

/** A GP conditioned on (x, y) with fixed hyper-parameters. */
export class GaussianProcess {
  readonly hyper: GpHyperParams;
  readonly noiseVariance: number;
  /** Diagonal added beyond the noise so that the Cholesky succeeded (0 almost always). */
  readonly jitter: number;
  /** The standardisation: y = targetMean + targetScale·ỹ. */
  readonly targetMean: number;
  readonly targetScale: number;
  readonly #x: Point[];
  readonly #alpha: Float64Array;
  readonly #kInv: Float64Array;
  readonly #lml: number;

  constructor(x: readonly Point[], y: readonly number[], hyper: GpHyperParams, options: GpOptions = {}) {
    const dim = hyper.lengthScales.length;
    checkData(x, y, dim);
    checkHyper(hyper, dim);
    this.noiseVariance = checkNoise(options.noiseVariance);
    this.hyper = { lengthScales: [...hyper.lengthScales], signalVariance: hyper.signalVariance };
    const std = standardise(y);
    this.targetMean = std.mean;
    this.targetScale = std.scale;
    this.#x = x.map((p) => [...p]);
    const f = factorise(this.#x, std.values, this.hyper, this.noiseVariance);
    if (f === undefined) {
      throw new InternalError(`GP covariance is not positive definite even with jitter ${JITTERS.at(-1)}·σ²`);
    }
    this.jitter = f.jitter;
    this.#alpha = f.alpha;
    this.#kInv = f.kInv;
    this.#lml = lmlValue(std.values, f);
  }

  get size(): number {
    return this.#x.length;
  }

  get dim(): number {
    return this.hyper.lengthScales.length;
  }

  /** Log marginal likelihood of the standardised targets (the raw-unit one differs by −n·log targetScale). */
  logMarginalLikelihood(): number {
    return this.#lml;
  }

  /** Posterior mean and variance of f at each query point. */
  predict(query: readonly Point[]): GpPrediction {
    const n = this.#x.length;
    const { lengthScales, signalVariance } = this.hyper;
    for (const q of query) checkPoint(q, this.dim, 'query point');
    const mean = new Float64Array(query.length);
    const variance = new Float64Array(query.length);
    const ks = new Float64Array(n);
    const s2 = this.targetScale * this.targetScale;
    for (let m = 0; m < query.length; m++) {
      let mu = 0;
      for (let i = 0; i < n; i++) {
        ks[i] = matern52(Math.sqrt(scaledSqDist(this.#x[i], query[m], lengthScales)), signalVariance);
        mu += ks[i] * this.#alpha[i];
      }
      let quad = 0;
      for (let i = 0; i < n; i++) {
        let row = 0;
        for (let j = 0; j < n; j++) row += this.#kInv[i * n + j] * ks[j];
        quad += ks[i] * row;
      }
      mean[m] = this.targetMean + this.targetScale * mu;
      variance[m] = s2 * Math.max(signalVariance - quad, 0);
    }
    return { mean, variance };
  }
}

// ------------------------------------------------- likelihood and its gradient

/** LML of the standardised y under `hyper`, and its gradient w.r.t. [log ℓ, log σ²]. */
export function logMarginalLikelihood(
  x: readonly Point[],
  y: readonly number[],
  hyper: GpHyperParams,
  options: GpOptions = {},
): LmlResult {
  const dim = hyper.lengthScales.length;
  checkData(x, y, dim);
  checkHyper(hyper, dim);
  const res = lmlWithGradient(x, standardise(y).values, hyper, checkNoise(options.noiseVariance));
  if (res === undefined) throw new InternalError('GP covariance is not positive definite even with jitter');
  return res;
}

/** Fits θ by maximising the LML; with fewer than 2 points or constant targets there is nothing to fit and the start is returned. */
export function fitHyperParams(x: readonly Point[], y: readonly number[], options: GpFitOptions = {}): GpFit {
  const dim = x.length > 0 ? x[0].length : (options.initial?.lengthScales.length ?? 0);
  checkData(x, y, dim);
  const noise = checkNoise(options.noiseVariance);
  const lsB = checkBounds(options.lengthScaleBounds ?? DEFAULT_LENGTH_SCALE_BOUNDS, 'lengthScaleBounds');
  const svB = checkBounds(options.signalVarianceBounds ?? DEFAULT_SIGNAL_VARIANCE_BOUNDS, 'signalVarianceBounds');
  const initial = options.initial ?? defaultHyperParams(dim, options);
  checkHyper(initial, dim);
  const restarts = options.restarts ?? 5;
  if (!Number.isInteger(restarts) || restarts < 0) {
    throw new InvalidArgumentError(`restarts must be a non-negative integer, got ${restarts}`);
  }
  const maxIterations = options.maxIterations ?? 100;
  const std = standardise(y);
  if (x.length < 2 || std.constant) {
    const lml = x.length === 0 ? 0 : lmlWithGradient(x, std.values, initial, noise)?.value ?? -Infinity;
    return { hyper: initial, logMarginalLikelihood: lml };
  }

  const lo = new Float64Array(dim + 1).fill(Math.log(lsB[0]));
  const hi = new Float64Array(dim + 1).fill(Math.log(lsB[1]));
  lo[dim] = Math.log(svB[0]);
  hi[dim] = Math.log(svB[1]);
  const toTheta = (u: Float64Array): Float64Array => u.map((v, i) => lo[i] + (hi[i] - lo[i]) * sigmoid(v));
  const objective = (u: Float64Array): { value: number; gradient: Float64Array } => {
    const res = lmlWithGradient(x, std.values, fromTheta(toTheta(u)), noise);
    if (res === undefined) return { value: Infinity, gradient: new Float64Array(u.length) };
    const gradient = new Float64Array(u.length);
    for (let i = 0; i < u.length; i++) {
      const s = sigmoid(u[i]);
      gradient[i] = -res.gradient[i] * (hi[i] - lo[i]) * s * (1 - s);
    }
    return { value: -res.value, gradient };
  };

  const starts: Float64Array[] = [toTheta0(initial)];
  const rng = options.rng ?? new Rng(0);
  for (let r = 0; r < restarts; r++) {
    // Log-uniform over the middle half of each log-interval: near the bounds the LML is flat.
    starts.push(lo.map((l, i) => l + (hi[i] - l) * (0.25 + 0.5 * rng.next())));
  }
  let best: { u: Float64Array; value: number } | undefined;
  for (const theta of starts) {
    const u0 = theta.map((t, i) => logit((t - lo[i]) / (hi[i] - lo[i])));
    const found = lbfgsMinimise(objective, u0, maxIterations);
    if (Number.isFinite(found.value) && (best === undefined || found.value < best.value)) best = found;
  }
  if (best === undefined) throw new InternalError('GP hyper-parameter fit: the LML is not finite at any start');
  return { hyper: fromTheta(toTheta(best.u)), logMarginalLikelihood: -best.value };
}

/** The default start: ℓ_j = 0.5 (half a unit box), σ² = 1 (the standardised targets' variance), clipped into the bounds. */
export function defaultHyperParams(dim: number, options: GpFitOptions = {}): GpHyperParams {
  const [lsLo, lsHi] = options.lengthScaleBounds ?? DEFAULT_LENGTH_SCALE_BOUNDS;
  const [svLo, svHi] = options.signalVarianceBounds ?? DEFAULT_SIGNAL_VARIANCE_BOUNDS;
  return {
    lengthScales: new Array<number>(dim).fill(clamp(DEFAULT_LENGTH_SCALE, lsLo, lsHi)),
    signalVariance: clamp(1, svLo, svHi),
  };
}

/** fitHyperParams, then condition on the data. */
export function fitGaussianProcess(x: readonly Point[], y: readonly number[], options: GpFitOptions = {}): GaussianProcess {
  return new GaussianProcess(x, y, fitHyperParams(x, y, options).hyper, options);
}

// ---------------------------------------------------------------- internals

interface Standardised {
  readonly values: Float64Array;
  readonly mean: number;
  readonly scale: number;
  readonly constant: boolean;
}

function standardise(y: readonly number[]): Standardised {
  const n = y.length;
  if (n === 0) return { values: new Float64Array(0), mean: 0, scale: 1, constant: true };
  let mean = 0;
  for (const v of y) mean += v;
  mean /= n;
  let ss = 0;
  for (const v of y) ss += (v - mean) * (v - mean);
  const sd = Math.sqrt(ss / n);
  // A spread at rounding level is no spread: dividing by it would blow rounding up to unit variance.
  const constant = !(sd > 1e-12 * Math.max(1, Math.abs(mean)));
  const scale = constant ? 1 : sd;
  return { values: Float64Array.from(y, (v) => (v - mean) / scale), mean, scale, constant };
}

interface Factor {
  readonly kInv: Float64Array;
  readonly alpha: Float64Array;
  readonly logDet: number;
  readonly jitter: number;
}

function factorise(x: readonly Point[], y: Float64Array, hyper: GpHyperParams, noise: number): Factor | undefined {
  const n = x.length;
  const { lengthScales, signalVariance } = hyper;
  const k = new Matrix(n, n);
  for (let a = 0; a < n; a++) {
    k.set(a, a, signalVariance);
    for (let b = 0; b < a; b++) {
      const v = matern52(Math.sqrt(scaledSqDist(x[a], x[b], lengthScales)), signalVariance);
      k.set(a, b, v);
      k.set(b, a, v);
    }
  }
  for (const rel of JITTERS) {
    const jitter = rel * signalVariance;
    const kd = k.clone();
    for (let a = 0; a < n; a++) kd.set(a, a, signalVariance + noise + jitter);
    const chol = new CholeskyDecomposition(kd);
    if (!chol.isPositiveDefinite()) continue;
    const l = chol.lowerTriangularMatrix;
    let logDet = 0;
    for (let a = 0; a < n; a++) logDet += 2 * Math.log(l.get(a, a));
    if (!Number.isFinite(logDet)) continue;
    const alpha = Float64Array.from(chol.solve(Matrix.columnVector(y)).getColumn(0));
    const inv = chol.solve(Matrix.eye(n));
    const kInv = new Float64Array(n * n);
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) kInv[a * n + b] = 0.5 * (inv.get(a, b) + inv.get(b, a));
    }
    return { kInv, alpha, logDet, jitter };
  }
  return undefined;
}

function lmlValue(y: Float64Array, f: Factor): number {
  let fit = 0;
  for (let a = 0; a < y.length; a++) fit += y[a] * f.alpha[a];
  return -0.5 * fit - 0.5 * f.logDet - 0.5 * y.length * LOG_2PI;
}

/** ∂LML/∂θ_j = ½ tr((ααᵀ − K⁻¹) ∂K/∂θ_j), with the chosen jitter held fixed. */
function lmlWithGradient(x: readonly Point[], y: Float64Array, hyper: GpHyperParams, noise: number): LmlResult | undefined {
  const f = factorise(x, y, hyper, noise);
  if (f === undefined) return undefined;
  const n = x.length;
  const { lengthScales, signalVariance } = hyper;
  const dim = lengthScales.length;
  const gradient = new Float64Array(dim + 1);
  for (let a = 0; a < n; a++) {
    gradient[dim] += 0.5 * (f.alpha[a] * f.alpha[a] - f.kInv[a * n + a]) * signalVariance;
    for (let b = 0; b < a; b++) {
      const w = f.alpha[a] * f.alpha[b] - f.kInv[a * n + b]; // off-diagonal pairs count twice, halved by the ½
      const r = Math.sqrt(scaledSqDist(x[a], x[b], lengthScales));
      gradient[dim] += w * matern52(r, signalVariance);
      const g = w * matern52DerivFactor(r, signalVariance);
      for (let j = 0; j < dim; j++) {
        const d = (x[a][j] - x[b][j]) / lengthScales[j];
        gradient[j] += g * d * d;
      }
    }
  }
  return { value: lmlValue(y, f), gradient };
}

function toTheta0(h: GpHyperParams): Float64Array {
  return Float64Array.from([...h.lengthScales.map(Math.log), Math.log(h.signalVariance)]);
}

function fromTheta(theta: Float64Array): GpHyperParams {
  const dim = theta.length - 1;
  return { lengthScales: Array.from(theta.subarray(0, dim), Math.exp), signalVariance: Math.exp(theta[dim]) };
}

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

function logit(p: number): number {
  const q = clamp(p, 1e-9, 1 - 1e-9);
  return Math.log(q / (1 - q));
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

// ------------------------------------------------------------------ checks

function checkPoint(p: Point, dim: number, what: string): void {
  if (p.length !== dim) throw new InvalidArgumentError(`${what} has ${p.length} coordinates, expected ${dim}`);
  for (const v of p) if (!Number.isFinite(v)) throw new InvalidArgumentError(`${what} has a non-finite coordinate (${v})`);
}

function checkData(x: readonly Point[], y: readonly number[], dim: number): void {
  if (x.length !== y.length) throw new InvalidArgumentError(`GP data: ${x.length} inputs but ${y.length} targets`);
  x.forEach((p, i) => checkPoint(p, dim, `GP input ${i}`));
  y.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new InvalidArgumentError(`GP target ${i} is not finite (${v})`);
  });
}

function checkHyper(h: GpHyperParams, dim: number): void {
  if (h.lengthScales.length !== dim) {
    throw new InvalidArgumentError(`GP has ${h.lengthScales.length} length-scales for ${dim}-dimensional inputs`);
  }
  for (const l of h.lengthScales) {
    if (!(l > 0 && Number.isFinite(l))) throw new InvalidArgumentError(`GP length-scale must be positive and finite, got ${l}`);
  }
  const s = h.signalVariance;
  if (!(s > 0 && Number.isFinite(s))) throw new InvalidArgumentError(`GP signal variance must be positive and finite, got ${s}`);
}

function checkNoise(noise: number | undefined): number {
  const v = noise ?? DEFAULT_NOISE_VARIANCE;
  if (!(v >= 0 && Number.isFinite(v))) throw new InvalidArgumentError(`GP noise variance must be ≥ 0 and finite, got ${v}`);
  return v;
}

function checkBounds(b: readonly [number, number], what: string): readonly [number, number] {
  if (!(b[0] > 0 && b[1] > b[0] && Number.isFinite(b[1]))) {
    throw new InvalidArgumentError(`${what} must satisfy 0 < lo < hi < ∞, got [${b[0]}, ${b[1]}]`);
  }
  return b;
}
