/**
 * Bayesian optimisation over a box, the outer loop of HNAS's hybrid search
 * (Shu et al., NeurIPS 2022): it proposes the hybrid-objective weights whose
 * training-free pick is then trained, and maximises the validation accuracy
 * it is told.
 *
 * Inputs are scaled to [0, 1]^d internally, so the GP's length-scale bounds
 * mean "a hundredth to a hundred box widths" in every dimension. The
 * acquisition is maximised by dense seeded sampling plus compass search from
 * the best few samples.
 *
 * Determinism and resume: the only state is the list of observations. Every
 * random draw comes from a generator keyed by (seed, purpose, number of
 * observations), and the hyper-parameters in use after n observations are a
 * pure function of the first m = ⌊n/refitEvery⌋·refitEvery of them, so a run
 * restored from its observations (restore(), or re-observing them in order)
 * suggests exactly what the original would have. suggest() does not advance
 * anything: asking twice without observing gives the same point.
 */
import { InvalidArgumentError } from '../../errors.js';
import { Rng } from '../../spaces/rng.js';
import { type AcquisitionSpec, acquisitionValue } from './acquisition.js';
import {
  GaussianProcess,
  type GpFitOptions,
  type GpHyperParams,
  defaultHyperParams,
  fitHyperParams,
} from './gaussianProcess.js';
import type { Point } from './matern.js';

/** Per-dimension [lo, hi], lo < hi. */
export type Bounds = readonly (readonly [number, number])[];

export interface Observation {
  readonly x: readonly number[];
  readonly y: number;
}

/** Everything a resumed run needs besides its options; plain JSON. */
export interface BayesOptState {
  readonly observations: readonly Observation[];
}

export interface BayesOptOptions {
  readonly bounds: Bounds;
  readonly seed: number;
  /** Default: expected improvement with ξ = 0. */
  readonly acquisition?: AcquisitionSpec;
  /** Uniform samples per suggest() (default 10,000). */
  readonly candidates?: number;
  /** Best samples refined by compass search (default 5). */
  readonly refineStarts?: number;
  /** Refit the hyper-parameters every k observations (default 1). */
  readonly refitEvery?: number;
  /** Random restarts of the hyper-parameter fit (default 5). */
  readonly restarts?: number;
  /** GP noise variance in standardised target units (default 1e-6). */
  readonly noiseVariance?: number;
  readonly lengthScaleBounds?: readonly [number, number];
  readonly signalVarianceBounds?: readonly [number, number];
}

// Generator streams, one per purpose, so fits and suggestions never share draws.
const STREAM_FIT = 1;
const STREAM_SUGGEST = 2;
// Compass search: stop when the step is below this fraction of the box, or after this many evaluations.
const REFINE_MIN_STEP = 1e-6;
const REFINE_MAX_EVALS = 400;

export class BayesianOptimizer {
  readonly bounds: Bounds;
  readonly seed: number;
  readonly acquisition: AcquisitionSpec;
  readonly #options: BayesOptOptions;
  readonly #observations: Observation[] = [];
  readonly #unitX: number[][] = [];
  #fitCache: { m: number; hyper: GpHyperParams } | undefined;

  constructor(options: BayesOptOptions) {
    this.bounds = checkBounds(options.bounds);
    if (!Number.isInteger(options.seed)) throw new InvalidArgumentError(`seed must be an integer, got ${options.seed}`);
    this.seed = options.seed;
    this.acquisition = options.acquisition ?? { kind: 'ei' };
    positiveInt(options.candidates ?? 10_000, 'candidates');
    positiveInt(options.refineStarts ?? 5, 'refineStarts');
    positiveInt(options.refitEvery ?? 1, 'refitEvery');
    this.#options = options;
  }

  /** A new optimizer that has observed `state.observations` in order. */
  static restore(options: BayesOptOptions, state: BayesOptState): BayesianOptimizer {
    const bo = new BayesianOptimizer(options);
    for (const o of state.observations) bo.observe(o.x, o.y);
    return bo;
  }

  get dim(): number {
    return this.bounds.length;
  }

  get observations(): readonly Observation[] {
    return this.#observations;
  }

  /** The observation with the largest target (the first of ties). */
  get best(): Observation | undefined {
    let best: Observation | undefined;
    for (const o of this.#observations) if (best === undefined || o.y > best.y) best = o;
    return best;
  }

  state(): BayesOptState {
    return { observations: this.#observations.map((o) => ({ x: [...o.x], y: o.y })) };
  }

  observe(x: readonly number[], y: number): void {
    if (x.length !== this.dim) throw new InvalidArgumentError(`observe: x has ${x.length} coordinates, expected ${this.dim}`);
    if (!Number.isFinite(y)) throw new InvalidArgumentError(`observe: target y must be finite, got ${y}`);
    x.forEach((v, j) => {
      const [lo, hi] = this.bounds[j];
      if (!(v >= lo && v <= hi)) throw new InvalidArgumentError(`observe: x[${j}] = ${v} is outside [${lo}, ${hi}]`);
    });
    this.#observations.push({ x: [...x], y });
    this.#unitX.push(x.map((v, j) => (v - this.bounds[j][0]) / (this.bounds[j][1] - this.bounds[j][0])));
  }

  /** The hyper-parameters (unit-box length-scales, standardised σ²) that suggest() uses now. */
  get hyperParams(): GpHyperParams {
    const n = this.#observations.length;
    const k = this.#options.refitEvery ?? 1;
    const m = Math.floor(n / k) * k;
    if (this.#fitCache?.m !== m) {
      const opts: GpFitOptions = {
        restarts: this.#options.restarts ?? 5,
        rng: new Rng(this.seed, streamKey(STREAM_FIT, m)),
        noiseVariance: this.#options.noiseVariance,
        lengthScaleBounds: this.#options.lengthScaleBounds,
        signalVarianceBounds: this.#options.signalVarianceBounds,
      };
      const hyper =
        m < 2
          ? defaultHyperParams(this.dim, opts)
          : fitHyperParams(this.#unitX.slice(0, m), this.#observations.slice(0, m).map((o) => o.y), opts).hyper;
      this.#fitCache = { m, hyper };
    }
    return this.#fitCache.hyper;
  }

  /** The next point to evaluate: the acquisition's maximiser in the box (a uniform draw before any observation). */
  suggest(): number[] {
    const n = this.#observations.length;
    const rng = new Rng(this.seed, streamKey(STREAM_SUGGEST, n));
    if (n === 0) return this.#fromUnit(Array.from({ length: this.dim }, () => rng.next()));
    const gp = new GaussianProcess(
      this.#unitX,
      this.#observations.map((o) => o.y),
      this.hyperParams,
      { noiseVariance: this.#options.noiseVariance },
    );
    const best = this.best?.y ?? -Infinity;
    const score = (pts: readonly Point[]): Float64Array => {
      const { mean, variance } = gp.predict(pts);
      return mean.map((mu, i) => acquisitionValue(this.acquisition, mu, Math.sqrt(variance[i]), best));
    };

    const count = this.#options.candidates ?? 10_000;
    const cands: number[][] = [];
    for (let i = 0; i < count; i++) cands.push(Array.from({ length: this.dim }, () => rng.next()));
    const values = score(cands);
    const order = Array.from(values.keys()).sort((a, b) => values[b] - values[a] || a - b);
    const starts = order.slice(0, Math.min(this.#options.refineStarts ?? 5, count));
    // The initial step: about twice the samples' spacing, the scale below which sampling resolved nothing.
    const step0 = Math.min(0.25, 2 * count ** (-1 / this.dim));

    let bestPoint = cands[starts[0]];
    let bestValue = values[starts[0]];
    for (const s of starts) {
      const found = compassSearch(score, cands[s], values[s], step0);
      if (found.value > bestValue) {
        bestPoint = found.point;
        bestValue = found.value;
      }
    }
    return this.#fromUnit(bestPoint);
  }

  #fromUnit(u: readonly number[]): number[] {
    return u.map((v, j) => {
      const [lo, hi] = this.bounds[j];
      return Math.min(hi, Math.max(lo, lo + v * (hi - lo)));
    });
  }
}

/**
 * Compass (pattern) search inside [0, 1]^d: move to the best of the 2d
 * axis neighbours at distance `step` if it improves, else halve the step.
 * Derivative-free, so it works for EI, PI and UCB alike, and cannot leave the box.
 */
function compassSearch(
  score: (pts: readonly Point[]) => Float64Array,
  start: readonly number[],
  startValue: number,
  step0: number,
): { point: number[]; value: number } {
  let point = [...start];
  let value = startValue;
  let step = step0;
  let evals = 0;
  while (step >= REFINE_MIN_STEP && evals < REFINE_MAX_EVALS) {
    const nbrs: number[][] = [];
    for (let j = 0; j < point.length; j++) {
      for (const sign of [-1, 1]) {
        const p = [...point];
        p[j] = Math.min(1, Math.max(0, p[j] + sign * step));
        if (p[j] !== point[j]) nbrs.push(p);
      }
    }
    const vals = score(nbrs);
    evals += nbrs.length;
    let bi = -1;
    for (let i = 0; i < vals.length; i++) if (vals[i] > value && (bi < 0 || vals[i] > vals[bi])) bi = i;
    if (bi >= 0) {
      point = nbrs[bi];
      value = vals[bi];
    } else {
      step /= 2;
    }
  }
  return { point, value };
}

function streamKey(purpose: number, step: number): number {
  return (step * 4 + purpose) >>> 0;
}

function positiveInt(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`${what} must be a positive integer, got ${v}`);
}

function checkBounds(bounds: Bounds): Bounds {
  if (bounds.length === 0) throw new InvalidArgumentError('bounds must have at least one dimension');
  bounds.forEach(([lo, hi], j) => {
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) {
      throw new InvalidArgumentError(`bounds[${j}] = [${lo}, ${hi}] must be finite with lo < hi`);
    }
  });
  return bounds.map(([lo, hi]) => [lo, hi] as const);
}

// ------------------------------------------------------------ initial design

/** HNAS's initial-design size for T iterations: n0 = min(⌊T/4⌋, cap), cap 10. */
export function initialDesignSize(totalIterations: number, cap = 10): number {
  if (!Number.isInteger(totalIterations) || totalIterations < 0) {
    throw new InvalidArgumentError(`totalIterations must be a non-negative integer, got ${totalIterations}`);
  }
  return Math.min(Math.floor(0.25 * totalIterations), cap);
}

export interface LinspaceDesignOptions {
  readonly bounds: Bounds;
  /** Number of points. */
  readonly n: number;
  /** The dimension swept from its lo to its hi. */
  readonly sweepDim: number;
  /** Values held fixed, by dimension; dimensions in neither fixed nor sweepDim sit at mid-range. */
  readonly fixed?: Readonly<Record<number, number>>;
}

/**
 * HNAS's initial design: n points with one coordinate at linspace(lo, hi, n)
 * (n = 1 gives lo, as numpy does) and the others held — on NB201 the
 * weight c at −2, on DARTS at mid-range (omit it from `fixed`).
 */
export function linspaceDesign({ bounds, n, sweepDim, fixed = {} }: LinspaceDesignOptions): number[][] {
  const b = checkBounds(bounds);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(sweepDim) || sweepDim < 0 || sweepDim >= b.length) {
    throw new InvalidArgumentError(`sweepDim ${sweepDim} is not a dimension of ${b.length}-dimensional bounds`);
  }
  const base = b.map(([lo, hi]) => 0.5 * (lo + hi));
  for (const [key, v] of Object.entries(fixed)) {
    const j = Number(key);
    if (!Number.isInteger(j) || j < 0 || j >= b.length || j === sweepDim) {
      throw new InvalidArgumentError(`fixed names dimension ${key}, which is not a fixed dimension of ${b.length}`);
    }
    if (!(v >= b[j][0] && v <= b[j][1])) {
      throw new InvalidArgumentError(`fixed[${j}] = ${v} is outside [${b[j][0]}, ${b[j][1]}]`);
    }
    base[j] = v;
  }
  const [lo, hi] = b[sweepDim];
  return Array.from({ length: n }, (_, i) => {
    const p = [...base];
    p[sweepDim] = n === 1 ? lo : i === n - 1 ? hi : lo + ((hi - lo) * i) / (n - 1);
    return p;
  });
}
